/**
 * netstack.capnp's `Endpoint`: one guest socket. The socket kinds (TCP, UDP, ICMP echo) differ in
 * their stack endpoint; this class maps each method to it, errno at the boundary
 * (`errno.ts`), addresses through `sockaddr.ts`, options through `sockopt.ts`.
 *
 * Every method answers at once (netstack.capnp's model): blocking, timeouts and signals are the
 * sentry's. Readiness flows back through the Notifier the sentry registers; at most one
 * notify is in flight per endpoint and changes meanwhile coalesce into the next.
 *
 * Concurrency: runs on the netstack process's only thread. Handlers are async only because
 * the generated server interface is; none awaits before it has finished with the stack, so
 * no stack state is read-modified-written across an await.
 */
import {
  AF_INET6,
  EAGAIN,
  EALREADY,
  ECONNABORTED,
  EDESTADDRREQ,
  EINPROGRESS,
  EINVAL,
  ENFILE,
  ENOTCONN,
  ENOTTY,
  EOPNOTSUPP,
  EPOLLERR,
  EPOLLHUP,
  FIONREAD,
  MSG_ERRQUEUE,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SIOCATMARK,
  SIOCOUTQ,
  type LinuxError,
} from "@runsc-ts/abi";
import { netstack } from "@runsc-ts/proto";
import type { IPAddress } from "../address.js";
import { isNetError, type NetError } from "../errors.js";
import type { Stack } from "../stack/stack.js";
import type { IcmpEndpoint } from "../transport/icmp/endpoint.js";
import type { TcpEndpoint } from "../transport/tcp/endpoint.js";
import { TcpState } from "../transport/tcp/state.js";
import type { UdpEndpoint } from "../transport/udp/endpoint.js";
import type { WaiterQueue } from "../waiter.js";
import { errnoOf } from "./errno.js";
import { decodeSockAddr, encodeSockAddr, type Domain } from "./sockaddr.js";
import { getSockOpt, setSockOpt } from "./sockopt.js";

type P<M extends keyof netstack.Endpoint$Server$Target> = Parameters<netstack.Endpoint$Server$Target[M]>[0];
type R<M extends keyof netstack.Endpoint$Server$Target> = Parameters<netstack.Endpoint$Server$Target[M]>[1];

/** The stack endpoint behind a socket. */
export type Socket =
  | { readonly kind: "tcp"; ep: TcpEndpoint }
  | { readonly kind: "udp"; ep: UdpEndpoint }
  | { readonly kind: "icmp"; ep: IcmpEndpoint };

/** Options the netstack records for getsockopt but that change nothing in the stack (yet). */
export interface RecordedOptions {
  reuseAddr: boolean;
  reusePort: boolean;
  broadcast: boolean;
  linger: Uint8Array;
}

/** Something that owns endpoints and must forget one when it closes. */
export interface EndpointOwner {
  readonly stack: Stack;
  /** Starts tracking a new endpoint (closed with the connection). */
  adopt(ep: EndpointImpl): void;
  /** Whether the connection may hold another endpoint. */
  roomForEndpoint(): boolean;
  forget(ep: EndpointImpl): void;
  /** Reports a failed notify (the sentry is gone or broken); the owner logs it. */
  notifyFailed(err: unknown): void;
}

/** The readiness bits a poller always gets, whatever its mask (poll(2)). */
const ALWAYS = EPOLLERR | EPOLLHUP;

export class EndpointImpl implements netstack.Endpoint$Server$Target {
  readonly #capability: netstack.Endpoint$Server;
  readonly recorded: RecordedOptions = { reuseAddr: false, reusePort: false, broadcast: false, linger: new Uint8Array(8) };
  #domain: Domain;
  #closed = false;
  #notifier: netstack.Notifier$Client | undefined;
  #notifyMask = 0;
  #unsubscribe: (() => void) | undefined;
  #inFlight = false;
  #dirty = false;
  /** A stream connect answered EINPROGRESS and no later connect has reported how it ended. */
  #connecting = false;

  constructor(
    private readonly owner: EndpointOwner,
    public socket: Socket,
    domain: Domain,
    /** SOCK_STREAM or SOCK_DGRAM, and the protocol number (for SO_TYPE, SO_PROTOCOL). */
    readonly type: number,
    readonly protocol: number,
  ) {
    this.#domain = domain;
    this.#capability = new netstack.Endpoint$Server(this);
  }

  client(): netstack.Endpoint$Client {
    return this.#capability.client();
  }

  get domain(): Domain {
    return this.#domain;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * IPV6_V6ONLY: the stack fixes an endpoint's families when it is made, so a change replaces
   * the (still unbound, unconnected) stack endpoint. Returns EINVAL once it is in use, as Linux.
   */
  setV6Only(on: boolean): LinuxError | undefined {
    if (this.#domain.family !== AF_INET6) return EINVAL;
    if (this.#domain.v6only === on) return undefined;
    if (!this.#fresh()) return EINVAL;
    const family = on ? "ipv6" : "dual";
    const stack = this.owner.stack;
    const s = this.socket;
    if (s.kind === "tcp") {
      // Options already set stay set, as on the one socket Linux has.
      const ep = stack.newTcpEndpoint(family);
      ep.noDelay = s.ep.noDelay;
      ep.ipOptions = { ...s.ep.ipOptions };
      ep.keepaliveIdleMs = s.ep.keepaliveIdleMs;
      ep.keepaliveIntervalMs = s.ep.keepaliveIntervalMs;
      ep.keepaliveProbes = s.ep.keepaliveProbes;
      ep.setKeepalive(s.ep.keepalive);
      ep.setBufferSizes({ send: s.ep.sendBufferSize, receive: s.ep.receiveBufferSize });
      s.ep.close();
      this.socket = { kind: "tcp", ep };
    } else if (s.kind === "udp") {
      const ep = stack.newUdpEndpoint(family);
      ep.ipOptions = { ...s.ep.ipOptions };
      s.ep.close();
      this.socket = { kind: "udp", ep };
    }
    this.#domain = { family: AF_INET6, v6only: on };
    this.#resubscribe();
    return undefined;
  }

  /** The RPC engine calls this when the sentry released its last reference: close(2). */
  onRelease(): void {
    this.close();
  }

  /**
   * Closes the stack endpoint and drops the notifier: FIN (or RST with unread data); RST at once
   * under SO_LINGER with a zero timeout, as Linux (the abortive close servers use to skip
   * TIME-WAIT). A non-zero linger time is the sentry's to wait out; the close here is the same.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#notifier?.client.close();
    this.#notifier = undefined;
    const s = this.socket;
    if (s.kind === "tcp" && this.#lingerZero() && s.ep.currentState !== TcpState.Listen) s.ep.abort();
    else s.ep.close();
    this.owner.forget(this);
  }

  /** struct linger { int l_onoff; int l_linger; } with l_onoff set and l_linger 0. */
  #lingerZero(): boolean {
    const v = new DataView(this.recorded.linger.buffer, this.recorded.linger.byteOffset, 8);
    return v.getInt32(0, true) !== 0 && v.getInt32(4, true) === 0;
  }

  // ---- netstack.capnp Endpoint -----------------------------------------------------------

  async bind(p: P<"bind">, r: R<"bind">): Promise<void> {
    if (!p._hasAddr()) return void (r.errno = EINVAL.errno);
    const a = decodeSockAddr(p.addr, this.#domain);
    if (!isDecoded(a)) return void (r.errno = a.errno);
    const s = this.socket;
    const address = a.address.isUnspecified() ? undefined : a.address;
    let e: NetError | undefined;
    if (s.kind === "icmp") e = s.ep.bind(address === undefined ? { ident: a.port } : { address, ident: a.port });
    else e = s.ep.bind(address === undefined ? { port: a.port } : { address, port: a.port });
    r.errno = e === undefined ? 0 : errnoOf(e);
  }

  async listen(p: P<"listen">, r: R<"listen">): Promise<void> {
    const s = this.socket;
    if (s.kind !== "tcp") return void (r.errno = EOPNOTSUPP.errno);
    const e = s.ep.listen(Math.min(Math.max(p.backlog, 1), 4096));
    r.errno = e === undefined ? 0 : errnoOf(e);
    this.#poke();
  }

  async accept(_p: P<"accept">, r: R<"accept">): Promise<void> {
    const s = this.socket;
    if (s.kind !== "tcp") return void (r.errno = EOPNOTSUPP.errno);
    // Over the limit the connection stays queued, as with Linux's EMFILE from accept.
    if (!this.owner.roomForEndpoint()) return void (r.errno = ENFILE.errno);
    const child = s.ep.accept();
    if (isNetError(child)) return void (r.errno = errnoOf(child));
    const impl = new EndpointImpl(this.owner, { kind: "tcp", ep: child }, this.#domain, this.type, this.protocol);
    impl.recorded.reuseAddr = this.recorded.reuseAddr;
    this.owner.adopt(impl);
    r.endpoint = impl.client();
    const peer = child.remote;
    if (peer !== undefined) encodeSockAddr(r._initPeer(), this.#domain, peer.address, peer.port);
    r.errno = 0;
  }

  async connect(p: P<"connect">, r: R<"connect">): Promise<void> {
    if (!p._hasAddr()) return void (r.errno = EINVAL.errno);
    const s = this.socket;
    if (p.addr.family === 0) {
      // AF_UNSPEC: a datagram socket forgets its peer. TCP: Linux aborts; we answer EOPNOTSUPP.
      if (s.kind === "udp") r.errno = errnoOrZero(s.ep.disconnect());
      else r.errno = EOPNOTSUPP.errno;
      return;
    }
    const a = decodeSockAddr(p.addr, this.#domain);
    if (!isDecoded(a)) return void (r.errno = a.errno);
    switch (s.kind) {
      case "tcp": {
        if (this.#connecting) {
          r.errno = this.#connectAgain(s.ep);
          break;
        }
        const e = s.ep.connect(a);
        if (e !== undefined) {
          r.errno = errnoOf(e);
        } else {
          this.#connecting = true;
          r.errno = EINPROGRESS.errno;
        }
        break;
      }
      case "udp":
        r.errno = errnoOrZero(s.ep.connect(a));
        break;
      case "icmp":
        r.errno = EOPNOTSUPP.errno;
        break;
    }
    this.#poke();
  }

  async sendMsg(p: P<"sendMsg">, r: R<"sendMsg">): Promise<void> {
    if ((p.flags & MSG_OOB) !== 0) return void (r.errno = EOPNOTSUPP.errno);
    const data = p.data.toUint8Array();
    const s = this.socket;
    let to: { address: IPAddress; port: number } | undefined;
    if (p._hasAddr() && s.kind !== "tcp") {
      const a = decodeSockAddr(p.addr, this.#domain);
      if (!isDecoded(a)) return void (r.errno = a.errno);
      to = a;
    }
    let n: number | NetError;
    switch (s.kind) {
      case "tcp":
        n = s.ep.write(data);
        break;
      case "udp":
        n = s.ep.sendTo(data, to);
        break;
      case "icmp":
        if (to === undefined) return void (r.errno = EDESTADDRREQ.errno);
        n = s.ep.sendTo(data, to.address);
        break;
    }
    if (isNetError(n)) r.errno = errnoOf(n);
    else r.n = n;
  }

  async recvMsg(p: P<"recvMsg">, r: R<"recvMsg">): Promise<void> {
    // No urgent data and no error queue: Linux answers EINVAL and EAGAIN for those.
    if ((p.flags & MSG_OOB) !== 0) return void (r.errno = EINVAL.errno);
    if ((p.flags & MSG_ERRQUEUE) !== 0) return void (r.errno = EAGAIN.errno);
    const peek = (p.flags & MSG_PEEK) !== 0;
    const max = p.maxBytes;
    const s = this.socket;
    if (s.kind === "tcp") {
      if (max === 0) return void (r.n = 0);
      const got = peek ? s.ep.peek(max) : s.ep.read(max);
      if (isNetError(got)) return void (r.errno = errnoOf(got));
      if (got.length > 0) r._initData(got.length).copyBuffer(got);
      r.n = got.length;
      return;
    }
    const d = s.kind === "udp" ? (peek ? s.ep.peek() : s.ep.recvFrom()) : s.ep.recvFrom();
    if (isNetError(d)) return void (r.errno = errnoOf(d));
    const full = d.data.length;
    const take = Math.min(full, max);
    if (take > 0) r._initData(take).copyBuffer(d.data.subarray(0, take));
    if (take < full) r.msgFlags = MSG_TRUNC;
    r.n = (p.flags & MSG_TRUNC) !== 0 ? full : take;
    const from = "port" in d.from ? d.from : { address: d.from, port: 0 };
    encodeSockAddr(r._initAddr(), this.#domain, from.address, from.port);
  }

  async shutdown(p: P<"shutdown">, r: R<"shutdown">): Promise<void> {
    const how = p.how;
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return void (r.errno = EINVAL.errno);
    const s = this.socket;
    if (s.kind !== "tcp") {
      // Linux: shutdown on an unconnected datagram socket is ENOTCONN.
      r.errno = s.kind === "udp" && s.ep.remote !== undefined ? 0 : ENOTCONN.errno;
      return;
    }
    const e = s.ep.shutdown({ read: how !== SHUT_WR, write: how !== SHUT_RD });
    r.errno = errnoOrZero(e);
    this.#poke();
  }

  async getSockOpt(p: P<"getSockOpt">, r: R<"getSockOpt">): Promise<void> {
    const v = getSockOpt(this, p.level, p.name);
    if (!(v instanceof Uint8Array)) return void (r.errno = v.errno);
    const out = v.subarray(0, Math.min(v.length, p.maxLen));
    r._initValue(out.length).copyBuffer(out);
  }

  async setSockOpt(p: P<"setSockOpt">, r: R<"setSockOpt">): Promise<void> {
    const e = setSockOpt(this, p.level, p.name, p.value.toUint8Array());
    r.errno = e === undefined ? 0 : e.errno;
  }

  async getSockName(_p: P<"getSockName">, r: R<"getSockName">): Promise<void> {
    const s = this.socket;
    const local = s.kind === "icmp" ? { address: s.ep.boundAddress, port: s.ep.identifier } : s.ep.local;
    encodeSockAddr(r._initAddr(), this.#domain, local.address, local.port);
  }

  async getPeerName(_p: P<"getPeerName">, r: R<"getPeerName">): Promise<void> {
    const s = this.socket;
    const remote = s.kind === "icmp" ? undefined : s.ep.remote;
    const connected = s.kind !== "tcp" || (s.ep.currentState !== TcpState.Closed && s.ep.currentState !== TcpState.Listen && s.ep.currentState !== TcpState.SynSent);
    if (remote === undefined || !connected) return void (r.errno = ENOTCONN.errno);
    encodeSockAddr(r._initAddr(), this.#domain, remote.address, remote.port);
  }

  async ioctl(p: P<"ioctl">, r: R<"ioctl">): Promise<void> {
    const s = this.socket;
    switch (p.request) {
      case FIONREAD:
        if (s.kind === "tcp") {
          if (s.ep.currentState === TcpState.Listen) return void (r.errno = EINVAL.errno);
          r.value = s.ep.readableBytes;
        } else {
          r.value = s.kind === "udp" ? s.ep.nextDatagramLength : 0;
        }
        return;
      case SIOCOUTQ:
        r.value = s.kind === "tcp" ? s.ep.sendQueueBytes : 0;
        return;
      case SIOCATMARK:
        r.value = 0;
        return;
      default:
        r.errno = ENOTTY.errno;
    }
  }

  async readiness(p: P<"readiness">, r: R<"readiness">): Promise<void> {
    r.events = this.currentEvents() & (p.mask | ALWAYS);
  }

  async setNotifier(p: P<"setNotifier">, r: R<"setNotifier">): Promise<void> {
    this.#notifier?.client.close();
    this.#notifier = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#notifyMask = p.mask | ALWAYS;
    if (p._hasNotifier() && !this.#closed) {
      this.#notifier = p.notifier;
      this.#resubscribe();
    }
    r.events = this.currentEvents() & this.#notifyMask;
  }

  /** The socket's EPOLL* readiness now (the stack's EVENT_* bits are poll's values). */
  currentEvents(): number {
    if (this.#closed) return EPOLLHUP;
    return this.socket.ep.readiness();
  }

  // ---- internals --------------------------------------------------------------------------

  /**
   * connect(2) again after EINPROGRESS, as Linux answers it: EALREADY while the handshake runs;
   * once, 0 when it completed (EISCONN after that); once, the error when it failed.
   */
  #connectAgain(ep: TcpEndpoint): number {
    switch (ep.currentState) {
      case TcpState.SynSent:
      case TcpState.SynReceived:
        return EALREADY.errno;
      case TcpState.Closed: {
        this.#connecting = false;
        const err = ep.takeError();
        return err === undefined ? ECONNABORTED.errno : errnoOf(err);
      }
      default:
        this.#connecting = false;
        return 0;
    }
  }

  #fresh(): boolean {
    const s = this.socket;
    if (s.kind === "tcp") return s.ep.currentState === TcpState.Closed && s.ep.local.port === 0;
    if (s.kind === "udp") return s.ep.state === "initial";
    return false;
  }

  #waiter(): WaiterQueue {
    return this.socket.ep.waiter;
  }

  #resubscribe(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#notifier === undefined) return;
    // Subscribe to every event: "something that could wake a waiter on mask happened" includes
    // data arriving on an already readable socket, which the mask alone cannot tell.
    this.#unsubscribe = this.#waiter().subscribe(0xffffffff, () => this.#poke());
  }

  /** Sends the current readiness to the notifier, one call at a time, coalescing. */
  #poke(): void {
    const notifier = this.#notifier;
    if (notifier === undefined || this.#closed) return;
    if (this.#inFlight) {
      this.#dirty = true;
      return;
    }
    this.#inFlight = true;
    this.#dirty = false;
    const events = this.currentEvents() & this.#notifyMask;
    notifier
      .notify((q) => {
        q.events = events;
      })
      .promise()
      .then(
        () => {
          this.#inFlight = false;
          if (this.#dirty && this.#notifier === notifier) this.#poke();
        },
        (err: unknown) => {
          this.#inFlight = false;
          this.owner.notifyFailed(err);
        },
      );
  }
}

function isDecoded(v: { address: IPAddress; port: number } | LinuxError): v is { address: IPAddress; port: number } {
  return "address" in v;
}

function errnoOrZero(e: NetError | undefined): number {
  return e === undefined ? 0 : errnoOf(e);
}
