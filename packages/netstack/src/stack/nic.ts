/**
 * A NIC: one link endpoint, its assigned addresses and (for Ethernet links) its ARP resolver.
 * It is the link's dispatcher: it strips the link header and hands IP packets to the stack.
 */
import { LinkAddress, type IPAddress } from "../address.js";
import { buildEthernet, encodeEthernetHeader, ETHERNET_HEADER_SIZE, EthernetView, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "../header/ethernet.js";
import type { GsoInfo, LinkDispatcher, LinkEndpoint } from "../link/endpoint.js";
import { isNetError } from "../errors.js";
import { ArpResolver } from "../network/arp/arp.js";
import { multicastMac, NdpResolver } from "../network/ipv6/ndp.js";
import type { Stack } from "./stack.js";

export interface NicAddress {
  address: IPAddress;
  prefixLen: number;
}

export class Nic implements LinkDispatcher {
  readonly addresses: NicAddress[] = [];
  /**
   * Everything arriving here was sent by this stack (the loopback NIC of setLocalDelivery), so
   * transports skip checksum work for it, as Linux does on lo (CHECKSUM_UNNECESSARY).
   */
  trustedLoopback = false;
  readonly arp: ArpResolver | undefined;
  readonly ndp: NdpResolver | undefined;

  constructor(
    readonly id: number,
    readonly link: LinkEndpoint,
    private readonly stack: Stack,
  ) {
    const mac = link.linkAddress;
    if (link.headerKind === "ethernet" && mac !== undefined) {
      const resolverNic = {
        linkAddress: mac,
        writeFrame: (dst: LinkAddress, type: number, payload: Uint8Array) => this.writeFrame(mac, dst, type, payload),
        writeIpFrame: (dst: LinkAddress, type: number, packet: Uint8Array) => this.writeIpFrame(mac, dst, type, packet),
        ownsAddress: (ip: IPAddress) => this.hasAddress(ip),
        sourceFor: (target: IPAddress) => this.sourceFor(target),
      };
      this.arp = new ArpResolver(resolverNic, stack.clock, stack.stats, stack.config.arp);
      this.ndp = new NdpResolver(resolverNic, stack.clock, stack.stats, stack.config.arp);
    }
    link.attach(this);
  }

  get mtu(): number {
    return this.link.mtu;
  }

  hasAddress(ip: IPAddress): boolean {
    return this.addresses.some((a) => a.address.equals(ip));
  }

  /** True if `ip` is the limited broadcast or the directed broadcast of one of our subnets. */
  isBroadcast(ip: IPAddress): boolean {
    if (ip.isV4Broadcast()) return true;
    return this.addresses.some((a) => a.address.version === 4 && a.prefixLen < 31 && a.address.subnetBroadcast(a.prefixLen).equals(ip));
  }

  /** The address to send from toward `target`: one on the same subnet, else the first of its family. */
  sourceFor(target: IPAddress): IPAddress | undefined {
    const same = this.addresses.find((a) => a.address.version === target.version && target.inSubnet(a.address, a.prefixLen));
    return (same ?? this.addresses.find((a) => a.address.version === target.version))?.address;
  }

  /** LinkDispatcher: an inbound frame from the link. */
  deliverFrame(frame: Uint8Array): void {
    const stats = this.stack.stats.link;
    stats.received++;
    if (this.link.headerKind === "none") {
      const version = (frame[0] ?? 0) >> 4;
      if (version === 4) this.stack.ipv4.handlePacket(this, frame);
      else if (version === 6) this.stack.ipv6.handlePacket(this, frame);
      else stats.malformed++;
      return;
    }
    const eth = EthernetView.parse(frame);
    if (eth === undefined) {
      stats.malformed++;
      return;
    }
    // Ours, or a group address (broadcast, multicast: the I/G bit). Compared in place: this
    // runs for every frame.
    const mine = this.link.linkAddress;
    if (!(mine !== undefined && mine.equalsBytes(frame, 0)) && ((frame[0] ?? 0) & 1) === 0) {
      stats.notForUs++;
      return;
    }
    switch (eth.etherType) {
      case ETHERTYPE_IPV4:
        this.stack.ipv4.handlePacket(this, eth.payload);
        return;
      case ETHERTYPE_ARP:
        if (this.arp !== undefined) this.arp.handle(eth.payload);
        return;
      case ETHERTYPE_IPV6:
        this.stack.ipv6.handlePacket(this, eth.payload);
        return;
      default:
        stats.unknownEtherType++;
    }
  }

  /**
   * Sends an IPv4 packet toward `nextHop` (broadcast goes to the Ethernet broadcast address;
   * unicast is resolved through ARP on Ethernet links).
   *
   * Precondition (writeIPv6 too): `packet` is the IP layer's own, and so are the bytes in front
   * of it in its buffer: the Ethernet header is written there in place when there is room (the
   * IP layer builds packets either at offset 0 of a fresh buffer or inside a transport's
   * headroom, so this holds).
   */
  writeIPv4(nextHop: IPAddress, packet: Uint8Array, gso?: GsoInfo): void {
    if (gso !== undefined) {
      this.writeGso(nextHop, ETHERTYPE_IPV4, packet, gso);
      return;
    }
    const mac = this.link.linkAddress;
    if (this.arp === undefined || mac === undefined) {
      this.writeRaw(packet);
      return;
    }
    if (this.isBroadcast(nextHop)) {
      this.writeIpFrame(mac, LinkAddress.broadcast, ETHERTYPE_IPV4, packet);
      return;
    }
    this.arp.sendIPv4(nextHop, packet);
  }

  /**
   * Sends an IPv6 packet toward `nextHop`: multicast maps to 33:33 + low 32 bits
   * (RFC 2464 §7); unicast is resolved by Neighbor Discovery on Ethernet links.
   */
  writeIPv6(nextHop: IPAddress, packet: Uint8Array, gso?: GsoInfo): void {
    if (gso !== undefined) {
      this.writeGso(nextHop, ETHERTYPE_IPV6, packet, gso);
      return;
    }
    const mac = this.link.linkAddress;
    if (this.ndp === undefined || mac === undefined) {
      this.writeRaw(packet);
      return;
    }
    if (nextHop.isMulticast()) {
      this.writeIpFrame(mac, multicastMac(nextHop), ETHERTYPE_IPV6, packet);
      return;
    }
    this.ndp.sendIPv6(nextHop, packet);
  }

  private writeFrame(src: LinkAddress, dst: LinkAddress, etherType: number, payload: Uint8Array): void {
    this.writeRaw(buildEthernet({ destination: dst, source: src, etherType }, payload));
  }

  /**
   * How large a TCP payload may go to `nextHop` as one GSO frame now: the link's limit when it
   * takes GSO frames and the neighbor is resolved (a GSO frame never waits in a neighbor
   * queue), else 0.
   */
  gsoMaxBytes(nextHop: IPAddress): number {
    const max = this.link.gsoMaxBytes ?? 0;
    if (max <= 0 || this.link.linkAddress === undefined) return 0;
    const resolver = nextHop.version === 4 ? this.arp : this.ndp;
    return resolver?.lookup(nextHop) === undefined ? 0 : max;
  }

  private writeGso(nextHop: IPAddress, etherType: number, packet: Uint8Array, gso: GsoInfo): void {
    const mac = this.link.linkAddress;
    const resolver = nextHop.version === 4 ? this.arp : this.ndp;
    const dst = resolver?.lookup(nextHop);
    if (mac === undefined || dst === undefined || (this.link.gsoMaxBytes ?? 0) <= 0) {
      // The caller checked gsoMaxBytes in this same turn; this is a bug guard, counted.
      this.stack.stats.link.writeErrors++;
      return;
    }
    this.writeIpFrame(mac, dst, etherType, packet, gso);
  }

  /** An IP packet from writeIPv4/writeIPv6: the header goes in front in place if there is room. */
  private writeIpFrame(src: LinkAddress, dst: LinkAddress, etherType: number, packet: Uint8Array, gso?: GsoInfo): void {
    if (packet.byteOffset < ETHERNET_HEADER_SIZE) {
      this.writeRaw(buildEthernet({ destination: dst, source: src, etherType }, packet), gso);
      return;
    }
    const frame = new Uint8Array(packet.buffer, packet.byteOffset - ETHERNET_HEADER_SIZE, ETHERNET_HEADER_SIZE + packet.length);
    encodeEthernetHeader(frame, { destination: dst, source: src, etherType });
    this.writeRaw(frame, gso);
  }

  private writeRaw(frame: Uint8Array, gso?: GsoInfo): void {
    const r = gso === undefined ? this.link.writePackets([frame]) : this.link.writePackets([frame], gso);
    if (isNetError(r) || r === 0) this.stack.stats.link.writeErrors++;
    else this.stack.stats.link.sent++;
  }
}
