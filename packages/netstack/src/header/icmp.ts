/**
 * ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) share a layout: type, code, checksum, a 4-byte
 * type-specific word (identifier/sequence for echo, MTU or pointer for some errors), then data.
 * ICMPv4's checksum covers the message only; ICMPv6's adds the IPv6 pseudo-header.
 */
import type { IPAddress } from "../address.js";
import { checksumAdd, checksumFinish, checksumVerifies, pseudoHeaderSum } from "./checksum.js";
import { IP_PROTOCOL_ICMPV6 } from "./ipv4.js";

export const ICMP_HEADER_SIZE = 8;

export const ICMPV4_ECHO_REPLY = 0;
export const ICMPV4_DEST_UNREACHABLE = 3;
export const ICMPV4_ECHO_REQUEST = 8;
export const ICMPV4_TIME_EXCEEDED = 11;
export const ICMPV4_PARAMETER_PROBLEM = 12;
/** Destination-unreachable codes (RFC 792, RFC 1191). */
export const ICMPV4_CODE_NET_UNREACHABLE = 0;
export const ICMPV4_CODE_HOST_UNREACHABLE = 1;
export const ICMPV4_CODE_PROTOCOL_UNREACHABLE = 2;
export const ICMPV4_CODE_PORT_UNREACHABLE = 3;
export const ICMPV4_CODE_FRAGMENTATION_NEEDED = 4;
/** Time-exceeded codes. */
export const ICMPV4_CODE_TTL_EXCEEDED = 0;
export const ICMPV4_CODE_REASSEMBLY_TIMEOUT = 1;

export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_CODE_PORT_UNREACHABLE = 4;

/** True for ICMPv4 error types (never answered with another ICMP error, RFC 1122 §3.2.2). */
export function isIcmpv4Error(type: number): boolean {
  return type === ICMPV4_DEST_UNREACHABLE || type === ICMPV4_TIME_EXCEEDED || type === ICMPV4_PARAMETER_PROBLEM || type === 4 || type === 5;
}

export class IcmpView {
  private constructor(private readonly b: Uint8Array) {}

  static parse(b: Uint8Array): IcmpView | undefined {
    return b.length >= ICMP_HEADER_SIZE ? new IcmpView(b) : undefined;
  }

  get type(): number {
    return this.b[0] ?? 0;
  }
  get code(): number {
    return this.b[1] ?? 0;
  }
  get checksum(): number {
    return ((this.b[2] ?? 0) << 8) | (this.b[3] ?? 0);
  }
  /** Echo identifier (bytes 4-5). */
  get ident(): number {
    return ((this.b[4] ?? 0) << 8) | (this.b[5] ?? 0);
  }
  /** Echo sequence number (bytes 6-7). */
  get sequence(): number {
    return ((this.b[6] ?? 0) << 8) | (this.b[7] ?? 0);
  }
  /** Next-hop MTU for "fragmentation needed" (v4, bytes 6-7) — for v6 Packet Too Big use `restOfHeader`. */
  get restOfHeader(): number {
    return (((this.b[4] ?? 0) << 24) | ((this.b[5] ?? 0) << 16) | ((this.b[6] ?? 0) << 8) | (this.b[7] ?? 0)) >>> 0;
  }
  get payload(): Uint8Array {
    return this.b.subarray(ICMP_HEADER_SIZE);
  }
  get bytes(): Uint8Array {
    return this.b;
  }
  /** ICMPv4 checksum check (message only). */
  checksumValidV4(): boolean {
    return checksumVerifies(this.b);
  }
  /** ICMPv6 checksum check (with pseudo-header). */
  checksumValidV6(src: IPAddress, dst: IPAddress): boolean {
    return checksumVerifies(this.b, pseudoHeaderSum(src, dst, IP_PROTOCOL_ICMPV6, this.b.length));
  }
}

export interface IcmpFields {
  type: number;
  code: number;
  /** The 4-byte word after the checksum. */
  restOfHeader: number;
}

/** Builds an ICMPv4 message with its checksum. */
export function buildIcmpv4(f: IcmpFields, payload: Uint8Array): Uint8Array {
  const out = writeIcmp(f, payload);
  const c = checksumFinish(checksumAdd(0, out));
  out[2] = c >> 8;
  out[3] = c & 0xff;
  return out;
}

/** Builds an ICMPv6 message with its pseudo-header checksum. */
export function buildIcmpv6(f: IcmpFields, payload: Uint8Array, src: IPAddress, dst: IPAddress): Uint8Array {
  const out = writeIcmp(f, payload);
  const c = checksumFinish(checksumAdd(pseudoHeaderSum(src, dst, IP_PROTOCOL_ICMPV6, out.length), out));
  out[2] = c >> 8;
  out[3] = c & 0xff;
  return out;
}

function writeIcmp(f: IcmpFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ICMP_HEADER_SIZE + payload.length);
  out[0] = f.type;
  out[1] = f.code;
  out[4] = (f.restOfHeader >>> 24) & 0xff;
  out[5] = (f.restOfHeader >>> 16) & 0xff;
  out[6] = (f.restOfHeader >>> 8) & 0xff;
  out[7] = f.restOfHeader & 0xff;
  out.set(payload, ICMP_HEADER_SIZE);
  return out;
}
