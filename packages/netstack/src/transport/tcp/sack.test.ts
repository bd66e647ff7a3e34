import { describe, expect, it } from "vitest";
import { Harness, pattern, REMOTE } from "../../test-util.js";
import type { TcpEndpoint } from "./endpoint.js";

/** An established connection with SACK (and nothing else) negotiated; peer MSS 1000. */
function sackConn(rack = false, handshakeRttMs = 0): { h: Harness; ep: TcpEndpoint; iss: number; peerSeq: number } {
  const h = new Harness({ tcp: { delayedAckMs: 0, timestamps: false, windowScaling: false, rack } });
  const ep = h.stack.newTcpEndpoint();
  ep.connect({ address: REMOTE, port: 443 });
  const syn = h.nextTcp();
  expect(syn.options.sackPermitted).toBe(true);
  h.remotePort = 443;
  h.localPort = syn.srcPort;
  h.clock.advance(handshakeRttMs);
  h.sendTcp({ seq: 5000, ack: syn.seq + 1, flags: "S.", options: { mss: 1000, sackPermitted: true } });
  h.nextTcp();
  expect(ep.sackPermitted).toBe(true);
  return { h, ep, iss: syn.seq + 1, peerSeq: 5001 };
}

describe("SACK receiver (RFC 2018 §4)", () => {
  it("reports out-of-order blocks, the most recent first, until the holes fill", () => {
    const { h, iss, peerSeq } = sackConn();
    h.sendTcp({ seq: peerSeq + 1000, ack: iss, flags: ".", payload: pattern(500) });
    expect(h.nextTcp().options.sackBlocks).toEqual([{ start: peerSeq + 1000, end: peerSeq + 1500 }]);
    h.sendTcp({ seq: peerSeq + 3000, ack: iss, flags: ".", payload: pattern(500) });
    expect(h.nextTcp().options.sackBlocks).toEqual([
      { start: peerSeq + 3000, end: peerSeq + 3500 },
      { start: peerSeq + 1000, end: peerSeq + 1500 },
    ]);
    h.sendTcp({ seq: peerSeq, ack: iss, flags: ".", payload: pattern(1500) });
    const a = h.nextTcp();
    expect(a.ack).toBe(peerSeq + 1500);
    expect(a.options.sackBlocks).toEqual([{ start: peerSeq + 3000, end: peerSeq + 3500 }]);
    h.sendTcp({ seq: peerSeq + 1500, ack: iss, flags: ".", payload: pattern(1500) });
    const b = h.nextTcp();
    expect(b.ack).toBe(peerSeq + 3500);
    expect(b.options.sackBlocks).toBeUndefined();
  });
});

describe("SACK sender (RFC 6675)", () => {
  it("retransmits only the holes the scoreboard shows lost", () => {
    const { h, ep, iss, peerSeq } = sackConn();
    ep.write(pattern(8000));
    for (let i = 0; i < 8; i++) h.nextTcp();
    // Segments 0 and 2 are lost; the receiver SACKs 1 and 3..7.
    const ack = (blocks: [number, number][]): void =>
      h.sendTcp({ seq: peerSeq, ack: iss, flags: ".", options: { sackBlocks: blocks.map(([s, e]) => ({ start: iss + s, end: iss + e })) } });
    ack([[1000, 2000]]);
    ack([[3000, 4000], [1000, 2000]]);
    h.expectNothing();
    ack([[3000, 5000], [1000, 2000]]);
    // Third duplicate: recovery starts with the first hole...
    const r1 = h.nextTcp();
    expect(r1.seq).toBe(iss);
    expect(r1.payload.length).toBe(1000);
    expect(h.stack.stats.tcp.fastRetransmits).toBe(1);
    ack([[3000, 6000], [1000, 2000]]);
    // ...and the scoreboard says [2000, 3000) is lost too (3 blocks' worth above it).
    const r2 = h.nextTcp();
    expect(r2.seq).toBe(iss + 2000);
    ack([[3000, 8000], [1000, 2000]]);
    h.expectNothing();
    // Nothing SACKed is ever resent; a full ACK ends recovery.
    h.sendTcp({ seq: peerSeq, ack: iss + 8000, flags: "." });
    expect(ep.inRecovery).toBe(false);
    expect(ep.sendQueueBytes).toBe(0);
    expect(h.stack.stats.tcp.retransmits).toBe(2);
  });

  it("ignores SACK blocks outside the outstanding data", () => {
    const { h, ep, iss, peerSeq } = sackConn();
    ep.write(pattern(2000));
    h.nextTcp();
    h.nextTcp();
    h.sendTcp({ seq: peerSeq, ack: iss, flags: ".", options: { sackBlocks: [{ start: iss + 5000, end: iss + 9000 }, { start: iss - 100, end: iss }] } });
    expect(ep.scoreboard.isEmpty).toBe(true);
    expect(h.stack.stats.tcp.invalidSackBlocks).toBe(2);
  });
});

describe("SACK recovery without SACK blocks", () => {
  it("resends the next segment on each partial ACK, like NewReno", () => {
    const { h, ep, iss, peerSeq } = sackConn();
    ep.write(pattern(6000));
    for (let i = 0; i < 6; i++) h.nextTcp();
    for (let i = 0; i < 3; i++) h.sendTcp({ seq: peerSeq, ack: iss, flags: "." });
    expect(h.nextTcp().seq).toBe(iss);
    h.sendTcp({ seq: peerSeq, ack: iss + 2000, flags: "." });
    expect(h.nextTcp().seq).toBe(iss + 2000);
    h.sendTcp({ seq: peerSeq, ack: iss + 6000, flags: "." });
    expect(ep.inRecovery).toBe(false);
  });
});

describe("RACK-TLP (RFC 8985)", () => {
  const sack = (h: Harness, peerSeq: number, ack: number, blocks: [number, number][]): void =>
    h.sendTcp({ seq: peerSeq, ack, flags: ".", options: { sackBlocks: blocks.map(([s, e]) => ({ start: s, end: e })) } });

  it("deems earlier segments lost once RACK.rtt + reo_wnd has passed since they were sent", () => {
    const { h, ep, iss, peerSeq } = sackConn(true, 40);
    ep.write(pattern(4000));
    for (let i = 0; i < 4; i++) h.nextTcp();
    h.clock.advance(40);
    // Only the last segment arrives: RACK.rtt = 40 ms, reo_wnd = min_rtt/4 = 10 ms.
    sack(h, peerSeq, iss, [[iss + 3000, iss + 4000]]);
    h.expectNothing();
    h.clock.advance(9);
    h.expectNothing();
    h.clock.advance(1);
    // The reordering timer declares the three earlier segments lost; recovery resends them.
    const first = h.nextTcp();
    expect(first.seq).toBe(iss);
    expect(ep.inRecovery).toBe(true);
    expect(h.stack.stats.tcp.rackLosses).toBeGreaterThan(0);
  });

  it("sends a tail loss probe before the RTO, and SACK of it starts recovery", () => {
    const { h, ep, iss, peerSeq } = sackConn(true, 20);
    expect(ep.rtt.srtt).toBe(20);
    ep.write(pattern(3000));
    for (let i = 0; i < 3; i++) h.nextTcp();
    // PTO = 2*SRTT = 40 ms (the RTO is 200 ms): the last segment is probed.
    h.clock.advance(39);
    h.expectNothing();
    h.clock.advance(1);
    const probe = h.nextTcp();
    expect(probe.seq).toBe(iss + 2000);
    expect(h.stack.stats.tcp.tlpProbes).toBe(1);
    h.clock.advance(20);
    // The probe's SACK tells RACK that the first two segments, sent earlier, were lost.
    sack(h, peerSeq, iss, [[iss + 2000, iss + 3000]]);
    expect(ep.inRecovery).toBe(true);
    expect(h.nextTcp().seq).toBe(iss);
    expect(h.stack.stats.tcp.timeouts).toBe(0);
  });
});
