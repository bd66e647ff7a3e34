/**
 * IPv4 header (RFC 791 §3.1). `parse` checks version, IHL, total length against the buffer
 * before any field is exposed; the header checksum is checked separately (`checksumValid`)
 * so callers can count the two failures apart.
 */
import { IPAddress } from "../address.js";
import { checksumAdd, checksumFinish, checksumVerifies } from "./checksum.js";

export const IPV4_MIN_HEADER_SIZE = 20;
export const IPV4_MAX_HEADER_SIZE = 60;
export const IPV4_FLAG_DF = 0x2;
export const IPV4_FLAG_MF = 0x1;
export const IPV4_MAX_TOTAL_LENGTH = 0xffff;

export const IP_PROTOCOL_ICMP = 1;
export const IP_PROTOCOL_TCP = 6;
export const IP_PROTOCOL_UDP = 17;
export const IP_PROTOCOL_ICMPV6 = 58;

export class IPv4View {
  private constructor(
    /** Exactly the datagram: trimmed to totalLength (link padding removed). */
    private readonly b: Uint8Array,
  ) {}

  /**
   * Returns a view if `b` starts with a structurally valid IPv4 header: version 4,
   * 20 <= IHL*4 <= totalLength <= b.length. Trailing link-layer padding is cut off.
   */
  static parse(b: Uint8Array): IPv4View | undefined {
    if (b.length < IPV4_MIN_HEADER_SIZE) return undefined;
    const vihl = b[0] ?? 0;
    if (vihl >> 4 !== 4) return undefined;
    const hlen = (vihl & 0x0f) * 4;
    if (hlen < IPV4_MIN_HEADER_SIZE) return undefined;
    const total = ((b[2] ?? 0) << 8) | (b[3] ?? 0);
    if (total < hlen || total > b.length) return undefined;
    return new IPv4View(b.subarray(0, total));
  }

  get headerLength(): number {
    return ((this.b[0] ?? 0) & 0x0f) * 4;
  }
  get tos(): number {
    return this.b[1] ?? 0;
  }
  get totalLength(): number {
    return this.b.length;
  }
  get id(): number {
    return ((this.b[4] ?? 0) << 8) | (this.b[5] ?? 0);
  }
  /** The 3-bit flags field (bit 1 = DF, bit 0 = MF). */
  get flags(): number {
    return (this.b[6] ?? 0) >> 5;
  }
  get moreFragments(): boolean {
    return (this.flags & IPV4_FLAG_MF) !== 0;
  }
  get dontFragment(): boolean {
    return (this.flags & IPV4_FLAG_DF) !== 0;
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return ((((this.b[6] ?? 0) & 0x1f) << 8) | (this.b[7] ?? 0)) * 8;
  }
  get isFragment(): boolean {
    return this.moreFragments || this.fragmentOffset !== 0;
  }
  get ttl(): number {
    return this.b[8] ?? 0;
  }
  get protocol(): number {
    return this.b[9] ?? 0;
  }
  get checksum(): number {
    return ((this.b[10] ?? 0) << 8) | (this.b[11] ?? 0);
  }
  get source(): IPAddress {
    return IPAddress.fromBytes(this.b.subarray(12, 16)) as IPAddress;
  }
  get destination(): IPAddress {
    return IPAddress.fromBytes(this.b.subarray(16, 20)) as IPAddress;
  }
  get options(): Uint8Array {
    return this.b.subarray(IPV4_MIN_HEADER_SIZE, this.headerLength);
  }
  get header(): Uint8Array {
    return this.b.subarray(0, this.headerLength);
  }
  get payload(): Uint8Array {
    return this.b.subarray(this.headerLength);
  }
  /** The whole datagram (header and payload). */
  get bytes(): Uint8Array {
    return this.b;
  }
  checksumValid(): boolean {
    return checksumVerifies(this.header);
  }
}

export interface IPv4Fields {
  tos?: number;
  id: number;
  flags?: number;
  /** In bytes; must be a multiple of 8. */
  fragmentOffset?: number;
  ttl: number;
  protocol: number;
  source: IPAddress;
  destination: IPAddress;
  /** Raw options, already padded to a multiple of 4 bytes (at most 40). */
  options?: Uint8Array;
}

/** Writes a header (with checksum) for `payloadLength` bytes into `out` at offset 0. */
export function encodeIPv4Header(out: Uint8Array, f: IPv4Fields, payloadLength: number): number {
  const opts = f.options ?? new Uint8Array(0);
  const hlen = IPV4_MIN_HEADER_SIZE + opts.length;
  const total = hlen + payloadLength;
  const frag = ((f.flags ?? 0) << 13) | ((f.fragmentOffset ?? 0) / 8);
  out[0] = 0x40 | (hlen / 4);
  out[1] = f.tos ?? 0;
  out[2] = total >> 8;
  out[3] = total & 0xff;
  out[4] = (f.id >> 8) & 0xff;
  out[5] = f.id & 0xff;
  out[6] = frag >> 8;
  out[7] = frag & 0xff;
  out[8] = f.ttl;
  out[9] = f.protocol;
  out[10] = 0;
  out[11] = 0;
  f.source.writeTo(out, 12);
  f.destination.writeTo(out, 16);
  out.set(opts, IPV4_MIN_HEADER_SIZE);
  const c = checksumFinish(checksumAdd(0, out, 0, hlen));
  out[10] = c >> 8;
  out[11] = c & 0xff;
  return hlen;
}

/** Builds a datagram: header plus a copy of `payload`. */
export function buildIPv4(f: IPv4Fields, payload: Uint8Array): Uint8Array {
  const hlen = IPV4_MIN_HEADER_SIZE + (f.options?.length ?? 0);
  const out = new Uint8Array(hlen + payload.length);
  encodeIPv4Header(out, f, payload.length);
  out.set(payload, hlen);
  return out;
}
