/**
 * A UDP endpoint (socket): bind, connect, sendTo, recvFrom. Received datagrams queue up to
 * the configured byte limit; beyond it they are dropped and counted (like SO_RCVBUF).
 *
 * States: initial -> bound -> connected (connect may also start from initial, binding an
 * ephemeral port) -> closed. Concurrency: single-threaded; every method runs to completion.
 */
import { familyAllows, type AddressFamily, type IPAddress } from "../../address.js";
import {
  ErrAlreadyBound,
  ErrBadAddress,
  ErrClosed,
  ErrInvalidArgument,
  ErrMessageTooLong,
  ErrNotConnected,
  ErrWouldBlock,
  isNetError,
  type NetError,
} from "../../errors.js";
import { buildUdp, UDP_HEADER_SIZE } from "../../header/udp.js";
import { IP_PROTOCOL_UDP } from "../../header/ipv4.js";
import { EVENT_ERR, EVENT_IN, EVENT_OUT, WaiterQueue, type EventMask } from "../../waiter.js";
import { validPort, type BindAddress, type FullAddress } from "../address.js";
import type { UdpProtocol } from "./protocol.js";
import type { SendOptions } from "../../network/ipv4/ipv4.js";

export type UdpState = "initial" | "bound" | "connected" | "closed";

export interface Datagram {
  data: Uint8Array;
  from: FullAddress;
  /** The local address it was sent to. */
  to: IPAddress;
}

/** IPv4's total-length limit; IPv6's payload-length limit is 20 bytes larger. */
const MAX_PAYLOAD = 0xffff - UDP_HEADER_SIZE - 20;

export class UdpEndpoint {
  readonly waiter = new WaiterQueue();
  private st: UdpState = "initial";
  private localAddress: IPAddress | undefined;
  private localPort = 0;
  private remoteAddr: FullAddress | undefined;
  /** The local address chosen by the route when connected. */
  private connectedLocal: IPAddress | undefined;
  private readonly queue: Datagram[] = [];
  private queuedBytes = 0;
  private pendingError: NetError | undefined;
  /** IP_TTL / IPV6_UNICAST_HOPS and IP_TOS / IPV6_TCLASS for this endpoint's datagrams. */
  ipOptions: SendOptions = {};

  constructor(
    private readonly proto: UdpProtocol,
    /** Which IP versions this endpoint serves (AF_INET, AF_INET6 V6ONLY, or dual-stack). */
    readonly family: AddressFamily = "dual",
  ) {}

  get state(): UdpState {
    return this.st;
  }
  get remote(): FullAddress | undefined {
    return this.remoteAddr;
  }
  /** The bound address (undefined = wildcard) and port (0 if unbound). */
  get local(): { address: IPAddress | undefined; port: number } {
    return { address: this.connectedLocal ?? this.localAddress, port: this.localPort };
  }

  bind(addr: BindAddress = {}): NetError | undefined {
    if (this.st === "closed") return ErrClosed;
    if (this.st !== "initial") return ErrAlreadyBound;
    const port = addr.port ?? 0;
    if (!validPort(port)) return ErrInvalidArgument;
    const a = addr.address !== undefined && !addr.address.isUnspecified() ? addr.address : undefined;
    if (addr.address !== undefined && !familyAllows(this.family, addr.address)) return ErrBadAddress;
    if (a !== undefined && this.proto.stack.nicOwning(a) === undefined && !a.isV4Broadcast()) return ErrBadAddress;
    const stack = this.proto.stack;
    const p = stack.ports.reserve(IP_PROTOCOL_UDP, a, port, this.family);
    if (isNetError(p)) return p;
    const err = this.proto.demux.register(IP_PROTOCOL_UDP, { localAddress: a, localPort: p, remoteAddress: undefined, remotePort: 0, family: this.family }, this);
    if (err !== undefined) {
      stack.ports.release(IP_PROTOCOL_UDP, a, p, this.family);
      return err;
    }
    this.localAddress = a;
    this.localPort = p;
    this.st = "bound";
    return undefined;
  }

  /** Sets the default destination and filters received datagrams to it. */
  connect(to: FullAddress): NetError | undefined {
    if (this.st === "closed") return ErrClosed;
    if (!validPort(to.port) || to.port === 0) return ErrInvalidArgument;
    if (!familyAllows(this.family, to.address)) return ErrBadAddress;
    const route = this.proto.stack.findRoute(to.address, { localAddress: this.localAddress });
    if (isNetError(route)) return route;
    if (this.st === "initial") {
      const e = this.bind({});
      if (e !== undefined) return e;
    }
    this.unregister();
    const id = { localAddress: route.localAddress, localPort: this.localPort, remoteAddress: to.address, remotePort: to.port };
    const err = this.proto.demux.register(IP_PROTOCOL_UDP, id, this);
    if (err !== undefined) {
      this.registerBound();
      return err;
    }
    this.remoteAddr = to;
    this.connectedLocal = route.localAddress;
    this.st = "connected";
    return undefined;
  }

  /** connect(AF_UNSPEC): forgets the default destination; a bound endpoint stays bound. */
  disconnect(): NetError | undefined {
    if (this.st === "closed") return ErrClosed;
    if (this.st !== "connected") return undefined;
    this.unregister();
    this.remoteAddr = undefined;
    this.connectedLocal = undefined;
    this.st = "bound";
    this.registerBound();
    return undefined;
  }

  /** Bytes of the oldest queued datagram, 0 if none (FIONREAD). */
  get nextDatagramLength(): number {
    return this.queue[0]?.data.length ?? 0;
  }

  /** Sends one datagram (to the connected peer if `to` is omitted). Returns bytes sent. */
  sendTo(data: Uint8Array, to?: FullAddress): number | NetError {
    if (this.st === "closed") return ErrClosed;
    const dst = to ?? this.remoteAddr;
    if (dst === undefined) return ErrNotConnected;
    if (!validPort(dst.port) || dst.port === 0) return ErrInvalidArgument;
    if (!familyAllows(this.family, dst.address)) return ErrBadAddress;
    if (data.length > MAX_PAYLOAD) return ErrMessageTooLong;
    const stack = this.proto.stack;
    const route = stack.findRoute(dst.address, { localAddress: this.connectedLocal ?? this.localAddress });
    if (isNetError(route)) return route;
    if (this.st === "initial") {
      const e = this.bind({});
      if (e !== undefined) return e;
    }
    const seg = buildUdp({ sourcePort: this.localPort, destinationPort: dst.port }, data, route.localAddress, dst.address);
    const err = stack.sendIp(route, IP_PROTOCOL_UDP, seg, this.ipOptions);
    if (err !== undefined) return err;
    stack.stats.udp.sent++;
    return data.length;
  }

  /** Takes the oldest datagram, or ErrWouldBlock. A pending ICMP error is returned first. */
  recvFrom(): Datagram | NetError {
    const e = this.takeError();
    if (e !== undefined) return e;
    const d = this.queue.shift();
    if (d === undefined) return this.st === "closed" ? ErrClosed : ErrWouldBlock;
    this.queuedBytes -= d.data.length;
    return d;
  }

  /** The oldest datagram without dequeuing it (MSG_PEEK); a pending error is still taken. */
  peek(): Datagram | NetError {
    const e = this.takeError();
    if (e !== undefined) return e;
    return this.queue[0] ?? (this.st === "closed" ? ErrClosed : ErrWouldBlock);
  }

  /** Returns and clears the pending asynchronous error (SO_ERROR). */
  takeError(): NetError | undefined {
    const e = this.pendingError;
    this.pendingError = undefined;
    return e;
  }

  readiness(): EventMask {
    let m = this.st === "closed" ? 0 : EVENT_OUT;
    if (this.queue.length > 0) m |= EVENT_IN;
    if (this.pendingError !== undefined) m |= EVENT_ERR;
    return m;
  }

  close(): void {
    if (this.st === "closed") return;
    this.unregister();
    if (this.st !== "initial") this.proto.stack.ports.release(IP_PROTOCOL_UDP, this.localAddress, this.localPort, this.family);
    this.st = "closed";
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  /** @internal Called by the protocol with a validated datagram. */
  deliver(from: FullAddress, to: IPAddress, payload: Uint8Array): void {
    if (this.queuedBytes + payload.length > this.proto.stack.config.udp.receiveBufferSize) {
      this.proto.stack.stats.udp.receiveBufferErrors++;
      return;
    }
    this.queue.push({ data: Uint8Array.from(payload), from, to });
    this.queuedBytes += payload.length;
    this.waiter.notify(EVENT_IN);
  }

  /** @internal An asynchronous error from ICMP. */
  setError(e: NetError): void {
    this.pendingError = e;
    this.waiter.notify(EVENT_ERR);
  }

  private unregister(): void {
    const demux = this.proto.demux;
    if (this.st === "bound")
      demux.unregister(IP_PROTOCOL_UDP, { localAddress: this.localAddress, localPort: this.localPort, remoteAddress: undefined, remotePort: 0, family: this.family }, this);
    if (this.st === "connected" && this.remoteAddr !== undefined)
      demux.unregister(
        IP_PROTOCOL_UDP,
        { localAddress: this.connectedLocal, localPort: this.localPort, remoteAddress: this.remoteAddr.address, remotePort: this.remoteAddr.port },
        this,
      );
  }

  private registerBound(): void {
    this.proto.demux.register(IP_PROTOCOL_UDP, { localAddress: this.localAddress, localPort: this.localPort, remoteAddress: undefined, remotePort: 0, family: this.family }, this);
  }
}
