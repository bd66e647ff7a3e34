import { describe, expect, it } from "vitest";
import { Cubic } from "./cubic.js";

const MSS = 1000;

/** Grows a Cubic to `segments` segments in congestion avoidance, then signals a loss at t=0. */
function afterLoss(segments: number): Cubic {
  const c = new Cubic(MSS);
  while (c.cwnd < segments * MSS) c.onAck(2 * MSS, 0, 0);
  c.onCongestionEvent(segments * MSS, 0);
  return c;
}

/** Feeds one window of ACKs per `rttMs` until `untilMs`. */
function run(c: Cubic, fromMs: number, untilMs: number, rttMs: number): void {
  for (let t = fromMs; t < untilMs; t += rttMs) {
    const acks = Math.floor(c.cwnd / MSS);
    for (let i = 0; i < acks; i++) c.onAck(MSS, t, rttMs);
  }
}

describe("CUBIC (RFC 9438)", () => {
  it("reduces by beta = 0.7 and computes K from W_max", () => {
    const c = afterLoss(100);
    expect(c.cwnd).toBe(70 * MSS);
    expect(c.ssthresh).toBe(70 * MSS);
    c.onAck(MSS, 0, 0);
    expect(c.wMaxSegments).toBe(100);
    expect(c.kSeconds).toBeCloseTo(Math.cbrt(30 / 0.4), 6);
  });

  it("approaches W_max around t = K (concave), then probes beyond it (convex)", () => {
    const c = afterLoss(100);
    const k = Math.cbrt(30 / 0.4) * 1000;
    run(c, 0, k * 0.5, 100);
    const mid = c.cwnd / MSS;
    expect(mid).toBeGreaterThan(70);
    expect(mid).toBeLessThan(100);
    run(c, k * 0.5, k, 100);
    expect(c.cwnd / MSS).toBeGreaterThan(95);
    expect(c.cwnd / MSS).toBeLessThan(106);
    run(c, k, k + 3000, 100);
    expect(c.cwnd / MSS).toBeGreaterThan(105);
  });

  it("applies fast convergence when losses come at ever smaller windows", () => {
    const c = afterLoss(100);
    c.onCongestionEvent(70 * MSS, 0);
    c.onAck(MSS, 0, 0);
    expect(c.wMaxSegments).toBeCloseTo((70 * 1.7) / 2, 6);
  });

  it("falls to one segment on RTO and slow-starts up to ssthresh", () => {
    const c = afterLoss(100);
    c.onRetransmitTimeout(70 * MSS, 0);
    expect(c.cwnd).toBe(MSS);
    c.onAck(MSS, 0, 0);
    expect(c.cwnd).toBe(2 * MSS);
  });
});
