/**
 * IPv6 fixed header (RFC 8200 §3). `nextHeader` is the fixed header's value; the network
 * layer (`network/ipv6`) walks any extension headers that follow.
 */
import { IPAddress } from "../address.js";

export const IPV6_HEADER_SIZE = 40;

export class IPv6View {
  private constructor(private readonly b: Uint8Array) {}

  /** Returns a view if version is 6 and 40 + payloadLength <= b.length (padding trimmed). */
  static parse(b: Uint8Array): IPv6View | undefined {
    if (b.length < IPV6_HEADER_SIZE) return undefined;
    if ((b[0] ?? 0) >> 4 !== 6) return undefined;
    const plen = ((b[4] ?? 0) << 8) | (b[5] ?? 0);
    if (IPV6_HEADER_SIZE + plen > b.length) return undefined;
    return new IPv6View(b.subarray(0, IPV6_HEADER_SIZE + plen));
  }

  get trafficClass(): number {
    return (((this.b[0] ?? 0) & 0x0f) << 4) | ((this.b[1] ?? 0) >> 4);
  }
  get flowLabel(): number {
    return (((this.b[1] ?? 0) & 0x0f) << 16) | ((this.b[2] ?? 0) << 8) | (this.b[3] ?? 0);
  }
  get payloadLength(): number {
    return this.b.length - IPV6_HEADER_SIZE;
  }
  get nextHeader(): number {
    return this.b[6] ?? 0;
  }
  get hopLimit(): number {
    return this.b[7] ?? 0;
  }
  get source(): IPAddress {
    return IPAddress.fromBytes(this.b.subarray(8, 24)) as IPAddress;
  }
  get destination(): IPAddress {
    return IPAddress.fromBytes(this.b.subarray(24, 40)) as IPAddress;
  }
  get payload(): Uint8Array {
    return this.b.subarray(IPV6_HEADER_SIZE);
  }
  /** The whole datagram (trimmed to 40 + payload length). */
  get bytes(): Uint8Array {
    return this.b;
  }
}

export interface IPv6Fields {
  trafficClass?: number;
  flowLabel?: number;
  nextHeader: number;
  hopLimit: number;
  source: IPAddress;
  destination: IPAddress;
}

/** Writes the fixed header for `payloadLength` bytes into `out` at offset 0. */
export function encodeIPv6Header(out: Uint8Array, f: IPv6Fields, payloadLength: number): void {
  const tc = f.trafficClass ?? 0;
  const fl = f.flowLabel ?? 0;
  out[0] = 0x60 | (tc >> 4);
  out[1] = ((tc & 0x0f) << 4) | ((fl >> 16) & 0x0f);
  out[2] = (fl >> 8) & 0xff;
  out[3] = fl & 0xff;
  out[4] = payloadLength >> 8;
  out[5] = payloadLength & 0xff;
  out[6] = f.nextHeader;
  out[7] = f.hopLimit;
  f.source.writeTo(out, 8);
  f.destination.writeTo(out, 24);
}

/** Builds a packet: the fixed header plus a copy of `payload`. */
export function buildIPv6(f: IPv6Fields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(IPV6_HEADER_SIZE + payload.length);
  encodeIPv6Header(out, f, payload.length);
  out.set(payload, IPV6_HEADER_SIZE);
  return out;
}
