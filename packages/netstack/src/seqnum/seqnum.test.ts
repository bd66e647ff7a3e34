import { describe, expect, it } from "vitest";
import { segmentAcceptable, seq, seqAdd, seqDiff, seqGE, seqGT, seqInRange, seqInWindow, seqLE, seqLT, seqMax, seqMin } from "./seqnum.js";

const TOP = seq(0xffffffff);

describe("sequence numbers", () => {
  it("add modulo 2^32", () => {
    expect(seqAdd(TOP, 1)).toBe(0);
    expect(seqAdd(seq(10), -11)).toBe(0xffffffff);
    expect(seqAdd(seq(0xfffffff0), 0x20)).toBe(0x10);
  });

  it("compare by signed difference across the wrap", () => {
    expect(seqLT(TOP, seq(0))).toBe(true);
    expect(seqGT(seq(0), TOP)).toBe(true);
    expect(seqLT(seq(0xfffffff0), seq(5))).toBe(true);
    expect(seqLE(seq(7), seq(7))).toBe(true);
    expect(seqGE(seq(7), seq(7))).toBe(true);
    expect(seqDiff(seq(5), seq(0xfffffff0))).toBe(21);
    expect(seqDiff(seq(0xfffffff0), seq(5))).toBe(-21);
    expect(seqMax(TOP, seq(3))).toBe(3);
    expect(seqMin(TOP, seq(3))).toBe(0xffffffff);
  });

  it("treats numbers 2^31 apart by the sign convention", () => {
    expect(seqDiff(seq(0x80000000), seq(0))).toBe(-0x80000000);
    expect(seqLT(seq(0x80000000), seq(0))).toBe(true);
  });

  it("tests ranges and windows that straddle zero", () => {
    expect(seqInRange(seq(2), seq(0xfffffffe), seq(5))).toBe(true);
    expect(seqInRange(seq(5), seq(0xfffffffe), seq(5))).toBe(false);
    expect(seqInRange(seq(0xfffffffd), seq(0xfffffffe), seq(5))).toBe(false);
    expect(seqInWindow(seq(0), TOP, 2)).toBe(true);
    expect(seqInWindow(seq(1), TOP, 2)).toBe(false);
  });

  it("applies RFC 9293's four acceptability cases", () => {
    const rcvNxt = seq(0xfffffff0);
    expect(segmentAcceptable(rcvNxt, 0, rcvNxt, 0)).toBe(true);
    expect(segmentAcceptable(seqAdd(rcvNxt, 1), 0, rcvNxt, 0)).toBe(false);
    expect(segmentAcceptable(seqAdd(rcvNxt, 100), 0, rcvNxt, 1000)).toBe(true);
    expect(segmentAcceptable(rcvNxt, 10, rcvNxt, 0)).toBe(false);
    // Starts before the window but its tail falls inside: acceptable (and trimmed later).
    expect(segmentAcceptable(seqAdd(rcvNxt, -5), 10, rcvNxt, 100)).toBe(true);
    expect(segmentAcceptable(seqAdd(rcvNxt, -20), 10, rcvNxt, 100)).toBe(false);
    expect(segmentAcceptable(seqAdd(rcvNxt, 100), 10, rcvNxt, 100)).toBe(false);
  });
});
