import { describe, expect, it } from "vitest";
import { ErrConnectionRefused, ErrHostUnreachable } from "../../errors.js";
import { buildIcmpv4 } from "../../header/icmp.js";
import type { IPv4View } from "../../header/ipv4.js";
import { Harness, pattern, REMOTE } from "../../test-util.js";
import { TcpState } from "./state.js";
import { establish } from "./test-conn.js";

/** Injects an ICMPv4 error quoting `sent` (as a router or the peer would). */
function icmpAbout(h: Harness, sent: IPv4View, code: number, restOfHeader = 0): void {
  h.sendIp(1, buildIcmpv4({ type: 3, code, restOfHeader }, sent.bytes.subarray(0, 28)));
}

describe("ICMP errors for TCP (RFC 5461, RFC 5927)", () => {
  it("aborts a connect on a port unreachable that quotes our SYN", () => {
    const h = new Harness();
    const ep = h.stack.newTcpEndpoint();
    ep.connect({ address: REMOTE, port: 443 });
    const syn = h.nextIp() as IPv4View;
    icmpAbout(h, syn, 3);
    expect(ep.currentState).toBe(TcpState.Closed);
    expect(ep.takeError()).toBe(ErrConnectionRefused);
  });

  it("ignores an error whose quoted sequence number is not in flight", () => {
    const h = new Harness();
    const ep = h.stack.newTcpEndpoint();
    ep.connect({ address: REMOTE, port: 443 });
    const syn = h.nextIp() as IPv4View;
    const forged = Uint8Array.from(syn.bytes);
    forged[24] = (forged[24] ?? 0) ^ 0x80; // flip the top bit of the quoted SEQ
    h.sendIp(1, buildIcmpv4({ type: 3, code: 3, restOfHeader: 0 }, forged.subarray(0, 28)));
    expect(ep.currentState).toBe(TcpState.SynSent);
    expect(h.stack.stats.tcp.icmpIgnored).toBe(1);
  });

  it("keeps an established connection on an unreachable, reporting it if the connection times out", () => {
    const { h, ep } = establish({ tcp: { delayedAckMs: 0, maxRetries: 2 } });
    ep.write(pattern(100));
    const data = h.nextIp() as IPv4View;
    icmpAbout(h, data, 1);
    expect(ep.currentState).toBe(TcpState.Established);
    h.clock.advance(10_000);
    expect(ep.currentState).toBe(TcpState.Closed);
    expect(ep.takeError()).toBe(ErrHostUnreachable);
  });

  it("lowers the MSS on fragmentation needed and resends at the new size (RFC 1191)", () => {
    const { h, ep, iss } = establish({ tcp: { delayedAckMs: 0 } }, 1460);
    ep.write(pattern(3000));
    const first = h.nextIp() as IPv4View;
    h.link.drain();
    icmpAbout(h, first, 4, 576);
    expect(ep.sndMss).toBe(536);
    const resent = h.nextTcp();
    expect(resent.seq).toBe(iss);
    expect(resent.payload.length).toBe(536);
    expect(h.stack.stats.tcp.pmtuUpdates).toBe(1);
  });
});
