/**
 * Hostile input: random segments thrown at a listener and at established connections
 * must never throw, never grow memory without bound, and never leave the stack unusable.
 */
import { describe, expect, it } from "vitest";
import type { TcpOptions } from "../../header/tcp.js";
import { Prng } from "../../random.js";
import { Harness, pattern, REMOTE } from "../../test-util.js";
import { TcpState } from "./state.js";

const FLAGS = ["S", "S.", ".", "P.", "F.", "R", "R.", "FS", "SR", "FRP.", ""];

describe("TCP under random hostile segments", () => {
  it("survives 20,000 random segments with bounded state", () => {
    const h = new Harness({ tcp: { synBacklog: 64 } });
    const l = h.stack.newTcpEndpoint();
    l.bind({ port: 80 });
    l.listen(16);
    const client = h.stack.newTcpEndpoint();
    client.connect({ address: REMOTE, port: 443 });
    const syn = h.nextTcp();
    h.sendTcp({ srcPort: 443, dstPort: syn.srcPort, seq: 1, ack: syn.seq + 1, flags: "S." });
    client.write(pattern(5000));
    const rng = new Prng(1234);
    for (let i = 0; i < 20_000; i++) {
      const toClient = rng.next() < 0.5;
      const seqBase = toClient ? 2 : 1000;
      const options: TcpOptions | undefined =
        rng.next() < 0.3
          ? {
              ...(rng.next() < 0.5 ? { mss: rng.intBetween(0, 65536) } : {}),
              ...(rng.next() < 0.5 ? { windowScale: rng.intBetween(0, 256) } : {}),
              ...(rng.next() < 0.5 ? { timestamp: { value: rng.nextU32(), echo: rng.nextU32() } } : {}),
              ...(rng.next() < 0.5 ? { sackPermitted: true } : {}),
              ...(rng.next() < 0.3 ? { sackBlocks: [{ start: rng.nextU32(), end: rng.nextU32() }] } : {}),
            }
          : undefined;
      h.sendTcp({
        srcPort: toClient ? 443 : 1024 + rng.intBetween(0, 200),
        dstPort: toClient ? syn.srcPort : 80,
        seq: rng.next() < 0.5 ? seqBase + rng.intBetween(0, 100_000) : rng.nextU32(),
        ack: rng.next() < 0.5 ? syn.seq + rng.intBetween(0, 6000) : rng.nextU32(),
        flags: FLAGS[rng.intBetween(0, FLAGS.length)] ?? ".",
        window: rng.intBetween(0, 65536),
        payload: pattern(rng.intBetween(0, 1400), i),
        ...(options !== undefined ? { options } : {}),
      });
      if (i % 100 === 0) {
        h.link.drain();
        h.clock.advance(rng.intBetween(0, 2000));
      }
    }
    h.link.drain();
    expect(l.synQueue.size).toBeLessThanOrEqual(64);
    expect(l.acceptQueue.length).toBeLessThanOrEqual(16);
    expect(h.stack.tcp.demux.size).toBeLessThan(200);
    if (client.currentState !== TcpState.Closed) {
      expect(client.rcvBuffer.readable + client.rcvBuffer.outOfOrderBytes).toBeLessThanOrEqual(client.rcvBuffer.capacity + 8);
    }
    // Everything times out eventually and the stack still works.
    h.clock.advance(3_600_000);
    h.link.drain();
    expect(h.stack.tcp.demux.size).toBeLessThanOrEqual(1 + l.acceptQueue.length);
    h.sendTcp({ srcPort: 60000, dstPort: 80, seq: 7, flags: "S" });
    expect(h.nextTcp().flags).toBe("S.");
  });
});
