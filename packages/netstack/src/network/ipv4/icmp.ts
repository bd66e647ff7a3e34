/**
 * ICMPv4 (RFC 792, RFC 1122 §3.2.2): answers echo requests, sends errors for undeliverable
 * datagrams, and passes received errors to the transport that sent the quoted datagram.
 *
 * Never answers with an error (RFC 1122 §3.2.2): an ICMP error, a datagram sent to a
 * broadcast or multicast address, a non-initial fragment, or one from a non-unicast source.
 * Errors are rate-limited by a token bucket on the injected clock (RFC 1812 §4.3.2.8).
 */
import {
  buildIcmpv4,
  IcmpView,
  ICMPV4_CODE_PORT_UNREACHABLE,
  ICMPV4_DEST_UNREACHABLE,
  ICMPV4_ECHO_REPLY,
  ICMPV4_ECHO_REQUEST,
  isIcmpv4Error,
} from "../../header/icmp.js";
import { IPAddress } from "../../address.js";
import { IP_PROTOCOL_ICMP } from "../../header/ipv4.js";
import { isNetError } from "../../errors.js";
import type { Stack } from "../../stack/stack.js";
import type { PacketInfo } from "./ipv4.js";
import { IcmpRateLimiter } from "../icmp-rate-limit.js";

/** Largest ICMP error datagram (RFC 1812 §4.3.2.3: at most 576 bytes in total). */
const MAX_ERROR_DATAGRAM = 576;

/** A received ICMP error, as a transport sees it. */
/** What an ICMP(v6) error means, independent of the version's type/code numbers. */
export type IcmpErrorKind =
  | "net-unreachable"
  | "host-unreachable"
  | "protocol-unreachable"
  | "port-unreachable"
  | "admin-prohibited"
  | "packet-too-big"
  | "time-exceeded"
  | "parameter-problem"
  | "other";

export interface IcmpErrorReport {
  type: number;
  code: number;
  kind: IcmpErrorKind;
  /** Destination unreachable / port unreachable (v4 type 3 code 3, v6 type 1 code 4). */
  portUnreachable: boolean;
  /** Next-hop MTU for packet-too-big (0 if the sender did not say). */
  mtu: number;
  /** The quoted datagram's addressing: `source` is ours, `destination` the peer's. */
  source: IPAddress;
  destination: IPAddress;
  protocol: number;
  /** First 8 bytes of the quoted transport header (ports for TCP/UDP). */
  transportHeader: Uint8Array;
}

export class Icmpv4 {
  private readonly rateLimit: IcmpRateLimiter;

  constructor(private readonly stack: Stack) {
    this.rateLimit = new IcmpRateLimiter(stack);
  }

  handle(info: PacketInfo, payload: Uint8Array): void {
    const stats = this.stack.stats.icmp;
    stats.received++;
    const v = IcmpView.parse(payload);
    if (v === undefined) {
      stats.malformed++;
      return;
    }
    if (!v.checksumValidV4()) {
      stats.badChecksum++;
      return;
    }
    if (v.type === ICMPV4_ECHO_REQUEST) {
      stats.echoRequests++;
      // Like Linux's default icmp_echo_ignore_broadcasts=1: no replies to broadcast pings.
      if (info.broadcast) return;
      const route = this.stack.findRoute(info.source, { localAddress: info.destination });
      if (isNetError(route)) return;
      const reply = buildIcmpv4({ type: ICMPV4_ECHO_REPLY, code: 0, restOfHeader: v.restOfHeader }, v.payload);
      stats.echoReplies++;
      this.stack.sendIp(route, IP_PROTOCOL_ICMP, reply);
      return;
    }
    if (isIcmpv4Error(v.type)) {
      stats.errorsReceived++;
      const q = v.payload;
      const ihl = ((q[0] ?? 0) & 0x0f) * 4;
      if ((q[0] ?? 0) >> 4 !== 4 || ihl < 20 || q.length < ihl + 8) {
        stats.malformed++;
        return;
      }
      const report: IcmpErrorReport = {
        type: v.type,
        code: v.code,
        portUnreachable: v.type === ICMPV4_DEST_UNREACHABLE && v.code === ICMPV4_CODE_PORT_UNREACHABLE,
        kind: icmpv4Kind(v.type, v.code),
        mtu: v.type === ICMPV4_DEST_UNREACHABLE && v.code === 4 ? v.restOfHeader & 0xffff : 0,
        source: IPAddress.fromBytes(q.subarray(12, 16)) as IPAddress,
        destination: IPAddress.fromBytes(q.subarray(16, 20)) as IPAddress,
        protocol: q[9] ?? 0,
        transportHeader: q.subarray(ihl, ihl + 8),
      };
      this.stack.deliverTransportError(report);
    }
    if (v.type === ICMPV4_ECHO_REPLY) {
      stats.echoRepliesReceived++;
      this.stack.icmpSockets.deliverReply(4, info.source, info.destination, v.ident, v.bytes);
    }
  }

  /** Sends an error about `info`'s datagram back to its source, if policy and rate allow. */
  sendError(info: PacketInfo, type: number, code: number, restOfHeader = 0): void {
    const stats = this.stack.stats.icmp;
    const d = info.datagram;
    const fragOffset = ((((d[6] ?? 0) & 0x1f) << 8) | (d[7] ?? 0)) * 8;
    if (info.broadcast || fragOffset !== 0 || info.source.isUnspecified()) return;
    if (info.protocol === IP_PROTOCOL_ICMP) {
      const ihl = ((d[0] ?? 0) & 0x0f) * 4;
      const t = d[ihl];
      if (t === undefined || isIcmpv4Error(t)) return;
    }
    if (!this.rateLimit.take()) {
      stats.errorsRateLimited++;
      return;
    }
    const route = this.stack.findRoute(info.source, { localAddress: info.destination });
    if (isNetError(route)) return;
    const quote = d.subarray(0, Math.min(d.length, MAX_ERROR_DATAGRAM - 20 - 8));
    stats.errorsSent++;
    this.stack.sendIp(route, IP_PROTOCOL_ICMP, buildIcmpv4({ type, code, restOfHeader }, quote));
  }

  /** Convenience for UDP: port unreachable (type 3, code 3). */
  sendPortUnreachable(info: PacketInfo): void {
    this.sendError(info, ICMPV4_DEST_UNREACHABLE, ICMPV4_CODE_PORT_UNREACHABLE);
  }
}

/** RFC 792 / RFC 1122 §3.2.2.1 codes, as kinds. */
export function icmpv4Kind(type: number, code: number): IcmpErrorKind {
  if (type === 11) return "time-exceeded";
  if (type === 12) return "parameter-problem";
  if (type !== ICMPV4_DEST_UNREACHABLE) return "other";
  switch (code) {
    case 0:
    case 6:
    case 11:
      return "net-unreachable";
    case 1:
    case 7:
    case 12:
      return "host-unreachable";
    case 2:
      return "protocol-unreachable";
    case 3:
      return "port-unreachable";
    case 4:
      return "packet-too-big";
    case 9:
    case 10:
    case 13:
      return "admin-prohibited";
    default:
      return "host-unreachable";
  }
}
