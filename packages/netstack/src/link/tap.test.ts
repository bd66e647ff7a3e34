// TapEndpoint over real descriptors. A SOCK_SEQPACKET socket pair behaves like the two ends of a
// TAP wire (one read or write per frame), so two stacks, each on the host clock, talk Ethernet
// through the same native calls a TAP device gets. The device itself is opened in e2e/netstack.
import { createHash, randomBytes } from "node:crypto";
import { native } from "@runsc-ts/platform";
import { describe, expect, it } from "vitest";
import { IPAddress, LinkAddress } from "../address.js";
import { isNetError } from "../errors.js";
import { HostClock } from "../service/host-clock.js";
import { Stack } from "../stack/stack.js";
import type { TcpEndpoint } from "../transport/tcp/endpoint.js";
import { EVENT_IN } from "../waiter.js";
import { TapEndpoint } from "./tap.js";

const C = native.constants;

async function until(pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function pair(): { a: TapEndpoint; b: TapEndpoint; clock: HostClock; sa: Stack; sb: Stack; close(): void } {
  const [fa, fb] = native.socketpair(C.SOCK_SEQPACKET | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK);
  const a = new TapEndpoint({ fd: fa, linkAddress: LinkAddress.parse("02:00:00:00:00:01") as LinkAddress, batch: 8 });
  const b = new TapEndpoint({ fd: fb, linkAddress: LinkAddress.parse("02:00:00:00:00:02") as LinkAddress, batch: 8 });
  const clock = new HostClock();
  const sa = new Stack({ clock, seed: 1 });
  const sb = new Stack({ clock, seed: 2 });
  sa.createNic(1, a);
  sb.createNic(1, b);
  sa.addAddress(1, IPAddress.v4(10, 9, 0, 1), 24);
  sb.addAddress(1, IPAddress.v4(10, 9, 0, 2), 24);
  return {
    a,
    b,
    clock,
    sa,
    sb,
    close() {
      a.close();
      b.close();
      clock.stop();
    },
  };
}

describe("TapEndpoint", () => {
  it("carries a TCP connection with ARP between two stacks, byte for byte", async () => {
    const w = pair();
    try {
      const listener = w.sb.newTcpEndpoint("ipv4");
      expect(listener.bind({ port: 80 })).toBeUndefined();
      expect(listener.listen(4)).toBeUndefined();
      const client = w.sa.newTcpEndpoint("ipv4");
      expect(client.connect({ address: IPAddress.v4(10, 9, 0, 2), port: 80 })).toBeUndefined();
      let server: TcpEndpoint | undefined;
      await until(() => {
        const s = listener.accept();
        if (!isNetError(s)) server = s;
        return server !== undefined;
      });
      const payload = randomBytes(4 << 20);
      const hash = createHash("sha256");
      let received = 0;
      let sent = 0;
      const srv = server as TcpEndpoint;
      const drain = (): void => {
        for (;;) {
          const d = srv.read(1 << 20);
          if (isNetError(d) || d.length === 0) return;
          hash.update(d);
          received += d.length;
        }
      };
      srv.waiter.subscribe(EVENT_IN, drain);
      const push = (): void => {
        while (sent < payload.length) {
          const n = client.write(payload.subarray(sent, sent + 65536));
          if (isNetError(n) || n === 0) return;
          sent += n;
        }
      };
      client.waiter.subscribe(0xffff, push);
      push();
      await until(() => received === payload.length);
      expect(hash.digest("hex")).toBe(createHash("sha256").update(payload).digest("hex"));
      expect(w.a.stats.txFrames).toBeGreaterThan(payload.length / 1500);
      // Every frame written arrived; frames the socket refused (its buffer full) were dropped
      // and retransmitted by TCP, as on a wire.
      expect(w.b.stats.rxFrames).toBe(w.a.stats.txFrames);
      expect(w.sa.stats.tcp.retransmits).toBeGreaterThanOrEqual(w.a.stats.txDropped > 0 ? 1 : 0);
      expect(w.sa.stats.arp.requestsSent).toBeGreaterThan(0);
    } finally {
      w.close();
    }
  });

  it("drops runts and reports end of file once", async () => {
    const [fa, fb] = native.socketpair(C.SOCK_SEQPACKET | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK);
    const errors: string[] = [];
    const frames: number[] = [];
    const tap = new TapEndpoint({ fd: fa, linkAddress: LinkAddress.parse("02:00:00:00:00:03") as LinkAddress, onError: (e) => errors.push(e.message) });
    tap.attach({ deliverFrame: (f) => frames.push(f.length) });
    native.writePackets(fb, [new Uint8Array(5), new Uint8Array(60)]);
    await until(() => frames.length === 1);
    expect(tap.stats.rxRunts).toBe(1);
    native.close(fb);
    await until(() => errors.length > 0);
    expect(errors[0]).toMatch(/end of file/);
    tap.close();
    tap.close();
    expect(tap.writePackets([new Uint8Array(60)])).toBe(0);
    expect(tap.stats.txDropped).toBe(1);
  });
});
