/**
 * Interval timers: setitimer(2)'s ITIMER_REAL (alarm(2)), ITIMER_VIRTUAL and ITIMER_PROF, and
 * timer_create(2)'s POSIX timers. Each is an event-loop timer on the kernel thread that sends a
 * signal when it expires.
 *
 * Time is kept in nanoseconds on the timer's clock: the kernel's monotonic clock (Kernel.now;
 * an absolute CLOCK_REALTIME expiry is converted when the timer is set), or a process's CPU
 * time for ITIMER_VIRTUAL and ITIMER_PROF. A CPU clock is sampled: the event-loop timer wakes
 * when the process could have reached the deadline at the earliest (its threads all running)
 * and looks again, so a timer fires at most one sampling late and costs nothing while the
 * process is far from its deadline.
 */
import { SIGALRM, SI_KERNEL, SI_TIMER, encodeStruct, siginfo_timer } from "@runsc-ts/abi";
import { type SignalInfo, killInfo } from "./signals.js";

export interface TimerSetting {
  /** Time to the next expiry (0: disarmed). */
  readonly value: bigint;
  /** Period after each expiry (0: one-shot). */
  readonly interval: bigint;
}

/** One timer: fires `onExpire` at its deadline and, if periodic, every interval after. */
export class IntervalTimer {
  private handle: NodeJS.Timeout | undefined;
  /** The next expiry on the monotonic clock, or 0 when disarmed. */
  private deadline = 0n;
  private interval = 0n;
  /** Expiries missed since the last report (a periodic timer that fell behind). */
  overrun = 0;

  constructor(
    private readonly now: () => bigint,
    private readonly onExpire: (t: IntervalTimer) => void,
    /**
     * How many times faster than wall time the clock can run at most: 1 for wall clocks, the
     * number of threads for a process's CPU time.
     */
    private readonly speed: () => number = () => 1,
  ) {}

  get(): TimerSetting {
    if (this.deadline === 0n) return { value: 0n, interval: this.interval };
    const left = this.deadline - this.now();
    // An armed timer never reports 0 (that would read as disarmed).
    return { value: left > 0n ? left : 1n, interval: this.interval };
  }

  /** Arms (value > 0) or disarms (value 0) the timer; returns the previous setting. */
  set(value: bigint, interval: bigint): TimerSetting {
    const old = this.get();
    this.cancel();
    this.interval = interval;
    this.overrun = 0;
    if (value > 0n) {
      this.deadline = this.now() + value;
      this.schedule();
    }
    return old;
  }

  cancel(): void {
    clearTimeout(this.handle);
    this.handle = undefined;
    this.deadline = 0n;
  }

  private schedule(): void {
    const speed = BigInt(Math.max(1, this.speed()));
    const ms = Number(((this.deadline - this.now()) / speed + 999_999n) / 1_000_000n);
    this.handle = setTimeout(() => this.expire(), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  }

  private expire(): void {
    this.handle = undefined;
    const now = this.now();
    if (now < this.deadline) {
      this.schedule(); // setTimeout's limit, or early by rounding
      return;
    }
    if (this.interval > 0n) {
      const missed = (now - this.deadline) / this.interval;
      this.overrun += Number(missed);
      this.deadline += (missed + 1n) * this.interval;
      this.schedule();
    } else {
      this.deadline = 0n;
    }
    this.onExpire(this);
  }
}

/** A timer_create(2) timer: where its signal goes and with what. */
export interface PosixTimer {
  readonly id: number;
  /** The clock (absolute expiries are on it): a wall clock, or a process's or thread's CPU time. */
  readonly clock: number;
  /** For a CPU-time clock: its reading in ns (the timer runs on it). */
  readonly cpuClock: (() => bigint) | undefined;
  readonly timer: IntervalTimer;
  /** The signal (0 for SIGEV_NONE). */
  readonly signo: number;
  readonly value: bigint;
  /** SIGEV_THREAD_ID: the thread that gets the signal; otherwise the whole process. */
  readonly tid: number | undefined;
  /** The overrun count reported by timer_getoverrun for the last delivered expiry. */
  lastOverrun: number;
  /** The siginfo queued for the last expiry, while it is still pending. */
  queued: SignalInfo | undefined;
}

/** The siginfo of a POSIX timer's expiry. */
export function timerInfo(p: PosixTimer, overrun: number): SignalInfo {
  const bytes = encodeStruct(siginfo_timer, { si_signo: p.signo, si_code: SI_TIMER, si_tid: p.id, si_overrun: Math.min(overrun, 0x7fff_ffff), si_value: p.value });
  return { signo: p.signo, code: SI_TIMER, bytes };
}

/** The siginfo of ITIMER_REAL's SIGALRM (the kernel sends it). */
export function alarmInfo(): SignalInfo {
  return killInfo(SIGALRM, 0, 0, SI_KERNEL);
}

/** Linux caps a process's POSIX timers by RLIMIT_SIGPENDING; a fixed bound is enough here. */
export const MAX_POSIX_TIMERS = 4096;

/** A process's timers. */
export class ProcessTimers {
  real: IntervalTimer | undefined;
  /** ITIMER_VIRTUAL (user CPU time) and ITIMER_PROF (all CPU time), by ITIMER_* number. */
  readonly cpu = new Map<number, IntervalTimer>();
  /** RLIMIT_CPU's signals (cpu-limit.ts), while the limit is finite. */
  cpuLimit: IntervalTimer | undefined;
  readonly posix = new Map<number, PosixTimer>();
  private nextId = 0;

  /** The lowest free timer id (Linux hands them out from 0 per process). */
  allocId(): number | undefined {
    if (this.posix.size >= MAX_POSIX_TIMERS) return undefined;
    while (this.posix.has(this.nextId)) this.nextId = (this.nextId + 1) % MAX_POSIX_TIMERS;
    return this.nextId;
  }

  /** execve: POSIX timers are deleted; ITIMER_REAL survives. */
  deletePosix(): void {
    for (const p of this.posix.values()) p.timer.cancel();
    this.posix.clear();
  }

  /** Process exit: everything stops. */
  cancelAll(): void {
    this.real?.cancel();
    for (const c of this.cpu.values()) c.cancel();
    this.cpuLimit?.cancel();
    this.deletePosix();
  }
}
