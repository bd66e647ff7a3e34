import { describe, expect, it } from "vitest";
import { IPAddress, LinkAddress } from "../../address.js";
import { ManualClock } from "../../clock.js";
import { buildEthernet, EthernetView, ETHERTYPE_IPV6 } from "../../header/ethernet.js";
import { buildIcmpv6, IcmpView } from "../../header/icmp.js";
import { IP_PROTOCOL_ICMPV6 } from "../../header/ipv4.js";
import { buildIPv6, IPv6View } from "../../header/ipv6.js";
import { ChannelEndpoint } from "../../link/channel.js";
import { Stack } from "../../stack/stack.js";
import { ICMPV6_NEIGHBOR_ADVERT, ICMPV6_NEIGHBOR_SOLICIT, multicastMac, solicitedNodeAddress } from "./ndp.js";

const MY_MAC = LinkAddress.parse("02:00:00:00:00:01") as LinkAddress;
const PEER_MAC = LinkAddress.parse("02:00:00:00:00:02") as LinkAddress;
const ME = IPAddress.parse("fd00::1") as IPAddress;
const PEER = IPAddress.parse("fd00::2") as IPAddress;

function setup(): { clock: ManualClock; link: ChannelEndpoint; stack: Stack } {
  const clock = new ManualClock();
  const link = new ChannelEndpoint({ headerKind: "ethernet", linkAddress: MY_MAC });
  const stack = new Stack({ clock });
  stack.createNic(1, link);
  stack.addAddress(1, ME, 64);
  return { clock, link, stack };
}

function nd(type: number, flags: number, target: IPAddress, optType: number | undefined, mac: LinkAddress, src: IPAddress, dst: IPAddress, hopLimit = 255): Uint8Array {
  const body = new Uint8Array(optType === undefined ? 16 : 24);
  target.writeTo(body, 0);
  if (optType !== undefined) {
    body[16] = optType;
    body[17] = 1;
    mac.writeTo(body, 18);
  }
  const icmp = buildIcmpv6({ type, code: 0, restOfHeader: flags >>> 0 }, body, src, dst);
  const dstMac = dst.isMulticast() ? multicastMac(dst) : MY_MAC;
  return buildEthernet({ destination: dstMac, source: PEER_MAC, etherType: ETHERTYPE_IPV6 }, buildIPv6({ nextHeader: IP_PROTOCOL_ICMPV6, hopLimit, source: src, destination: dst }, icmp));
}

function parse(frame: Uint8Array | undefined): { eth: EthernetView; ip: IPv6View; icmp: IcmpView } {
  const eth = EthernetView.parse(frame ?? new Uint8Array(0)) as EthernetView;
  const ip = IPv6View.parse(eth.payload) as IPv6View;
  return { eth, ip, icmp: IcmpView.parse(ip.payload) as IcmpView };
}

describe("IPv6 Neighbor Discovery (RFC 4861)", () => {
  it("computes solicited-node addresses", () => {
    expect(solicitedNodeAddress(IPAddress.parse("2001:db8::abcd:1234") as IPAddress).key).toBe("ff02::1:ffcd:1234");
  });

  it("solicits a next hop, queues the packet, and sends it on the advertisement", () => {
    const { link, stack } = setup();
    stack.newUdpEndpoint().sendTo(Uint8Array.of(1, 2, 3), { address: PEER, port: 9 });
    const ns = parse(link.read());
    expect(ns.eth.destination.key).toBe("33:33:ff:00:00:02");
    expect(ns.ip.hopLimit).toBe(255);
    expect(ns.ip.destination.key).toBe("ff02::1:ff00:2");
    expect(ns.icmp.type).toBe(ICMPV6_NEIGHBOR_SOLICIT);
    expect(ns.icmp.checksumValidV6(ns.ip.source, ns.ip.destination)).toBe(true);
    expect(link.read()).toBeUndefined();
    link.inject(nd(ICMPV6_NEIGHBOR_ADVERT, 0x60000000, PEER, 2, PEER_MAC, PEER, ME));
    const data = parse(link.read());
    expect(data.eth.destination.equals(PEER_MAC)).toBe(true);
    expect(data.ip.nextHeader).toBe(17);
    expect(stack.nic(1)?.ndp?.lookup(PEER)?.equals(PEER_MAC)).toBe(true);
  });

  it("advertises our address in reply to a solicitation and learns the solicitor", () => {
    const { link, stack } = setup();
    link.inject(nd(ICMPV6_NEIGHBOR_SOLICIT, 0, ME, 1, PEER_MAC, PEER, solicitedNodeAddress(ME)));
    const na = parse(link.read());
    expect(na.eth.destination.equals(PEER_MAC)).toBe(true);
    expect(na.icmp.type).toBe(ICMPV6_NEIGHBOR_ADVERT);
    expect(na.icmp.restOfHeader >>> 0).toBe(0x60000000);
    expect(na.ip.source.equals(ME)).toBe(true);
    expect(stack.nic(1)?.ndp?.lookup(PEER)?.equals(PEER_MAC)).toBe(true);
  });

  it("answers a duplicate-address probe to all-nodes without the Solicited flag", () => {
    const { link } = setup();
    link.inject(nd(ICMPV6_NEIGHBOR_SOLICIT, 0, ME, undefined, PEER_MAC, IPAddress.v6Any, solicitedNodeAddress(ME)));
    const na = parse(link.read());
    expect(na.ip.destination.key).toBe("ff02::1");
    expect(na.icmp.restOfHeader >>> 0).toBe(0x20000000);
  });

  it("drops ND messages with a hop limit below 255, bad options or a multicast target", () => {
    const { link, stack } = setup();
    link.inject(nd(ICMPV6_NEIGHBOR_SOLICIT, 0, ME, 1, PEER_MAC, PEER, solicitedNodeAddress(ME), 64));
    link.inject(nd(ICMPV6_NEIGHBOR_SOLICIT, 0, IPAddress.parse("ff02::1") as IPAddress, 1, PEER_MAC, PEER, solicitedNodeAddress(ME)));
    const bad = nd(ICMPV6_NEIGHBOR_SOLICIT, 0, ME, 1, PEER_MAC, PEER, solicitedNodeAddress(ME));
    link.inject(bad);
    link.drain();
    expect(stack.stats.ndp.malformed).toBe(2);
    // An option with length 0 is malformed (checksum is recomputed by building it that way).
    const body = new Uint8Array(24);
    ME.writeTo(body, 0);
    body[16] = 1;
    const icmp = buildIcmpv6({ type: ICMPV6_NEIGHBOR_SOLICIT, code: 0, restOfHeader: 0 }, body, PEER, solicitedNodeAddress(ME));
    link.inject(buildEthernet({ destination: multicastMac(solicitedNodeAddress(ME)), source: PEER_MAC, etherType: ETHERTYPE_IPV6 }, buildIPv6({ nextHeader: 58, hopLimit: 255, source: PEER, destination: solicitedNodeAddress(ME) }, icmp)));
    expect(stack.stats.ndp.malformed).toBe(3);
    expect(link.read()).toBeUndefined();
  });

  it("gives up after the retries and drops the queue", () => {
    const { clock, link, stack } = setup();
    stack.newUdpEndpoint().sendTo(Uint8Array.of(1), { address: PEER, port: 9 });
    clock.advance(10_000);
    expect(link.drain().length).toBe(4);
    expect(stack.stats.ndp.resolveFailures).toBe(1);
    expect(stack.stats.ndp.queueDrops).toBe(1);
  });
});
