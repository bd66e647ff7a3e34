import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { ChannelEndpoint, connectChannels } from "./channel.js";
import { ImpairedEndpoint } from "./impairment.js";
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
