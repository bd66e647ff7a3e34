/**
 * A small promise-based socket API over netstack.capnp: the client side that tests, benchmarks
 * and tools use to drive a netstack (in this process over an rpcPair, or a real `runsc-ts
 * netstack` process). It blocks the way the sentry will: on EAGAIN/EINPROGRESS it waits for the
 * endpoint's Notifier to report readiness. Failures throw `SocketError` carrying the errno.
 *
 * Not the sentry's socket layer (that maps guest syscalls, signals and timeouts); this is the
 * plain "await until done" shape.
 */
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  EINPROGRESS,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  linuxErrorFromErrno,
} from "@runsc-ts/abi";
import { netstack } from "@runsc-ts/proto";
import { IPAddress } from "../address.js";

export class SocketError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
  ) {
    super(`${op}: ${linuxErrorFromErrno(errno)?.name ?? `errno ${errno}`}`);
  }
}

/** An address as text and a port. */
export interface SocketAddress {
  address: string;
  port: number;
}

function check(op: string, errno: number): void {
  if (errno !== 0) throw new SocketError(op, errno);
}

function fillAddr(out: netstack.SockAddr, family: number, a: SocketAddress): void {
  const ip = IPAddress.parse(a.address);
  if (ip === undefined) throw new Error(`bad address ${a.address}`);
  out.family = ip.version === 4 && family === AF_INET ? AF_INET : AF_INET6;
  out.port = a.port;
  let bytes = ip.bytes;
  if (ip.version === 4 && family === AF_INET6) {
    bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(ip.bytes, 12);
  }
  out._initAddr(bytes.length).copyBuffer(bytes);
}

function readAddr(sa: netstack.SockAddr): SocketAddress {
  const ip = IPAddress.fromBytes(sa.addr.toUint8Array());
  return { address: ip?.toString() ?? "", port: sa.port };
}

/** One socket in a netstack, seen from its client. */
export class RemoteSocket implements netstack.Notifier$Server$Target {
  private events = 0;
  private generation = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(
    readonly endpoint: netstack.Endpoint$Client,
    readonly family: number,
    readonly type: number,
  ) {}

  /** socket(2) and registers this socket's Notifier. */
  static async open(stack: netstack.Stack$Client, family: number, type: number, protocol = 0): Promise<RemoteSocket> {
    const r = await stack
      .socket((p) => {
        p.family = family;
        p.type = type;
        p.protocol = protocol;
      })
      .promise();
    check("socket", r.errno);
    return RemoteSocket.adopt(r.endpoint, family, type);
  }

  private static async adopt(endpoint: netstack.Endpoint$Client, family: number, type: number): Promise<RemoteSocket> {
    const s = new RemoteSocket(endpoint, family, type);
    const r = await endpoint
      .setNotifier((p) => {
        p.notifier = new netstack.Notifier$Server(s).client();
        p.mask = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP;
      })
      .promise();
    s.onEvents(r.events);
    return s;
  }

  /** Notifier.notify, called by the netstack. */
  async notify(p: netstack.Notifier_Notify$Params): Promise<void> {
    this.onEvents(p.events);
  }

  /** Readiness notifications received so far. */
  notifications = 0;

  private onEvents(events: number): void {
    this.notifications++;
    this.events = events;
    this.generation++;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until a bit of `mask` (or ERR/HUP) is ready. */
  async waitFor(mask: number): Promise<number> {
    const want = mask | EPOLLERR | EPOLLHUP;
    for (;;) {
      const g = this.generation;
      const r = await this.endpoint.readiness((p) => void (p.mask = want)).promise();
      if ((r.events & want) !== 0) return r.events;
      if (this.generation !== g && (this.events & want) !== 0) return this.events;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      if ((this.events & want) !== 0) return this.events;
    }
  }

  async bind(a: SocketAddress): Promise<void> {
    const r = await this.endpoint.bind((p) => fillAddr(p._initAddr(), this.family, a)).promise();
    check("bind", r.errno);
  }

  async listen(backlog = 128): Promise<void> {
    check("listen", (await this.endpoint.listen((p) => void (p.backlog = backlog)).promise()).errno);
  }

  async accept(): Promise<{ socket: RemoteSocket; peer: SocketAddress }> {
    for (;;) {
      const r = await this.endpoint.accept().promise();
      if (r.errno === EAGAIN.errno) {
        await this.waitFor(EPOLLIN);
        continue;
      }
      check("accept", r.errno);
      const peer = readAddr(r.peer);
      return { socket: await RemoteSocket.adopt(r.endpoint, this.family, this.type), peer };
    }
  }

  /** connect(2); for a stream, waits for the handshake and throws its error. */
  async connect(a: SocketAddress): Promise<void> {
    const r = await this.endpoint.connect((p) => fillAddr(p._initAddr(), this.family, a)).promise();
    if (r.errno === EINPROGRESS.errno && this.type === SOCK_STREAM) {
      await this.waitFor(EPOLLOUT);
      const e = await this.getSockOptInt(SOL_SOCKET, SO_ERROR);
      check("connect", e);
      return;
    }
    check("connect", r.errno);
  }

  /** One sendMsg: the bytes taken (0 if none fit), or throws. */
  async sendOnce(data: Uint8Array, to?: SocketAddress): Promise<number> {
    const r = await this.endpoint
      .sendMsg((p) => {
        p._initData(data.length).copyBuffer(data);
        if (to !== undefined) fillAddr(p._initAddr(), this.family, to);
      })
      .promise();
    if (r.errno === EAGAIN.errno) return 0;
    check("send", r.errno);
    return r.n;
  }

  /** Sends all of `data`, waiting for buffer space; `chunk` bytes per call. */
  async sendAll(data: Uint8Array, chunk = 256 * 1024): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const n = await this.sendOnce(data.subarray(off, Math.min(data.length, off + chunk)));
      if (n === 0) await this.waitFor(EPOLLOUT);
      off += n;
    }
  }

  /** One recvMsg: data (empty at end of stream), or undefined on EAGAIN. */
  async recvOnce(max: number, flags = 0): Promise<{ data: Uint8Array; n: number; from: SocketAddress | undefined; msgFlags: number } | undefined> {
    const r = await this.endpoint
      .recvMsg((p) => {
        p.maxBytes = max;
        p.flags = flags;
      })
      .promise();
    if (r.errno === EAGAIN.errno) return undefined;
    check("recv", r.errno);
    return { data: r.data.toUint8Array().slice(), n: r.n, from: r._hasAddr() ? readAddr(r.addr) : undefined, msgFlags: r.msgFlags };
  }

  /** Waits for data: up to `max` bytes, empty at end of stream. */
  async recv(max = 256 * 1024): Promise<Uint8Array> {
    for (;;) {
      const got = await this.recvOnce(max);
      if (got !== undefined) return got.data;
      await this.waitFor(EPOLLIN);
    }
  }

  /** Waits for one datagram. */
  async recvFrom(max = 65536): Promise<{ data: Uint8Array; from: SocketAddress }> {
    for (;;) {
      const got = await this.recvOnce(max);
      if (got !== undefined) return { data: got.data, from: got.from ?? { address: "", port: 0 } };
      await this.waitFor(EPOLLIN);
    }
  }

  /** Reads until end of stream, calling `onData` with each chunk (which it may keep). */
  async readToEnd(onData: (chunk: Uint8Array) => void): Promise<number> {
    let total = 0;
    for (;;) {
      const d = await this.recv();
      if (d.length === 0) return total;
      total += d.length;
      onData(d);
    }
  }

  async shutdown(how: number): Promise<void> {
    check("shutdown", (await this.endpoint.shutdown((p) => void (p.how = how)).promise()).errno);
  }

  async getSockOpt(level: number, name: number, maxLen = 64): Promise<Uint8Array> {
    const r = await this.endpoint
      .getSockOpt((p) => {
        p.level = level;
        p.name = name;
        p.maxLen = maxLen;
      })
      .promise();
    check("getsockopt", r.errno);
    return r.value.toUint8Array().slice();
  }

  async getSockOptInt(level: number, name: number): Promise<number> {
    const v = await this.getSockOpt(level, name, 4);
    return new DataView(v.buffer, v.byteOffset, v.byteLength).getInt32(0, true);
  }

  async setSockOpt(level: number, name: number, value: Uint8Array): Promise<void> {
    const r = await this.endpoint
      .setSockOpt((p) => {
        p.level = level;
        p.name = name;
        p._initValue(value.length).copyBuffer(value);
      })
      .promise();
    check("setsockopt", r.errno);
  }

  async setSockOptInt(level: number, name: number, v: number): Promise<void> {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    await this.setSockOpt(level, name, b);
  }

  async getSockName(): Promise<SocketAddress> {
    const r = await this.endpoint.getSockName().promise();
    check("getsockname", r.errno);
    return readAddr(r.addr);
  }

  async getPeerName(): Promise<SocketAddress> {
    const r = await this.endpoint.getPeerName().promise();
    check("getpeername", r.errno);
    return readAddr(r.addr);
  }

  async ioctl(request: number): Promise<number> {
    const r = await this.endpoint.ioctl((p) => void (p.request = request)).promise();
    check("ioctl", r.errno);
    return r.value;
  }

  /** close(2): releases the capability (the netstack closes the endpoint). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endpoint.client.close();
    for (const f of this.waiters.splice(0)) f();
  }
}
