import { describe, expect, it } from "vitest";
import { Reno } from "./congestion.js";

describe("Reno (RFC 5681)", () => {
  const MSS = 1000;
  it("starts with the RFC 6928 initial window", () => {
    expect(new Reno(MSS).cwnd).toBe(10_000);
    expect(new Reno(1460).cwnd).toBe(14600);
    expect(new Reno(8000).cwnd).toBe(16000);
  });

  it("grows by at most 2 MSS per ACK in slow start", () => {
    const r = new Reno(MSS);
    r.onAck(MSS, 0, 0);
    expect(r.cwnd).toBe(11_000);
    r.onAck(5 * MSS, 0, 0);
    expect(r.cwnd).toBe(13_000);
  });

  it("halves on a congestion event and then grows one MSS per window", () => {
    const r = new Reno(MSS);
    r.onCongestionEvent(20_000, 0);
    expect(r.ssthresh).toBe(10_000);
    expect(r.cwnd).toBe(10_000);
    r.onAck(9_000, 0, 0);
    expect(r.cwnd).toBe(10_000);
    r.onAck(1_000, 0, 0);
    expect(r.cwnd).toBe(11_000);
  });

  it("collapses to one MSS on a retransmission timeout, ssthresh at least 2 MSS", () => {
    const r = new Reno(MSS);
    r.onRetransmitTimeout(1_000, 0);
    expect(r.cwnd).toBe(MSS);
    expect(r.ssthresh).toBe(2 * MSS);
  });
});
