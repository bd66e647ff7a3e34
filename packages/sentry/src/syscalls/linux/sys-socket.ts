/**
 * The socket system calls over AF_UNIX endpoints (socket/unix.ts): socket, socketpair, bind,
 * listen, accept(4), connect, send/recv in all their forms with SCM_RIGHTS and SCM_CREDENTIALS,
 * shutdown, getsockname/getpeername, get/setsockopt. Other families answer EAFNOSUPPORT: the
 * sandbox has no network stack wired in yet.
 */
import {
  AF_UNIX,
  CAP_SETUID,
  EAFNOSUPPORT,
  EAGAIN,
  EBADF,
  ECONNREFUSED,
  EEXIST,
  EADDRINUSE,
  EFAULT,
  EINVAL,
  ENOPROTOOPT,
  ENOTCONN,
  ENOTSOCK,
  EOPNOTSUPP,
  EPERM,
  EPIPE,
  EPOLLIN,
  EPOLLOUT,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
  type LinuxError,
  AT_FDCWD,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_EOR,
  MSG_NOSIGNAL,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  O_NONBLOCK,
  O_RDWR,
  SCM_CREDENTIALS,
  SCM_RIGHTS,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SIGPIPE,
  SI_USER,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_PACKET,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_ERROR,
  SO_PASSCRED,
  SO_PEERCRED,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_TYPE,
  S_IFMT,
  S_IFSOCK,
  W_OK,
  encodeStruct,
  isLinuxError,
  msghdr,
  readStruct,
  ucred,
} from "@runsc-ts/abi";
import { killInfo } from "../../kernel/signals.js";
import { sendSignal } from "../../kernel/task-signals.js";
import type { Task } from "../../kernel/task.js";
import { blockOn } from "../../kernel/waiter.js";
import { type Received, type Ucred, UnixSocket, type UnixType, socketPair } from "../../socket/unix.js";
import type { FileDescription } from "../../vfs/file-description.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { iovecs } from "./sys-read-write.js";

/** sizeof(sa_family_t) + sun_path. */
const SOCKADDR_UN_SIZE = 110;
/** SCM_MAX_FD: descriptions one message may carry. */
const SCM_MAX_FD = 253;

function credsOf(t: Task): Ucred {
  return { pid: t.tg.tgid, uid: t.creds.euid, gid: t.creds.egid };
}

/** The socket behind `fd`: EBADF for no file, ENOTSOCK for another kind of file. */
function socketOf(t: Task, fd: number): { file: FileDescription; sock: UnixSocket } | LinuxError {
  const file = t.fdTable.get(fd);
  if (file === undefined) return EBADF;
  return file.impl instanceof UnixSocket ? { file, sock: file.impl } : ENOTSOCK;
}

function newSocketFile(t: Task, sock: UnixSocket, flags: number): FileDescription {
  return t.kernel.anonfs.anonymous("socket:", S_IFSOCK | 0o777, sock, O_RDWR | ((flags & SOCK_NONBLOCK) !== 0 ? O_NONBLOCK : 0), t.creds);
}

function installSocket(t: Task, sock: UnixSocket, flags: number): SyscallValue {
  const f = newSocketFile(t, sock, flags);
  const fd = t.fdTable.newFd(f, (flags & SOCK_CLOEXEC) !== 0);
  f.decRef();
  return fd;
}

/** socket(2)'s domain, type and protocol, checked as Linux checks them. */
function socketType(domain: number, rawType: number, protocol: number): { type: UnixType; flags: number } | LinuxError {
  if (domain !== AF_UNIX) return EAFNOSUPPORT;
  const flags = rawType & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  let type = rawType & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (type < 0 || type > SOCK_PACKET) return EINVAL;
  if (type === SOCK_RAW) type = SOCK_DGRAM; // unix(7): a raw unix socket is a datagram one
  if (type !== SOCK_STREAM && type !== SOCK_DGRAM && type !== SOCK_SEQPACKET) return ESOCKTNOSUPPORT;
  if (protocol !== 0 && protocol !== AF_UNIX) return EPROTONOSUPPORT;
  return { type: type as UnixType, flags };
}

export function sysSocket(t: Task, a: SyscallArgs): SyscallValue {
  const st = socketType(a.int(0), a.int(1), a.int(2));
  if (isLinuxError(st)) return st;
  return installSocket(t, new UnixSocket(st.type, t.kernel.unix, credsOf(t)), st.flags);
}

export function sysSocketpair(t: Task, a: SyscallArgs): SyscallValue {
  const st = socketType(a.int(0), a.int(1), a.int(2));
  if (isLinuxError(st)) return st;
  const [x, y] = socketPair(st.type, t.kernel.unix, credsOf(t));
  const fx = installSocket(t, x, st.flags);
  if (isLinuxError(fx)) return fx;
  const fy = installSocket(t, y, st.flags);
  if (isLinuxError(fy)) {
    t.fdTable.close(Number(fx));
    return fy;
  }
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, Number(fx), true);
  dv.setInt32(4, Number(fy), true);
  const w = t.mm.copyOut(a.pointer(3), out);
  if (w !== undefined) {
    t.fdTable.close(Number(fx));
    t.fdTable.close(Number(fy));
    return w;
  }
  return 0;
}

/** A parsed sockaddr_un: an abstract name, a path, or nothing (autobind / unnamed). */
type UnixAddress = { kind: "abstract"; name: Uint8Array } | { kind: "path"; path: string; name: Uint8Array } | { kind: "none" };

function readAddress(t: Task, addr: bigint, len: number): UnixAddress | LinuxError {
  if (len < 2 || len > SOCKADDR_UN_SIZE) return EINVAL;
  const raw = t.mm.copyIn(addr, len);
  if (isLinuxError(raw)) return EFAULT;
  const family = new DataView(raw.buffer).getUint16(0, true);
  if (family !== AF_UNIX) return EINVAL;
  const path = raw.subarray(2);
  if (path.length === 0) return { kind: "none" };
  if (path[0] === 0) return { kind: "abstract", name: path.slice() };
  const nul = path.indexOf(0);
  const bytes = path.slice(0, nul < 0 ? path.length : nul);
  return { kind: "path", path: Buffer.from(bytes).toString("latin1"), name: bytes };
}

/** Writes a name as a sockaddr_un to (addr, lenAddr), truncated to the caller's buffer. */
function writeAddress(t: Task, addr: bigint, lenAddr: bigint, name: Uint8Array | undefined): LinuxError | undefined {
  if (addr === 0n) return undefined;
  const lenRaw = t.mm.copyIn(lenAddr, 4);
  if (isLinuxError(lenRaw)) return EFAULT;
  const room = new DataView(lenRaw.buffer).getInt32(0, true);
  if (room < 0) return EINVAL;
  const bytes = new Uint8Array(2 + (name?.length ?? 0) + (name !== undefined && name[0] !== 0 ? 1 : 0));
  new DataView(bytes.buffer).setUint16(0, AF_UNIX, true);
  if (name !== undefined) bytes.set(name, 2);
  const w = t.mm.copyOut(addr, bytes.subarray(0, Math.min(room, bytes.length)));
  if (w !== undefined) return w;
  // The length counts a path's terminating NUL, as Linux reports it.
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, bytes.length, true);
  return t.mm.copyOut(lenAddr, out) ?? undefined;
}

/** The device and inode that name a socket file (its key among bound files). */
async function fileKey(t: Task, path: string): Promise<string | LinuxError> {
  const st = await t.kernel.vfs.statAt(t, AT_FDCWD, path);
  if (isLinuxError(st)) return st;
  if ((st.mode & S_IFMT) !== S_IFSOCK) return ECONNREFUSED;
  return `${st.devMajor}:${st.devMinor}:${st.ino}`;
}

export async function sysBind(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  const addr = readAddress(t, a.pointer(1), a.int(2));
  if (isLinuxError(addr)) return addr;
  if (s.sock.name !== undefined) return EINVAL;
  if (addr.kind === "none") return autobind(t, s.sock);
  if (addr.kind === "abstract") return s.sock.bindAbstract(addr.name) ?? 0;
  // A path: create the socket file (EADDRINUSE if the name exists), then register it.
  const made = await t.kernel.vfs.mknodAt(t, AT_FDCWD, addr.path, S_IFSOCK | 0o777, 0);
  if (made === EEXIST) return EADDRINUSE;
  if (isLinuxError(made)) return made;
  const key = await fileKey(t, addr.path);
  if (isLinuxError(key)) return key;
  return s.sock.register(t.kernel.unix.files, key, addr.name) ?? 0;
}

function autobind(t: Task, sock: UnixSocket): SyscallValue {
  const name = t.kernel.unix.autoName();
  if (name === undefined) return EADDRINUSE;
  return sock.bindAbstract(name) ?? 0;
}

export function sysListen(t: Task, a: SyscallArgs): SyscallValue {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  return s.sock.listen(a.int(1)) ?? 0;
}

/** The endpoint a sockaddr_un names (ECONNREFUSED when nobody is bound there). */
async function resolveTarget(t: Task, addr: UnixAddress): Promise<UnixSocket | LinuxError> {
  if (addr.kind === "none") return EINVAL;
  if (addr.kind === "abstract") return t.kernel.unix.abstract.get(Buffer.from(addr.name).toString("latin1")) ?? ECONNREFUSED;
  const access = await t.kernel.vfs.accessAt(t, AT_FDCWD, addr.path, W_OK);
  if (access !== undefined) return access;
  const key = await fileKey(t, addr.path);
  if (isLinuxError(key)) return key;
  return t.kernel.unix.files.get(key) ?? ECONNREFUSED;
}

export async function sysConnect(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  const addr = readAddress(t, a.pointer(1), a.int(2));
  if (isLinuxError(addr)) return addr;
  const target = await resolveTarget(t, addr);
  if (isLinuxError(target)) return target;
  const nonblock = (s.file.statusFlags & O_NONBLOCK) !== 0;
  const r = nonblock ? s.sock.connect(target) : await blockOn(target.waitQueue, EPOLLOUT | EPOLLIN, () => s.sock.connect(target) ?? 0, t.interrupter);
  return r ?? 0;
}

async function accept(t: Task, a: SyscallArgs, flags: number): Promise<SyscallValue> {
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) return EINVAL;
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  if (!s.sock.listening) return EINVAL;
  const nonblock = (s.file.statusFlags & O_NONBLOCK) !== 0;
  const conn = nonblock ? s.sock.accept() : await blockOn(s.sock.waitQueue, EPOLLIN, () => s.sock.accept(), t.interrupter);
  if (isLinuxError(conn)) return conn;
  const fd = installSocket(t, conn, flags);
  if (isLinuxError(fd)) return fd;
  const w = writeAddress(t, a.pointer(1), a.pointer(2), conn.peer?.name);
  if (w !== undefined) {
    t.fdTable.close(Number(fd));
    return w;
  }
  return fd;
}

export const sysAccept = (t: Task, a: SyscallArgs): Promise<SyscallValue> => accept(t, a, 0);
export const sysAccept4 = (t: Task, a: SyscallArgs): Promise<SyscallValue> => accept(t, a, a.int(3));

// ---- sending and receiving -----------------------------------------------------------------------

interface ControlIn {
  rights: FileDescription[];
}

/** Parses sendmsg's control buffer: SCM_RIGHTS (descriptions, each referenced) and SCM_CREDENTIALS. */
function readControl(t: Task, addr: bigint, len: number): ControlIn | LinuxError {
  const rights: FileDescription[] = [];
  if (len === 0) return { rights };
  if (len > 1 << 16) return EINVAL;
  const raw = t.mm.copyIn(addr, len);
  if (isLinuxError(raw)) return EFAULT;
  const dv = new DataView(raw.buffer);
  const fail = (e: LinuxError) => {
    for (const f of rights) f.decRef();
    return e;
  };
  for (let off = 0; off + 16 <= len; ) {
    const clen = Number(dv.getBigUint64(off, true));
    const level = dv.getInt32(off + 8, true);
    const type = dv.getInt32(off + 12, true);
    if (clen < 16 || off + clen > len) return fail(EINVAL);
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      const n = Math.floor((clen - 16) / 4);
      if (rights.length + n > SCM_MAX_FD) return fail(EINVAL);
      for (let i = 0; i < n; i++) {
        const f = t.fdTable.get(dv.getInt32(off + 16 + 4 * i, true));
        if (f === undefined) return fail(EBADF);
        f.incRef();
        rights.push(f);
      }
    } else if (level === SOL_SOCKET && type === SCM_CREDENTIALS) {
      // The kernel fills in the sender's credentials itself; what the caller claims must match.
      if (clen < 16 + ucred.size) return fail(EINVAL);
      const c = readStruct(ucred, raw, off + 16);
      const own = c.pid === t.tg.tgid && c.uid === t.creds.euid && c.gid === t.creds.egid;
      if (!own && !t.creds.hasCapability(CAP_SETUID)) return fail(EPERM);
    } else {
      return fail(EINVAL);
    }
    off += (clen + 7) & ~7;
  }
  return { rights };
}

/** Sends `data` on `sock`, blocking as the file's flags and MSG_DONTWAIT say. */
async function sendOn(t: Task, file: FileDescription, sock: UnixSocket, data: Uint8Array, rights: FileDescription[], to: UnixSocket | undefined, flags: number): Promise<SyscallValue> {
  const nonblock = (file.statusFlags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
  const creds = credsOf(t);
  let sent = 0;
  let pendingRights = rights;
  const attempt = (): number | LinuxError => {
    const r = sock.send(data.subarray(sent), pendingRights, creds, to);
    if (isLinuxError(r)) return r;
    sent += r;
    pendingRights = [];
    return sent < data.length && sock.type === SOCK_STREAM ? EAGAIN : sent;
  };
  const r = nonblock ? attempt() : await blockOn((to ?? sock.peer ?? sock).waitQueue, EPOLLOUT, attempt, t.interrupter);
  for (const f of pendingRights) f.decRef(); // not queued: still ours
  if (isLinuxError(r)) {
    if (r === EPIPE && (flags & MSG_NOSIGNAL) === 0) sendSignal(t, killInfo(SIGPIPE, t.tg.tgid, t.creds.uid, SI_USER));
    return sent > 0 ? sent : r;
  }
  return r;
}

async function sendTo(t: Task, fd: number, data: Uint8Array, flags: number, addrPtr: bigint, addrLen: number, rights: FileDescription[]): Promise<SyscallValue> {
  const s = socketOf(t, fd);
  if (isLinuxError(s)) {
    for (const f of rights) f.decRef();
    return s;
  }
  if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR)) !== 0) {
    for (const f of rights) f.decRef();
    return EOPNOTSUPP;
  }
  let to: UnixSocket | undefined;
  if (addrPtr !== 0n && s.sock.type === SOCK_DGRAM) {
    const addr = readAddress(t, addrPtr, addrLen);
    const target = isLinuxError(addr) ? addr : await resolveTarget(t, addr);
    if (isLinuxError(target)) {
      for (const f of rights) f.decRef();
      return target;
    }
    to = target;
  }
  return sendOn(t, s.file, s.sock, data, rights, to, flags);
}

export async function sysSendto(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const data = t.mm.copyIn(a.pointer(1), Math.min(a.sizeT(2), 1 << 24));
  if (isLinuxError(data)) return EFAULT;
  return sendTo(t, a.int(0), data, a.int(3), a.pointer(4), a.int(5), []);
}

export async function sysSendmsg(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const raw = t.mm.copyIn(a.pointer(1), msghdr.size);
  if (isLinuxError(raw)) return EFAULT;
  const h = readStruct(msghdr, raw);
  const iov = iovecs(t, h.msg_iov, Number(h.msg_iovlen));
  if (isLinuxError(iov)) return iov;
  if (iov.some(([base, len]) => len > 0 && !t.mm.readable(base, BigInt(len)))) return EFAULT;
  const total = iov.reduce((n, [, len]) => n + len, 0);
  const data = new Uint8Array(Math.min(total, 1 << 24));
  if (t.mm.as.readv(iov.map(([b, l]) => [b, l] as const), data) < data.length) return EFAULT;
  const control = readControl(t, h.msg_control, Number(h.msg_controllen));
  if (isLinuxError(control)) return control;
  return sendTo(t, a.int(0), data, a.int(2), h.msg_name, h.msg_namelen, control.rights);
}

/** Receives on `sock`, blocking as the file's flags and MSG_DONTWAIT say; MSG_WAITALL fills a stream read. */
async function recvOn(t: Task, file: FileDescription, sock: UnixSocket, size: number, flags: number): Promise<Received | LinuxError> {
  const nonblock = (file.statusFlags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
  const peek = (flags & MSG_PEEK) !== 0;
  const attempt = (): Received | LinuxError => sock.recv(size, peek);
  const first = nonblock ? attempt() : await blockOn(sock.waitQueue, EPOLLIN, attempt, t.interrupter);
  if (isLinuxError(first) || (flags & MSG_WAITALL) === 0 || sock.type !== SOCK_STREAM || peek || first.data.length >= size || first.data.length === 0 || first.rights.length > 0) return first;
  // MSG_WAITALL: keep reading until the buffer is full, end of file, or a signal.
  const parts = [first.data];
  let got = first.data.length;
  while (got < size) {
    const more = await blockOn(sock.waitQueue, EPOLLIN, () => sock.recv(size - got, false), t.interrupter);
    if (isLinuxError(more) || more.data.length === 0) break;
    parts.push(more.data);
    got += more.data.length;
    for (const f of more.rights) f.decRef();
  }
  return { ...first, data: Buffer.concat(parts) };
}

export async function sysRecvfrom(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  const flags = a.int(3);
  const r = await recvOn(t, s.file, s.sock, a.sizeT(2), flags);
  if (isLinuxError(r)) return r;
  for (const f of r.rights) f.decRef();
  const w = t.mm.copyOut(a.pointer(1), r.data);
  if (w !== undefined) return w;
  const aw = writeAddress(t, a.pointer(4), a.pointer(5), r.from);
  if (aw !== undefined) return aw;
  return (flags & MSG_TRUNC) !== 0 ? r.data.length + r.truncated : r.data.length;
}

export async function sysRecvmsg(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  const raw = t.mm.copyIn(a.pointer(1), msghdr.size);
  if (isLinuxError(raw)) return EFAULT;
  const h = readStruct(msghdr, raw);
  const iov = iovecs(t, h.msg_iov, Number(h.msg_iovlen));
  if (isLinuxError(iov)) return iov;
  const flags = a.int(2);
  if (iov.some(([base, len]) => len > 0 && !t.mm.writable(base, BigInt(len)))) return EFAULT;
  const size = iov.reduce((n, [, len]) => n + len, 0);
  const r = await recvOn(t, s.file, s.sock, size, flags);
  if (isLinuxError(r)) return r;
  // Scatter what was received over the iovecs, as far as it goes.
  const pieces: Array<readonly [bigint, number]> = [];
  for (let left = r.data.length, i = 0; left > 0 && i < iov.length; i++) {
    const [base, len] = iov[i] as [bigint, number];
    pieces.push([base, Math.min(len, left)]);
    left -= Math.min(len, left);
  }
  if (t.mm.as.writev(pieces, r.data) < r.data.length) return EFAULT;
  // Control data: passed descriptions become the receiver's FDs; credentials when asked for.
  const control: Uint8Array[] = [];
  let outFlags = r.truncated > 0 ? MSG_TRUNC : 0;
  const room = Number(h.msg_controllen);
  let used = 0;
  if (r.rights.length > 0) {
    const fits = Math.max(0, Math.floor((room - used - 16) / 4));
    const give = r.rights.slice(0, fits);
    if (give.length < r.rights.length) outFlags |= MSG_CTRUNC;
    const fds: number[] = [];
    for (const f of give) {
      const fd = t.fdTable.newFd(f, (flags & MSG_CMSG_CLOEXEC) !== 0);
      if (isLinuxError(fd)) {
        outFlags |= MSG_CTRUNC;
        break;
      }
      fds.push(fd);
    }
    for (const f of r.rights) f.decRef();
    if (fds.length > 0) {
      const c = new Uint8Array((16 + 4 * fds.length + 7) & ~7);
      const dv = new DataView(c.buffer);
      dv.setBigUint64(0, BigInt(16 + 4 * fds.length), true);
      dv.setInt32(8, SOL_SOCKET, true);
      dv.setInt32(12, SCM_RIGHTS, true);
      fds.forEach((fd, i) => dv.setInt32(16 + 4 * i, fd, true));
      control.push(c.subarray(0, Math.min(c.length, room - used)));
      used += Math.min(c.length, room - used);
    }
  }
  if (s.sock.passCred && r.creds !== undefined) {
    const c = new Uint8Array(32);
    const dv = new DataView(c.buffer);
    dv.setBigUint64(0, BigInt(16 + ucred.size), true);
    dv.setInt32(8, SOL_SOCKET, true);
    dv.setInt32(12, SCM_CREDENTIALS, true);
    c.set(encodeStruct(ucred, r.creds), 16);
    if (room - used >= 28) {
      control.push(c.subarray(0, Math.min(32, room - used)));
      used += Math.min(32, room - used);
    } else {
      outFlags |= MSG_CTRUNC;
    }
  }
  if (used > 0 && t.mm.copyOut(h.msg_control, Buffer.concat(control)) !== undefined) return EFAULT;
  const hdr = new Uint8Array(raw);
  const dv = new DataView(hdr.buffer);
  dv.setBigUint64(40, BigInt(used), true);
  dv.setInt32(48, outFlags, true);
  if (h.msg_name !== 0n) {
    const name = r.from;
    const bytes = new Uint8Array(2 + (name?.length ?? 0));
    new DataView(bytes.buffer).setUint16(0, AF_UNIX, true);
    if (name !== undefined) bytes.set(name, 2);
    if (t.mm.copyOut(h.msg_name, bytes.subarray(0, Math.min(h.msg_namelen, bytes.length))) !== undefined) return EFAULT;
    dv.setUint32(8, bytes.length, true);
  }
  const w = t.mm.copyOut(a.pointer(1), hdr);
  if (w !== undefined) return w;
  return (flags & MSG_TRUNC) !== 0 ? r.data.length + r.truncated : r.data.length;
}

export function sysShutdown(t: Task, a: SyscallArgs): SyscallValue {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  const how = a.int(1);
  if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return EINVAL;
  return s.sock.shutdown(how !== SHUT_WR, how !== SHUT_RD) ?? 0;
}

export function sysGetsockname(t: Task, a: SyscallArgs): SyscallValue {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  return writeAddress(t, a.pointer(1), a.pointer(2), s.sock.name) ?? 0;
}

export function sysGetpeername(t: Task, a: SyscallArgs): SyscallValue {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  const peer = s.sock.peer;
  if (peer === undefined || (s.sock.type !== SOCK_DGRAM && peer.closed)) return ENOTCONN;
  return writeAddress(t, a.pointer(1), a.pointer(2), peer.name) ?? 0;
}

/** An int option value as getsockopt writes it (with the length). */
function writeIntOption(t: Task, addr: bigint, lenAddr: bigint, value: number): SyscallValue {
  const lenRaw = t.mm.copyIn(lenAddr, 4);
  if (isLinuxError(lenRaw)) return EFAULT;
  const room = new DataView(lenRaw.buffer).getInt32(0, true);
  if (room < 0) return EINVAL;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, value, true);
  const n = Math.min(room, 4);
  const w = t.mm.copyOut(addr, b.subarray(0, n));
  if (w !== undefined) return w;
  const len = new Uint8Array(4);
  new DataView(len.buffer).setInt32(0, n, true);
  return t.mm.copyOut(lenAddr, len) ?? 0;
}

export function sysGetsockopt(t: Task, a: SyscallArgs): SyscallValue {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  if (a.int(1) !== SOL_SOCKET) return ENOPROTOOPT;
  const sock = s.sock;
  switch (a.int(2)) {
    case SO_TYPE:
      return writeIntOption(t, a.pointer(3), a.pointer(4), sock.type);
    case SO_DOMAIN:
      return writeIntOption(t, a.pointer(3), a.pointer(4), AF_UNIX);
    case SO_PROTOCOL:
      return writeIntOption(t, a.pointer(3), a.pointer(4), 0);
    case SO_ACCEPTCONN:
      return writeIntOption(t, a.pointer(3), a.pointer(4), sock.listening ? 1 : 0);
    case SO_ERROR:
      return writeIntOption(t, a.pointer(3), a.pointer(4), sock.error === undefined ? 0 : sock.takeError().errno);
    case SO_SNDBUF:
      return writeIntOption(t, a.pointer(3), a.pointer(4), sock.writeBuffer);
    case SO_RCVBUF:
      return writeIntOption(t, a.pointer(3), a.pointer(4), sock.readBuffer);
    case SO_PASSCRED:
      return writeIntOption(t, a.pointer(3), a.pointer(4), sock.passCred ? 1 : 0);
    case SO_REUSEADDR:
      return writeIntOption(t, a.pointer(3), a.pointer(4), 0);
    case SO_PEERCRED: {
      const c = sock.peerCreds ?? { pid: 0, uid: 0xffff_ffff, gid: 0xffff_ffff };
      const lenRaw = t.mm.copyIn(a.pointer(4), 4);
      if (isLinuxError(lenRaw)) return EFAULT;
      const room = new DataView(lenRaw.buffer).getInt32(0, true);
      if (room < 0) return EINVAL;
      const b = encodeStruct(ucred, c);
      const n = Math.min(room, b.length);
      const w = t.mm.copyOut(a.pointer(3), b.subarray(0, n));
      if (w !== undefined) return w;
      const len = new Uint8Array(4);
      new DataView(len.buffer).setInt32(0, n, true);
      return t.mm.copyOut(a.pointer(4), len) ?? 0;
    }
    default:
      return ENOPROTOOPT;
  }
}

export function sysSetsockopt(t: Task, a: SyscallArgs): SyscallValue {
  const s = socketOf(t, a.int(0));
  if (isLinuxError(s)) return s;
  if (a.int(1) !== SOL_SOCKET) return ENOPROTOOPT;
  if (a.int(4) < 4) return EINVAL;
  const raw = t.mm.copyIn(a.pointer(3), 4);
  if (isLinuxError(raw)) return EFAULT;
  const v = new DataView(raw.buffer).getInt32(0, true);
  const sock = s.sock;
  // Linux doubles a requested buffer size (for bookkeeping) and clamps it.
  const size = Math.min(Math.max(v, 2304) * 2, 4 * 1024 * 1024);
  switch (a.int(2)) {
    case SO_SNDBUF:
      sock.writeBuffer = size;
      return 0;
    case SO_RCVBUF:
      sock.readBuffer = size;
      return 0;
    case SO_PASSCRED:
      sock.passCred = v !== 0;
      return 0;
    case SO_REUSEADDR:
      return 0;
    default:
      return ENOPROTOOPT;
  }
}
