import { describe, expect, it } from "vitest";
import { IPAddress, LinkAddress } from "../../address.js";
import { ManualClock } from "../../clock.js";
import { ArpView, ARP_OP_REPLY, ARP_OP_REQUEST, buildArp } from "../../header/arp.js";
import { buildEthernet, EthernetView, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "../../header/ethernet.js";
import { IP_PROTOCOL_TCP, IPv4View } from "../../header/ipv4.js";
import { buildTcp } from "../../header/tcp.js";
import { isNetError } from "../../errors.js";
import { NETWORK_HEADROOM } from "../ipv4/ipv4.js";
import { ChannelEndpoint } from "../../link/channel.js";
import { Stack } from "../../stack/stack.js";

const MY_MAC = LinkAddress.parse("02:00:00:00:00:01") as LinkAddress;
const PEER_MAC = LinkAddress.parse("02:00:00:00:00:02") as LinkAddress;
const ME = IPAddress.v4(10, 0, 0, 1);
const PEER = IPAddress.v4(10, 0, 0, 2);

function setup(arp = {}): { clock: ManualClock; link: ChannelEndpoint; stack: Stack } {
  const clock = new ManualClock();
  const link = new ChannelEndpoint({ headerKind: "ethernet", linkAddress: MY_MAC });
  const stack = new Stack({ clock, arp });
  stack.createNic(1, link);
  stack.addAddress(1, ME, 24);
  return { clock, link, stack };
}

function arpFrame(op: number, sha: LinkAddress, spa: IPAddress, tha: LinkAddress, tpa: IPAddress, dst = LinkAddress.broadcast): Uint8Array {
  return buildEthernet({ destination: dst, source: sha, etherType: ETHERTYPE_ARP }, buildArp({ op, senderHardware: sha, senderProtocol: spa, targetHardware: tha, targetProtocol: tpa }));
}

describe("ARP", () => {
  it("answers a request for our address and learns the requester", () => {
    const { link, stack } = setup();
    link.inject(arpFrame(ARP_OP_REQUEST, PEER_MAC, PEER, LinkAddress.zero, ME));
    const eth = EthernetView.parse(link.read() ?? new Uint8Array(0));
    expect(eth?.destination.equals(PEER_MAC)).toBe(true);
    const a = ArpView.parse(eth?.payload ?? new Uint8Array(0));
    expect(a?.op).toBe(ARP_OP_REPLY);
    expect(a?.senderHardware.equals(MY_MAC)).toBe(true);
    expect(a?.senderProtocol.equals(ME)).toBe(true);
    expect(stack.nic(1)?.arp?.lookup(PEER)?.equals(PEER_MAC)).toBe(true);
  });

  it("ignores requests for other hosts and does not learn from them", () => {
    const { link, stack } = setup();
    link.inject(arpFrame(ARP_OP_REQUEST, PEER_MAC, PEER, LinkAddress.zero, IPAddress.v4(10, 0, 0, 3)));
    expect(link.read()).toBeUndefined();
    expect(stack.nic(1)?.arp?.size).toBe(0);
  });

  it("resolves before sending, queues meanwhile, and flushes on the reply", () => {
    const { link, stack } = setup();
    const u = stack.newUdpEndpoint();
    u.sendTo(Uint8Array.of(1), { address: PEER, port: 9 });
    u.sendTo(Uint8Array.of(2), { address: PEER, port: 9 });
    const req = EthernetView.parse(link.read() ?? new Uint8Array(0));
    expect(req?.destination.equals(LinkAddress.broadcast)).toBe(true);
    expect(ArpView.parse(req?.payload ?? new Uint8Array(0))?.targetProtocol.equals(PEER)).toBe(true);
    expect(link.read()).toBeUndefined();
    link.inject(arpFrame(ARP_OP_REPLY, PEER_MAC, PEER, MY_MAC, ME, MY_MAC));
    const frames = link.drain().map((f) => EthernetView.parse(f));
    expect(frames.length).toBe(2);
    for (const f of frames) {
      expect(f?.etherType).toBe(ETHERTYPE_IPV4);
      expect(f?.destination.equals(PEER_MAC)).toBe(true);
      expect(IPv4View.parse(f?.payload ?? new Uint8Array(0))?.destination.equals(PEER)).toBe(true);
    }
  });

  it("retries, then gives up and drops the queued packets", () => {
    const { clock, link, stack } = setup({ maxRetries: 2, retransmitMs: 1000 });
    stack.newUdpEndpoint().sendTo(Uint8Array.of(1), { address: PEER, port: 9 });
    expect(link.drain().length).toBe(1);
    clock.advance(1000);
    expect(link.drain().length).toBe(1);
    clock.advance(1000);
    expect(link.drain().length).toBe(1);
    clock.advance(1000);
    expect(link.drain().length).toBe(0);
    expect(stack.stats.arp.resolveFailures).toBe(1);
    expect(stack.stats.arp.queueDrops).toBe(1);
  });

  it("bounds the pending queue and the cache", () => {
    const { link, stack } = setup({ pendingPerEntry: 2, cacheSize: 4 });
    const u = stack.newUdpEndpoint();
    for (let i = 0; i < 5; i++) u.sendTo(Uint8Array.of(i), { address: PEER, port: 9 });
    expect(stack.stats.arp.queueDrops).toBe(3);
    for (let i = 10; i < 20; i++) u.sendTo(Uint8Array.of(i), { address: IPAddress.v4(10, 0, 0, i), port: 9 });
    expect(stack.nic(1)?.arp?.size).toBeLessThanOrEqual(4);
    expect(stack.stats.arp.cacheEvictions).toBeGreaterThan(0);
    link.drain();
  });

  it("drops malformed ARP packets", () => {
    const { link, stack } = setup();
    const f = arpFrame(ARP_OP_REQUEST, PEER_MAC, PEER, LinkAddress.zero, ME);
    link.inject(f.subarray(0, 30));
    link.inject(arpFrame(ARP_OP_REQUEST, PEER_MAC, IPAddress.v4(255, 255, 255, 255), LinkAddress.zero, ME));
    expect(stack.stats.arp.malformed).toBe(2);
    expect(link.read()).toBeUndefined();
  });

  it("drops unicast frames for another MAC and sends broadcasts to ff:ff:ff:ff:ff:ff", () => {
    const { link, stack } = setup();
    link.inject(arpFrame(ARP_OP_REQUEST, PEER_MAC, PEER, LinkAddress.zero, ME, PEER_MAC));
    expect(stack.stats.link.notForUs).toBe(1);
    stack.newUdpEndpoint().sendTo(Uint8Array.of(1), { address: IPAddress.v4(10, 0, 0, 255), port: 9 });
    expect(EthernetView.parse(link.read() ?? new Uint8Array(0))?.destination.equals(LinkAddress.broadcast)).toBe(true);
  });
});

describe("headers written in place", () => {
  it("frames a TCP segment's packet inside the segment's own buffer, and copies a packet without headroom", () => {
    const { link, stack } = setup();
    stack.nic(1)?.arp?.addStatic(PEER, PEER_MAC);
    const seg = buildTcp({ sourcePort: 1, destinationPort: 2, seq: 1, ack: 0, flags: 0x02, window: 1000 }, new Uint8Array(10), ME, PEER, NETWORK_HEADROOM);
    const route = stack.findRoute(PEER);
    if (isNetError(route)) throw new Error("no route");
    expect(stack.sendIp(route, IP_PROTOCOL_TCP, seg, { headroom: true })).toBeUndefined();
    const framed = link.read() as Uint8Array;
    expect(framed.buffer).toBe(seg.buffer); // no copy: Ethernet + IPv4 headers in front of the segment
    expect(framed.byteOffset).toBe(NETWORK_HEADROOM - 20 - 14);
    const eth = EthernetView.parse(framed);
    expect(eth?.destination.equals(PEER_MAC)).toBe(true);
    const ip = IPv4View.parse(eth?.payload ?? new Uint8Array(0));
    expect(ip?.checksumValid()).toBe(true);
    expect(ip?.payload).toEqual(seg);
    // Without the headroom promise the same segment is copied, and its buffer left alone.
    const before = Uint8Array.from(new Uint8Array(seg.buffer));
    expect(stack.sendIp(route, IP_PROTOCOL_TCP, seg)).toBeUndefined();
    const copied = link.read() as Uint8Array;
    expect(copied.byteOffset).toBe(0);
    expect(IPv4View.parse(EthernetView.parse(copied)?.payload ?? new Uint8Array(0))?.payload).toEqual(seg);
    expect(new Uint8Array(seg.buffer)).toEqual(before);
  });
});
