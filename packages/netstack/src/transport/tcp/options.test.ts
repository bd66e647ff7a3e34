import { describe, expect, it } from "vitest";
import { Harness, pattern, REMOTE } from "../../test-util.js";
import type { TcpEndpoint } from "./endpoint.js";
import { windowShiftFor } from "./options.js";
import { TcpState } from "./state.js";

describe("window scale shift", () => {
  it("is the smallest shift that fits the buffer in 16 bits, at most 14", () => {
    expect(windowShiftFor(65535)).toBe(0);
    expect(windowShiftFor(65536)).toBe(1);
    expect(windowShiftFor(256 * 1024)).toBe(3);
    expect(windowShiftFor(2 ** 40)).toBe(14);
  });
});

describe("RFC 7323 negotiation", () => {
  it("offers MSS, window scale, SACK-permitted and timestamps on an active open", () => {
    const h = new Harness();
    h.stack.newTcpEndpoint().connect({ address: REMOTE, port: 443 });
    const syn = h.nextTcp();
    expect(syn.options.mss).toBe(1460);
    expect(syn.options.windowScale).toBe(3);
    expect(syn.options.sackPermitted).toBe(true);
    expect(syn.options.timestamp?.echo).toBe(0);
  });

  it("answers a SYN in kind: nothing the peer did not offer", () => {
    const h = new Harness();
    const l = h.stack.newTcpEndpoint();
    l.bind({ port: 80 });
    l.listen(4);
    h.sendTcp({ seq: 1, flags: "S", options: { mss: 1460 } });
    const sa = h.nextTcp();
    expect(sa.options).toEqual({ mss: 1460 });
    h.sendTcp({ srcPort: 40001, seq: 1, flags: "S", options: { mss: 1460, windowScale: 2, timestamp: { value: 777, echo: 0 } } });
    const sa2 = h.nextTcp();
    expect(sa2.options.windowScale).toBe(3);
    expect(sa2.options.timestamp?.echo).toBe(777);
    expect(sa2.options.sackPermitted).toBeUndefined();
  });

  function scaledConn(): { h: Harness; ep: TcpEndpoint; iss: number; tsVal: number } {
    const h = new Harness({ tcp: { delayedAckMs: 0 } });
    const ep = h.stack.newTcpEndpoint();
    ep.connect({ address: REMOTE, port: 443 });
    const syn = h.nextTcp();
    h.remotePort = 443;
    h.localPort = syn.srcPort;
    h.sendTcp({ seq: 5000, ack: syn.seq + 1, flags: "S.", window: 1000, options: { mss: 1460, windowScale: 4, timestamp: { value: 100, echo: syn.options.timestamp?.value ?? 0 } } });
    const ack = h.nextTcp();
    expect(ack.options.timestamp?.echo).toBe(100);
    expect(ep.currentState).toBe(TcpState.Established);
    return { h, ep, iss: syn.seq + 1, tsVal: ack.options.timestamp?.value ?? 0 };
  }

  it("scales both windows once negotiated, but not the SYN-ACK's window", () => {
    const { h, ep, iss } = scaledConn();
    expect(ep.sndWnd).toBe(1000);
    h.sendTcp({ seq: 5001, ack: iss, flags: ".", window: 1000, options: { timestamp: { value: 101, echo: 0 } } });
    expect(ep.sndWnd).toBe(16000);
    h.sendTcp({ seq: 5001, ack: iss, flags: ".", payload: pattern(100), options: { timestamp: { value: 102, echo: 0 } } });
    const a = h.nextTcp();
    // 256 KiB buffer, shift 3, minus the 100 bytes now held.
    expect(a.window).toBe(Math.ceil((256 * 1024 - 100) / 8));
  });

  it("reduces the payload per segment by the timestamp option (RFC 6691)", () => {
    const { h, ep, iss } = scaledConn();
    h.sendTcp({ seq: 5001, ack: iss, flags: ".", window: 4000, options: { timestamp: { value: 101, echo: 0 } } });
    ep.write(pattern(3000));
    expect(h.nextTcp().payload.length).toBe(1448);
  });

  it("takes RTT samples from echoed timestamps (RFC 7323 §4.1)", () => {
    const { h, ep, iss } = scaledConn();
    ep.write(pattern(100));
    const d = h.nextTcp();
    h.clock.advance(50);
    h.sendTcp({ seq: 5001, ack: iss + 100, flags: ".", options: { timestamp: { value: 150, echo: d.options.timestamp?.value ?? 0 } } });
    // The handshake gave SRTT 0; one 50 ms sample moves it by 1/8 (RFC 6298 §2.3).
    expect(ep.rtt.srtt).toBeCloseTo(50 / 8);
  });

  it("drops an old duplicate by PAWS and ACKs it (RFC 7323 §5.3)", () => {
    const { h, ep, iss } = scaledConn();
    h.sendTcp({ seq: 5001, ack: iss, flags: ".", payload: pattern(10), options: { timestamp: { value: 200, echo: 0 } } });
    expect(h.nextTcp().ack).toBe(5011);
    h.sendTcp({ seq: 5011, ack: iss, flags: ".", payload: pattern(10), options: { timestamp: { value: 150, echo: 0 } } });
    expect(h.nextTcp().ack).toBe(5011);
    expect(h.stack.stats.tcp.pawsRejected).toBe(1);
    expect(ep.readableBytes).toBe(10);
    // Timestamps compare on the circle: a wrapped-around newer value is accepted.
    h.sendTcp({ seq: 5011, ack: iss, flags: ".", payload: pattern(10), options: { timestamp: { value: 0x80000000, echo: 0 } } });
    expect(h.nextTcp().ack).toBe(5021);
  });
});

describe("buffer sizes", () => {
  it("picks the window scale from the receive buffer set before connecting", () => {
    const h = new Harness();
    const ep = h.stack.newTcpEndpoint();
    expect(ep.setBufferSizes({ receive: 4 * 1024 * 1024, send: 1 })).toBeUndefined();
    expect(ep.sendBufferSize).toBe(4096);
    ep.connect({ address: REMOTE, port: 443 });
    expect(h.nextTcp().options.windowScale).toBe(7);
    expect(ep.setBufferSizes({ receive: 1000 })).toBeDefined();
  });

  it("passes a listener's buffer sizes to accepted connections", () => {
    const h = new Harness();
    const l = h.stack.newTcpEndpoint();
    l.bind({ port: 80 });
    l.listen(1);
    l.setBufferSizes({ receive: 100_000 });
    h.sendTcp({ seq: 1, flags: "S", options: { mss: 1460, windowScale: 0 } });
    const sa = h.nextTcp();
    expect(sa.options.windowScale).toBe(1);
    h.sendTcp({ seq: 2, ack: sa.seq + 1, flags: "." });
    expect((l.accept() as TcpEndpoint).receiveBufferSize).toBe(100_000);
  });
});
