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
  EINVAL,
  type LinuxError,
  TIMER_ABSTIME,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

/** Nanoseconds on `clock`, or EINVAL for a clock we do not know. */
function now(t: Task, clock: number): bigint | LinuxError {
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
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      // CPU time of the sandbox: the sentry's own, until per-task accounting exists.
      return BigInt(Math.round(process.cpuUsage().user * 1000));
    default:
      return EINVAL;
  }
}

function timespec(ns: bigint): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigInt64(0, ns / 1_000_000_000n, true);
  dv.setBigInt64(8, ns % 1_000_000_000n, true);
  return b;
}

export function sysClockGettime(t: Task, a: SyscallArgs): SyscallValue {
  const ns = now(t, a.int(0));
  if (isLinuxError(ns)) return ns;
  return t.mm.copyOut(a.pointer(1), timespec(ns)) ?? 0;
}

export function sysClockGetres(t: Task, a: SyscallArgs): SyscallValue {
  const ns = now(t, a.int(0));
  if (isLinuxError(ns)) return ns;
  if (a.pointer(1) === 0n) return 0;
  return t.mm.copyOut(a.pointer(1), timespec(1n)) ?? 0;
}

export function sysGettimeofday(t: Task, a: SyscallArgs): SyscallValue {
  if (a.pointer(0) !== 0n) {
    const ns = now(t, CLOCK_REALTIME) as bigint;
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
  const sec = (now(t, CLOCK_REALTIME) as bigint) / 1_000_000_000n;
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
 * Sleeps on the kernel thread's event loop (an awaited timer: other tasks run meanwhile).
 * Signals cannot interrupt it yet, so it never returns EINTR and never writes the remainder.
 */
async function sleepNs(ns: bigint): Promise<void> {
  const ms = Number(ns / 1_000_000n);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(ms, 2 ** 31 - 1))));
}

export async function sysNanosleep(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const ns = readTimespec(t, a.pointer(0));
  if (isLinuxError(ns)) return ns;
  await sleepNs(ns);
  return 0;
}

export async function sysClockNanosleep(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const clock = a.int(0);
  const flags = a.int(1);
  const base = now(t, clock);
  if (isLinuxError(base) || clock === CLOCK_THREAD_CPUTIME_ID) return EINVAL;
  const ns = readTimespec(t, a.pointer(2));
  if (isLinuxError(ns)) return ns;
  await sleepNs((flags & TIMER_ABSTIME) !== 0 ? (ns > base ? ns - base : 0n) : ns);
  return 0;
}
