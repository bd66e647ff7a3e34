/** Clocks and sleeping: clock_gettime, clock_getres, gettimeofday, time, nanosleep, clock_nanosleep. */
import {
  CLOCK_BOOTTIME,
  CLOCK_MONOTONIC,
  CLOCK_MONOTONIC_COARSE,
  CLOCK_MONOTONIC_RAW,
  CLOCK_PROCESS_CPUTIME_ID,
  CLOCK_REALTIME,
  CLOCK_REALTIME_COARSE,
  CLOCK_TAI,
  CLOCK_THREAD_CPUTIME_ID,
  EFAULT,
  ERESTART_RESTARTBLOCK,
  EINVAL,
  type LinuxError,
  TIMER_ABSTIME,
  isLinuxError,
} from "@runsc-ts/abi";
import type { CpuUsage } from "@runsc-ts/platform";
import type { Task } from "../../kernel/task.js";
import { sleepInterruptible } from "../../kernel/waiter.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

/** Nanoseconds on `clock`, or EINVAL for a clock we do not know. */
export function clockNow(t: Task, clock: number): bigint | LinuxError {
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI: {
      const ts = t.kernel.clock.now();
      return BigInt(ts.sec) * 1_000_000_000n + BigInt(ts.nsec);
    }
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
      return process.hrtime.bigint() - t.kernel.bootTime;
    default: {
      const cpu = cpuClock(t, clock);
      return cpu === undefined ? EINVAL : isLinuxError(cpu) ? cpu : cpu.now();
    }
  }
}

/** A CPU-time clock: its reading in ns, and how much faster than wall time it can run at most. */
export interface CpuClock {
  now(): bigint;
  speed(): number;
}

/**
 * The CPU-time clock `clock` names for `t`, undefined if it is not one: CLOCK_PROCESS_CPUTIME_ID,
 * CLOCK_THREAD_CPUTIME_ID, or an id made by clock_getcpuclockid(3)/pthread_getcpuclockid(3)
 * (glibc also turns the two constants into these for timer_create): negative, `~id << 3`, then
 * bit 2 for a thread clock and in bits 0-1 what is counted (0 user + system, 1 user, 2 all time
 * on a CPU; 3 is invalid). Id 0 is the caller itself. A thread clock must be of a thread of the
 * caller's process (EINVAL otherwise, as Linux); a process clock of any process (EINVAL if none).
 */
export function cpuClock(t: Task, clock: number): CpuClock | LinuxError | undefined {
  let kind = CPUCLOCK_SCHED;
  let perThread: boolean;
  let id = 0;
  if (clock === CLOCK_PROCESS_CPUTIME_ID || clock === CLOCK_THREAD_CPUTIME_ID) {
    perThread = clock === CLOCK_THREAD_CPUTIME_ID;
  } else if (clock < 0) {
    kind = clock & 3;
    if (kind === 3) return EINVAL;
    perThread = (clock & 4) !== 0;
    id = ~(clock >> 3);
  } else {
    return undefined;
  }
  const measure = (u: CpuUsage): bigint => (kind === CPUCLOCK_SCHED ? u.runtime : kind === CPUCLOCK_VIRT ? u.user : u.user + u.system);
  if (perThread) {
    const task = id === 0 ? t : t.kernel.tasks.get(id);
    if (task === undefined || task.tg !== t.tg) return EINVAL;
    const context = task.context; // the thread's (exec deletes the timers that hold on to it)
    return { now: () => measure(context.cpuUsage()), speed: () => 1 };
  }
  const tg = id === 0 ? t.tg : t.kernel.tasks.get(id)?.tg;
  if (tg === undefined || (id !== 0 && tg.tgid !== id)) return EINVAL;
  return { now: () => measure(tg.usage()), speed: () => tg.tasks.size };
}

/** What a CPU clock counts (Linux's CPUCLOCK_PROF, _VIRT, _SCHED). */
const CPUCLOCK_VIRT = 1;
const CPUCLOCK_SCHED = 2;

export function timespec(ns: bigint): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigInt64(0, ns / 1_000_000_000n, true);
  dv.setBigInt64(8, ns % 1_000_000_000n, true);
  return b;
}

export function sysClockGettime(t: Task, a: SyscallArgs): SyscallValue {
  const ns = clockNow(t, a.int(0));
  if (isLinuxError(ns)) return ns;
  return t.mm.copyOut(a.pointer(1), timespec(ns)) ?? 0;
}

export function sysClockGetres(t: Task, a: SyscallArgs): SyscallValue {
  const ns = clockNow(t, a.int(0));
  if (isLinuxError(ns)) return ns;
  if (a.pointer(1) === 0n) return 0;
  return t.mm.copyOut(a.pointer(1), timespec(1n)) ?? 0;
}

export function sysGettimeofday(t: Task, a: SyscallArgs): SyscallValue {
  if (a.pointer(0) !== 0n) {
    const ns = clockNow(t, CLOCK_REALTIME) as bigint;
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setBigInt64(0, ns / 1_000_000_000n, true);
    dv.setBigInt64(8, (ns % 1_000_000_000n) / 1000n, true);
    const w = t.mm.copyOut(a.pointer(0), b);
    if (w !== undefined) return w;
  }
  if (a.pointer(1) !== 0n) {
    const w = t.mm.copyOut(a.pointer(1), new Uint8Array(8)); // UTC, no DST
    if (w !== undefined) return w;
  }
  return 0;
}

export function sysTime(t: Task, a: SyscallArgs): SyscallValue {
  const sec = (clockNow(t, CLOCK_REALTIME) as bigint) / 1_000_000_000n;
  if (a.pointer(0) !== 0n) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, sec, true);
    if (t.mm.copyOut(a.pointer(0), b) !== undefined) return EFAULT;
  }
  return sec;
}

/** Reads a struct timespec argument as nanoseconds, validating it as Linux does. */
export function readTimespec(t: Task, addr: bigint): bigint | LinuxError {
  const b = t.mm.copyIn(addr, 16);
  if (isLinuxError(b)) return EFAULT;
  const dv = new DataView(b.buffer);
  const sec = dv.getBigInt64(0, true);
  const nsec = dv.getBigInt64(8, true);
  if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n) return EINVAL;
  return sec * 1_000_000_000n + nsec;
}

/**
 * Sleeps until `deadline` (ns since boot) on the kernel thread's event loop (an awaited timer:
 * other tasks run meanwhile). A signal ends the sleep with ERESTART_RESTARTBLOCK: a handler
 * sees EINTR and, for a relative sleep, the remaining time in `rem`; with no handler the sleep
 * continues through restart_syscall(2) to the same deadline.
 */
async function sleepUntil(t: Task, deadline: bigint, rem: bigint): Promise<SyscallValue> {
  const left = deadline - t.kernel.now();
  if (left <= 0n) return 0;
  const ms = Number((left + 999_999n) / 1_000_000n);
  if ((await sleepInterruptible(ms, t.interrupter)) === "done") return 0;
  const remaining = deadline - t.kernel.now();
  if (rem !== 0n) {
    const r = remaining > 0n ? remaining : 0n;
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setBigInt64(0, r / 1_000_000_000n, true);
    dv.setBigInt64(8, r % 1_000_000_000n, true);
    if (t.mm.copyOut(rem, b) !== undefined) return EFAULT;
  }
  t.restartBlock = () => sleepUntil(t, deadline, rem);
  return ERESTART_RESTARTBLOCK;
}

export async function sysNanosleep(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const ns = readTimespec(t, a.pointer(0));
  if (isLinuxError(ns)) return ns;
  return sleepUntil(t, t.kernel.now() + ns, a.pointer(1));
}

export async function sysClockNanosleep(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const clock = a.int(0);
  const flags = a.int(1);
  const base = clockNow(t, clock);
  if (isLinuxError(base) || clock === CLOCK_THREAD_CPUTIME_ID) return EINVAL;
  const ns = readTimespec(t, a.pointer(2));
  if (isLinuxError(ns)) return ns;
  const absolute = (flags & TIMER_ABSTIME) !== 0;
  const rel = absolute ? (ns > base ? ns - base : 0n) : ns;
  // An absolute sleep is not given a remainder; it restarts to the same deadline.
  return sleepUntil(t, t.kernel.now() + rel, absolute ? 0n : a.pointer(3));
}
