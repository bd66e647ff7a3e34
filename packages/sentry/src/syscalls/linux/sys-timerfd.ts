/** timerfd_create/settime/gettime and signalfd/signalfd4. */
import {
  CLOCK_BOOTTIME,
  CLOCK_BOOTTIME_ALARM,
  CLOCK_MONOTONIC,
  CLOCK_REALTIME,
  CLOCK_REALTIME_ALARM,
  EBADF,
  EFAULT,
  EINVAL,
  EPERM,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  SFD_CLOEXEC,
  SFD_NONBLOCK,
  S_IFREG,
  TFD_CLOEXEC,
  TFD_NONBLOCK,
  TFD_TIMER_ABSTIME,
  TFD_TIMER_CANCEL_ON_SET,
  isLinuxError,
} from "@runsc-ts/abi";
import { SignalFd, TimerFd } from "../../fsimpl/eventfd/timerfd.js";
import { UNBLOCKABLE } from "../../kernel/signals.js";
import type { Task } from "../../kernel/task.js";
import { IntervalTimer } from "../../kernel/timers.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { clockNow, timespec } from "./sys-time.js";

const NS = 1_000_000_000n;

export function sysTimerfdCreate(t: Task, a: SyscallArgs): SyscallValue {
  const clock = a.int(0);
  const flags = a.int(1);
  if ((flags & ~(TFD_NONBLOCK | TFD_CLOEXEC)) !== 0) return EINVAL;
  if (clock === CLOCK_REALTIME_ALARM || clock === CLOCK_BOOTTIME_ALARM) return EPERM; // needs CAP_WAKE_ALARM and a wakeup source
  if (clock !== CLOCK_REALTIME && clock !== CLOCK_MONOTONIC && clock !== CLOCK_BOOTTIME) return EINVAL;
  const impl = new TimerFd(clock);
  impl.timer = new IntervalTimer(() => t.kernel.now(), (timer) => {
    impl.expired(1 + timer.overrun);
    timer.overrun = 0;
  });
  const f = t.kernel.anonfs.anonymous("anon_inode:[timerfd]", S_IFREG | 0o600, impl, O_RDWR | ((flags & TFD_NONBLOCK) !== 0 ? O_NONBLOCK : 0), t.creds);
  const fd = t.fdTable.newFd(f, (flags & TFD_CLOEXEC) !== 0);
  f.decRef();
  return fd;
}

function timerFdOf(t: Task, fd: number): TimerFd | typeof EBADF | typeof EINVAL {
  const f = t.fdTable.get(fd);
  if (f === undefined) return EBADF;
  return f.impl instanceof TimerFd ? f.impl : EINVAL;
}

/** An itimerspec: interval then value, in ns. */
function readItimerspec(t: Task, addr: bigint): { interval: bigint; value: bigint } | typeof EFAULT | typeof EINVAL {
  const b = t.mm.copyIn(addr, 32);
  if (isLinuxError(b)) return EFAULT;
  const dv = new DataView(b.buffer);
  const part = (off: number) => {
    const sec = dv.getBigInt64(off, true);
    const nsec = dv.getBigInt64(off + 8, true);
    return sec < 0n || nsec < 0n || nsec >= NS ? undefined : sec * NS + nsec;
  };
  const interval = part(0);
  const value = part(16);
  if (interval === undefined || value === undefined) return EINVAL;
  return { interval, value };
}

function itimerspec(interval: bigint, value: bigint): Uint8Array {
  const b = new Uint8Array(32);
  b.set(timespec(interval), 0);
  b.set(timespec(value), 16);
  return b;
}

export function sysTimerfdSettime(t: Task, a: SyscallArgs): SyscallValue {
  const tfd = timerFdOf(t, a.int(0));
  if (isLinuxError(tfd)) return tfd;
  const flags = a.int(1);
  if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) !== 0) return EINVAL;
  const next = readItimerspec(t, a.pointer(2));
  if (isLinuxError(next)) return next;
  let value = next.value;
  if ((flags & TFD_TIMER_ABSTIME) !== 0 && value !== 0n) {
    const now = clockNow(t, tfd.clock);
    if (isLinuxError(now)) return now;
    value = value > now ? value - now : 1n;
  }
  const timer = tfd.timer as IntervalTimer;
  tfd.reset();
  const old = timer.set(value, next.interval);
  return a.pointer(3) === 0n ? 0 : t.mm.copyOut(a.pointer(3), itimerspec(old.interval, old.value)) ?? 0;
}

export function sysTimerfdGettime(t: Task, a: SyscallArgs): SyscallValue {
  const tfd = timerFdOf(t, a.int(0));
  if (isLinuxError(tfd)) return tfd;
  const cur = (tfd.timer as IntervalTimer).get();
  return t.mm.copyOut(a.pointer(1), itimerspec(cur.interval, cur.value)) ?? 0;
}

/** signalfd(2) and signalfd4(2): a new signalfd (fd -1) or a new mask for an existing one. */
function signalfd(t: Task, fd: number, maskAddr: bigint, size: number, flags: number): SyscallValue {
  if ((flags & ~(SFD_NONBLOCK | SFD_CLOEXEC)) !== 0) return EINVAL;
  if (size !== 8) return EINVAL;
  const raw = t.mm.copyIn(maskAddr, 8);
  if (isLinuxError(raw)) return EFAULT;
  const mask = new DataView(raw.buffer).getBigUint64(0, true) & ~UNBLOCKABLE;
  if (fd !== -1) {
    const f = t.fdTable.get(fd);
    if (f === undefined) return EBADF;
    if (!(f.impl instanceof SignalFd)) return EINVAL;
    f.impl.mask = mask;
    return fd;
  }
  const tg = t.tg;
  const impl = new SignalFd(mask, {
    queue: tg.signalQueue,
    // The reading task is the creator's process's: its own queue first, then the process's.
    pending: (m) => ((t.pending.set | tg.pending.set) & m) !== 0n,
    take: (m) => {
      const own = t.pending.peek(m);
      if (own !== undefined) return t.pending.take(own);
      const shared = tg.pending.peek(m);
      return shared === undefined ? undefined : tg.pending.take(shared);
    },
  });
  const f = t.kernel.anonfs.anonymous("anon_inode:[signalfd]", S_IFREG | 0o600, impl, O_RDONLY | ((flags & SFD_NONBLOCK) !== 0 ? O_NONBLOCK : 0), t.creds);
  const newFd = t.fdTable.newFd(f, (flags & SFD_CLOEXEC) !== 0);
  f.decRef();
  return newFd;
}

export const sysSignalfd = (t: Task, a: SyscallArgs): SyscallValue => signalfd(t, a.int(0), a.pointer(1), a.sizeT(2), 0);
export const sysSignalfd4 = (t: Task, a: SyscallArgs): SyscallValue => signalfd(t, a.int(0), a.pointer(1), a.sizeT(2), a.int(3));
