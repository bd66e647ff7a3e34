/** Ethernet II frames (IEEE 802.3 with an EtherType): destination, source, type. */
import { LinkAddress } from "../address.js";

export const ETHERNET_HEADER_SIZE = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

/** A read-only view of an Ethernet header; construct with `parse`. */
export class EthernetView {
  private constructor(private readonly b: Uint8Array) {}

  /** Returns a view if `b` holds at least a full header, else undefined. */
  static parse(b: Uint8Array): EthernetView | undefined {
    return b.length >= ETHERNET_HEADER_SIZE ? new EthernetView(b) : undefined;
  }

  get destination(): LinkAddress {
    return LinkAddress.fromBytes(this.b.subarray(0, 6)) as LinkAddress;
  }
  get source(): LinkAddress {
    return LinkAddress.fromBytes(this.b.subarray(6, 12)) as LinkAddress;
  }
  get etherType(): number {
    return ((this.b[12] ?? 0) << 8) | (this.b[13] ?? 0);
  }
  get payload(): Uint8Array {
    return this.b.subarray(ETHERNET_HEADER_SIZE);
  }
}

export interface EthernetFields {
  destination: LinkAddress;
  source: LinkAddress;
  etherType: number;
}

/** Writes the 14-byte header into `out` at offset 0. */
export function encodeEthernetHeader(out: Uint8Array, f: EthernetFields): void {
  f.destination.writeTo(out, 0);
  f.source.writeTo(out, 6);
  out[12] = f.etherType >> 8;
  out[13] = f.etherType & 0xff;
}

/** Builds a frame: a 14-byte header followed by a copy of `payload`. */
export function buildEthernet(f: EthernetFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ETHERNET_HEADER_SIZE + payload.length);
  encodeEthernetHeader(out, f);
  out.set(payload, ETHERNET_HEADER_SIZE);
  return out;
}
