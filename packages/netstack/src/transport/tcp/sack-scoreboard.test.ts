import { describe, expect, it } from "vitest";
import { seq, seqAdd, type Seq } from "../../seqnum/seqnum.js";
import { SackScoreboard } from "./sack-scoreboard.js";

const UNA = seq(0xffffff00);
const at = (n: number): Seq => seqAdd(UNA, n);
const blk = (a: number, b: number): { start: number; end: number } => ({ start: at(a), end: at(b) });

describe("SACK scoreboard (RFC 6675)", () => {
  it("merges blocks, across the sequence wrap", () => {
    const sb = new SackScoreboard();
    expect(sb.update([blk(1000, 2000), blk(3000, 4000)], UNA, at(10_000))).toBe(2000);
    expect(sb.update([blk(1500, 3500)], UNA, at(10_000))).toBe(1000);
    expect(sb.list().map((b) => [b.start, b.end])).toEqual([[at(1000), at(4000)]]);
    expect(sb.isSacked(at(1000))).toBe(true);
    expect(sb.isSacked(at(4000))).toBe(false);
  });

  it("rejects inverted, old and beyond-SND.MAX blocks", () => {
    const sb = new SackScoreboard();
    sb.update([blk(2000, 1000), blk(-100, 50), blk(0, 10), blk(9000, 11_000)], UNA, at(10_000));
    expect(sb.isEmpty).toBe(true);
    expect(sb.invalidBlocks).toBe(4);
  });

  it("forgets what the cumulative ACK covers", () => {
    const sb = new SackScoreboard();
    sb.update([blk(1000, 2000), blk(3000, 4000)], UNA, at(10_000));
    sb.removeBelow(at(1500));
    expect(sb.list().map((b) => [b.start, b.end])).toEqual([
      [at(1500), at(2000)],
      [at(3000), at(4000)],
    ]);
  });

  it("finds the loss boundary by bytes and by discontiguous blocks", () => {
    const sb = new SackScoreboard();
    sb.update([blk(1000, 2000)], UNA, at(10_000));
    expect(sb.lossBoundary(1000)).toBeUndefined();
    sb.update([blk(2000, 3001)], UNA, at(10_000));
    // 2001 bytes SACKed above 1000 > 2*SMSS: everything unSACKed below 1000 is lost.
    expect(sb.lossBoundary(1000)).toBe(at(1000));
    const sb2 = new SackScoreboard();
    sb2.update([blk(1000, 1001), blk(2000, 2001), blk(3000, 3001)], UNA, at(10_000));
    expect(sb2.lossBoundary(1000)).toBe(at(1000));
  });

  it("walks holes and computes pipe", () => {
    const sb = new SackScoreboard();
    sb.update([blk(1000, 2000), blk(3000, 4000), blk(5000, 6000)], UNA, at(7000));
    expect(sb.nextHole(UNA, at(7000))).toEqual({ start: UNA, end: at(1000) });
    expect(sb.nextHole(at(1000), at(7000))).toEqual({ start: at(2000), end: at(3000) });
    expect(sb.nextHole(at(6000), at(7000))).toEqual({ start: at(6000), end: at(7000) });
    // Lost: holes below 1000 (3 blocks above) -> [0,1000) lost; [2000,3000),[4000,5000),[6000,7000) in flight.
    expect(sb.pipe(UNA, at(7000), UNA, 1000)).toBe(3000);
    // After retransmitting [0, 1000): counted once more.
    expect(sb.pipe(UNA, at(7000), at(1000), 1000)).toBe(4000);
  });

  it("caps the number of blocks", () => {
    const sb = new SackScoreboard();
    for (let i = 0; i < 2000; i++) sb.update([blk(10 + i * 4, 12 + i * 4)], UNA, at(100_000));
    expect(sb.list().length).toBeLessThanOrEqual(512);
  });
});
