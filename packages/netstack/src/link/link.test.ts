import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { ChannelEndpoint, connectChannels } from "./channel.js";
import { IPAddress } from "../address.js";
import { IP_PROTOCOL_TCP, buildIPv4 } from "../header/ipv4.js";
import { buildIPv6 } from "../header/ipv6.js";
import { buildTcp } from "../header/tcp.js";
import { ImpairedEndpoint, isTcpData } from "./impairment.js";
import { LoopbackEndpoint } from "./loopback.js";
import { LINKTYPE_RAW, PcapWriter, SnifferEndpoint } from "./pcap.js";

const frame = (n: number): Uint8Array => Uint8Array.of(n);

function collector(): { got: number[]; dispatcher: { deliverFrame(f: Uint8Array): void } } {
  const got: number[] = [];
  return { got, dispatcher: { deliverFrame: (f) => got.push(f[0] ?? -1) } };
}

describe("channel link", () => {
  it("queues outbound frames and delivers injected ones", () => {
    const ch = new ChannelEndpoint({ queueLimit: 2 });
    const { got, dispatcher } = collector();
    ch.attach(dispatcher);
    expect(ch.writePackets([frame(1), frame(2), frame(3)])).toBe(2);
    expect(ch.dropped).toBe(1);
    expect(ch.read()?.[0]).toBe(1);
    expect(ch.drain().map((f) => f[0])).toEqual([2]);
    expect(ch.read()).toBeUndefined();
    ch.inject(frame(9));
    expect(got).toEqual([9]);
  });

  it("joins two endpoints with latency on the clock", () => {
    const clock = new ManualClock();
    const a = new ChannelEndpoint();
    const b = new ChannelEndpoint();
    const rx = collector();
    b.attach(rx.dispatcher);
    connectChannels(clock, a, b, 5);
    a.writePackets([frame(7)]);
    expect(rx.got).toEqual([]);
    clock.advance(4);
    expect(rx.got).toEqual([]);
    clock.advance(1);
    expect(rx.got).toEqual([7]);
  });
});

describe("loopback link", () => {
  it("delivers back to itself, never inside the write", () => {
    const clock = new ManualClock();
    const lo = new LoopbackEndpoint(clock);
    const rx = collector();
    lo.attach(rx.dispatcher);
    lo.writePackets([frame(1), frame(2)]);
    expect(rx.got).toEqual([]);
    clock.runDue();
    expect(rx.got).toEqual([1, 2]);
  });
});

describe("impairment link", () => {
  function run(seed: number, opts: Omit<ConstructorParameters<typeof ImpairedEndpoint>[2], "seed">): { got: number[]; imp: ImpairedEndpoint } {
    const clock = new ManualClock();
    const out = new ChannelEndpoint();
    const imp = new ImpairedEndpoint(out, clock, { seed, ...opts });
    for (let i = 0; i < 200; i++) imp.writePackets([frame(i)]);
    clock.runUntilIdle();
    return { got: out.drain().map((f) => f[0] ?? -1), imp };
  }

  it("drops about the configured fraction, reproducibly", () => {
    const r1 = run(1, { loss: 0.25 });
    const r2 = run(1, { loss: 0.25 });
    expect(r1.got).toEqual(r2.got);
    expect(r1.imp.stats.dropped).toBeGreaterThan(25);
    expect(r1.imp.stats.dropped).toBeLessThan(75);
    expect(r1.got.length + r1.imp.stats.dropped).toBe(200);
  });

  it("duplicates frames", () => {
    const r = run(2, { duplicate: 0.5 });
    expect(r.got.length).toBe(200 + r.imp.stats.duplicated);
    expect(r.imp.stats.duplicated).toBeGreaterThan(50);
  });

  it("reorders frames by holding some back", () => {
    const r = run(3, { reorder: 0.2, reorderDelayMs: 3, delayMs: 1 });
    expect(r.got.length).toBe(200);
    expect(r.got).not.toEqual([...r.got].sort((x, y) => x - y));
    expect([...r.got].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("delays by the configured amount", () => {
    const clock = new ManualClock();
    const out = new ChannelEndpoint();
    const imp = new ImpairedEndpoint(out, clock, { seed: 1, delayMs: 10 });
    imp.writePackets([frame(1)]);
    clock.advance(9);
    expect(out.queued).toBe(0);
    clock.advance(1);
    expect(out.queued).toBe(1);
  });
});

describe("pcap sniffer", () => {
  it("writes a global header and one record per frame in each direction", () => {
    const clock = new ManualClock(1500);
    const chunks: Uint8Array[] = [];
    const ch = new ChannelEndpoint();
    const sn = new SnifferEndpoint(ch, new PcapWriter((b) => chunks.push(b), clock, LINKTYPE_RAW));
    const rx = collector();
    sn.attach(rx.dispatcher);
    sn.writePackets([Uint8Array.of(0x45, 1, 2)]);
    ch.inject(Uint8Array.of(0x45, 9));
    expect(rx.got).toEqual([0x45]);
    expect(chunks.length).toBe(3);
    const g = new DataView((chunks[0] as Uint8Array).buffer);
    expect(g.getUint32(0, true)).toBe(0xa1b2c3d4);
    expect(g.getUint32(20, true)).toBe(LINKTYPE_RAW);
    const r = new DataView((chunks[1] as Uint8Array).buffer);
    expect(r.getUint32(0, true)).toBe(1);
    expect(r.getUint32(4, true)).toBe(500000);
    expect(r.getUint32(8, true)).toBe(3);
  });
});

describe("impairment filters and the bottleneck", () => {
  const src = IPAddress.v4(10, 0, 0, 1);
  const dst = IPAddress.v4(10, 0, 0, 2);
  const seg = (payload: number, flags = 0x10): Uint8Array =>
    buildTcp({ sourcePort: 1, destinationPort: 2, seq: 1, ack: 1, flags, window: 100 }, new Uint8Array(payload), src, dst);
  const v4 = (payload: Uint8Array, protocol = IP_PROTOCOL_TCP): Uint8Array => buildIPv4({ id: 1, ttl: 64, protocol, source: src, destination: dst }, payload);

  it("tells TCP data segments from ACKs, other protocols and garbage", () => {
    expect(isTcpData(v4(seg(100)))).toBe(true);
    expect(isTcpData(v4(seg(0)))).toBe(false);
    expect(isTcpData(v4(seg(100), 17))).toBe(false);
    const six = buildIPv6({ nextHeader: IP_PROTOCOL_TCP, hopLimit: 64, source: IPAddress.parse("fd00::1") as IPAddress, destination: IPAddress.parse("fd00::2") as IPAddress }, seg(10));
    expect(isTcpData(six)).toBe(true);
    const eth = new Uint8Array(14 + 60);
    eth[12] = 0x08;
    eth.set(v4(seg(20)).subarray(0, 60), 14);
    expect(isTcpData(eth, "ethernet")).toBe(true);
    expect(isTcpData(eth.subarray(0, 10), "ethernet")).toBe(false);
    // Malformed: truncated headers, a lying length, a data offset past the end, random bytes.
    const p = v4(seg(100));
    expect(isTcpData(p.subarray(0, 19))).toBe(false);
    expect(isTcpData(p.subarray(0, 30))).toBe(false);
    const badOffset = p.slice();
    badOffset[20 + 12] = 0xf0;
    expect(isTcpData(badOffset.subarray(0, 20 + 40))).toBe(false);
    expect(isTcpData(new Uint8Array(0))).toBe(false);
    for (let i = 0; i < 1000; i++) isTcpData(Uint8Array.from({ length: i % 80 }, (_, j) => (i * 31 + j * 7) & 0xff));
  });

  it("applies loss only to frames the filter picks", () => {
    const clock = new ManualClock();
    const inner = new ChannelEndpoint();
    const imp = new ImpairedEndpoint(inner, clock, { seed: 1, loss: 1, lossFilter: (f) => f[0] === 1 });
    imp.writePackets([frame(1), frame(2), frame(1), frame(3)]);
    expect(inner.drain().map((f) => f[0])).toEqual([2, 3]);
    expect(imp.stats.dropped).toBe(2);
  });

  it("serializes frames at the bottleneck rate and drops the tail of a full queue", () => {
    const clock = new ManualClock();
    const inner = new ChannelEndpoint();
    const imp = new ImpairedEndpoint(inner, clock, { seed: 1, rateBytesPerMs: 100, queueBytes: 250, delayMs: 1 });
    imp.writePackets([new Uint8Array(100), new Uint8Array(100), new Uint8Array(100)]);
    expect(imp.stats.queueDrops).toBe(1); // 100 + 100 queued; the third would exceed 250
    clock.advance(1.5);
    expect(inner.queued).toBe(0); // first departs at 1 ms, arrives 1 ms later
    clock.advance(0.5);
    expect(inner.drain().length).toBe(1);
    clock.advance(1);
    expect(inner.drain().length).toBe(1);
    imp.writePackets([new Uint8Array(100)]); // the queue has drained: accepted
    expect(imp.stats.queueDrops).toBe(1);
  });
});
