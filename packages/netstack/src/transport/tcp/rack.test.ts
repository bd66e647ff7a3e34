import { describe, expect, it } from "vitest";
import { seq, seqAdd, type Seq } from "../../seqnum/seqnum.js";
import { RackState } from "./rack.js";
import { SackScoreboard } from "./sack-scoreboard.js";

const UNA = seq(0xfffff000);
const at = (n: number): Seq => seqAdd(UNA, n);

describe("RACK (RFC 8985 §6)", () => {
  it("marks segments sent before a delivered one lost after RACK.rtt + reo_wnd", () => {
    const r = new RackState();
    const sb = new SackScoreboard();
    r.observeRtt(40);
    for (let i = 0; i < 4; i++) r.onTransmit(at(i * 1000), at(i * 1000 + 1000), 0, false);
    sb.update([{ start: at(3000), end: at(4000) }], UNA, at(4000));
    // Delivered at 40 ms: RACK.rtt = 40, reo_wnd = 10; the others are due at 50 ms.
    const v = r.onAck(UNA, sb, 40, 40);
    expect(v.lostBelow).toBeUndefined();
    expect(v.timeoutMs).toBe(10);
    const w = r.detectLoss(50, 40);
    expect(w.lostBelow).toBe(at(3000));
    expect(r.lostBoundary()).toBe(at(3000));
  });

  it("refreshes the transmit time of retransmitted ranges, splitting records", () => {
    const r = new RackState();
    const sb = new SackScoreboard();
    r.observeRtt(10);
    r.onTransmit(at(0), at(3000), 0, false);
    r.onTransmit(at(1000), at(2000), 100, true);
    expect(r.records).toBe(3);
    sb.update([{ start: at(1000), end: at(2000) }], UNA, at(3000));
    // The retransmission (sent at 100) is delivered at 115: [0,1000) and [2000,3000), sent at 0, are lost.
    const v = r.onAck(UNA, sb, 115, 10);
    expect(v.lostBelow).toBe(at(3000));
  });

  it("widens reo_wnd when a retransmission proves spurious (ACKed sooner than min RTT)", () => {
    const r = new RackState();
    const sb = new SackScoreboard();
    r.observeRtt(40);
    r.onTransmit(at(0), at(1000), 0, false);
    r.onTransmit(at(1000), at(2000), 0, false);
    sb.update([{ start: at(1000), end: at(2000) }], UNA, at(2000));
    r.onAck(UNA, sb, 40, 40);
    expect(r.detectLoss(50, 40).lostBelow).toBe(at(1000));
    r.onTransmit(at(0), at(1000), 50, true);
    // The original was only late: its ACK comes 5 ms after the retransmission.
    r.onAck(at(1000), sb, 55, 40);
    expect(r.spurious).toBe(1);
    expect(r.reoWndMult).toBe(2);
  });

  it("forgets loss marks after an RTO", () => {
    const r = new RackState();
    const sb = new SackScoreboard();
    r.onTransmit(at(0), at(1000), 0, false);
    r.onTransmit(at(1000), at(2000), 1, false);
    sb.update([{ start: at(1000), end: at(2000) }], UNA, at(2000));
    r.onAck(UNA, sb, 100, 0);
    r.detectLoss(200, 0);
    expect(r.lostBoundary()).toBe(at(1000));
    r.onRetransmitTimeout();
    expect(r.lostBoundary()).toBeUndefined();
  });
});
