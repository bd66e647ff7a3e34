import { describe, expect, it } from "vitest";
import { ErrClosedForSend, ErrTimedOut } from "../../errors.js";
import { pattern } from "../../test-util.js";
import type { TcpEndpoint } from "./endpoint.js";
import { TcpState } from "./state.js";
import { establish } from "./test-conn.js";

const IMMEDIATE = { tcp: { delayedAckMs: 0 } };

describe("TCP active close", () => {
  it("FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT -> CLOSED after 2*MSL", () => {
    const { h, ep, iss, peerSeq } = establish(IMMEDIATE);
    ep.close();
    expect(h.nextTcp()).toMatchObject({ flags: "F.", seq: iss, ack: peerSeq });
    expect(ep.currentState).toBe(TcpState.FinWait1);
    h.sendTcp({ seq: peerSeq, ack: iss + 1, flags: "." });
    expect(ep.currentState).toBe(TcpState.FinWait2);
    h.sendTcp({ seq: peerSeq, ack: iss + 1, flags: "F." });
    expect(h.nextTcp()).toMatchObject({ flags: ".", seq: iss + 1, ack: peerSeq + 1 });
    expect(ep.currentState).toBe(TcpState.TimeWait);
    // A retransmitted FIN in TIME-WAIT is acknowledged again.
    h.sendTcp({ seq: peerSeq, ack: iss + 1, flags: "F." });
    expect(h.nextTcp()).toMatchObject({ flags: ".", ack: peerSeq + 1 });
    h.clock.advance(59_999);
    expect(ep.currentState).toBe(TcpState.TimeWait);
    h.clock.advance(1);
    expect(ep.currentState).toBe(TcpState.Closed);
    // The connection is gone: a segment now draws a RST.
    h.sendTcp({ seq: peerSeq + 1, ack: iss + 1, flags: "." });
    expect(h.nextTcp().flags).toBe("R");
  });

  it("sends queued data before the FIN and retransmits the FIN", () => {
    const { h, ep, iss, peerSeq } = establish(IMMEDIATE);
    ep.write(pattern(100));
    h.nextTcp();
    ep.shutdown({ write: true });
    h.sendTcp({ seq: peerSeq, ack: iss + 100, flags: "." });
    expect(h.nextTcp()).toMatchObject({ flags: "F.", seq: iss + 100 });
    h.clock.advance(200);
    expect(h.nextTcp()).toMatchObject({ flags: "F.", seq: iss + 100 });
    expect(ep.write(pattern(1))).toBe(ErrClosedForSend);
  });

  it("simultaneous close: FIN-WAIT-1 -> CLOSING -> TIME-WAIT", () => {
    const { h, ep, iss, peerSeq } = establish(IMMEDIATE);
    ep.close();
    h.nextTcp();
    h.sendTcp({ seq: peerSeq, ack: iss, flags: "F." });
    expect(ep.currentState).toBe(TcpState.Closing);
    expect(h.nextTcp()).toMatchObject({ flags: ".", ack: peerSeq + 1 });
    h.sendTcp({ seq: peerSeq + 1, ack: iss + 1, flags: "." });
    expect(ep.currentState).toBe(TcpState.TimeWait);
  });

  it("gives up on an orphaned FIN-WAIT-2 after the FIN timeout", () => {
    const { h, ep, iss, peerSeq } = establish(IMMEDIATE);
    ep.close();
    h.nextTcp();
    h.sendTcp({ seq: peerSeq, ack: iss + 1, flags: "." });
    expect(ep.currentState).toBe(TcpState.FinWait2);
    h.clock.advance(60_000);
    expect(ep.currentState).toBe(TcpState.Closed);
  });

  it("aborts with a RST when closed with unread data (RFC 2525 §2.17)", () => {
    const { h, ep, iss, peerSeq } = establish(IMMEDIATE);
    h.sendTcp({ seq: peerSeq, ack: iss, flags: "P.", payload: pattern(10) });
    h.nextTcp();
    ep.close();
    expect(h.nextTcp()).toMatchObject({ flags: "R.", seq: iss });
    expect(ep.currentState).toBe(TcpState.Closed);
  });

  it("resets when data arrives for a closed socket", () => {
    const { h, ep, iss, peerSeq } = establish(IMMEDIATE);
    ep.close();
    h.nextTcp();
    h.sendTcp({ seq: peerSeq, ack: iss + 1, flags: "P.", payload: pattern(10) });
    expect(h.nextTcp().flags).toBe("R.");
    expect(ep.currentState).toBe(TcpState.Closed);
  });
});

describe("TCP passive close", () => {
  it("CLOSE-WAIT on FIN (reads then return EOF), LAST-ACK on close, CLOSED on ACK", () => {
    const { h, ep, iss, peerSeq } = establish(IMMEDIATE);
    h.sendTcp({ seq: peerSeq, ack: iss, flags: "FP.", payload: pattern(5) });
    expect(h.nextTcp()).toMatchObject({ flags: ".", ack: peerSeq + 6 });
    expect(ep.currentState).toBe(TcpState.CloseWait);
    expect((ep.read() as Uint8Array).length).toBe(5);
    expect(ep.read()).toEqual(new Uint8Array(0));
    // Half-closed: we may still send.
    expect(ep.write(pattern(3))).toBe(3);
    expect(h.nextTcp()).toMatchObject({ seq: iss });
    ep.close();
    expect(h.nextTcp()).toMatchObject({ flags: "F.", seq: iss + 3 });
    expect(ep.currentState).toBe(TcpState.LastAck);
    h.sendTcp({ seq: peerSeq + 6, ack: iss + 4, flags: "." });
    expect(ep.currentState).toBe(TcpState.Closed);
  });

  it("processes a FIN that arrives before the data in front of it", () => {
    const { h, ep, iss, peerSeq } = establish(IMMEDIATE);
    const data = pattern(20);
    h.sendTcp({ seq: peerSeq + 10, ack: iss, flags: "F.", payload: data.subarray(10) });
    expect(h.nextTcp()).toMatchObject({ ack: peerSeq });
    expect(ep.currentState).toBe(TcpState.Established);
    h.sendTcp({ seq: peerSeq, ack: iss, flags: ".", payload: data.subarray(0, 10) });
    expect(h.nextTcp()).toMatchObject({ ack: peerSeq + 21 });
    expect(ep.currentState).toBe(TcpState.CloseWait);
    expect([...(ep.read() as Uint8Array)]).toEqual([...data]);
  });
});

describe("TCP listener close", () => {
  it("resets connections still in the accept queue and frees the port", () => {
    const { h } = establish(IMMEDIATE);
    const l = h.stack.newTcpEndpoint();
    l.bind({ port: 8080 });
    l.listen(4);
    h.sendTcp({ srcPort: 50000, dstPort: 8080, seq: 100, flags: "S" });
    const sa = h.nextTcp();
    h.sendTcp({ srcPort: 50000, dstPort: 8080, seq: 101, ack: sa.seq + 1, flags: "." });
    l.close();
    expect(h.nextTcp()).toMatchObject({ flags: "R.", dstPort: 50000 });
    const again = h.stack.newTcpEndpoint();
    expect(again.bind({ port: 8080 })).toBeUndefined();
  });
});

describe("TCP keepalive (RFC 1122 §4.2.3.6)", () => {
  it("probes an idle connection and resumes idling when answered", () => {
    const { h, ep, iss, peerSeq } = establish(IMMEDIATE);
    ep.keepaliveIdleMs = 10_000;
    ep.keepaliveIntervalMs = 1_000;
    ep.setKeepalive(true);
    h.clock.advance(9_999);
    h.expectNothing();
    h.clock.advance(1);
    expect(h.nextTcp()).toMatchObject({ flags: ".", seq: iss - 1, ack: peerSeq });
    h.sendTcp({ seq: peerSeq, ack: iss, flags: "." });
    h.clock.advance(1_000);
    h.expectNothing();
    h.clock.advance(9_000);
    expect(h.nextTcp()).toMatchObject({ seq: iss - 1 });
  });

  it("gives up with ErrTimedOut after the configured number of unanswered probes", () => {
    const { h, ep } = establish(IMMEDIATE);
    ep.keepaliveIdleMs = 10_000;
    ep.keepaliveIntervalMs = 1_000;
    ep.keepaliveProbes = 3;
    ep.setKeepalive(true);
    h.clock.advance(10_000);
    h.clock.advance(3_000);
    expect(h.link.drain().length).toBe(3);
    expect(ep.currentState).toBe(TcpState.Closed);
    expect(ep.takeError()).toBe(ErrTimedOut);
  });

  it("does not probe while data is outstanding", () => {
    const { h, ep } = establish({ tcp: { delayedAckMs: 0, maxRetries: 100 } });
    ep.keepaliveIdleMs = 1_000;
    ep.setKeepalive(true);
    ep.write(pattern(10));
    h.link.drain();
    h.clock.advance(1_000);
    // Only retransmissions of the data, no keepalive probe (seq = SND.UNA - 1).
    const segs = h.link.drain();
    expect(segs.length).toBeGreaterThan(0);
    expect(h.stack.stats.tcp.retransmits).toBe(segs.length);
  });
});

describe("TCP TIME-WAIT reuse (RFC 6191)", () => {
  it("lets a new SYN with a higher sequence number reach the listener", () => {
    const { h } = establish(IMMEDIATE);
    const l = h.stack.newTcpEndpoint();
    l.bind({ port: 8080 });
    l.listen(4);
    h.sendTcp({ srcPort: 50000, dstPort: 8080, seq: 100, flags: "S" });
    const sa = h.nextTcp();
    h.sendTcp({ srcPort: 50000, dstPort: 8080, seq: 101, ack: sa.seq + 1, flags: "." });
    const child = l.accept() as TcpEndpoint;
    child.close();
    expect(h.nextTcp().flags).toBe("F.");
    h.sendTcp({ srcPort: 50000, dstPort: 8080, seq: 101, ack: sa.seq + 2, flags: "F." });
    h.nextTcp();
    expect(child.currentState).toBe(TcpState.TimeWait);
    // An old SYN is answered with a challenge ACK; a new one opens a new connection.
    h.sendTcp({ srcPort: 50000, dstPort: 8080, seq: 50, flags: "S" });
    expect(h.nextTcp().flags).toBe(".");
    h.sendTcp({ srcPort: 50000, dstPort: 8080, seq: 100_000, flags: "S" });
    expect(h.nextTcp()).toMatchObject({ flags: "S.", ack: 100_001 });
    expect(child.currentState).toBe(TcpState.Closed);
  });
});

describe("TIME-WAIT bound", () => {
  it("closes at once instead of entering TIME-WAIT beyond the limit", () => {
    const { h, ep, iss, peerSeq } = establish({ tcp: { delayedAckMs: 0, maxTimeWait: 0 } });
    ep.close();
    h.nextTcp();
    h.sendTcp({ seq: peerSeq, ack: iss + 1, flags: "F." });
    expect(h.nextTcp()).toMatchObject({ flags: ".", ack: peerSeq + 1 });
    expect(ep.currentState).toBe(TcpState.Closed);
    expect(h.stack.stats.tcp.timeWaitOverflows).toBe(1);
    expect(h.stack.tcp.timeWaitCount).toBe(0);
  });
});
