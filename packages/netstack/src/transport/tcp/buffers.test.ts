import { describe, expect, it } from "vitest";
import { seq, seqAdd } from "../../seqnum/seqnum.js";
import { ReceiveBuffer } from "./receive-buffer.js";
import { SendBuffer } from "./send-buffer.js";

const bytes = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe("SendBuffer", () => {
  it("appends up to capacity, slices across the ring edge, and consumes", () => {
    const b = new SendBuffer(8);
    expect(b.append(bytes(0, 6))).toBe(6);
    b.consume(4);
    expect(b.append(bytes(6, 10))).toBe(6);
    expect(b.length).toBe(8);
    expect(b.free).toBe(0);
    expect([...b.slice(0, 8)]).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect([...b.slice(3, 2)]).toEqual([7, 8]);
    expect(b.slice(7, 10).length).toBe(1);
  });
});

describe("SendBuffer memory", () => {
  it("allocates as data is queued, never beyond capacity, and gives a large ring back when drained", () => {
    const b = new SendBuffer(256 * 1024);
    expect(b.allocated).toBe(0);
    b.append(bytes(0, 100));
    expect(b.allocated).toBe(4096);
    b.append(bytes(100, 5000));
    expect(b.allocated).toBe(8192);
    expect([...b.slice(95, 10)]).toEqual([...bytes(95, 10)]);
    b.append(new Uint8Array(300 * 1024));
    expect(b.length).toBe(256 * 1024);
    expect(b.allocated).toBe(256 * 1024);
    b.consume(b.length);
    expect(b.allocated).toBe(0);
  });

  it("keeps byte order across growth of a wrapped ring (random operations against a model)", () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const b = new SendBuffer(100_000);
    let model: number[] = [];
    let next = 0;
    for (let i = 0; i < 2000; i++) {
      if (rand(3) > 0) {
        const n = rand(9000);
        const took = b.append(bytes(next, n));
        expect(took).toBe(Math.min(n, 100_000 - model.length));
        for (let k = 0; k < took; k++) model.push((next + k) & 0xff);
        next += took;
      } else {
        const n = rand(model.length + 1);
        b.consume(n);
        model = model.slice(n);
      }
      expect(b.length).toBe(model.length);
      expect(b.allocated).toBeLessThanOrEqual(100_000);
      if (model.length > 0) {
        const off = rand(model.length);
        const len = rand(model.length - off) + 1;
        expect([...b.slice(off, len)]).toEqual(model.slice(off, off + len));
      }
    }
  });
});

describe("ReceiveBuffer", () => {
  const base = seq(0xfffffff0);

  it("makes in-order data readable", () => {
    const r = new ReceiveBuffer(100);
    expect(r.insert(base, bytes(0, 10), base)).toBe(10);
    expect(r.readable).toBe(10);
    expect(r.free).toBe(90);
    expect([...r.read(4)]).toEqual([0, 1, 2, 3]);
    expect([...r.read(100)]).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it("holds out-of-order data across the wrap until the hole fills", () => {
    const r = new ReceiveBuffer(100);
    expect(r.insert(seqAdd(base, 20), bytes(20, 10), base)).toBe(0);
    expect(r.insert(seqAdd(base, 10), bytes(10, 5), base)).toBe(0);
    expect(r.outOfOrderBytes).toBe(15);
    expect(r.outOfOrderBlocks().map((b) => [b.start, b.end])).toEqual([
      [seqAdd(base, 10), seqAdd(base, 15)],
      [seqAdd(base, 20), seqAdd(base, 30)],
    ]);
    expect(r.insert(base, bytes(0, 10), base)).toBe(15);
    expect(r.insert(seqAdd(base, 15), bytes(15, 5), seqAdd(base, 15))).toBe(15);
    expect([...r.read(100)]).toEqual([...bytes(0, 30)]);
    expect(r.hasOutOfOrder).toBe(false);
  });

  it("stores overlapping out-of-order data once", () => {
    const r = new ReceiveBuffer(100);
    r.insert(seqAdd(base, 10), bytes(10, 10), base);
    r.insert(seqAdd(base, 5), bytes(5, 20), base);
    r.insert(seqAdd(base, 12), bytes(12, 3), base);
    expect(r.outOfOrderBytes).toBe(20);
    expect(r.insert(base, bytes(0, 7), base)).toBe(25);
    expect([...r.read(100)]).toEqual([...bytes(0, 25)]);
  });
});
