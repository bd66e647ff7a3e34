/**
 * epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2. The interest
 * and ready lists live in fsimpl/epoll; this file checks arguments in Linux's order and moves
 * struct epoll_event (packed on x86-64: u32 events, u64 data = 12 bytes) in and out.
 */
import {
  EBADF,
  EINTR,
  EFAULT,
  EINVAL,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLLERR,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLWAKEUP,
  EPERM,
  O_RDWR,
  S_IFREG,
  isLinuxError,
  type LinuxError,
} from "@runsc-ts/abi";
import { EventPoll } from "../../fsimpl/epoll/epoll.js";
import type { Task } from "../../kernel/task.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { timespecMs, waitReady } from "./sys-poll.js";
import { applyCallMask } from "./sys-signal.js";

const EVENT_SIZE = 12;
/** Linux's EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event). */
const MAX_EVENTS = Math.floor(0x7fff_ffff / EVENT_SIZE);
/** The only events an EPOLLEXCLUSIVE interest may ask for (EPOLLEXCLUSIVE_OK_BITS). */
const EXCLUSIVE_OK = (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE) >>> 0;

function create(t: Task, flags: number): SyscallValue {
  if ((flags & ~EPOLL_CLOEXEC) !== 0) return EINVAL;
  const f = t.kernel.anonfs.anonymous("anon_inode:[eventpoll]", S_IFREG | 0o600, new EventPoll(), O_RDWR, t.creds);
  const fd = t.fdTable.newFd(f, (flags & EPOLL_CLOEXEC) !== 0);
  f.decRef();
  return fd;
}

/** epoll_create(2): `size` is only checked to be positive, as on Linux since 2.6.8. */
export const sysEpollCreate = (t: Task, a: SyscallArgs): SyscallValue => (a.int(0) <= 0 ? EINVAL : create(t, 0));
export const sysEpollCreate1 = (t: Task, a: SyscallArgs): SyscallValue => create(t, a.int(0));

export function sysEpollCtl(t: Task, a: SyscallArgs): SyscallValue {
  const epfd = a.int(0);
  const op = a.int(1);
  const fd = a.int(2);
  let events = 0;
  let data = 0n;
  if (op !== EPOLL_CTL_DEL) {
    const raw = t.mm.copyIn(a.pointer(3), EVENT_SIZE);
    if (isLinuxError(raw)) return EFAULT;
    const dv = new DataView(raw.buffer, raw.byteOffset, EVENT_SIZE);
    events = dv.getUint32(0, true);
    data = dv.getBigUint64(4, true);
  }
  const epFile = t.fdTable.get(epfd);
  const target = t.fdTable.get(fd);
  if (epFile === undefined || target === undefined) return EBADF;
  if (target.impl.waitQueue === undefined) return EPERM;
  const ep = epFile.impl;
  if (op === EPOLL_CTL_ADD && (events & EPOLLEXCLUSIVE) !== 0) {
    if ((events & ~EXCLUSIVE_OK) !== 0 || target.impl instanceof EventPoll) return EINVAL;
  }
  if (epFile === target || !(ep instanceof EventPoll)) return EINVAL;
  switch (op) {
    case EPOLL_CTL_ADD:
      return ep.add(fd, target, events, data) ?? 0;
    case EPOLL_CTL_MOD:
      return ep.modify(fd, target, events, data) ?? 0;
    case EPOLL_CTL_DEL:
      return ep.remove(fd, target) ?? 0;
    default:
      return EINVAL;
  }
}

async function wait(t: Task, epfd: number, addr: bigint, max: number, timeoutMs: number | LinuxError): Promise<SyscallValue> {
  if (max <= 0 || max > MAX_EVENTS) return EINVAL;
  if (isLinuxError(timeoutMs)) return timeoutMs;
  const epFile = t.fdTable.get(epfd);
  if (epFile === undefined) return EBADF;
  const ep = epFile.impl;
  if (!(ep instanceof EventPoll)) return EINVAL;
  const got = await waitReady([epFile], EPOLLIN, timeoutMs, () => {
    const events = ep.collect(max);
    return { n: events.length, out: events };
  }, t.interrupter);
  if (got === undefined) return EINTR;
  const { n, out } = got;
  if (n === 0) return 0;
  const buf = new Uint8Array(n * EVENT_SIZE);
  const dv = new DataView(buf.buffer);
  out.forEach((e, i) => {
    dv.setUint32(i * EVENT_SIZE, e.events, true);
    dv.setBigUint64(i * EVENT_SIZE + 4, e.data, true);
  });
  return t.mm.copyOut(addr, buf) ?? n;
}

export const sysEpollWait = (t: Task, a: SyscallArgs): Promise<SyscallValue> => wait(t, a.int(0), a.pointer(1), a.int(2), a.int(3));

/** epoll_pwait(2): epoll_wait with a signal mask for the call. */
export function sysEpollPwait(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const m = applyCallMask(t, a.pointer(4), a.ulong(5));
  return m !== undefined ? Promise.resolve(m) : wait(t, a.int(0), a.pointer(1), a.int(2), a.int(3));
}

/** epoll_pwait2(2): a timespec timeout (NULL: forever) and a signal mask. */
export function sysEpollPwait2(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const ms = timespecMs(t, a.pointer(3));
  const m = isLinuxError(ms) ? undefined : applyCallMask(t, a.pointer(4), a.ulong(5));
  return m !== undefined ? Promise.resolve(m) : wait(t, a.int(0), a.pointer(1), a.int(2), ms);
}
