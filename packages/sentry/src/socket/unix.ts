/**
 * AF_UNIX sockets inside the sandbox (unix(7)): stream, seqpacket and datagram endpoints that
 * live entirely in the sentry. Names are abstract (a leading NUL, kernel-wide) or a socket file
 * in the VFS, registered here by the file's device and inode so a lookup finds its endpoint.
 *
 * Data: each endpoint has a receive queue of messages; a stream reader coalesces them, stopping
 * before a message that carries control data (SCM_RIGHTS) once it has read something, as Linux
 * does; seqpacket and datagram readers take one message (the rest of a long one is dropped,
 * MSG_TRUNC). A sender blocks (or gets EAGAIN) while the receiver holds its buffer's worth.
 *
 * Passed descriptions (SCM_RIGHTS) are referenced while queued and released when the message is
 * received (the receiver then holds them through its FD table) or dropped.
 */
import {
  EADDRINUSE,
  EAGAIN,
  ECONNREFUSED,
  ECONNRESET,
  EINVAL,
  EISCONN,
  EMSGSIZE,
  ENOTCONN,
  EOPNOTSUPP,
  EPERM,
  EPIPE,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  EPROTOTYPE,
  type LinuxError,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
} from "@runsc-ts/abi";
import { type EventMask, WaitQueue } from "../kernel/waiter.js";
import type { FileDescription, FileDescriptionImpl } from "../vfs/file-description.js";

/** Who is at the other end (SO_PEERCRED, SCM_CREDENTIALS). */
export interface Ucred {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** What a receive returns. */
export interface Received {
  readonly data: Uint8Array;
  /** Descriptions passed with the data; the receiver holds their references. */
  readonly rights: FileDescription[];
  readonly creds: Ucred | undefined;
  readonly from: Uint8Array | undefined;
  readonly truncated: number;
}

export interface Message {
  readonly data: Uint8Array;
  /** Passed descriptions (SCM_RIGHTS), one reference each while queued. */
  readonly rights: readonly FileDescription[];
  readonly creds: Ucred;
  /** The sender's name (datagrams), for recvfrom's address. */
  readonly from: Uint8Array | undefined;
}

/** The default SO_SNDBUF/SO_RCVBUF (Linux's net.core.wmem_default). */
export const DEFAULT_BUFFER = 212_992;
/** Linux's SOMAXCONN. */
export const MAX_BACKLOG = 4096;

export type UnixType = typeof SOCK_STREAM | typeof SOCK_DGRAM | typeof SOCK_SEQPACKET;

/** Kernel-wide names: the abstract namespace and bound socket files. */
export class UnixNamespace {
  readonly abstract = new Map<string, UnixSocket>();
  readonly files = new Map<string, UnixSocket>();
  private nextAuto = 0;

  /** An unused abstract name for autobind: five hex digits, as Linux chooses. */
  autoName(): Uint8Array | undefined {
    for (let i = 0; i < 0x100000; i++) {
      const name = (this.nextAuto++ & 0xfffff).toString(16).padStart(5, "0");
      if (!this.abstract.has(`\0${name}`)) return Buffer.from(`\0${name}`, "latin1");
    }
    return undefined;
  }
}

const key = (name: Uint8Array): string => Buffer.from(name).toString("latin1");

export class UnixSocket implements FileDescriptionImpl {
  readonly seekable = false;
  readonly waitQueue = new WaitQueue();
  /** Bound name: path bytes, or a leading NUL and the abstract name. */
  name: Uint8Array | undefined;
  /** How the name is registered, to unregister it at close. */
  private registration: { map: Map<string, UnixSocket>; key: string } | undefined;
  peer: UnixSocket | undefined;
  /** Credentials of the peer when the connection was made (SO_PEERCRED). */
  peerCreds: Ucred | undefined;
  listening = false;
  private backlogMax = 0;
  readonly backlog: UnixSocket[] = [];
  private readonly queue: Message[] = [];
  private queued = 0;
  /** A stream's read position inside the first queued message. */
  private consumed = 0;
  readBuffer = DEFAULT_BUFFER;
  writeBuffer = DEFAULT_BUFFER;
  passCred = false;
  shutRead = false;
  shutWrite = false;
  /** The peer closed (or shut its write side): reads see end of file once the queue drains. */
  peerGone = false;
  /** A pending error (SO_ERROR): a listener that closed with us in its backlog. */
  error: LinuxError | undefined;
  closed = false;

  constructor(
    readonly type: UnixType,
    readonly namespace: UnixNamespace,
    readonly creds: Ucred,
  ) {}

  // ---- names and connections -------------------------------------------------------------------

  /** Registers `name` in `map` (the abstract namespace, or bound files by dev:ino). */
  register(map: Map<string, UnixSocket>, mapKey: string, name: Uint8Array): LinuxError | undefined {
    if (this.name !== undefined) return EINVAL;
    if (map.has(mapKey)) return EADDRINUSE;
    map.set(mapKey, this);
    this.registration = { map, key: mapKey };
    this.name = name;
    return undefined;
  }

  bindAbstract(name: Uint8Array): LinuxError | undefined {
    return this.register(this.namespace.abstract, key(name), name);
  }

  listen(backlog: number): LinuxError | undefined {
    if (this.type === SOCK_DGRAM) return EOPNOTSUPP;
    if (this.peer !== undefined) return EINVAL;
    if (this.name === undefined) return EINVAL;
    this.listening = true;
    this.backlogMax = Math.max(0, Math.min(backlog < 0 ? MAX_BACKLOG : backlog, MAX_BACKLOG));
    return undefined;
  }

  /**
   * connect(2) to `target`. A stream or seqpacket connection is queued on the listener (EAGAIN
   * when its backlog is full: the caller waits or fails); a datagram socket just remembers its
   * default destination.
   */
  connect(target: UnixSocket): LinuxError | undefined {
    if (target.type !== this.type) return EPROTOTYPE;
    if (this.type === SOCK_DGRAM) {
      if (target.closed) return ECONNREFUSED;
      this.peer = target;
      return undefined;
    }
    if (this.listening) return EINVAL;
    if (this.peer !== undefined) return EISCONN;
    if (!target.listening || target.closed) return ECONNREFUSED;
    if (target.backlog.length > target.backlogMax) return EAGAIN;
    const server = new UnixSocket(this.type, this.namespace, target.creds);
    server.name = target.name;
    server.peer = this;
    server.peerCreds = this.creds;
    this.peer = server;
    this.peerCreds = target.creds;
    target.backlog.push(server);
    target.waitQueue.notify(EPOLLIN);
    this.waitQueue.notify(EPOLLOUT);
    return undefined;
  }

  /** accept(2): the next queued connection, or EAGAIN. */
  accept(): UnixSocket | LinuxError {
    if (!this.listening) return EINVAL;
    return this.backlog.shift() ?? EAGAIN;
  }

  // ---- data ------------------------------------------------------------------------------------

  /** Room left in this socket's receive buffer. */
  private room(): number {
    return this.readBuffer - this.queued;
  }

  /**
   * Queues `data` (with `rights`) for `to` (datagrams) or the peer. Returns the bytes taken (a
   * stream may take part of `data`), EAGAIN when there is no room, or the connection's error.
   * On success the message owns `rights`' references; on error the caller still does.
   */
  send(data: Uint8Array, rights: readonly FileDescription[], creds: Ucred, to: UnixSocket | undefined): number | LinuxError {
    if (this.shutWrite) return EPIPE;
    let dest: UnixSocket | undefined;
    if (this.type === SOCK_DGRAM) {
      dest = to ?? this.peer;
      if (dest === undefined) return ENOTCONN;
      if (dest.closed) return ECONNREFUSED;
      if (dest.peer !== undefined && dest.peer !== this) return EPERM;
      if (data.length > dest.readBuffer) return EMSGSIZE;
      if (dest.room() < data.length && dest.queue.length > 0) return EAGAIN;
    } else {
      if (to !== undefined) return EISCONN;
      dest = this.peer;
      if (dest === undefined) return this.error ?? ENOTCONN;
      if (dest.closed || dest.shutRead) return EPIPE;
      if (this.type === SOCK_SEQPACKET && data.length > dest.readBuffer) return EMSGSIZE;
      if (dest.room() <= 0 || (this.type === SOCK_SEQPACKET && dest.room() < data.length && dest.queue.length > 0)) return EAGAIN;
    }
    const take = this.type === SOCK_STREAM ? Math.min(data.length, Math.max(dest.room(), 0)) : data.length;
    dest.queue.push({ data: data.slice(0, take), rights, creds, from: this.name });
    dest.queued += take;
    dest.waitQueue.notify(EPOLLIN);
    return take;
  }

  /**
   * Takes up to `size` bytes: a stream coalesces messages (stopping before control data once
   * something was read); other types take one message, `truncated` telling how much of it did
   * not fit (and was dropped). EAGAIN when nothing is queued and more may come; an empty result
   * at end of file. With `peek`, nothing is consumed and no descriptions are handed out.
   */
  recv(size: number, peek: boolean): Received | LinuxError {
    if (this.queue.length === 0) {
      if (this.error !== undefined) return this.takeError();
      if (this.shutRead || this.peerGone) return { data: new Uint8Array(0), rights: [], creds: undefined, from: undefined, truncated: 0 };
      if (this.type !== SOCK_DGRAM && this.peer === undefined) return ENOTCONN;
      return EAGAIN;
    }
    if (this.type !== SOCK_STREAM) {
      const m = this.queue[0] as Message;
      const n = Math.min(size, m.data.length);
      if (!peek) this.consume(1, 0);
      return { data: m.data.subarray(0, n), rights: peek ? [] : [...m.rights], creds: m.creds, from: m.from, truncated: m.data.length - n };
    }
    const out = new Uint8Array(Math.min(size, this.queued - this.consumed));
    let done = 0;
    let idx = 0;
    let off = this.consumed;
    let rights: FileDescription[] = [];
    const creds = (this.queue[0] as Message).creds;
    while (done < out.length && idx < this.queue.length) {
      const m = this.queue[idx] as Message;
      if (done > 0 && m.rights.length > 0) break;
      if (m.rights.length > 0) rights = [...m.rights];
      const n = Math.min(out.length - done, m.data.length - off);
      out.set(m.data.subarray(off, off + n), done);
      done += n;
      off += n;
      if (off === m.data.length) {
        idx++;
        off = 0;
      }
    }
    if (peek) return { data: out.subarray(0, done), rights: [], creds, from: undefined, truncated: 0 };
    // The rights travel with the first byte of their message: clear them from a partly read one.
    if (rights.length > 0 && idx === 0) this.queue[0] = { ...(this.queue[0] as Message), rights: [] };
    this.consume(idx, off);
    return { data: out.subarray(0, done), rights, creds, from: undefined, truncated: 0 };
  }

  /** Drops the first `messages` messages (their rights now belong to the reader) and moves into the next. */
  private consume(messages: number, offset: number): void {
    const gone = this.queue.splice(0, messages);
    this.queued -= gone.reduce((s, m) => s + m.data.length, 0);
    this.consumed = offset;
    this.peer?.waitQueue.notify(EPOLLOUT);
    this.waitQueue.notify(EPOLLOUT);
  }

  /** SO_ERROR and the next read report a pending error once. */
  takeError(): LinuxError {
    const e = this.error ?? EINVAL;
    this.error = undefined;
    return e;
  }

  shutdown(read: boolean, write: boolean): LinuxError | undefined {
    if (this.type !== SOCK_DGRAM && this.peer === undefined) return ENOTCONN;
    if (read) this.shutRead = true;
    if (write) {
      this.shutWrite = true;
      const p = this.peer;
      if (p !== undefined && this.type !== SOCK_DGRAM) {
        p.peerGone = true;
        p.waitQueue.notify(EPOLLIN | EPOLLRDHUP);
      }
    }
    this.waitQueue.notify(EPOLLIN | EPOLLOUT | EPOLLHUP);
    return undefined;
  }

  // ---- FileDescriptionImpl ---------------------------------------------------------------------

  read(dst: Uint8Array): Promise<number | LinuxError> {
    const r = this.recv(dst.length, false);
    if (!("data" in r)) return Promise.resolve(r);
    dst.set(r.data);
    for (const f of r.rights) f.decRef(); // read(2) cannot take descriptions: they are dropped
    return Promise.resolve(r.data.length);
  }

  write(src: Uint8Array): Promise<number | LinuxError> {
    return Promise.resolve(this.send(src, [], this.creds, undefined));
  }

  readiness(mask: EventMask): EventMask {
    let r = 0;
    if (this.listening) return mask & (this.backlog.length > 0 ? EPOLLIN : 0);
    if (this.queue.length > 0 || this.shutRead || this.peerGone) r |= EPOLLIN;
    if (this.peerGone || this.shutRead) r |= EPOLLRDHUP;
    if (this.peerGone && this.shutWrite) r |= EPOLLHUP;
    if (this.error !== undefined) r |= EPOLLERR;
    const dest = this.peer;
    if (this.type === SOCK_DGRAM ? dest === undefined || dest.room() > 0 : dest !== undefined && !dest.closed && dest.room() > 0 && !this.shutWrite) r |= EPOLLOUT;
    if (this.type !== SOCK_DGRAM && dest !== undefined && dest.closed) r |= EPOLLHUP | EPOLLOUT;
    return mask & r;
  }

  /** close: the peer sees end of file (or ECONNRESET if data was left unread), queued connections are refused. */
  release(): void {
    this.closed = true;
    if (this.registration !== undefined) {
      this.registration.map.delete(this.registration.key);
      this.registration = undefined;
    }
    for (const m of this.queue.splice(0)) for (const f of m.rights) f.decRef();
    for (const pending of this.backlog.splice(0)) {
      const client = pending.peer;
      if (client !== undefined) {
        client.peer = undefined;
        client.error = ECONNRESET;
        client.waitQueue.notify(EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR);
      }
      pending.release();
    }
    const p = this.peer;
    if (p !== undefined && this.type !== SOCK_DGRAM) {
      p.peerGone = true;
      p.waitQueue.notify(EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP);
    }
    this.peer = undefined;
    this.waitQueue.notify(EPOLLIN | EPOLLOUT | EPOLLHUP);
  }
}

/** Two connected sockets (socketpair(2)). */
export function socketPair(type: UnixType, namespace: UnixNamespace, creds: Ucred): [UnixSocket, UnixSocket] {
  const a = new UnixSocket(type, namespace, creds);
  const b = new UnixSocket(type, namespace, creds);
  a.peer = b;
  b.peer = a;
  a.peerCreds = creds;
  b.peerCreds = creds;
  return [a, b];
}
