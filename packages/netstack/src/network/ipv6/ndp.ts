/**
 * IPv6 Neighbor Discovery, address resolution only (RFC 4861 §7): Neighbor Solicitations
 * to the solicited-node multicast address, Neighbor Advertisements in reply to
 * solicitations for our addresses, and a bounded `NeighborCache` shared in design with ARP.
 * Router discovery, redirects, NUD probing and duplicate address detection of our own
 * addresses are not implemented.
 *
 * Validation (§7.1.1, §7.1.2): hop limit 255, code 0, at least 24 bytes, a non-multicast
 * target, well-formed options (no zero length, none running past the end), no source
 * link-layer option with an unspecified source, no Solicited flag on a multicast NA.
 */
import { IPAddress, LinkAddress } from "../../address.js";
import type { Clock } from "../../clock.js";
import { ETHERTYPE_IPV6 } from "../../header/ethernet.js";
import { buildIcmpv6, type IcmpView } from "../../header/icmp.js";
import { IP_PROTOCOL_ICMPV6 } from "../../header/ipv4.js";
import { buildIPv6 } from "../../header/ipv6.js";
import type { StackStats } from "../../stack/stats.js";
import type { ResolverNic } from "../arp/arp.js";
import { NeighborCache, type NeighborConfig } from "../neighbor-cache.js";
import type { PacketInfo } from "../ipv4/ipv4.js";

export const ICMPV6_NEIGHBOR_SOLICIT = 135;
export const ICMPV6_NEIGHBOR_ADVERT = 136;
const NA_FLAG_SOLICITED = 0x40000000;
const NA_FLAG_OVERRIDE = 0x20000000;
const OPT_SOURCE_LLA = 1;
const OPT_TARGET_LLA = 2;
const ALL_NODES = IPAddress.parse("ff02::1") as IPAddress;

/** ff02::1:ffXX:XXXX for the low 24 bits of `ip` (RFC 4291 §2.7.1). */
export function solicitedNodeAddress(ip: IPAddress): IPAddress {
  const b = ip.bytes;
  const out = new Uint8Array(16);
  out.set([0xff, 0x02], 0);
  out.set([0x00, 0x01, 0xff, b[13] ?? 0, b[14] ?? 0, b[15] ?? 0], 10);
  return IPAddress.fromBytes(out) as IPAddress;
}

/** The Ethernet multicast address for an IPv6 multicast group (RFC 2464 §7). */
export function multicastMac(group: IPAddress): LinkAddress {
  const b = group.bytes;
  return LinkAddress.fromBytes(Uint8Array.of(0x33, 0x33, b[12] ?? 0, b[13] ?? 0, b[14] ?? 0, b[15] ?? 0)) as LinkAddress;
}

/** Parses ND options; undefined if malformed. Returns the source/target link-layer addresses. */
function parseOptions(b: Uint8Array): { source?: LinkAddress; target?: LinkAddress } | undefined {
  const out: { source?: LinkAddress; target?: LinkAddress } = {};
  let i = 0;
  while (i < b.length) {
    if (i + 2 > b.length) return undefined;
    const type = b[i] ?? 0;
    const len = (b[i + 1] ?? 0) * 8;
    if (len === 0 || i + len > b.length) return undefined;
    if ((type === OPT_SOURCE_LLA || type === OPT_TARGET_LLA) && len === 8) {
      const mac = LinkAddress.fromBytes(b.subarray(i + 2, i + 8)) as LinkAddress;
      if (type === OPT_SOURCE_LLA) out.source = mac;
      else out.target = mac;
    }
    i += len;
  }
  return out;
}

function llaOption(type: number, mac: LinkAddress): Uint8Array {
  const o = new Uint8Array(8);
  o[0] = type;
  o[1] = 1;
  mac.writeTo(o, 2);
  return o;
}

export class NdpResolver {
  private readonly cache: NeighborCache;

  constructor(
    private readonly nic: ResolverNic,
    clock: Clock,
    private readonly stats: StackStats,
    config: NeighborConfig,
  ) {
    this.cache = new NeighborCache(
      clock,
      config,
      stats.ndp,
      (ip) => this.solicit(ip),
      (mac, packet) => nic.writeIpFrame(mac, ETHERTYPE_IPV6, packet),
    );
  }

  get size(): number {
    return this.cache.size;
  }

  lookup(ip: IPAddress): LinkAddress | undefined {
    return this.cache.lookup(ip);
  }

  sendIPv6(nextHop: IPAddress, packet: Uint8Array): void {
    this.cache.send(nextHop, packet);
  }

  /** A validated-checksum ICMPv6 message of type 135 or 136. */
  handle(info: PacketInfo, m: IcmpView): void {
    const s = this.stats.ndp;
    s.received++;
    const body = m.payload;
    if (info.ttl !== 255 || m.code !== 0 || body.length < 16) {
      s.malformed++;
      return;
    }
    const target = IPAddress.fromBytes(body.subarray(0, 16)) as IPAddress;
    const opts = parseOptions(body.subarray(16));
    if (target.isMulticast() || opts === undefined) {
      s.malformed++;
      return;
    }
    if (m.type === ICMPV6_NEIGHBOR_SOLICIT) {
      const unspecified = info.source.isUnspecified();
      if (unspecified && (opts.source !== undefined || !info.destination.isMulticast())) {
        s.malformed++;
        return;
      }
      if (!this.nic.ownsAddress(target)) return;
      if (opts.source !== undefined) this.cache.learn(info.source, opts.source, true);
      this.advertise(target, unspecified ? undefined : info.source, opts.source);
      return;
    }
    const solicited = (m.restOfHeader & NA_FLAG_SOLICITED) !== 0;
    if (solicited && info.destination.isMulticast()) {
      s.malformed++;
      return;
    }
    if (opts.target !== undefined) this.cache.learn(target, opts.target, false);
  }

  private solicit(target: IPAddress): boolean {
    const src = this.nic.sourceFor(target);
    if (src === undefined) return false;
    const group = solicitedNodeAddress(target);
    const body = new Uint8Array(24);
    target.writeTo(body, 0);
    body.set(llaOption(OPT_SOURCE_LLA, this.nic.linkAddress), 16);
    const icmp = buildIcmpv6({ type: ICMPV6_NEIGHBOR_SOLICIT, code: 0, restOfHeader: 0 }, body, src, group);
    this.stats.ndp.solicitsSent++;
    this.nic.writeFrame(multicastMac(group), ETHERTYPE_IPV6, buildIPv6({ nextHeader: IP_PROTOCOL_ICMPV6, hopLimit: 255, source: src, destination: group }, icmp));
    return true;
  }

  /** Answers a solicitation for `target` (to `to`, or all-nodes for a DAD probe). */
  private advertise(target: IPAddress, to: IPAddress | undefined, toMac: LinkAddress | undefined): void {
    const dst = to ?? ALL_NODES;
    const dstMac = to === undefined ? multicastMac(ALL_NODES) : (toMac ?? this.cache.lookup(to));
    if (dstMac === undefined) return; // no way to reach it without resolving: stay quiet
    const body = new Uint8Array(24);
    target.writeTo(body, 0);
    body.set(llaOption(OPT_TARGET_LLA, this.nic.linkAddress), 16);
    const flags = NA_FLAG_OVERRIDE | (to === undefined ? 0 : NA_FLAG_SOLICITED);
    const icmp = buildIcmpv6({ type: ICMPV6_NEIGHBOR_ADVERT, code: 0, restOfHeader: flags >>> 0 }, body, target, dst);
    this.stats.ndp.advertsSent++;
    this.nic.writeFrame(dstMac, ETHERTYPE_IPV6, buildIPv6({ nextHeader: IP_PROTOCOL_ICMPV6, hopLimit: 255, source: target, destination: dst }, icmp));
  }
}
