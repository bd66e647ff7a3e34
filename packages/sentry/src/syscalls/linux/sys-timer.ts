/** Timers: alarm, setitimer, getitimer, and the POSIX timer_* family. */
import {
  CLOCK_BOOTTIME,
  CLOCK_MONOTONIC,
  CLOCK_REALTIME,
  EFAULT,
  EAGAIN,
  EINVAL,
  ITIMER_PROF,
  ITIMER_REAL,
  ITIMER_VIRTUAL,
  type LinuxError,
  SIGALRM,
  SIGPROF,
  SIGVTALRM,
  SI_KERNEL,
  SIGEV_NONE,
  SIGEV_SIGNAL,
  SIGEV_THREAD_ID,
  TIMER_ABSTIME,
  isLinuxError,
  readStruct,
  sigevent,
} from "@runsc-ts/abi";
import { isValidSignal, killInfo } from "../../kernel/signals.js";
import { sendSignal } from "../../kernel/task-signals.js";
import type { Task } from "../../kernel/task.js";
import type { ThreadGroup } from "../../kernel/thread-group.js";
import { IntervalTimer, type PosixTimer, type TimerSetting, alarmInfo, timerInfo } from "../../kernel/timers.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { clockNow, cpuClock } from "./sys-time.js";

const NS = 1_000_000_000n;

/** A pair of timevals (usec) or timespecs (nsec) — itimerval / itimerspec — as ns: interval then value. */
function readPair(t: Task, addr: bigint, unit: bigint): TimerSetting | LinuxError {
  const b = t.mm.copyIn(addr, 32);
  if (isLinuxError(b)) return EFAULT;
  const dv = new DataView(b.buffer);
  const part = (off: number): bigint | LinuxError => {
    const sec = dv.getBigInt64(off, true);
    const frac = dv.getBigInt64(off + 8, true);
    if (sec < 0n || frac < 0n || frac >= NS / unit) return EINVAL;
    return sec * NS + frac * unit;
  };
  const interval = part(0);
  const value = part(16);
  if (isLinuxError(interval)) return interval;
  if (isLinuxError(value)) return value;
  return { value, interval };
}

function writePair(t: Task, addr: bigint, s: TimerSetting, unit: bigint): LinuxError | undefined {
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  // A remaining time that is not a whole unit rounds up, so an armed timer never reads 0.
  const put = (off: number, ns: bigint) => {
    const units = (ns + unit - 1n) / unit;
    dv.setBigInt64(off, units / (NS / unit), true);
    dv.setBigInt64(off + 8, units % (NS / unit), true);
  };
  put(0, s.interval);
  put(16, s.value);
  return t.mm.copyOut(addr, b) ?? undefined;
}

/** ITIMER_REAL of `tg`, made on first use: SIGALRM to the process at each expiry. */
function realTimer(t: Task): IntervalTimer {
  const tg = t.tg;
  tg.timers.real ??= new IntervalTimer(() => t.kernel.now(), () => sendSignal(tg, alarmInfo()));
  return tg.timers.real;
}

/**
 * ITIMER_VIRTUAL or ITIMER_PROF of `tg`, made on first use: on the process's user CPU time
 * (SIGVTALRM) or its whole CPU time (SIGPROF), as the host accounts its threads.
 */
function cpuTimer(tg: ThreadGroup, which: typeof ITIMER_VIRTUAL | typeof ITIMER_PROF): IntervalTimer {
  let timer = tg.timers.cpu.get(which);
  if (timer === undefined) {
    const clock = which === ITIMER_VIRTUAL ? () => tg.usage().user : () => tg.usage().runtime;
    const signo = which === ITIMER_VIRTUAL ? SIGVTALRM : SIGPROF;
    timer = new IntervalTimer(clock, () => sendSignal(tg, killInfo(signo, 0, 0, SI_KERNEL)), () => tg.tasks.size);
    tg.timers.cpu.set(which, timer);
  }
  return timer;
}

function setItimer(t: Task, which: number, next: TimerSetting): TimerSetting | LinuxError {
  if (which === ITIMER_REAL) return realTimer(t).set(next.value, next.interval);
  if (which !== ITIMER_VIRTUAL && which !== ITIMER_PROF) return EINVAL;
  return cpuTimer(t.tg, which).set(next.value, next.interval);
}

function getItimer(t: Task, which: number): TimerSetting | LinuxError {
  if (which === ITIMER_REAL) return t.tg.timers.real?.get() ?? { value: 0n, interval: 0n };
  if (which !== ITIMER_VIRTUAL && which !== ITIMER_PROF) return EINVAL;
  return t.tg.timers.cpu.get(which)?.get() ?? { value: 0n, interval: 0n };
}

/** setitimer(2). A null new value disarms, as Linux has long accepted. */
export function sysSetitimer(t: Task, a: SyscallArgs): SyscallValue {
  const which = a.int(0);
  let next: TimerSetting = { value: 0n, interval: 0n };
  if (a.pointer(1) !== 0n) {
    const r = readPair(t, a.pointer(1), 1000n);
    if (isLinuxError(r)) return r;
    next = r;
  }
  const old = setItimer(t, which, next);
  if (isLinuxError(old)) return old;
  return a.pointer(2) === 0n ? 0 : writePair(t, a.pointer(2), old, 1000n) ?? 0;
}

/** getitimer(2). */
export function sysGetitimer(t: Task, a: SyscallArgs): SyscallValue {
  const cur = getItimer(t, a.int(0));
  if (isLinuxError(cur)) return cur;
  return writePair(t, a.pointer(1), cur, 1000n) ?? 0;
}

/** alarm(2): seconds left on the previous alarm (rounded to nearest, never 0 if armed). */
export function sysAlarm(t: Task, a: SyscallArgs): SyscallValue {
  const old = realTimer(t).set(BigInt(a.uint(0)) * NS, 0n);
  if (old.value === 0n) return 0;
  const secs = (old.value + NS / 2n) / NS;
  return secs === 0n ? 1 : Number(secs);
}

// ---- POSIX timers ------------------------------------------------------------------------------

const WALL_CLOCKS = new Set([CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME]);

/** timer_create(2). */
export function sysTimerCreate(t: Task, a: SyscallArgs): SyscallValue {
  const clock = a.int(0);
  const cpu = cpuClock(t, clock);
  if (isLinuxError(cpu) || (cpu === undefined && !WALL_CLOCKS.has(clock))) return EINVAL;
  const timers = t.tg.timers;
  const id = timers.allocId();
  if (id === undefined) return EAGAIN;
  let notify = SIGEV_SIGNAL;
  let signo = SIGALRM;
  let value = BigInt(id);
  let tid: number | undefined;
  if (a.pointer(1) !== 0n) {
    const b = t.mm.copyIn(a.pointer(1), sigevent.size);
    if (isLinuxError(b)) return EFAULT;
    const ev = readStruct(sigevent, b);
    notify = ev.sigev_notify;
    signo = ev.sigev_signo;
    value = ev.sigev_value;
    if (notify === SIGEV_THREAD_ID) {
      const target = t.kernel.tasks.get(ev.sigev_notify_thread_id);
      if (target === undefined || target.tg !== t.tg) return EINVAL;
      tid = target.tid;
    } else if (notify !== SIGEV_SIGNAL && notify !== SIGEV_NONE) {
      return EINVAL;
    }
    if (notify !== SIGEV_NONE && !isValidSignal(signo)) return EINVAL;
  }
  const tg = t.tg;
  const p: PosixTimer = {
    id,
    clock,
    cpuClock: cpu?.now,
    signo: notify === SIGEV_NONE ? 0 : signo,
    value,
    tid,
    lastOverrun: 0,
    queued: undefined,
    timer: new IntervalTimer(cpu?.now ?? (() => t.kernel.now()), (timer) => expire(tg, p, timer), cpu?.speed),
  };
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, id, true);
  const w = t.mm.copyOut(a.pointer(2), out);
  if (w !== undefined) return w;
  timers.posix.set(id, p);
  return 0;
}

/** A timer expired: queue its signal, or count an overrun while the last one is still pending. */
function expire(tg: ThreadGroup, p: PosixTimer, timer: IntervalTimer): void {
  if (p.signo === 0) return;
  let target: Task | ThreadGroup = tg;
  if (p.tid !== undefined) {
    const thread = [...tg.tasks].find((x) => x.tid === p.tid);
    if (thread === undefined) return;
    target = thread;
  }
  if (p.queued !== undefined && target.pending.contains(p.queued)) {
    timer.overrun++;
    return;
  }
  p.lastOverrun = timer.overrun;
  timer.overrun = 0;
  p.queued = timerInfo(p, p.lastOverrun);
  sendSignal(target, p.queued);
}

function timerOf(t: Task, id: number): PosixTimer | LinuxError {
  return t.tg.timers.posix.get(id) ?? EINVAL;
}

/** timer_settime(2). */
export function sysTimerSettime(t: Task, a: SyscallArgs): SyscallValue {
  const p = timerOf(t, a.int(0));
  if (isLinuxError(p)) return p;
  const flags = a.int(1);
  if ((flags & ~TIMER_ABSTIME) !== 0) return EINVAL;
  const next = readPair(t, a.pointer(2), 1n);
  if (isLinuxError(next)) return next;
  let value = next.value;
  if ((flags & TIMER_ABSTIME) !== 0 && value !== 0n) {
    const now = p.cpuClock?.() ?? clockNow(t, p.clock);
    if (isLinuxError(now)) return now;
    value = value > now ? value - now : 1n; // already past: expires at once
  }
  const old = p.timer.set(value, next.interval);
  return a.pointer(3) === 0n ? 0 : writePair(t, a.pointer(3), old, 1n) ?? 0;
}

/** timer_gettime(2). */
export function sysTimerGettime(t: Task, a: SyscallArgs): SyscallValue {
  const p = timerOf(t, a.int(0));
  if (isLinuxError(p)) return p;
  return writePair(t, a.pointer(1), p.timer.get(), 1n) ?? 0;
}

/** timer_getoverrun(2). */
export function sysTimerGetoverrun(t: Task, a: SyscallArgs): SyscallValue {
  const p = timerOf(t, a.int(0));
  return isLinuxError(p) ? p : Math.min(p.lastOverrun, 0x7fff_ffff);
}

/** timer_delete(2). */
export function sysTimerDelete(t: Task, a: SyscallArgs): SyscallValue {
  const p = timerOf(t, a.int(0));
  if (isLinuxError(p)) return p;
  p.timer.cancel();
  t.tg.timers.posix.delete(p.id);
  return 0;
}
