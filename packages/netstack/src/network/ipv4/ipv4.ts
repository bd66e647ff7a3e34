/**
 * IPv4 (RFC 791, RFC 1122 §3.2): receive validation and local delivery, fragmentation on
 * send, reassembly on receive. This host does not forward: a datagram not addressed to one of
 * the stack's addresses (or a broadcast on the arriving NIC) is dropped and counted.
 */
import type { IPAddress } from "../../address.js";
import { ErrMessageTooLong, type NetError } from "../../errors.js";
import { encodeIPv4Header, IPv4View, IPV4_FLAG_DF, IPV4_FLAG_MF, IPV4_MAX_TOTAL_LENGTH, IPV4_MIN_HEADER_SIZE, IP_PROTOCOL_ICMP } from "../../header/ipv4.js";
import { ICMPV4_CODE_PROTOCOL_UNREACHABLE, ICMPV4_CODE_REASSEMBLY_TIMEOUT, ICMPV4_DEST_UNREACHABLE, ICMPV4_TIME_EXCEEDED } from "../../header/icmp.js";
import type { Nic } from "../../stack/nic.js";
import type { Route, Stack } from "../../stack/stack.js";
import { Icmpv4 } from "./icmp.js";
import { DEFAULT_REASSEMBLY_CONFIG, Reassembler, type ReassemblyConfig } from "./reassembly.js";

export interface IPv4Config {
  defaultTtl: number;
  reassembly: ReassemblyConfig;
  /** ICMP error token bucket: sustained rate and burst (RFC 1812 §4.3.2.8). */
  icmpErrorsPerSecond: number;
  icmpErrorBurst: number;
}

export const DEFAULT_IPV4_CONFIG: IPv4Config = { defaultTtl: 64, reassembly: DEFAULT_REASSEMBLY_CONFIG, icmpErrorsPerSecond: 1000, icmpErrorBurst: 50 };

/** What a transport protocol learns about a received datagram. */
export interface PacketInfo {
  nic: Nic;
  source: IPAddress;
  destination: IPAddress;
  protocol: number;
  ttl: number;
  /** Destination was a broadcast or multicast address (never answer with ICMP errors). */
  broadcast: boolean;
  /** The datagram as received (reassembled if it was fragmented), for quoting in ICMP errors. */
  datagram: Uint8Array;
}

export interface SendOptions {
  ttl?: number;
  tos?: number;
  dontFragment?: boolean;
  /**
   * The caller owns the bytes in front of `payload` in its ArrayBuffer (at least
   * `NETWORK_HEADROOM` of them, as `buildTcp(..., headroom)` leaves): the network header is
   * written there in place instead of copying the payload behind a new one.
   */
  headroom?: boolean;
  /**
   * The payload is one large TCP segment for the link to cut into segments of `mss` payload
   * bytes (GSO). Only when the route's NIC said it can (`Nic.gsoMaxBytes`); never fragmented.
   */
  gsoMss?: number;
}

/** Bytes a transport leaves in front of a segment for the IP header (IPv6's fixed 40 and more). */
export const NETWORK_HEADROOM = 64;

/** `payload` grown backwards by `header` bytes, if the caller gave headroom for it. */
export function inPlace(payload: Uint8Array, header: number, opts: SendOptions): Uint8Array | undefined {
  if (opts.headroom !== true || payload.byteOffset < header) return undefined;
  return new Uint8Array(payload.buffer, payload.byteOffset - header, header + payload.length);
}

export class IPv4Protocol {
  private nextId = 0;
  readonly reassembler: Reassembler;
  readonly icmp: Icmpv4;

  constructor(private readonly stack: Stack) {
    this.icmp = new Icmpv4(stack);
    this.reassembler = new Reassembler(stack.clock, stack.stats.ip, stack.config.ipv4.reassembly, (quoted) => {
      const v = IPv4View.parse(withTotalLength(quoted));
      const nic = v === undefined ? undefined : stack.nicOwning(v.destination);
      if (v !== undefined && nic !== undefined) {
        this.icmp.sendError(
          { nic, source: v.source, destination: v.destination, protocol: v.protocol, ttl: v.ttl, broadcast: false, datagram: quoted },
          ICMPV4_TIME_EXCEEDED,
          ICMPV4_CODE_REASSEMBLY_TIMEOUT,
        );
      }
    });
  }

  /** An inbound packet from `nic` (link header already removed). */
  handlePacket(nic: Nic, bytes: Uint8Array): void {
    const stats = this.stack.stats.ip;
    stats.received++;
    const v = IPv4View.parse(bytes);
    if (v === undefined) {
      stats.malformed++;
      return;
    }
    if (!v.checksumValid()) {
      stats.badChecksum++;
      return;
    }
    const src = v.source;
    if (src.isV4Broadcast() || src.isMulticast() || nic.isBroadcast(src)) {
      stats.martianSource++;
      return;
    }
    const dst = v.destination;
    const broadcast = nic.isBroadcast(dst) || dst.isMulticast();
    // Like Linux, a NIC holding a 127/8 address answers for the whole loopback subnet.
    const loopbackNet = dst.isLoopback() && nic.addresses.some((a) => a.address.isLoopback() && dst.inSubnet(a.address, a.prefixLen));
    if (!broadcast && !loopbackNet && this.stack.nicOwning(dst) === undefined) {
      stats.notForUs++;
      return;
    }
    let payload = v.payload;
    let datagram = v.bytes;
    if (v.isFragment) {
      const r = this.reassembler.add({
        key: `${src.key}|${dst.key}|${v.protocol}|${v.id}`,
        offset: v.fragmentOffset,
        more: v.moreFragments,
        data: v.payload,
        header: v.header,
        maxEnd: IPV4_MAX_TOTAL_LENGTH - v.headerLength,
      });
      if (r === undefined) return;
      payload = r.payload;
      datagram = new Uint8Array(r.header.length + r.payload.length);
      datagram.set(r.header);
      datagram.set(r.payload, r.header.length);
    }
    const info: PacketInfo = { nic, source: src, destination: dst, protocol: v.protocol, ttl: v.ttl, broadcast, datagram };
    stats.delivered++;
    if (v.protocol === IP_PROTOCOL_ICMP) {
      this.icmp.handle(info, payload);
      return;
    }
    if (!this.stack.deliverTransport(info, payload)) {
      stats.unknownProtocol++;
      this.icmp.sendError(info, ICMPV4_DEST_UNREACHABLE, ICMPV4_CODE_PROTOCOL_UNREACHABLE);
    }
  }

  /**
   * Sends `payload` as one datagram along `route`, fragmenting to the NIC's MTU unless
   * `dontFragment` is set (then an oversized datagram fails with ErrMessageTooLong).
   */
  send(route: Route, protocol: number, payload: Uint8Array, opts: SendOptions = {}): NetError | undefined {
    const stats = this.stack.stats.ip;
    const id = this.nextId;
    this.nextId = (this.nextId + 1) & 0xffff;
    const fields = {
      id,
      ttl: opts.ttl ?? this.stack.config.ipv4.defaultTtl,
      tos: opts.tos ?? 0,
      protocol,
      source: route.localAddress,
      destination: route.remoteAddress,
    };
    const gso = opts.gsoMss !== undefined && !route.local;
    const mtu = route.local || gso ? 65535 : route.nic.mtu;
    if (IPV4_MIN_HEADER_SIZE + payload.length > 65535) return ErrMessageTooLong;
    if (IPV4_MIN_HEADER_SIZE + payload.length <= mtu) {
      let pkt = inPlace(payload, IPV4_MIN_HEADER_SIZE, opts);
      if (pkt === undefined) {
        pkt = new Uint8Array(IPV4_MIN_HEADER_SIZE + payload.length);
        pkt.set(payload, IPV4_MIN_HEADER_SIZE);
      }
      encodeIPv4Header(pkt, { ...fields, flags: opts.dontFragment === true ? IPV4_FLAG_DF : 0 }, payload.length);
      stats.sent++;
      if (gso) route.nic.writeIPv4(route.nextHop, pkt, { ipVersion: 4, mss: opts.gsoMss as number, ipHeaderLength: IPV4_MIN_HEADER_SIZE });
      else this.emit(route, pkt);
      return undefined;
    }
    if (opts.dontFragment === true) {
      stats.mtuExceeded++;
      return ErrMessageTooLong;
    }
    const chunk = Math.floor((mtu - IPV4_MIN_HEADER_SIZE) / 8) * 8;
    if (chunk <= 0) return ErrMessageTooLong;
    stats.sent++;
    for (let off = 0; off < payload.length; off += chunk) {
      const part = payload.subarray(off, Math.min(off + chunk, payload.length));
      const last = off + part.length >= payload.length;
      const pkt = new Uint8Array(IPV4_MIN_HEADER_SIZE + part.length);
      encodeIPv4Header(pkt, { ...fields, flags: last ? 0 : IPV4_FLAG_MF, fragmentOffset: off }, part.length);
      pkt.set(part, IPV4_MIN_HEADER_SIZE);
      stats.fragmentsSent++;
      this.emit(route, pkt);
    }
    return undefined;
  }

  private emit(route: Route, pkt: Uint8Array): void {
    if (route.local) {
      // Local destinations go through the loopback NIC if the stack has one, else straight
      // back through the clock; either way a send never re-enters receive.
      const lo = this.stack.localDelivery;
      if (lo !== undefined) lo.writeIPv4(route.remoteAddress, pkt);
      else this.stack.clock.schedule(0, () => this.handlePacket(route.nic, pkt));
      return;
    }
    route.nic.writeIPv4(route.nextHop, pkt);
  }
}

/** Rewrites the total-length field of a quoted (truncated) header so it parses. */
function withTotalLength(b: Uint8Array): Uint8Array {
  const c = Uint8Array.from(b);
  c[2] = c.length >> 8;
  c[3] = c.length & 0xff;
  return c;
}
