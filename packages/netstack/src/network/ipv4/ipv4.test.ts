import { describe, expect, it } from "vitest";
import { IPAddress } from "../../address.js";
import { buildIcmpv4, IcmpView, ICMPV4_CODE_PORT_UNREACHABLE, ICMPV4_DEST_UNREACHABLE, ICMPV4_ECHO_REPLY, ICMPV4_ECHO_REQUEST, ICMPV4_TIME_EXCEEDED } from "../../header/icmp.js";
import { buildIPv4, IPV4_FLAG_MF, IP_PROTOCOL_ICMP, IP_PROTOCOL_UDP } from "../../header/ipv4.js";
import { buildUdp, UdpView } from "../../header/udp.js";
import { ErrMessageTooLong, isNetError } from "../../errors.js";
import { Harness, LOCAL, pattern, REMOTE } from "../../test-util.js";
import type { Datagram } from "../../transport/udp/endpoint.js";

describe("IPv4 receive", () => {
  it("drops malformed datagrams, bad checksums, martians and foreign destinations, counting each", () => {
    const h = new Harness();
    const good = buildIPv4({ id: 1, ttl: 64, protocol: 200, source: REMOTE, destination: LOCAL }, new Uint8Array(4));
    h.link.inject(good.subarray(0, 19));
    const bad = Uint8Array.from(good);
    bad[8] = 1;
    h.link.inject(bad);
    h.sendIp(200, new Uint8Array(4), { source: IPAddress.v4(255, 255, 255, 255) });
    h.sendIp(200, new Uint8Array(4), { destination: IPAddress.v4(10, 0, 0, 99) });
    const ip = h.stack.stats.ip;
    expect(ip.malformed).toBe(1);
    expect(ip.badChecksum).toBe(1);
    expect(ip.martianSource).toBe(1);
    expect(ip.notForUs).toBe(1);
    expect(h.nextIp()).toBeUndefined();
  });

  it("answers an unknown protocol with ICMP protocol unreachable", () => {
    const h = new Harness();
    h.sendIp(200, new Uint8Array(8));
    const ip = h.nextIp();
    expect(ip?.protocol).toBe(IP_PROTOCOL_ICMP);
    const icmp = IcmpView.parse(ip?.payload ?? new Uint8Array(0));
    expect(icmp?.type).toBe(ICMPV4_DEST_UNREACHABLE);
    expect(icmp?.code).toBe(2);
  });

  it("survives random garbage without throwing", () => {
    const h = new Harness();
    let x = 1;
    for (let i = 0; i < 3000; i++) {
      const len = i % 90;
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        b[j] = x >>> 24;
      }
      if (len > 0) b[0] = 0x45;
      h.link.inject(b);
    }
    h.clock.advance(60_000);
    expect(h.stack.stats.link.received).toBe(3000);
    // 34 empty frames are link-level garbage; every other one reached IPv4 and was judged.
    expect(h.stack.stats.link.malformed).toBe(34);
    expect(h.stack.stats.ip.received).toBe(2966);
  });
});

describe("ICMP echo", () => {
  it("replies to an echo request with the same identifier, sequence and data", () => {
    const h = new Harness();
    h.sendIp(IP_PROTOCOL_ICMP, buildIcmpv4({ type: ICMPV4_ECHO_REQUEST, code: 0, restOfHeader: (0x1234 << 16) | 7 }, pattern(56)));
    const ip = h.nextIp();
    expect(ip?.source.equals(LOCAL)).toBe(true);
    expect(ip?.destination.equals(REMOTE)).toBe(true);
    const icmp = IcmpView.parse(ip?.payload ?? new Uint8Array(0));
    expect(icmp?.type).toBe(ICMPV4_ECHO_REPLY);
    expect(icmp?.ident).toBe(0x1234);
    expect(icmp?.sequence).toBe(7);
    expect(icmp?.checksumValidV4()).toBe(true);
    expect([...(icmp?.payload ?? [])]).toEqual([...pattern(56)]);
  });

  it("ignores broadcast pings and bad checksums", () => {
    const h = new Harness();
    const req = buildIcmpv4({ type: ICMPV4_ECHO_REQUEST, code: 0, restOfHeader: 1 }, pattern(8));
    h.sendIp(IP_PROTOCOL_ICMP, req, { destination: IPAddress.v4(10, 0, 0, 255) });
    const bad = Uint8Array.from(req);
    bad[9] = (bad[9] ?? 0) ^ 1;
    h.sendIp(IP_PROTOCOL_ICMP, bad);
    expect(h.nextIp()).toBeUndefined();
    expect(h.stack.stats.icmp.badChecksum).toBe(1);
  });
});

describe("IPv4 fragmentation", () => {
  it("fragments an oversized datagram on 8-byte boundaries and reassembles it at the peer", () => {
    const h = new Harness();
    const u = h.stack.newUdpEndpoint();
    expect(u.sendTo(pattern(4000), { address: REMOTE, port: 9 })).toBe(4000);
    const frags = [h.nextIp(), h.nextIp(), h.nextIp()];
    expect(h.nextIp()).toBeUndefined();
    expect(frags.map((f) => f?.fragmentOffset)).toEqual([0, 1480, 2960]);
    expect(frags.map((f) => f?.moreFragments)).toEqual([true, true, false]);
    expect(frags.map((f) => f?.totalLength)).toEqual([1500, 1500, 20 + 4008 - 2960]);
    // Feed them back (as if from REMOTE, reversed order) to a second harness.
    const peer = new Harness();
    const rx = peer.stack.newUdpEndpoint();
    rx.bind({ port: 9 });
    for (const f of frags.reverse()) {
      if (f === undefined) continue;
      const swapped = buildIPv4(
        { id: f.id, ttl: 64, protocol: f.protocol, source: REMOTE, destination: LOCAL, flags: f.moreFragments ? IPV4_FLAG_MF : 0, fragmentOffset: f.fragmentOffset },
        f.payload,
      );
      peer.link.inject(swapped);
    }
    // UDP checksum was computed for LOCAL->REMOTE; the pseudo-header sum is symmetric.
    const d = rx.recvFrom() as Datagram;
    expect(isNetError(d)).toBe(false);
    expect([...d.data]).toEqual([...pattern(4000)]);
    expect(peer.stack.stats.ip.reassembled).toBe(1);
  });

  it("refuses to fragment with DF set", () => {
    const h = new Harness();
    const route = h.stack.findRoute(REMOTE);
    if (isNetError(route)) throw new Error("no route");
    expect(h.stack.ipv4.send(route, IP_PROTOCOL_UDP, new Uint8Array(2000), { dontFragment: true })).toBe(ErrMessageTooLong);
    expect(h.stack.ipv4.send(route, IP_PROTOCOL_UDP, new Uint8Array(2000), { dontFragment: false })).toBeUndefined();
  });

  function frag(h: Harness, id: number, offset: number, data: Uint8Array, more: boolean): void {
    h.link.inject(buildIPv4({ id, ttl: 64, protocol: IP_PROTOCOL_UDP, source: REMOTE, destination: LOCAL, flags: more ? IPV4_FLAG_MF : 0, fragmentOffset: offset }, data));
  }

  it("drops the whole datagram on overlapping fragments, and its later fragments too", () => {
    const h = new Harness();
    const udp = buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(40), REMOTE, LOCAL);
    frag(h, 5, 0, udp.subarray(0, 24), true);
    frag(h, 5, 16, udp.subarray(16, 48), false);
    frag(h, 5, 24, udp.subarray(24, 48), false);
    expect(h.stack.stats.ip.reassemblyOverlap).toBe(2);
    expect(h.stack.stats.ip.reassembled).toBe(0);
    h.clock.advance(30_000);
    expect(h.stack.ipv4.reassembler.inProgress).toBe(0);
  });

  it("ignores an exact duplicate fragment", () => {
    const h = new Harness();
    const rx = h.stack.newUdpEndpoint();
    rx.bind({ port: 9 });
    const udp = buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(40), REMOTE, LOCAL);
    frag(h, 6, 0, udp.subarray(0, 24), true);
    frag(h, 6, 0, udp.subarray(0, 24), true);
    frag(h, 6, 24, udp.subarray(24), false);
    expect(h.stack.stats.ip.reassemblyDuplicate).toBe(1);
    expect(isNetError(rx.recvFrom())).toBe(false);
  });

  it("rejects a non-final fragment that is not a multiple of 8 and one past 64 KiB", () => {
    const h = new Harness();
    frag(h, 7, 0, new Uint8Array(13), true);
    frag(h, 8, 65528, new Uint8Array(16), false);
    expect(h.stack.stats.ip.reassemblyMalformed).toBe(2);
    expect(h.stack.ipv4.reassembler.inProgress).toBe(0);
  });

  it("times out an incomplete datagram and sends ICMP time exceeded (reassembly)", () => {
    const h = new Harness();
    const udp = buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(40), REMOTE, LOCAL);
    frag(h, 9, 0, udp.subarray(0, 24), true);
    h.clock.advance(29_999);
    expect(h.nextIp()).toBeUndefined();
    h.clock.advance(1);
    const ip = h.nextIp();
    const icmp = IcmpView.parse(ip?.payload ?? new Uint8Array(0));
    expect(icmp?.type).toBe(ICMPV4_TIME_EXCEEDED);
    expect(icmp?.code).toBe(1);
    expect(h.stack.stats.ip.reassemblyTimeout).toBe(1);
    expect(h.stack.ipv4.reassembler.bytesHeld).toBe(0);
  });

  it("bounds the datagrams and bytes held for reassembly", () => {
    const h = new Harness({ ipv4: { reassembly: { timeoutMs: 30_000, maxDatagrams: 10, maxBytes: 1 << 20 } } });
    for (let id = 0; id < 100; id++) frag(h, id, 0, new Uint8Array(8), true);
    expect(h.stack.ipv4.reassembler.inProgress).toBe(10);
    expect(h.stack.stats.ip.reassemblyLimit).toBe(90);
  });
});

describe("UDP over IPv4", () => {
  it("answers a datagram to a closed port with ICMP port unreachable quoting it", () => {
    const h = new Harness();
    const udp = buildUdp({ sourcePort: 5000, destinationPort: 9999 }, pattern(10), REMOTE, LOCAL);
    h.sendIp(IP_PROTOCOL_UDP, udp);
    const ip = h.nextIp();
    const icmp = IcmpView.parse(ip?.payload ?? new Uint8Array(0));
    expect(icmp?.type).toBe(ICMPV4_DEST_UNREACHABLE);
    expect(icmp?.code).toBe(ICMPV4_CODE_PORT_UNREACHABLE);
    const quoted = icmp?.payload ?? new Uint8Array(0);
    expect(UdpView.parse(quoted.subarray(20))?.destinationPort).toBe(9999);
    expect(h.stack.stats.udp.noPort).toBe(1);
  });

  it("never answers a broadcast or an ICMP error with an ICMP error", () => {
    const h = new Harness();
    h.sendIp(IP_PROTOCOL_UDP, buildUdp({ sourcePort: 1, destinationPort: 9 }, new Uint8Array(1), REMOTE, IPAddress.v4(10, 0, 0, 255)), {
      destination: IPAddress.v4(10, 0, 0, 255),
    });
    h.sendIp(IP_PROTOCOL_ICMP, buildIcmpv4({ type: ICMPV4_DEST_UNREACHABLE, code: 3, restOfHeader: 0 }, new Uint8Array(28)));
    expect(h.nextIp()).toBeUndefined();
  });

  it("rate-limits ICMP errors", () => {
    const h = new Harness({ ipv4: { icmpErrorBurst: 5, icmpErrorsPerSecond: 10 } });
    for (let i = 0; i < 50; i++) h.sendIp(IP_PROTOCOL_UDP, buildUdp({ sourcePort: 1, destinationPort: 9 }, new Uint8Array(1), REMOTE, LOCAL));
    expect(h.link.drain().length).toBe(5);
    expect(h.stack.stats.icmp.errorsRateLimited).toBe(45);
    h.clock.advance(1000);
    h.sendIp(IP_PROTOCOL_UDP, buildUdp({ sourcePort: 1, destinationPort: 9 }, new Uint8Array(1), REMOTE, LOCAL));
    expect(h.link.drain().length).toBe(1);
  });

  it("rejects a bad UDP checksum", () => {
    const h = new Harness();
    const rx = h.stack.newUdpEndpoint();
    rx.bind({ port: 9 });
    const udp = buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(10), REMOTE, LOCAL);
    udp[8] = (udp[8] ?? 0) ^ 0xff;
    h.sendIp(IP_PROTOCOL_UDP, udp);
    expect(h.stack.stats.udp.badChecksum).toBe(1);
    expect(isNetError(rx.recvFrom())).toBe(true);
  });
});
