import { describe, expect, it } from "vitest";
import { IPAddress } from "../../address.js";
import { ManualClock } from "../../clock.js";
import { ErrWouldBlock, isNetError } from "../../errors.js";
import { buildIcmpv6, IcmpView, ICMPV6_DEST_UNREACHABLE, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, ICMPV6_PARAMETER_PROBLEM } from "../../header/icmp.js";
import { IP_PROTOCOL_ICMPV6, IP_PROTOCOL_UDP } from "../../header/ipv4.js";
import { buildIPv6, IPv6View } from "../../header/ipv6.js";
import { buildUdp } from "../../header/udp.js";
import { ChannelEndpoint, connectChannels } from "../../link/channel.js";
import { LoopbackEndpoint } from "../../link/loopback.js";
import { Stack } from "../../stack/stack.js";
import { pattern } from "../../test-util.js";
import type { TcpEndpoint } from "../../transport/tcp/endpoint.js";
import type { Datagram } from "../../transport/udp/endpoint.js";

const ME = IPAddress.parse("fd00::1") as IPAddress;
const PEER = IPAddress.parse("fd00::2") as IPAddress;

function setup(): { clock: ManualClock; link: ChannelEndpoint; stack: Stack; inject(nextHeader: number, payload: Uint8Array, dst?: IPAddress): void; next(): IPv6View | undefined } {
  const clock = new ManualClock();
  const link = new ChannelEndpoint({ mtu: 1500 });
  const stack = new Stack({ clock });
  stack.createNic(1, link);
  expect(stack.addAddress(1, ME, 64)).toBeUndefined();
  return {
    clock,
    link,
    stack,
    inject: (nextHeader, payload, dst = ME) => link.inject(buildIPv6({ nextHeader, hopLimit: 64, source: PEER, destination: dst }, payload)),
    next: () => {
      clock.runDue();
      const f = link.read();
      return f === undefined ? undefined : IPv6View.parse(f);
    },
  };
}

describe("IPv6", () => {
  it("answers an ICMPv6 echo request", () => {
    const t = setup();
    t.inject(IP_PROTOCOL_ICMPV6, buildIcmpv6({ type: ICMPV6_ECHO_REQUEST, code: 0, restOfHeader: (9 << 16) | 1 }, pattern(32), PEER, ME));
    const r = t.next();
    expect(r?.source.equals(ME)).toBe(true);
    expect(r?.destination.equals(PEER)).toBe(true);
    const icmp = IcmpView.parse(r?.payload ?? new Uint8Array(0));
    expect(icmp?.type).toBe(ICMPV6_ECHO_REPLY);
    expect(icmp?.ident).toBe(9);
    expect(icmp?.checksumValidV6(ME, PEER)).toBe(true);
  });

  it("drops an echo request with a bad checksum", () => {
    const t = setup();
    t.inject(IP_PROTOCOL_ICMPV6, buildIcmpv6({ type: ICMPV6_ECHO_REQUEST, code: 0, restOfHeader: 0 }, pattern(8), PEER, PEER));
    expect(t.next()).toBeUndefined();
    expect(t.stack.stats.icmp.badChecksum).toBe(1);
  });

  it("answers UDP to a closed port with ICMPv6 port unreachable", () => {
    const t = setup();
    t.inject(IP_PROTOCOL_UDP, buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(4), PEER, ME));
    const icmp = IcmpView.parse(t.next()?.payload ?? new Uint8Array(0));
    expect(icmp?.type).toBe(ICMPV6_DEST_UNREACHABLE);
    expect(icmp?.code).toBe(4);
  });

  it("answers an unknown upper layer with Parameter Problem pointing at the next-header field", () => {
    const t = setup();
    t.inject(200, new Uint8Array(8));
    const icmp = IcmpView.parse(t.next()?.payload ?? new Uint8Array(0));
    expect(icmp?.type).toBe(ICMPV6_PARAMETER_PROBLEM);
    expect(icmp?.code).toBe(1);
    expect(icmp?.restOfHeader).toBe(6);
  });

  /** An extension header: next header, length, then `body` padded to 8-byte units. */
  function ext(next: number, body: number[]): Uint8Array {
    const len = Math.ceil((body.length + 2) / 8) * 8;
    const h = new Uint8Array(len);
    h[0] = next;
    h[1] = len / 8 - 1;
    h.set(body, 2);
    return h;
  }
  const cat = (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };

  it("walks Hop-by-Hop and Destination Options to the upper layer", () => {
    const t = setup();
    const rx = t.stack.newUdpEndpoint();
    rx.bind({ port: 9 });
    const udp = buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(5), PEER, ME);
    // HBH with Router Alert + PadN, then Destination Options with an unknown skippable option.
    t.inject(0, cat(ext(60, [5, 2, 0, 0]), ext(17, [0x1e, 2, 0, 0, 1, 0]), udp));
    expect((rx.recvFrom() as Datagram).data.length).toBe(5);
  });

  it("applies option action bits and refuses a misplaced Hop-by-Hop header", () => {
    const t = setup();
    const udp = buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(5), PEER, ME);
    t.inject(60, cat(ext(17, [0x5e, 2, 0, 0, 1, 0]), udp)); // 01: discard silently
    expect(t.next()).toBeUndefined();
    t.inject(60, cat(ext(17, [0x9e, 2, 0, 0, 1, 0]), udp)); // 10: discard and report
    const p = IcmpView.parse(t.next()?.payload ?? new Uint8Array(0));
    expect([p?.type, p?.code, p?.restOfHeader]).toEqual([ICMPV6_PARAMETER_PROBLEM, 2, 42]);
    t.inject(60, cat(ext(0, [1, 4, 0, 0, 0, 0]), ext(17, [1, 4, 0, 0, 0, 0]), udp));
    const q = IcmpView.parse(t.next()?.payload ?? new Uint8Array(0));
    expect([q?.code, q?.restOfHeader]).toEqual([1, 40]);
  });

  it("refuses a routing header with segments left, and drops unsupported extensions", () => {
    const t = setup();
    t.inject(43, cat(ext(17, [0, 1, 0, 0, 0, 0]), new Uint8Array(8)));
    const p = IcmpView.parse(t.next()?.payload ?? new Uint8Array(0));
    expect([p?.code, p?.restOfHeader]).toEqual([0, 42]);
    t.inject(50, new Uint8Array(16));
    expect(t.next()).toBeUndefined();
    expect(t.stack.stats.ip6.unsupportedExtension).toBe(1);
  });

  function fragment(next: number, offset: number, more: boolean, id: number, data: Uint8Array): Uint8Array {
    const h = new Uint8Array(8);
    h[0] = next;
    const word = offset | (more ? 1 : 0);
    h[2] = word >> 8;
    h[3] = word & 0xff;
    h[4] = (id >>> 24) & 0xff;
    h[5] = (id >>> 16) & 0xff;
    h[6] = (id >>> 8) & 0xff;
    h[7] = id & 0xff;
    return cat(h, data);
  }

  it("reassembles fragments in any order, and handles atomic fragments", () => {
    const t = setup();
    const rx = t.stack.newUdpEndpoint();
    rx.bind({ port: 9 });
    const udp = buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(3000), PEER, ME);
    t.inject(44, fragment(17, 2000, false, 77, udp.subarray(2000)));
    t.inject(44, fragment(17, 0, true, 77, udp.subarray(0, 1000)));
    expect(rx.recvFrom()).toBe(ErrWouldBlock);
    t.inject(44, fragment(17, 1000, true, 77, udp.subarray(1000, 2000)));
    expect([...(rx.recvFrom() as Datagram).data]).toEqual([...pattern(3000)]);
    expect(t.stack.stats.ip6.reassembled).toBe(1);
    t.inject(44, fragment(17, 0, false, 78, buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(7), PEER, ME)));
    expect((rx.recvFrom() as Datagram).data.length).toBe(7);
  });

  it("drops a datagram with overlapping fragments and times out incomplete ones", () => {
    const t = setup();
    const udp = buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(3000), PEER, ME);
    t.inject(44, fragment(17, 0, true, 5, udp.subarray(0, 1000)));
    t.inject(44, fragment(17, 504, false, 5, udp.subarray(504)));
    expect(t.stack.stats.ip6.reassemblyOverlap).toBe(1);
    t.inject(44, fragment(17, 0, true, 6, udp.subarray(0, 1000)));
    t.clock.advance(60_000);
    const icmp = IcmpView.parse(t.next()?.payload ?? new Uint8Array(0));
    expect([icmp?.type, icmp?.code]).toEqual([3, 1]);
    expect(t.stack.ipv6.reassembler.bytesHeld).toBe(0);
  });

  it("drops malformed, foreign and multicast-sourced datagrams", () => {
    const t = setup();
    t.link.inject(new Uint8Array(39).fill(0x60));
    t.inject(IP_PROTOCOL_UDP, new Uint8Array(8), IPAddress.parse("fd00::99") as IPAddress);
    t.link.inject(buildIPv6({ nextHeader: 17, hopLimit: 1, source: IPAddress.parse("ff02::1") as IPAddress, destination: ME }, new Uint8Array(8)));
    const s = t.stack.stats.ip6;
    expect([s.malformed, s.notForUs, s.martianSource]).toEqual([1, 1, 1]);
    expect(t.next()).toBeUndefined();
  });

  it("fragments an oversized datagram, and the fragments reassemble at a peer", () => {
    const t = setup();
    const u = t.stack.newUdpEndpoint();
    expect(u.sendTo(pattern(4000), { address: PEER, port: 9 })).toBe(4000);
    const frags = [t.next(), t.next(), t.next()];
    expect(t.next()).toBeUndefined();
    expect(frags.map((f) => f?.nextHeader)).toEqual([44, 44, 44]);
    expect(frags.every((f) => (f?.bytes.length ?? 0) <= 1500)).toBe(true);
    // Hand them (swapped to come from PEER) to a second stack that owns PEER.
    const peer = new Stack({ clock: new ManualClock() });
    const plink = new ChannelEndpoint();
    peer.createNic(1, plink);
    peer.addAddress(1, PEER, 64);
    const rx = peer.newUdpEndpoint();
    rx.bind({ port: 9 });
    for (const f of frags.reverse()) plink.inject(f?.bytes ?? new Uint8Array(0));
    expect([...(rx.recvFrom() as Datagram).data]).toEqual([...pattern(4000)]);
  });

  it("refuses to fragment when told not to", () => {
    const t = setup();
    const route = t.stack.findRoute(PEER);
    if (isNetError(route)) throw new Error("no route");
    expect(isNetError(t.stack.sendIp(route, 17, new Uint8Array(2000), { dontFragment: true }))).toBe(true);
  });

  it("carries UDP and TCP between two stacks over IPv6", () => {
    const clock = new ManualClock();
    const la = new ChannelEndpoint();
    const lb = new ChannelEndpoint();
    connectChannels(clock, la, lb, 1);
    const a = new Stack({ clock, seed: 1 });
    const b = new Stack({ clock, seed: 2 });
    a.createNic(1, la);
    b.createNic(1, lb);
    a.addAddress(1, ME, 64);
    b.addAddress(1, PEER, 64);
    const rx = b.newUdpEndpoint();
    rx.bind({ port: 53 });
    a.newUdpEndpoint().sendTo(pattern(100), { address: PEER, port: 53 });
    clock.advance(5);
    const d = rx.recvFrom() as Datagram;
    expect(d.from.address.equals(ME)).toBe(true);

    const l = b.newTcpEndpoint();
    l.bind({ port: 80 });
    l.listen(1);
    const c = a.newTcpEndpoint();
    expect(c.connect({ address: PEER, port: 80 })).toBeUndefined();
    clock.advance(10);
    const s = l.accept() as TcpEndpoint;
    expect(isNetError(s)).toBe(false);
    expect(c.sndMss).toBe(1500 - 60 - 12);
    const data = pattern(300_000);
    let sent = 0;
    let got = 0;
    const out = new Uint8Array(data.length);
    for (let i = 0; i < 5000 && got < data.length; i++) {
      const n = c.write(data.subarray(sent));
      if (!isNetError(n)) sent += n;
      const r = s.read();
      if (!isNetError(r)) {
        out.set(r, got);
        got += r.length;
      }
      clock.advance(1);
    }
    expect(out).toEqual(data);
  });

  it("carries TCP over ::1 on a loopback NIC", () => {
    const clock = new ManualClock();
    const st = new Stack({ clock });
    st.createNic(1, new LoopbackEndpoint(clock));
    const lo6 = IPAddress.parse("::1") as IPAddress;
    st.addAddress(1, lo6, 128);
    const l = st.newTcpEndpoint();
    l.bind({ address: lo6, port: 7 });
    l.listen(1);
    const c = st.newTcpEndpoint();
    c.connect({ address: lo6, port: 7 });
    clock.advance(1);
    const s = l.accept() as TcpEndpoint;
    expect(isNetError(s)).toBe(false);
    c.write(pattern(1000));
    clock.advance(1);
    expect(s.read()).toEqual(pattern(1000));
  });
});
