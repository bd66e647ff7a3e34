/** UDP header (RFC 768): ports, length (header + data), checksum over the pseudo-header. */
import type { IPAddress } from "../address.js";
import { checksumAdd, checksumFinish, checksumVerifies, pseudoHeaderSum } from "./checksum.js";
import { IP_PROTOCOL_UDP } from "./ipv4.js";

export const UDP_HEADER_SIZE = 8;

export class UdpView {
  private constructor(private readonly b: Uint8Array) {}

  /** Returns a view if 8 <= length field <= b.length (trailing bytes beyond length trimmed). */
  static parse(b: Uint8Array): UdpView | undefined {
    if (b.length < UDP_HEADER_SIZE) return undefined;
    const len = ((b[4] ?? 0) << 8) | (b[5] ?? 0);
    if (len < UDP_HEADER_SIZE || len > b.length) return undefined;
    return new UdpView(b.subarray(0, len));
  }

  get sourcePort(): number {
    return ((this.b[0] ?? 0) << 8) | (this.b[1] ?? 0);
  }
  get destinationPort(): number {
    return ((this.b[2] ?? 0) << 8) | (this.b[3] ?? 0);
  }
  get length(): number {
    return this.b.length;
  }
  get checksum(): number {
    return ((this.b[6] ?? 0) << 8) | (this.b[7] ?? 0);
  }
  get payload(): Uint8Array {
    return this.b.subarray(UDP_HEADER_SIZE);
  }
  /** A zero checksum means "none" over IPv4 (RFC 768); IPv6 requires one (RFC 8200 §8.1). */
  checksumValid(src: IPAddress, dst: IPAddress): boolean {
    if (this.checksum === 0) return src.version === 4;
    return checksumVerifies(this.b, pseudoHeaderSum(src, dst, IP_PROTOCOL_UDP, this.b.length));
  }
}

export interface UdpFields {
  sourcePort: number;
  destinationPort: number;
}

/** Builds a datagram with its checksum (0 is transmitted as 0xffff). */
export function buildUdp(f: UdpFields, payload: Uint8Array, src: IPAddress, dst: IPAddress): Uint8Array {
  const len = UDP_HEADER_SIZE + payload.length;
  const out = new Uint8Array(len);
  out[0] = f.sourcePort >> 8;
  out[1] = f.sourcePort & 0xff;
  out[2] = f.destinationPort >> 8;
  out[3] = f.destinationPort & 0xff;
  out[4] = len >> 8;
  out[5] = len & 0xff;
  out.set(payload, UDP_HEADER_SIZE);
  const c = checksumFinish(checksumAdd(pseudoHeaderSum(src, dst, IP_PROTOCOL_UDP, len), out)) || 0xffff;
  out[6] = c >> 8;
  out[7] = c & 0xff;
  return out;
}
