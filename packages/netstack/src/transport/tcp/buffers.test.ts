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
