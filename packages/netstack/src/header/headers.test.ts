import { describe, expect, it } from "vitest";
import { IPAddress, LinkAddress } from "../address.js";
import { ArpView, ARP_OP_REQUEST, buildArp } from "./arp.js";
import { buildEthernet, EthernetView, ETHERTYPE_ARP } from "./ethernet.js";
import { buildIcmpv4, buildIcmpv6, IcmpView, ICMPV4_ECHO_REQUEST, ICMPV6_ECHO_REQUEST } from "./icmp.js";
import { buildIPv4, IPv4View, IPV4_FLAG_MF, IP_PROTOCOL_UDP } from "./ipv4.js";
import { buildIPv6, IPv6View } from "./ipv6.js";
import { buildUdp, UdpView } from "./udp.js";

const A = IPAddress.v4(192, 168, 1, 1);
const B = IPAddress.v4(192, 168, 1, 2);
const MAC_A = LinkAddress.parse("02:00:00:00:00:01") as LinkAddress;

describe("Ethernet", () => {
  it("round-trips a frame", () => {
    const f = buildEthernet({ destination: LinkAddress.broadcast, source: MAC_A, etherType: ETHERTYPE_ARP }, Uint8Array.of(1, 2));
    const v = EthernetView.parse(f);
    expect(v?.destination.key).toBe("ff:ff:ff:ff:ff:ff");
    expect(v?.source.equals(MAC_A)).toBe(true);
    expect(v?.etherType).toBe(ETHERTYPE_ARP);
    expect([...(v?.payload ?? [])]).toEqual([1, 2]);
  });
  it("rejects a truncated header", () => {
    expect(EthernetView.parse(new Uint8Array(13))).toBeUndefined();
  });
});

describe("ARP", () => {
  it("round-trips a request", () => {
    const p = buildArp({ op: ARP_OP_REQUEST, senderHardware: MAC_A, senderProtocol: A, targetHardware: LinkAddress.zero, targetProtocol: B });
    const v = ArpView.parse(p);
    expect(v?.op).toBe(ARP_OP_REQUEST);
    expect(v?.senderProtocol.equals(A)).toBe(true);
    expect(v?.targetProtocol.equals(B)).toBe(true);
  });
  it("rejects truncated packets and wrong hardware/protocol sizes", () => {
    const p = buildArp({ op: 1, senderHardware: MAC_A, senderProtocol: A, targetHardware: LinkAddress.zero, targetProtocol: B });
    expect(ArpView.parse(p.subarray(0, 27))).toBeUndefined();
    const bad = Uint8Array.from(p);
    bad[4] = 8;
    expect(ArpView.parse(bad)).toBeUndefined();
    const badType = Uint8Array.from(p);
    badType[3] = 0xdd;
    expect(ArpView.parse(badType)).toBeUndefined();
  });
});

describe("IPv4", () => {
  const dgram = buildIPv4({ id: 0x1234, ttl: 64, protocol: IP_PROTOCOL_UDP, source: A, destination: B, flags: IPV4_FLAG_MF, fragmentOffset: 1480 }, Uint8Array.of(9, 8, 7));

  it("round-trips header fields and verifies the checksum", () => {
    const v = IPv4View.parse(dgram);
    expect(v).toBeDefined();
    if (v === undefined) return;
    expect(v.headerLength).toBe(20);
    expect(v.totalLength).toBe(23);
    expect(v.id).toBe(0x1234);
    expect(v.moreFragments).toBe(true);
    expect(v.dontFragment).toBe(false);
    expect(v.fragmentOffset).toBe(1480);
    expect(v.ttl).toBe(64);
    expect(v.protocol).toBe(IP_PROTOCOL_UDP);
    expect(v.source.equals(A) && v.destination.equals(B)).toBe(true);
    expect(v.checksumValid()).toBe(true);
    expect([...v.payload]).toEqual([9, 8, 7]);
  });

  it("trims link-layer padding beyond the total length", () => {
    const padded = new Uint8Array(dgram.length + 10);
    padded.set(dgram);
    expect(IPv4View.parse(padded)?.payload.length).toBe(3);
  });

  it("carries options and reports the header length", () => {
    const d = buildIPv4({ id: 1, ttl: 1, protocol: 1, source: A, destination: B, options: Uint8Array.of(1, 1, 1, 0) }, new Uint8Array(0));
    const v = IPv4View.parse(d);
    expect(v?.headerLength).toBe(24);
    expect(v?.options.length).toBe(4);
    expect(v?.checksumValid()).toBe(true);
  });

  it.each([
    ["a truncated header", (b: Uint8Array) => b.subarray(0, 19)],
    ["version 6", (b: Uint8Array) => ((b[0] = 0x65), b)],
    ["IHL below 5", (b: Uint8Array) => ((b[0] = 0x44), b)],
    ["IHL beyond the total length", (b: Uint8Array) => ((b[0] = 0x4f), b)],
    ["total length beyond the buffer", (b: Uint8Array) => ((b[3] = 200), b)],
    ["total length below the header", (b: Uint8Array) => ((b[3] = 10), b)],
  ])("rejects %s", (_name, mutate) => {
    expect(IPv4View.parse(mutate(Uint8Array.from(dgram)))).toBeUndefined();
  });

  it("detects a corrupted header checksum", () => {
    const b = Uint8Array.from(dgram);
    b[8] = 63;
    expect(IPv4View.parse(b)?.checksumValid()).toBe(false);
  });
});

describe("IPv6", () => {
  const s = IPAddress.parse("fe80::1") as IPAddress;
  const d = IPAddress.parse("fe80::2") as IPAddress;
  it("round-trips the fixed header", () => {
    const p = buildIPv6({ trafficClass: 0xab, flowLabel: 0xcdef1, nextHeader: 17, hopLimit: 255, source: s, destination: d }, Uint8Array.of(1, 2, 3));
    const v = IPv6View.parse(p);
    expect(v?.trafficClass).toBe(0xab);
    expect(v?.flowLabel).toBe(0xcdef1);
    expect(v?.payloadLength).toBe(3);
    expect(v?.nextHeader).toBe(17);
    expect(v?.hopLimit).toBe(255);
    expect(v?.source.key).toBe("fe80::1");
  });
  it("rejects a wrong version, a short header, and a payload length past the buffer", () => {
    const p = buildIPv6({ nextHeader: 17, hopLimit: 1, source: s, destination: d }, Uint8Array.of(1));
    expect(IPv6View.parse(p.subarray(0, 39))).toBeUndefined();
    expect(IPv6View.parse(p.subarray(0, 40))).toBeUndefined();
    const v4 = Uint8Array.from(p);
    v4[0] = 0x40;
    expect(IPv6View.parse(v4)).toBeUndefined();
  });
});

describe("ICMP", () => {
  it("builds an ICMPv4 echo request whose checksum verifies", () => {
    const m = buildIcmpv4({ type: ICMPV4_ECHO_REQUEST, code: 0, restOfHeader: (7 << 16) | 9 }, Uint8Array.of(1, 2, 3));
    const v = IcmpView.parse(m);
    expect(v?.ident).toBe(7);
    expect(v?.sequence).toBe(9);
    expect(v?.checksumValidV4()).toBe(true);
    m[8] = 0xfe;
    expect(IcmpView.parse(m)?.checksumValidV4()).toBe(false);
  });
  it("builds an ICMPv6 message with a pseudo-header checksum", () => {
    const s = IPAddress.parse("2001:db8::1") as IPAddress;
    const d = IPAddress.parse("2001:db8::2") as IPAddress;
    const m = buildIcmpv6({ type: ICMPV6_ECHO_REQUEST, code: 0, restOfHeader: 1 }, new Uint8Array(5), s, d);
    expect(IcmpView.parse(m)?.checksumValidV6(s, d)).toBe(true);
    expect(IcmpView.parse(m)?.checksumValidV6(d, d)).toBe(false);
  });
  it("rejects a message shorter than 8 bytes", () => {
    expect(IcmpView.parse(new Uint8Array(7))).toBeUndefined();
  });
});

describe("UDP", () => {
  it("round-trips and verifies the checksum", () => {
    const u = buildUdp({ sourcePort: 5353, destinationPort: 53 }, Uint8Array.of(0xaa, 0xbb, 0xcc), A, B);
    const v = UdpView.parse(u);
    expect(v?.sourcePort).toBe(5353);
    expect(v?.destinationPort).toBe(53);
    expect(v?.length).toBe(11);
    expect(v?.checksumValid(A, B)).toBe(true);
    expect(v?.checksumValid(A, IPAddress.v4(1, 1, 1, 1))).toBe(false);
  });
  it("accepts a zero checksum over IPv4 only", () => {
    const u = buildUdp({ sourcePort: 1, destinationPort: 2 }, new Uint8Array(0), A, B);
    u[6] = 0;
    u[7] = 0;
    expect(UdpView.parse(u)?.checksumValid(A, B)).toBe(true);
    const s6 = IPAddress.parse("::1") as IPAddress;
    expect(UdpView.parse(u)?.checksumValid(s6, s6)).toBe(false);
  });
  it("rejects a length field below 8 or past the buffer", () => {
    const u = buildUdp({ sourcePort: 1, destinationPort: 2 }, new Uint8Array(4), A, B);
    expect(UdpView.parse(u.subarray(0, 7))).toBeUndefined();
    const short = Uint8Array.from(u);
    short[5] = 7;
    expect(UdpView.parse(short)).toBeUndefined();
    const long = Uint8Array.from(u);
    long[5] = 13;
    expect(UdpView.parse(long)).toBeUndefined();
  });
});

describe("addresses", () => {
  it("parses and formats IPv4 and IPv6", () => {
    expect(IPAddress.parse("10.0.0.255")?.key).toBe("10.0.0.255");
    expect(IPAddress.parse("10.0.0.256")).toBeUndefined();
    expect(IPAddress.parse("1.2.3")).toBeUndefined();
    expect(IPAddress.parse("2001:0db8:0:0:0:0:0:1")?.key).toBe("2001:db8::1");
    expect(IPAddress.parse("::")?.key).toBe("::");
    expect(IPAddress.parse("1::2::3")).toBeUndefined();
    expect(IPAddress.parse("1:2:3:4:5:6:7:8:9")).toBeUndefined();
  });
  it("tests subnet membership", () => {
    expect(A.inSubnet(IPAddress.v4(192, 168, 0, 0), 16)).toBe(true);
    expect(A.inSubnet(IPAddress.v4(192, 168, 2, 0), 24)).toBe(false);
    expect(A.inSubnet(IPAddress.v4(0, 0, 0, 0), 0)).toBe(true);
    expect(A.subnetBroadcast(24).key).toBe("192.168.1.255");
  });
});

describe("LinkAddress.equalsBytes", () => {
  it("compares six bytes in place, at an offset, and refuses short buffers", () => {
    const mac = LinkAddress.parse("02:00:5e:10:20:30") as LinkAddress;
    const frame = Uint8Array.of(9, 2, 0, 0x5e, 0x10, 0x20, 0x30, 7);
    expect(mac.equalsBytes(frame, 1)).toBe(true);
    expect(mac.equalsBytes(frame, 0)).toBe(false);
    expect(mac.equalsBytes(frame, 3)).toBe(false); // runs past the end
    expect(mac.equalsBytes(new Uint8Array(0))).toBe(false);
    expect(LinkAddress.broadcast.equalsBytes(new Uint8Array(6).fill(0xff))).toBe(true);
  });
});
