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
import { checksumFold, pseudoHeaderSum } from "../header/checksum.js";
import { buildEthernet, ETHERTYPE_IPV4 } from "../header/ethernet.js";
import { buildIPv4 } from "../header/ipv4.js";
import { buildTcp, TcpView } from "../header/tcp.js";
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

  it("with virtio headers: completes partial checksums, drops a header that does not fit, prefixes writes", async () => {
    const [fa, fb] = native.socketpair(C.SOCK_SEQPACKET | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK);
    const got: Uint8Array[] = [];
    const tap = new TapEndpoint({ fd: fa, linkAddress: LinkAddress.parse("02:00:00:00:00:04") as LinkAddress, vnetHeader: true });
    try {
      expect(tap.offloads).toBe(true);
      tap.attach({ deliverFrame: (f) => got.push(f.slice()) });
      // A TCP segment as Linux hands over a CHECKSUM_PARTIAL packet: the field holds the
      // pseudo-header sum; csum_start is the TCP header, csum_offset 16.
      const src = IPAddress.v4(10, 0, 0, 1);
      const dst = IPAddress.v4(10, 0, 0, 2);
      const seg = buildTcp({ sourcePort: 1, destinationPort: 2, seq: 5, ack: 0, flags: 0x18, window: 100 }, new Uint8Array(3000).fill(9), src, dst);
      const pseudo = checksumFold(pseudoHeaderSum(src, dst, 6, seg.length));
      seg[16] = pseudo >> 8;
      seg[17] = pseudo & 0xff;
      const ip = buildIPv4({ id: 1, ttl: 64, protocol: 6, source: src, destination: dst }, seg);
      const eth = buildEthernet({ destination: tap.linkAddress, source: LinkAddress.parse("02:00:00:00:00:05") as LinkAddress, etherType: ETHERTYPE_IPV4 }, ip);
      const hdr = (flags: number, gso: number, start: number, offset: number): Uint8Array => Uint8Array.of(flags, gso, 0, 0, 0, 0, start & 0xff, start >> 8, offset & 0xff, offset >> 8);
      native.writePackets(fb, [Buffer.concat([hdr(1, 1, 14 + 20, 16), eth]), Buffer.concat([hdr(1, 0, 14 + 20, 9000), eth]), hdr(0, 0, 0, 0).subarray(0, 4)]);
      await until(() => tap.stats.rxBadVnet + tap.stats.rxRunts === 2);
      expect(got.length).toBe(1);
      const v = TcpView.parse((got[0] as Uint8Array).subarray(14 + 20));
      expect(v?.checksumValid(src, dst)).toBe(true);
      expect(tap.stats.rxOffloaded).toBe(1);
      // Writes carry a zero virtio header in front.
      tap.writePackets([Uint8Array.of(1, 2, 3)]);
      const buf = new Uint8Array(64);
      const lengths = new Int32Array(1);
      await until(() => native.readPackets(fb, buf, 64, lengths) === 1);
      expect([...buf.subarray(0, lengths[0])]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
    } finally {
      tap.close();
      native.close(fb);
    }
  });
});
