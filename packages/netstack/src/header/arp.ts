/** ARP for IPv4 over Ethernet (RFC 826). Only htype=1/ptype=0x0800/hlen=6/plen=4 is accepted. */
import { IPAddress, LinkAddress } from "../address.js";
import { ETHERTYPE_IPV4 } from "./ethernet.js";

export const ARP_SIZE = 28;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

export class ArpView {
  private constructor(private readonly b: Uint8Array) {}

  /** Returns a view only for a well-formed Ethernet/IPv4 ARP packet. */
  static parse(b: Uint8Array): ArpView | undefined {
    if (b.length < ARP_SIZE) return undefined;
    const htype = ((b[0] ?? 0) << 8) | (b[1] ?? 0);
    const ptype = ((b[2] ?? 0) << 8) | (b[3] ?? 0);
    if (htype !== 1 || ptype !== ETHERTYPE_IPV4 || b[4] !== 6 || b[5] !== 4) return undefined;
    return new ArpView(b);
  }

  get op(): number {
    return ((this.b[6] ?? 0) << 8) | (this.b[7] ?? 0);
  }
  get senderHardware(): LinkAddress {
    return LinkAddress.fromBytes(this.b.subarray(8, 14)) as LinkAddress;
  }
  get senderProtocol(): IPAddress {
    return IPAddress.fromBytes(this.b.subarray(14, 18)) as IPAddress;
  }
  get targetHardware(): LinkAddress {
    return LinkAddress.fromBytes(this.b.subarray(18, 24)) as LinkAddress;
  }
  get targetProtocol(): IPAddress {
    return IPAddress.fromBytes(this.b.subarray(24, 28)) as IPAddress;
  }
}

export interface ArpFields {
  op: number;
  senderHardware: LinkAddress;
  senderProtocol: IPAddress;
  targetHardware: LinkAddress;
  targetProtocol: IPAddress;
}

export function buildArp(f: ArpFields): Uint8Array {
  const b = new Uint8Array(ARP_SIZE);
  b.set([0, 1, ETHERTYPE_IPV4 >> 8, ETHERTYPE_IPV4 & 0xff, 6, 4, f.op >> 8, f.op & 0xff]);
  f.senderHardware.writeTo(b, 8);
  f.senderProtocol.writeTo(b, 14);
  f.targetHardware.writeTo(b, 18);
  f.targetProtocol.writeTo(b, 24);
  return b;
}
