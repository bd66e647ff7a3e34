import { describe, expect, it } from "vitest";
import { ErrConnectionRefused, ErrTimedOut, ErrWouldBlock, isNetError } from "../../errors.js";
import { Harness, REMOTE } from "../../test-util.js";
import { EVENT_IN, EVENT_OUT } from "../../waiter.js";
import type { TcpEndpoint } from "./endpoint.js";
import { TcpState } from "./state.js";

function listening(h: Harness, backlog = 8): TcpEndpoint {
  const l = h.stack.newTcpEndpoint();
  expect(l.bind({ port: 80 })).toBeUndefined();
  expect(l.listen(backlog)).toBeUndefined();
  return l;
}

describe("TCP passive open", () => {
  it("answers SYN with SYN-ACK carrying our MSS, and accepts after the ACK", () => {
    const h = new Harness();
    const l = listening(h);
    let readable = 0;
    l.waiter.subscribe(EVENT_IN, () => readable++);

    h.sendTcp({ seq: 1000, flags: "S", options: { mss: 1400 } });
    const synAck = h.nextTcp();
    expect(synAck.flags).toBe("S.");
    expect(synAck.ack).toBe(1001);
    expect(synAck.options.mss).toBe(1460);
    expect(synAck.dstPort).toBe(40000);
    expect(l.accept()).toBe(ErrWouldBlock);

    h.sendTcp({ seq: 1001, ack: synAck.seq + 1, flags: "." });
    h.expectNothing();
    expect(readable).toBe(1);
    const c = l.accept();
    expect(isNetError(c)).toBe(false);
    const child = c as TcpEndpoint;
    expect(child.currentState).toBe(TcpState.Established);
    expect(child.remote?.address.equals(REMOTE)).toBe(true);
    expect(child.remote?.port).toBe(40000);
  });

  it("retransmits the SYN-ACK on timeout and on a duplicate SYN", () => {
    const h = new Harness();
    listening(h);
    h.sendTcp({ seq: 1000, flags: "S" });
    const first = h.nextTcp();
    h.clock.advance(999);
    h.expectNothing();
    h.clock.advance(1);
    expect(h.nextTcp()).toMatchObject({ flags: "S.", seq: first.seq, ack: 1001 });
    h.sendTcp({ seq: 1000, flags: "S" });
    expect(h.nextTcp()).toMatchObject({ flags: "S.", seq: first.seq });
  });

  it("drops the half-open child after the SYN-ACK retries run out", () => {
    const h = new Harness({ tcp: { synAckRetries: 2 } });
    const l = listening(h);
    h.sendTcp({ seq: 1000, flags: "S" });
    h.nextTcp();
    h.clock.advance(1000);
    h.nextTcp();
    h.clock.advance(2000);
    h.nextTcp();
    h.clock.advance(4000);
    h.expectNothing();
    expect(l.synQueue.size).toBe(0);
  });

  it("resets an ACK that arrives at a listener", () => {
    const h = new Harness();
    listening(h);
    h.sendTcp({ seq: 5, ack: 777, flags: "." });
    expect(h.nextTcp()).toMatchObject({ flags: "R", seq: 777 });
  });

  it("ignores a RST at a listener", () => {
    const h = new Harness();
    listening(h);
    h.sendTcp({ seq: 5, flags: "R" });
    h.expectNothing();
  });

  it("drops SYNs beyond the backlog and counts them", () => {
    const h = new Harness();
    const l = listening(h, 1);
    h.sendTcp({ seq: 1000, flags: "S" });
    const sa = h.nextTcp();
    h.sendTcp({ seq: 1001, ack: sa.seq + 1, flags: "." });
    h.sendTcp({ srcPort: 40001, seq: 5000, flags: "S" });
    h.expectNothing();
    expect(h.stack.stats.tcp.listenOverflows).toBe(1);
    expect(isNetError(l.accept())).toBe(false);
    h.sendTcp({ srcPort: 40001, seq: 5000, flags: "S" });
    expect(h.nextTcp().flags).toBe("S.");
  });

  it("bounds half-open connections under a SYN flood, answering the rest with cookies", () => {
    const h = new Harness({ tcp: { synBacklog: 16 } });
    const l = listening(h, 1000);
    for (let i = 0; i < 500; i++) h.sendTcp({ srcPort: 1024 + i, seq: i * 1000, flags: "S" });
    expect(l.synQueue.size).toBe(16);
    expect(h.stack.stats.tcp.synCookiesSent).toBe(484);
    expect(h.stack.tcp.demux.size).toBe(1 + 16);
  });

  it("drops SYNs beyond the SYN queue when cookies are off", () => {
    const h = new Harness({ tcp: { synBacklog: 16, synCookies: false } });
    const l = listening(h, 1000);
    for (let i = 0; i < 100; i++) h.sendTcp({ srcPort: 1024 + i, seq: i * 1000, flags: "S" });
    expect(l.synQueue.size).toBe(16);
    expect(h.stack.stats.tcp.listenOverflows).toBe(84);
  });

  it("completes a connection from a valid SYN cookie and carries data", () => {
    const h = new Harness({ tcp: { synBacklog: 1, delayedAckMs: 0 } });
    const l = listening(h);
    h.sendTcp({ srcPort: 1000, seq: 1, flags: "S" });
    h.nextTcp();
    h.sendTcp({ seq: 7000, flags: "S", options: { mss: 1400, windowScale: 5, timestamp: { value: 1, echo: 0 } } });
    const sa = h.nextTcp();
    expect(sa.flags).toBe("S.");
    expect(sa.options).toEqual({ mss: 1460 });
    expect(h.stack.stats.tcp.synCookiesSent).toBe(1);
    h.clock.advance(30_000);
    h.link.drain(); // the first SYN's half-open child retransmitting its SYN-ACK
    h.sendTcp({ seq: 7001, ack: sa.seq + 1, flags: "P.", payload: Uint8Array.of(1, 2, 3) });
    expect(h.nextTcp()).toMatchObject({ flags: ".", ack: 7004 });
    const c = l.accept() as TcpEndpoint;
    expect(isNetError(c)).toBe(false);
    expect(c.currentState).toBe(TcpState.Established);
    expect(c.sndMss).toBe(1360);
    expect([...(c.read() as Uint8Array)]).toEqual([1, 2, 3]);
    expect(c.write(Uint8Array.of(9))).toBe(1);
    expect(h.nextTcp()).toMatchObject({ seq: sa.seq + 1, ack: 7004 });
  });

  it("resets a forged or expired cookie", () => {
    const h = new Harness({ tcp: { synBacklog: 1 } });
    const l = listening(h);
    h.sendTcp({ srcPort: 1000, seq: 1, flags: "S" });
    h.nextTcp();
    h.sendTcp({ seq: 7000, flags: "S" });
    const sa = h.nextTcp();
    h.sendTcp({ seq: 7001, ack: sa.seq + 2, flags: "." });
    expect(h.nextTcp().flags).toBe("R");
    h.clock.advance(130_000);
    h.link.drain();
    h.sendTcp({ seq: 7001, ack: sa.seq + 1, flags: "." });
    expect(h.nextTcp().flags).toBe("R");
    expect(l.accept()).toBe(ErrWouldBlock);
  });
});

describe("TCP active open", () => {
  it("sends SYN, completes on SYN-ACK and reports writable", () => {
    const h = new Harness();
    const ep = h.stack.newTcpEndpoint();
    let writable = 0;
    ep.waiter.subscribe(EVENT_OUT, () => writable++);
    expect(ep.connect({ address: REMOTE, port: 443 })).toBeUndefined();
    const syn = h.nextTcp();
    expect(syn.flags).toBe("S");
    expect(syn.dstPort).toBe(443);
    expect(syn.options.mss).toBe(1460);
    expect(ep.currentState).toBe(TcpState.SynSent);

    h.sendTcp({ srcPort: 443, dstPort: syn.srcPort, seq: 9000, ack: syn.seq + 1, flags: "S.", options: { mss: 1000 } });
    expect(h.nextTcp()).toMatchObject({ flags: ".", seq: syn.seq + 1, ack: 9001 });
    expect(ep.currentState).toBe(TcpState.Established);
    expect(ep.sndMss).toBe(1000);
    expect(writable).toBe(1);
  });

  it("fails with ErrConnectionRefused on RST/ACK", () => {
    const h = new Harness();
    const ep = h.stack.newTcpEndpoint();
    ep.connect({ address: REMOTE, port: 443 });
    const syn = h.nextTcp();
    h.sendTcp({ srcPort: 443, dstPort: syn.srcPort, seq: 0, ack: syn.seq + 1, flags: "R." });
    expect(ep.currentState).toBe(TcpState.Closed);
    expect(ep.takeError()).toBe(ErrConnectionRefused);
  });

  it("ignores a RST that does not acknowledge our SYN (RFC 5961 §3)", () => {
    const h = new Harness();
    const ep = h.stack.newTcpEndpoint();
    ep.connect({ address: REMOTE, port: 443 });
    const syn = h.nextTcp();
    h.sendTcp({ srcPort: 443, dstPort: syn.srcPort, seq: 0, ack: syn.seq + 5, flags: "R." });
    expect(ep.currentState).toBe(TcpState.SynSent);
  });

  it("retransmits the SYN with exponential backoff, then times out", () => {
    const h = new Harness({ tcp: { synRetries: 2 } });
    const ep = h.stack.newTcpEndpoint();
    ep.connect({ address: REMOTE, port: 443 });
    const syn = h.nextTcp();
    h.clock.advance(1000);
    expect(h.nextTcp()).toMatchObject({ flags: "S", seq: syn.seq });
    h.clock.advance(1999);
    h.expectNothing();
    h.clock.advance(1);
    expect(h.nextTcp()).toMatchObject({ flags: "S", seq: syn.seq });
    h.clock.advance(4000);
    h.expectNothing();
    expect(ep.currentState).toBe(TcpState.Closed);
    expect(ep.takeError()).toBe(ErrTimedOut);
  });

  it("handles a simultaneous open", () => {
    const h = new Harness();
    const ep = h.stack.newTcpEndpoint();
    ep.connect({ address: REMOTE, port: 443 });
    const syn = h.nextTcp();
    h.sendTcp({ srcPort: 443, dstPort: syn.srcPort, seq: 9000, flags: "S" });
    expect(h.nextTcp()).toMatchObject({ flags: "S.", seq: syn.seq, ack: 9001 });
    expect(ep.currentState).toBe(TcpState.SynReceived);
    h.sendTcp({ srcPort: 443, dstPort: syn.srcPort, seq: 9001, ack: syn.seq + 1, flags: "." });
    expect(ep.currentState).toBe(TcpState.Established);
  });
});

describe("TCP without an endpoint", () => {
  it("answers a SYN to a closed port with RST/ACK (RFC 9293 §3.10.7.1)", () => {
    const h = new Harness();
    h.sendTcp({ seq: 100, flags: "S", dstPort: 9 });
    expect(h.nextTcp()).toMatchObject({ flags: "R.", seq: 0, ack: 101 });
    expect(h.stack.stats.tcp.noPort).toBe(1);
  });

  it("answers an ACK with a RST at SEG.ACK, and never answers a RST", () => {
    const h = new Harness();
    h.sendTcp({ seq: 100, ack: 5555, flags: ".", dstPort: 9, payload: new Uint8Array(10) });
    expect(h.nextTcp()).toMatchObject({ flags: "R", seq: 5555 });
    h.sendTcp({ seq: 100, flags: "R", dstPort: 9 });
    h.expectNothing();
  });
});
