/**
 * ICMPv6 (RFC 4443): echo replies, error messages for undeliverable datagrams under the
 * §2.4(e) rules (never about an error message, nor — except Packet Too Big and Parameter
 * Problem — about a datagram sent to multicast), rate-limited (§2.4(f)), and received
 * errors passed to the transport that sent the quoted datagram.
 */
import { IPAddress } from "../../address.js";
import { isNetError } from "../../errors.js";
import {
  buildIcmpv6,
  IcmpView,
  ICMPV6_CODE_PORT_UNREACHABLE,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
} from "../../header/icmp.js";
import type { IcmpErrorKind } from "../ipv4/icmp.js";
import { IP_PROTOCOL_ICMPV6 } from "../../header/ipv4.js";
import { IPV6_HEADER_SIZE } from "../../header/ipv6.js";
import type { Stack } from "../../stack/stack.js";
import type { PacketInfo } from "../ipv4/ipv4.js";
import { ICMPV6_NEIGHBOR_ADVERT, ICMPV6_NEIGHBOR_SOLICIT } from "./ndp.js";
import { IcmpRateLimiter } from "../icmp-rate-limit.js";

/** RFC 4443 §2.4(c): an error message must fit the IPv6 minimum MTU. */
const MIN_MTU = 1280;

export class Icmpv6 {
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
    if (!v.checksumValidV6(info.source, info.destination)) {
      stats.badChecksum++;
      return;
    }
    if (v.type === ICMPV6_ECHO_REQUEST) {
      stats.echoRequests++;
      if (info.broadcast) return;
      const route = this.stack.findRoute(info.source, { localAddress: info.destination });
      if (isNetError(route)) return;
      stats.echoReplies++;
      this.stack.ipv6.send(route, IP_PROTOCOL_ICMPV6, buildIcmpv6({ type: ICMPV6_ECHO_REPLY, code: 0, restOfHeader: v.restOfHeader }, v.payload, route.localAddress, route.remoteAddress));
      return;
    }
    if (v.type === ICMPV6_ECHO_REPLY) {
      stats.echoRepliesReceived++;
      this.stack.icmpSockets.deliverReply(6, info.source, info.destination, v.ident, v.bytes);
      return;
    }
    if (v.type < 128) {
      stats.errorsReceived++;
      const q = v.payload;
      if (q.length < IPV6_HEADER_SIZE + 8 || (q[0] ?? 0) >> 4 !== 6) {
        stats.malformed++;
        return;
      }
      this.stack.deliverTransportError({
        type: v.type,
        code: v.code,
        portUnreachable: v.type === ICMPV6_DEST_UNREACHABLE && v.code === ICMPV6_CODE_PORT_UNREACHABLE,
        kind: icmpv6Kind(v.type, v.code),
        mtu: v.type === ICMPV6_PACKET_TOO_BIG ? v.restOfHeader : 0,
        source: IPAddress.fromBytes(q.subarray(8, 24)) as IPAddress,
        destination: IPAddress.fromBytes(q.subarray(24, 40)) as IPAddress,
        protocol: q[6] ?? 0,
        transportHeader: q.subarray(IPV6_HEADER_SIZE, IPV6_HEADER_SIZE + 8),
      });
    }
    if (v.type === ICMPV6_NEIGHBOR_SOLICIT || v.type === ICMPV6_NEIGHBOR_ADVERT) info.nic.ndp?.handle(info, v);
    // Router discovery and redirects (133, 134, 137) are not implemented.
  }

  sendPortUnreachable(info: PacketInfo): void {
    this.sendError(info, ICMPV6_DEST_UNREACHABLE, ICMPV6_CODE_PORT_UNREACHABLE, 0);
  }

  /** Parameter Problem with `pointer` (RFC 4443 §3.4); allowed even for multicast. */
  sendParameterProblem(info: PacketInfo, code: number, pointer: number): void {
    this.sendError(info, ICMPV6_PARAMETER_PROBLEM, code, pointer, true);
  }

  sendError(info: PacketInfo, type: number, code: number, rest: number, evenMulticast = false): void {
    const stats = this.stack.stats.icmp;
    if ((info.broadcast && !evenMulticast) || info.source.isUnspecified() || info.source.isMulticast()) return;
    if (info.protocol === IP_PROTOCOL_ICMPV6) {
      const t = info.datagram[IPV6_HEADER_SIZE];
      if (t === undefined || t < 128) return;
    }
    if (!this.rateLimit.take()) {
      stats.errorsRateLimited++;
      return;
    }
    const route = this.stack.findRoute(info.source, info.broadcast ? {} : { localAddress: info.destination });
    if (isNetError(route)) return;
    const quote = info.datagram.subarray(0, Math.min(info.datagram.length, MIN_MTU - IPV6_HEADER_SIZE - 8));
    stats.errorsSent++;
    this.stack.ipv6.send(route, IP_PROTOCOL_ICMPV6, buildIcmpv6({ type, code, restOfHeader: rest }, quote, route.localAddress, route.remoteAddress));
  }
}

/** RFC 4443 §3 types and codes, as kinds. */
export function icmpv6Kind(type: number, code: number): IcmpErrorKind {
  switch (type) {
    case ICMPV6_DEST_UNREACHABLE:
      return code === 0 ? "net-unreachable" : code === 1 || code === 5 || code === 6 ? "admin-prohibited" : code === 4 ? "port-unreachable" : "host-unreachable";
    case ICMPV6_PACKET_TOO_BIG:
      return "packet-too-big";
    case 3:
      return "time-exceeded";
    case ICMPV6_PARAMETER_PROBLEM:
      return code === 1 ? "protocol-unreachable" : "parameter-problem";
    default:
      return "other";
  }
}
