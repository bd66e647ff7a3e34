import { describe, expect, it } from "vitest";
import { IPAddress } from "../address.js";
import { ManualClock } from "../clock.js";
import { ErrAlreadyBound, ErrBadAddress, ErrDuplicateAddress, ErrDuplicateNicId, ErrInvalidArgument, ErrNoRoute, ErrPortInUse, ErrUnknownNicId, isNetError } from "../errors.js";
import { ChannelEndpoint } from "../link/channel.js";
import { LoopbackEndpoint } from "../link/loopback.js";
import { Prng } from "../random.js";
import { isNetError as isErr } from "../errors.js";
import { pattern } from "../test-util.js";
import { IPv4View } from "../header/ipv4.js";
import { TcpView } from "../header/tcp.js";
import { TransportDemuxer } from "./demux.js";
import { EPHEMERAL_FIRST, EPHEMERAL_LAST, PortManager } from "./ports.js";
import { RouteTable } from "./route.js";
import { Stack } from "./stack.js";
import type { TcpEndpoint } from "../transport/tcp/endpoint.js";
import type { Datagram } from "../transport/udp/endpoint.js";

const ip = (s: string): IPAddress => IPAddress.parse(s) as IPAddress;

describe("route table", () => {
  it("picks the longest matching prefix", () => {
    const t = new RouteTable();
    t.add({ destination: ip("0.0.0.0"), prefixLen: 0, gateway: ip("10.0.0.254"), nicId: 1 });
    t.add({ destination: ip("10.0.0.0"), prefixLen: 8, nicId: 2 });
    t.add({ destination: ip("10.1.0.0"), prefixLen: 16, nicId: 3 });
    expect(t.lookup(ip("10.1.2.3"))?.nicId).toBe(3);
    expect(t.lookup(ip("10.2.2.3"))?.nicId).toBe(2);
    expect(t.lookup(ip("8.8.8.8"))?.nicId).toBe(1);
    expect(t.lookup(ip("10.1.2.3"), 2)?.nicId).toBe(2);
  });
});

describe("port manager", () => {
  it("detects conflicts between wildcard and specific reservations", () => {
    const p = new PortManager(new Prng(1));
    expect(p.reserve(6, undefined, 80)).toBe(80);
    expect(p.reserve(6, ip("10.0.0.1"), 80)).toBe(ErrPortInUse);
    expect(p.reserve(17, undefined, 80)).toBe(80);
    expect(p.reserve(6, ip("10.0.0.1"), 81)).toBe(81);
    expect(p.reserve(6, ip("10.0.0.2"), 81)).toBe(81);
    expect(p.reserve(6, undefined, 81)).toBe(ErrPortInUse);
    p.release(6, undefined, 80);
    expect(p.reserve(6, ip("10.0.0.1"), 80)).toBe(80);
  });

  it("hands out distinct ephemeral ports in range and runs out cleanly", () => {
    const p = new PortManager(new Prng(3));
    const seen = new Set<number>();
    const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
    for (let i = 0; i < span; i++) {
      const r = p.reserve(17, undefined, 0);
      expect(isNetError(r)).toBe(false);
      seen.add(r as number);
    }
    expect(seen.size).toBe(span);
    expect(Math.min(...seen)).toBe(EPHEMERAL_FIRST);
    expect(isNetError(p.reserve(17, undefined, 0))).toBe(true);
  });
});

describe("demuxer", () => {
  it("prefers the most specific registration", () => {
    const d = new TransportDemuxer<string>();
    d.register(6, { localAddress: undefined, localPort: 80, remoteAddress: undefined, remotePort: 0 }, "any");
    d.register(6, { localAddress: ip("10.0.0.1"), localPort: 80, remoteAddress: undefined, remotePort: 0 }, "bound");
    d.register(6, { localAddress: ip("10.0.0.1"), localPort: 80, remoteAddress: ip("10.0.0.2"), remotePort: 5 }, "conn");
    expect(d.lookup(6, ip("10.0.0.1"), 80, ip("10.0.0.2"), 5)).toBe("conn");
    expect(d.lookup(6, ip("10.0.0.1"), 80, ip("10.0.0.2"), 6)).toBe("bound");
    expect(d.lookup(6, ip("10.0.0.9"), 80, ip("10.0.0.2"), 6)).toBe("any");
    expect(d.lookup(17, ip("10.0.0.1"), 80, ip("10.0.0.2"), 5)).toBeUndefined();
    expect(d.register(6, { localAddress: undefined, localPort: 80, remoteAddress: undefined, remotePort: 0 }, "again")).toBe(ErrPortInUse);
  });
});

describe("Stack", () => {
  it("manages NICs and addresses with error values", () => {
    const s = new Stack({ clock: new ManualClock() });
    expect(s.createNic(1, new ChannelEndpoint())).toBeUndefined();
    expect(s.createNic(1, new ChannelEndpoint())).toBe(ErrDuplicateNicId);
    expect(s.addAddress(2, ip("10.0.0.1"), 24)).toBe(ErrUnknownNicId);
    expect(s.addAddress(1, ip("10.0.0.1"), 24)).toBeUndefined();
    expect(s.addAddress(1, ip("10.0.0.1"), 24)).toBe(ErrDuplicateAddress);
    expect(s.addAddress(1, ip("224.0.0.1"), 24)).toBe(ErrBadAddress);
    expect(s.findRoute(ip("192.168.1.1"))).toBe(ErrNoRoute);
    const r = s.findRoute(ip("10.0.0.7"));
    expect(isNetError(r) ? undefined : r.localAddress.key).toBe("10.0.0.1");
    expect(s.addRoute({ destination: ip("0.0.0.0"), prefixLen: 0, gateway: ip("10.0.0.254"), nicId: 1 })).toBeUndefined();
    const viaGw = s.findRoute(ip("8.8.8.8"));
    expect(isNetError(viaGw) ? undefined : viaGw.nextHop.key).toBe("10.0.0.254");
    expect(s.removeAddress(1, ip("10.0.0.1"))).toBeUndefined();
    expect(s.findRoute(ip("10.0.0.7"))).toBe(ErrNoRoute);
  });

  it("carries TCP over a loopback NIC on 127.0.0.1", () => {
    const clock = new ManualClock();
    const s = new Stack({ clock });
    s.createNic(1, new LoopbackEndpoint(clock));
    s.addAddress(1, ip("127.0.0.1"), 8);
    const l = s.newTcpEndpoint();
    expect(l.bind({ address: ip("127.0.0.1"), port: 7 })).toBeUndefined();
    expect(l.listen(1)).toBeUndefined();
    const c = s.newTcpEndpoint();
    expect(c.connect({ address: ip("127.0.0.1"), port: 7 })).toBeUndefined();
    clock.advance(1);
    const srv = l.accept() as TcpEndpoint;
    expect(isErr(srv)).toBe(false);
    const data = pattern(100_000);
    let sent = 0;
    const got: number[] = [];
    for (let i = 0; i < 1000 && got.length < data.length; i++) {
      const n = c.write(data.subarray(sent));
      if (!isErr(n)) sent += n;
      const r = srv.read();
      if (!isErr(r)) got.push(...r);
      clock.advance(1);
    }
    expect(got.length).toBe(data.length);
    expect(Uint8Array.from(got)).toEqual(data);
  });
});

describe("address families", () => {
  it("lets IPv4 and IPv6-only wildcards share a port, but not the dual-stack wildcard", () => {
    const p = new PortManager(new Prng(1));
    expect(p.reserve(6, undefined, 80, "ipv4")).toBe(80);
    expect(p.reserve(6, undefined, 80, "ipv6")).toBe(80);
    expect(p.reserve(6, undefined, 80, "dual")).toBe(ErrPortInUse);
    expect(p.reserve(6, ip("10.0.0.1"), 80, "ipv4")).toBe(ErrPortInUse);
    expect(p.reserve(6, ip("fd00::1"), 80, "ipv6")).toBe(ErrPortInUse);
    expect(p.reserve(6, ip("fd00::1"), 81, "ipv6")).toBe(81);
    expect(p.reserve(6, undefined, 81, "ipv4")).toBe(81);
    expect(p.reserve(6, undefined, 81, "ipv6")).toBe(ErrPortInUse);
    p.release(6, undefined, 80, "ipv4");
    p.release(6, undefined, 80, "ipv6");
    expect(p.reserve(6, undefined, 80, "dual")).toBe(80);
  });

  it("delivers to the endpoint of the datagram's family, and to a dual-stack one for both", () => {
    const clock = new ManualClock();
    const s = new Stack({ clock });
    const link = new ChannelEndpoint();
    s.createNic(1, link);
    s.addAddress(1, ip("10.0.0.1"), 24);
    s.addAddress(1, ip("fd00::1"), 64);
    const v4 = s.newUdpEndpoint("ipv4");
    const v6 = s.newUdpEndpoint("ipv6");
    expect(v4.bind({ port: 53 })).toBeUndefined();
    expect(v6.bind({ port: 53 })).toBeUndefined();
    expect(v4.bind({ port: 54 })).toBe(ErrAlreadyBound);
    const sender = s.newUdpEndpoint();
    sender.sendTo(pattern(1), { address: ip("10.0.0.1"), port: 53 });
    sender.sendTo(pattern(2), { address: ip("fd00::1"), port: 53 });
    clock.runDue();
    expect((v4.recvFrom() as Datagram).data.length).toBe(1);
    expect((v6.recvFrom() as Datagram).data.length).toBe(2);
    const dual = s.newUdpEndpoint("dual");
    expect(dual.bind({ port: 53 })).toBe(ErrPortInUse);
    expect(dual.bind({ port: 99 })).toBeUndefined();
    sender.sendTo(pattern(3), { address: ip("10.0.0.1"), port: 99 });
    sender.sendTo(pattern(4), { address: ip("fd00::1"), port: 99 });
    clock.runDue();
    expect((dual.recvFrom() as Datagram).from.address.version).toBe(4);
    expect((dual.recvFrom() as Datagram).from.address.version).toBe(6);
  });

  it("refuses addresses outside an endpoint's family", () => {
    const clock = new ManualClock();
    const s = new Stack({ clock });
    s.createNic(1, new ChannelEndpoint());
    s.addAddress(1, ip("10.0.0.1"), 24);
    s.addAddress(1, ip("fd00::1"), 64);
    expect(s.newTcpEndpoint("ipv4").bind({ address: ip("fd00::1") })).toBe(ErrBadAddress);
    expect(s.newTcpEndpoint("ipv6").connect({ address: ip("10.0.0.2"), port: 1 })).toBe(ErrBadAddress);
    expect(s.newUdpEndpoint("ipv6").sendTo(pattern(1), { address: ip("10.0.0.2"), port: 1 })).toBe(ErrBadAddress);
    expect(s.newTcpEndpoint("dual").bind({ address: ip("fd00::1") })).toBeUndefined();
  });
});

describe("loopback subnet", () => {
  it("answers any 127/8 address on a loopback NIC", () => {
    const clock = new ManualClock();
    const s = new Stack({ clock });
    s.createNic(1, new LoopbackEndpoint(clock));
    s.addAddress(1, ip("127.0.0.1"), 8);
    const rx = s.newUdpEndpoint();
    rx.bind({ port: 9 });
    const tx = s.newUdpEndpoint();
    expect(tx.sendTo(pattern(3), { address: ip("127.1.2.3"), port: 9 })).toBe(3);
    clock.runDue();
    const d = rx.recvFrom() as Datagram;
    expect(d.to.key).toBe("127.1.2.3");
    expect(d.from.address.key).toBe("127.1.2.3");
  });
});

describe("local delivery through the loopback NIC", () => {
  it("sends packets to the stack's own addresses, on any NIC, out through lo's link", () => {
    const clock = new ManualClock();
    const lo = new LoopbackEndpoint(clock);
    let loFrames = 0;
    const counted = { mtu: lo.mtu, headerKind: lo.headerKind, linkAddress: lo.linkAddress, attach: lo.attach.bind(lo), writePackets: (f: readonly Uint8Array[]) => ((loFrames += f.length), lo.writePackets(f)) };
    const eth = new ChannelEndpoint({ headerKind: "ethernet" });
    const s = new Stack({ clock });
    s.createNic(1, counted);
    s.createNic(2, new ChannelEndpoint());
    s.addAddress(1, ip("127.0.0.1"), 8);
    s.addAddress(2, ip("10.0.0.1"), 24);
    expect(s.setLocalDelivery(9)).toBe(ErrUnknownNicId);
    s.createNic(3, eth);
    expect(s.setLocalDelivery(3)).toBe(ErrInvalidArgument);
    expect(s.setLocalDelivery(1)).toBeUndefined();
    for (const to of ["127.0.0.1", "10.0.0.1", "127.1.2.3"]) {
      const a = s.newUdpEndpoint("ipv4");
      const b = s.newUdpEndpoint("ipv4");
      expect(b.bind({ port: 53 })).toBeUndefined();
      const before = loFrames;
      expect(a.sendTo(new Uint8Array([1, 2]), { address: ip(to), port: 53 })).toBe(2);
      clock.runDue();
      const d = b.recvFrom() as Datagram;
      expect(isErr(d)).toBe(false);
      expect([...d.data]).toEqual([1, 2]);
      expect(loFrames).toBe(before + 1);
      a.close();
      b.close();
    }
  });

  it("carries TCP through lo with partial checksums that nothing verifies, and still checks every other NIC", () => {
    const clock = new ManualClock();
    const lo = new LoopbackEndpoint(clock);
    const frames: Uint8Array[] = [];
    const recording = { mtu: lo.mtu, headerKind: lo.headerKind, linkAddress: lo.linkAddress, attach: lo.attach.bind(lo), writePackets: (f: readonly Uint8Array[]) => (frames.push(...f), lo.writePackets(f)) };
    const s = new Stack({ clock });
    s.createNic(1, recording);
    s.addAddress(1, ip("127.0.0.1"), 8);
    expect(s.setLocalDelivery(1)).toBeUndefined();
    const l = s.newTcpEndpoint();
    l.bind({ port: 7 });
    l.listen(1);
    const c = s.newTcpEndpoint();
    c.connect({ address: ip("127.0.0.1"), port: 7 });
    clock.advance(1);
    const srv = l.accept() as TcpEndpoint;
    expect(isErr(srv)).toBe(false);
    const data = pattern(300_000, 4);
    let sent = 0;
    let got = 0;
    for (let i = 0; i < 1000 && got < data.length; i++) {
      if (sent < data.length) {
        const n = c.write(data.subarray(sent));
        if (!isErr(n)) sent += n;
      }
      for (let r = srv.read(); !isErr(r) && r.length > 0; r = srv.read()) got += r.length;
      clock.advance(1);
    }
    expect(got).toBe(data.length);
    expect(s.stats.tcp.badChecksum).toBe(0);
    const seg = TcpView.parse(IPv4View.parse(frames[frames.length - 1] as Uint8Array)?.payload ?? new Uint8Array(0)) as TcpView;
    expect(seg.checksumValid(ip("127.0.0.1"), ip("127.0.0.1"))).toBe(false); // left partial
    // The same segment arriving on an ordinary NIC is checked, and dropped.
    const eth = new ChannelEndpoint();
    s.createNic(2, eth);
    s.addAddress(2, ip("10.0.0.1"), 24);
    eth.inject(frames[frames.length - 1] as Uint8Array);
    expect(s.stats.tcp.badChecksum).toBe(1);
  });
});
