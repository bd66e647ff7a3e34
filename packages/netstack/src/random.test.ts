import { describe, expect, it } from "vitest";
import { Prng } from "./random.js";

describe("Prng", () => {
  it("is reproducible from its seed and differs across seeds", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(sa);
  });

  it("stays in range and is roughly uniform", () => {
    const r = new Prng(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10000; i++) {
      const v = r.intBetween(0, 10);
      expect(v >= 0 && v < 10).toBe(true);
      buckets[v] = (buckets[v] ?? 0) + 1;
    }
    for (const b of buckets) expect(b).toBeGreaterThan(800);
  });
});
