/**
 * ICMP echo ("ping") sockets, modelled on Linux's unprivileged SOCK_DGRAM/IPPROTO_ICMP
 * (and ICMPV6) sockets: the application sends an echo request (type, code, checksum,
 * identifier, sequence, data); the stack sets the identifier to the socket's bound "port",
 * computes the checksum, and delivers the echo replies carrying that identifier.
 *
 * Received replies queue up to the UDP receive-buffer limit; extra ones are dropped and
 * counted.
 */
import type { IPAddress } from "../../address.js";
import { ErrAlreadyBound, ErrBadAddress, ErrClosed, ErrInvalidArgument, ErrMessageTooLong, ErrNotConnected, ErrWouldBlock, isNetError, type NetError } from "../../errors.js";
import { buildIcmpv4, buildIcmpv6, ICMP_HEADER_SIZE, ICMPV4_ECHO_REQUEST, ICMPV6_ECHO_REQUEST } from "../../header/icmp.js";
import { IP_PROTOCOL_ICMP, IP_PROTOCOL_ICMPV6 } from "../../header/ipv4.js";
import { TransportDemuxer } from "../../stack/demux.js";
import type { Stack } from "../../stack/stack.js";
import { EVENT_IN, EVENT_OUT, WaiterQueue, type EventMask } from "../../waiter.js";

export interface EchoReply {
  /** The reply as received: ICMP header (type, code, checksum, ident, sequence) and data. */
  data: Uint8Array;
  from: IPAddress;
}

/** The registry of echo sockets, one per IP version, keyed by identifier. */
export class IcmpSockets {
  readonly demux = new TransportDemuxer<IcmpEndpoint>();

  constructor(readonly stack: Stack) {}

  newEndpoint(version: 4 | 6): IcmpEndpoint {
    return new IcmpEndpoint(this, version);
  }

  /** Called by ICMP(v6) with a validated echo reply; false if no socket wanted it. */
  deliverReply(version: 4 | 6, from: IPAddress, to: IPAddress, ident: number, message: Uint8Array): boolean {
    const ep = this.demux.lookup(protocolFor(version), to, ident, from, 0);
    if (ep === undefined) return false;
    ep.deliver(from, message);
    return true;
  }
}

function protocolFor(version: 4 | 6): number {
  return version === 4 ? IP_PROTOCOL_ICMP : IP_PROTOCOL_ICMPV6;
}

export class IcmpEndpoint {
  readonly waiter = new WaiterQueue();
  private bound = false;
  private closed = false;
  private localAddress: IPAddress | undefined;
  private ident = 0;
  private readonly queue: EchoReply[] = [];
  private queuedBytes = 0;

  constructor(
    private readonly sockets: IcmpSockets,
    readonly version: 4 | 6,
  ) {}

  /** The identifier replies must carry (the socket's "port"). */
  get identifier(): number {
    return this.ident;
  }

  /** The bound local address (undefined: any). */
  get boundAddress(): IPAddress | undefined {
    return this.localAddress;
  }

  bind(addr: { address?: IPAddress; ident?: number } = {}): NetError | undefined {
    if (this.closed) return ErrClosed;
    if (this.bound) return ErrAlreadyBound;
    const stack = this.sockets.stack;
    const a = addr.address !== undefined && !addr.address.isUnspecified() ? addr.address : undefined;
    if (a !== undefined && (a.version !== this.version || stack.nicOwning(a) === undefined)) return ErrBadAddress;
    const ident = addr.ident ?? 0;
    if (!Number.isInteger(ident) || ident < 0 || ident > 0xffff) return ErrInvalidArgument;
    const proto = protocolFor(this.version);
    const fam = this.version === 4 ? "ipv4" : "ipv6";
    const p = stack.ports.reserve(proto, a, ident, fam);
    if (isNetError(p)) return p;
    const err = this.sockets.demux.register(proto, { localAddress: a, localPort: p, remoteAddress: undefined, remotePort: 0, family: fam }, this);
    if (err !== undefined) {
      stack.ports.release(proto, a, p, fam);
      return err;
    }
    this.localAddress = a;
    this.ident = p;
    this.bound = true;
    return undefined;
  }

  /**
   * Sends an echo request. `message` starts with the 8-byte ICMP header; its type must be
   * an echo request, its identifier and checksum are filled in by the stack.
   */
  sendTo(message: Uint8Array, to: IPAddress): number | NetError {
    if (this.closed) return ErrClosed;
    if (message.length < ICMP_HEADER_SIZE) return ErrInvalidArgument;
    if (to.version !== this.version) return ErrBadAddress;
    if (message.length > 0xffff - 48) return ErrMessageTooLong;
    const echo = this.version === 4 ? ICMPV4_ECHO_REQUEST : ICMPV6_ECHO_REQUEST;
    if (message[0] !== echo || message[1] !== 0) return ErrInvalidArgument;
    const stack = this.sockets.stack;
    const route = stack.findRoute(to, { localAddress: this.localAddress });
    if (isNetError(route)) return route;
    if (!this.bound) {
      const e = this.bind({});
      if (e !== undefined) return e;
    }
    const seqNo = ((message[6] ?? 0) << 8) | (message[7] ?? 0);
    const fields = { type: echo, code: 0, restOfHeader: ((this.ident << 16) | seqNo) >>> 0 };
    const data = message.subarray(ICMP_HEADER_SIZE);
    const pkt = this.version === 4 ? buildIcmpv4(fields, data) : buildIcmpv6(fields, data, route.localAddress, to);
    const err = stack.sendIp(route, protocolFor(this.version), pkt);
    return err ?? message.length;
  }

  recvFrom(): EchoReply | NetError {
    const r = this.queue.shift();
    if (r === undefined) return this.closed ? ErrNotConnected : ErrWouldBlock;
    this.queuedBytes -= r.data.length;
    return r;
  }

  readiness(): EventMask {
    return (this.closed ? 0 : EVENT_OUT) | (this.queue.length > 0 ? EVENT_IN : 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.bound) {
      const proto = protocolFor(this.version);
      const fam = this.version === 4 ? "ipv4" : "ipv6";
      this.sockets.demux.unregister(proto, { localAddress: this.localAddress, localPort: this.ident, remoteAddress: undefined, remotePort: 0, family: fam }, this);
      this.sockets.stack.ports.release(proto, this.localAddress, this.ident, fam);
    }
    this.queue.length = 0;
  }

  /** @internal */
  deliver(from: IPAddress, message: Uint8Array): void {
    const stack = this.sockets.stack;
    if (this.queuedBytes + message.length > stack.config.udp.receiveBufferSize) {
      stack.stats.icmp.socketDrops++;
      return;
    }
    this.queue.push({ data: Uint8Array.from(message), from });
    this.queuedBytes += message.length;
    this.waiter.notify(EVENT_IN);
  }
}
