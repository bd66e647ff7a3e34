/**
 * ARP (RFC 826) for one Ethernet NIC: answers requests for our addresses, learns senders
 * (the "merge" rule: update known entries, create one only when we are the target), and
 * resolves next hops for outgoing IPv4 packets through a bounded `NeighborCache`.
 */
import { LinkAddress, type IPAddress } from "../../address.js";
import type { Clock } from "../../clock.js";
import { ArpView, ARP_OP_REPLY, ARP_OP_REQUEST, buildArp } from "../../header/arp.js";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "../../header/ethernet.js";
import type { StackStats } from "../../stack/stats.js";
import { NeighborCache, type NeighborConfig } from "../neighbor-cache.js";

export type ArpConfig = NeighborConfig;

export const DEFAULT_ARP_CONFIG: ArpConfig = { cacheSize: 512, reachableMs: 30_000, retransmitMs: 1000, maxRetries: 3, pendingPerEntry: 3 };

/** What a resolver needs from its NIC. */
export interface ResolverNic {
  readonly linkAddress: LinkAddress;
  writeFrame(destination: LinkAddress, etherType: number, payload: Uint8Array): void;
  /** Sends an IP packet handed to the NIC (its header may be written in front in place). */
  writeIpFrame(destination: LinkAddress, etherType: number, packet: Uint8Array): void;
  /** True if `ip` is assigned to this NIC. */
  ownsAddress(ip: IPAddress): boolean;
  /** The source address to use when asking for `target`. */
  sourceFor(target: IPAddress): IPAddress | undefined;
}


export class ArpResolver {
  private readonly cache: NeighborCache;

  constructor(
    private readonly nic: ResolverNic,
    clock: Clock,
    private readonly stats: StackStats,
    config: ArpConfig = DEFAULT_ARP_CONFIG,
  ) {
    this.cache = new NeighborCache(
      clock,
      config,
      stats.arp,
      (ip) => this.sendRequest(ip),
      (mac, packet) => nic.writeIpFrame(mac, ETHERTYPE_IPV4, packet),
    );
  }

  addStatic(ip: IPAddress, mac: LinkAddress): void {
    this.cache.addStatic(ip, mac);
  }

  lookup(ip: IPAddress): LinkAddress | undefined {
    return this.cache.lookup(ip);
  }

  get size(): number {
    return this.cache.size;
  }

  /** Sends an IPv4 packet to `nextHop`, resolving it first if needed. */
  sendIPv4(nextHop: IPAddress, packet: Uint8Array): void {
    this.cache.send(nextHop, packet);
  }

  /** Handles an inbound ARP packet (the Ethernet payload). */
  handle(payload: Uint8Array): void {
    this.stats.arp.received++;
    const v = ArpView.parse(payload);
    if (v === undefined || (v.op !== ARP_OP_REQUEST && v.op !== ARP_OP_REPLY)) {
      this.stats.arp.malformed++;
      return;
    }
    const spa = v.senderProtocol;
    const sha = v.senderHardware;
    if (spa.isUnspecified() || spa.isV4Broadcast() || spa.isMulticast() || sha.equals(LinkAddress.broadcast)) {
      this.stats.arp.malformed++;
      return;
    }
    const forUs = this.nic.ownsAddress(v.targetProtocol);
    this.cache.learn(spa, sha, forUs);
    if (forUs && v.op === ARP_OP_REQUEST) {
      this.stats.arp.repliesSent++;
      this.nic.writeFrame(
        sha,
        ETHERTYPE_ARP,
        buildArp({ op: ARP_OP_REPLY, senderHardware: this.nic.linkAddress, senderProtocol: v.targetProtocol, targetHardware: sha, targetProtocol: spa }),
      );
    }
  }

  private sendRequest(ip: IPAddress): boolean {
    const src = this.nic.sourceFor(ip);
    if (src === undefined) return false;
    this.stats.arp.requestsSent++;
    this.nic.writeFrame(
      LinkAddress.broadcast,
      ETHERTYPE_ARP,
      buildArp({ op: ARP_OP_REQUEST, senderHardware: this.nic.linkAddress, senderProtocol: src, targetHardware: LinkAddress.zero, targetProtocol: ip }),
    );
    return true;
  }
}
