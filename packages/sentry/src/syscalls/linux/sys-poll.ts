/**
 * poll, ppoll, select, pselect6: readiness of many files, waiting on their wait queues until one
 * is ready, the timeout passes, or a signal interrupts the wait (ERESTARTNOHAND: EINTR when a
 * handler runs, a restart with the whole timeout otherwise).
 */
import {
  EFAULT,
  EINVAL,
  ERESTARTNOHAND,
  type LinuxError,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLPRI,
  POLLRDNORM,
  POLLWRNORM,
  RLIMIT_NOFILE,
  EBADF,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import { type Interrupter, WaitEntry } from "../../kernel/waiter.js";
import { applyCallMask } from "./sys-signal.js";
import type { FileDescription } from "../../vfs/file-description.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { readTimespec } from "./sys-time.js";

/** Events always reported, asked for or not (poll(2)). */
const ALWAYS = POLLERR | POLLHUP;

/** The ready subset of `events` for `file` (POLLRDNORM/WRNORM follow POLLIN/OUT, as on Linux). */
function ready(file: FileDescription, events: number): number {
  const want = events | ALWAYS | (events & POLLRDNORM ? POLLIN : 0) | (events & POLLWRNORM ? POLLOUT : 0);
  let r = file.readiness(want | POLLIN | POLLOUT) & (want | ALWAYS);
  if (r & POLLIN && events & POLLRDNORM) r |= POLLRDNORM;
  if (r & POLLOUT && events & POLLWRNORM) r |= POLLWRNORM;
  return r & (events | ALWAYS);
}

/**
 * Waits until `check` finds something ready or `timeoutMs` passes (-1: forever), waking on any of
 * the files' wait queues. Returns the last result of `check`, or undefined if `interrupter`
 * fired while nothing was ready.
 */
export async function waitReady<T>(
  files: readonly FileDescription[],
  mask: number,
  timeoutMs: number,
  check: () => { n: number; out: T },
  interrupter: Interrupter,
): Promise<{ n: number; out: T } | undefined> {
  let r = check();
  if (r.n > 0 || timeoutMs === 0) return r;
  let wake: (() => void) | undefined;
  const entry = new WaitEntry(() => wake?.());
  const stopListening = interrupter.onInterrupt(() => wake?.());
  const queues = new Set(files.map((f) => f.impl.waitQueue).filter((q) => q !== undefined));
  for (const q of queues) q.register(entry, mask | ALWAYS);
  const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
  try {
    for (;;) {
      if (interrupter.interrupted) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return check();
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (left !== Infinity) timer = setTimeout(resolve, Math.min(left, 2 ** 31 - 1));
      });
      clearTimeout(timer);
      wake = undefined;
      r = check();
      if (r.n > 0) return r;
    }
  } finally {
    for (const q of queues) q.unregister(entry);
    stopListening();
  }
}

/** Reads the timeout of poll (ms, negative = forever). */
async function doPoll(t: Task, fdsAddr: bigint, nfds: number, timeoutMs: number): Promise<SyscallValue> {
  if (nfds < 0 || nfds > t.tg.limits.cur(RLIMIT_NOFILE)) return EINVAL;
  const raw = t.mm.copyIn(fdsAddr, nfds * 8);
  if (isLinuxError(raw)) return EFAULT;
  const dv = new DataView(raw.buffer);
  const entries = Array.from({ length: nfds }, (_, i) => ({ fd: dv.getInt32(8 * i, true), events: dv.getUint16(8 * i + 4, true) }));
  const files = entries.map((e) => (e.fd < 0 ? undefined : t.fdTable.get(e.fd)));
  const check = () => {
    let n = 0;
    const revents = entries.map((e, i) => {
      if (e.fd < 0) return 0;
      const f = files[i];
      const r = f === undefined ? POLLNVAL : ready(f, e.events);
      if (r !== 0) n++;
      return r;
    });
    return { n, out: revents };
  };
  const mask = entries.reduce((m, e) => m | e.events, 0) | POLLIN | POLLOUT | POLLPRI;
  const got = await waitReady(files.filter((f): f is FileDescription => f !== undefined), mask, timeoutMs, check, t.interrupter);
  if (got === undefined) return ERESTARTNOHAND;
  const { n, out } = got;
  out.forEach((r, i) => dv.setUint16(8 * i + 6, r, true));
  return t.mm.copyOut(fdsAddr, raw) ?? n;
}

/** A timespec argument in milliseconds (rounded up), or -1 for a null pointer. */
export function timespecMs(t: Task, addr: bigint): number | LinuxError {
  if (addr === 0n) return -1;
  const ns = readTimespec(t, addr);
  if (isLinuxError(ns)) return ns;
  const ms = (ns + 999_999n) / 1_000_000n;
  return ms > 2n ** 31n ? 2 ** 31 : Number(ms);
}

export function sysPoll(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  return doPoll(t, a.pointer(0), a.int(1), a.int(2));
}

/** ppoll(2): poll with a timespec timeout and a signal mask for the call. */
export function sysPpoll(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const ms = timespecMs(t, a.pointer(2));
  if (isLinuxError(ms)) return Promise.resolve(ms);
  const m = applyCallMask(t, a.pointer(3), a.ulong(4));
  if (m !== undefined) return Promise.resolve(m);
  return doPoll(t, a.pointer(0), a.int(1), ms);
}

/** select(2)/pselect6(2): fd_set bit arrays of `nfds` bits each. */
async function doSelect(t: Task, nfds: number, readAddr: bigint, writeAddr: bigint, exceptAddr: bigint, timeoutMs: number): Promise<SyscallValue> {
  if (nfds < 0 || nfds > t.tg.limits.cur(RLIMIT_NOFILE)) return EINVAL;
  const bytes = Math.ceil(nfds / 64) * 8;
  const load = (addr: bigint): Uint8Array | LinuxError | undefined => (addr === 0n ? undefined : t.mm.copyIn(addr, bytes));
  const sets = [load(readAddr), load(writeAddr), load(exceptAddr)];
  if (sets.some((s) => isLinuxError(s))) return EFAULT;
  const [rs, ws, es] = sets as Array<Uint8Array | undefined>;
  const bit = (s: Uint8Array | undefined, fd: number) => s !== undefined && ((s[fd >> 3] ?? 0) & (1 << (fd & 7))) !== 0;
  const wanted: Array<{ fd: number; events: number; file: FileDescription }> = [];
  for (let fd = 0; fd < nfds; fd++) {
    const events = (bit(rs, fd) ? POLLIN : 0) | (bit(ws, fd) ? POLLOUT : 0) | (bit(es, fd) ? POLLPRI : 0);
    if (events === 0) continue;
    const file = t.fdTable.get(fd);
    if (file === undefined) return EBADF;
    wanted.push({ fd, events, file });
  }
  const check = () => {
    const out = [new Uint8Array(bytes), new Uint8Array(bytes), new Uint8Array(bytes)];
    let n = 0;
    for (const w of wanted) {
      const r = ready(w.file, w.events);
      const set = (i: number, on: boolean) => {
        if (!on) return;
        const o = out[i] as Uint8Array;
        o[w.fd >> 3] = (o[w.fd >> 3] ?? 0) | (1 << (w.fd & 7));
        n++;
      };
      set(0, (w.events & POLLIN) !== 0 && (r & (POLLIN | POLLHUP | POLLERR)) !== 0);
      set(1, (w.events & POLLOUT) !== 0 && (r & (POLLOUT | POLLERR)) !== 0);
      set(2, (w.events & POLLPRI) !== 0 && (r & POLLPRI) !== 0);
    }
    return { n, out };
  };
  const got = await waitReady(wanted.map((w) => w.file), POLLIN | POLLOUT | POLLPRI, timeoutMs, check, t.interrupter);
  if (got === undefined) return ERESTARTNOHAND;
  const { n, out } = got;
  const addrs = [readAddr, writeAddr, exceptAddr];
  for (let i = 0; i < 3; i++) {
    const addr = addrs[i] ?? 0n;
    if (addr !== 0n && t.mm.copyOut(addr, out[i] as Uint8Array) !== undefined) return EFAULT;
  }
  return n;
}

export function sysSelect(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  let ms = -1;
  if (a.pointer(4) !== 0n) {
    const b = t.mm.copyIn(a.pointer(4), 16);
    if (isLinuxError(b)) return Promise.resolve(EFAULT);
    const dv = new DataView(b.buffer);
    const sec = dv.getBigInt64(0, true);
    const usec = dv.getBigInt64(8, true);
    if (sec < 0n || usec < 0n) return Promise.resolve(EINVAL);
    ms = Number(sec * 1000n + (usec + 999n) / 1000n);
  }
  return doSelect(t, a.int(0), a.pointer(1), a.pointer(2), a.pointer(3), ms);
}

/** pselect6(2): the sixth argument points at { const sigset_t *mask; size_t size }. */
export function sysPselect6(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const ms = timespecMs(t, a.pointer(4));
  if (isLinuxError(ms)) return Promise.resolve(ms);
  if (a.pointer(5) !== 0n) {
    const b = t.mm.copyIn(a.pointer(5), 16);
    if (isLinuxError(b)) return Promise.resolve(EFAULT);
    const dv = new DataView(b.buffer);
    const m = applyCallMask(t, dv.getBigUint64(0, true), dv.getBigUint64(8, true));
    if (m !== undefined) return Promise.resolve(m);
  }
  return doSelect(t, a.int(0), a.pointer(1), a.pointer(2), a.pointer(3), ms);
}
