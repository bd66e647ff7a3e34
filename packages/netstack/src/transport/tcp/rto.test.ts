import { describe, expect, it } from "vitest";
import { RttEstimator } from "./rto.js";

describe("RTO estimation (RFC 6298)", () => {
  it("starts at the initial RTO", () => {
    expect(new RttEstimator(1000, 200, 120_000).rtoMs).toBe(1000);
  });

  it("takes SRTT = R, RTTVAR = R/2 from the first sample (§2.2)", () => {
    const e = new RttEstimator(1000, 1, 120_000);
    e.sample(100);
    expect(e.srtt).toBe(100);
    expect(e.rttvar).toBe(50);
    expect(e.rtoMs).toBe(300);
  });

  it("smooths later samples with alpha 1/8 and beta 1/4 (§2.3)", () => {
    const e = new RttEstimator(1000, 1, 120_000);
    e.sample(100);
    e.sample(200);
    expect(e.rttvar).toBeCloseTo(0.75 * 50 + 0.25 * 100);
    expect(e.srtt).toBeCloseTo(0.875 * 100 + 0.125 * 200);
  });

  it("clamps to the minimum and maximum", () => {
    const e = new RttEstimator(1000, 200, 5000);
    e.sample(1);
    expect(e.rtoMs).toBe(200);
    for (let i = 0; i < 20; i++) e.backoff();
    expect(e.rtoMs).toBe(5000);
  });

  it("doubles on each backoff and resets on a new sample (§5.5, §5.7)", () => {
    const e = new RttEstimator(1000, 200, 120_000);
    e.backoff();
    expect(e.rtoMs).toBe(2000);
    e.backoff();
    expect(e.rtoMs).toBe(4000);
    e.sample(100);
    expect(e.rtoMs).toBe(300);
  });
});
