/**
 * End to end: two stacks joined by channel links on one manual clock, a TCP connection
 * between them carrying 1 MiB, first over a clean wire, then through seeded loss,
 * duplication and reordering, proving retransmission recovers every byte.
 */
import { describe, expect, it } from "vitest";
import { IPAddress, LinkAddress } from "./address.js";
import { ManualClock } from "./clock.js";
import { isNetError } from "./errors.js";
import { ChannelEndpoint, connectChannels } from "./link/channel.js";
import type { LinkEndpoint } from "./link/endpoint.js";
import { ImpairedEndpoint, type ImpairmentOptions } from "./link/impairment.js";
import { LINKTYPE_RAW, PcapWriter, SnifferEndpoint } from "./link/pcap.js";
import { Stack } from "./stack/stack.js";
import { pattern } from "./test-util.js";
import type { TcpEndpoint } from "./transport/tcp/endpoint.js";
import { TcpState } from "./transport/tcp/state.js";

const A = IPAddress.v4(192, 168, 0, 1);
const B = IPAddress.v4(192, 168, 0, 2);

interface World {
  clock: ManualClock;
  a: Stack;
  b: Stack;
  linkA: LinkEndpoint;
  linkB: LinkEndpoint;
}

function world(impair?: Omit<ImpairmentOptions, "seed">): World {
  const clock = new ManualClock();
  const wireA = new ChannelEndpoint();
  const wireB = new ChannelEndpoint();
  connectChannels(clock, wireA, wireB, 5);
  const linkA = impair ? new ImpairedEndpoint(wireA, clock, { seed: 11, ...impair }) : wireA;
  const linkB = impair ? new ImpairedEndpoint(wireB, clock, { seed: 12, ...impair }) : wireB;
  const a = new Stack({ clock, seed: 1 });
  const b = new Stack({ clock, seed: 2 });
  expect(a.createNic(1, linkA)).toBeUndefined();
  expect(b.createNic(1, linkB)).toBeUndefined();
  expect(a.addAddress(1, A, 24)).toBeUndefined();
  expect(b.addAddress(1, B, 24)).toBeUndefined();
  return { clock, a, b, linkA, linkB };
}

/** Connects A -> B:80 and returns both ends once established. */
function connect(w: World): { client: TcpEndpoint; server: TcpEndpoint; listener: TcpEndpoint } {
  const listener = w.b.newTcpEndpoint();
  expect(listener.bind({ port: 80 })).toBeUndefined();
  expect(listener.listen(16)).toBeUndefined();
  const client = w.a.newTcpEndpoint();
  expect(client.connect({ address: B, port: 80 })).toBeUndefined();
  let server: TcpEndpoint | undefined;
  for (let t = 0; t < 120_000 && server === undefined; t += 10) {
    w.clock.advance(10);
    const s = listener.accept();
    if (!isNetError(s)) server = s;
  }
  expect(server).toBeDefined();
  expect(client.currentState).toBe(TcpState.Established);
  return { client, server: server as TcpEndpoint, listener };
}

/** Streams `data` from client to server, driving the clock; returns what the server read. */
function transfer(w: World, client: TcpEndpoint, server: TcpEndpoint, data: Uint8Array, limitMs: number): Uint8Array {
  const got = new Uint8Array(data.length);
  let sent = 0;
  let received = 0;
  let eof = false;
  for (let t = 0; t < limitMs && !eof; t++) {
    if (sent < data.length) {
      const n = client.write(data.subarray(sent, Math.min(sent + 65536, data.length)));
      if (!isNetError(n)) sent += n;
      if (sent === data.length) client.shutdown({ write: true });
    }
    for (;;) {
      const r = server.read(65536);
      if (isNetError(r)) break;
      if (r.length === 0) {
        eof = true;
        break;
      }
      got.set(r, received);
      received += r.length;
    }
    w.clock.advance(1);
  }
  expect(eof).toBe(true);
  expect(received).toBe(data.length);
  return got;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe("two stacks over a wire", () => {
  it("handshake, 1 MiB transfer, and an orderly close", () => {
    const w = world();
    const { client, server } = connect(w);
    const data = pattern(1 << 20, 99);
    const got = transfer(w, client, server, data, 60_000);
    expect(sameBytes(got, data)).toBe(true);
    expect(server.currentState).toBe(TcpState.CloseWait);
    server.close();
    w.clock.advance(100);
    expect(server.currentState).toBe(TcpState.Closed);
    expect(client.currentState).toBe(TcpState.TimeWait);
    w.clock.advance(60_000);
    expect(client.currentState).toBe(TcpState.Closed);
    expect(w.a.stats.tcp.retransmits).toBe(0);
  });

  it("recovers every byte of 1 MiB through 3% loss, duplication and reordering", () => {
    const w = world({ loss: 0.03, duplicate: 0.01, reorder: 0.02, reorderDelayMs: 7 });
    const { client, server } = connect(w);
    const data = pattern(1 << 20, 5);
    const got = transfer(w, client, server, data, 600_000);
    expect(sameBytes(got, data)).toBe(true);
    const imp = w.linkA as ImpairedEndpoint;
    expect(imp.stats.dropped).toBeGreaterThan(0);
    expect(w.a.stats.tcp.retransmits).toBeGreaterThan(0);
    expect(w.a.stats.tcp.fastRetransmits).toBeGreaterThan(0);
    server.close();
    w.clock.advance(130_000);
    expect(server.currentState).toBe(TcpState.Closed);
    expect(client.currentState).toBe(TcpState.Closed);
  });

  it("moves data both ways at once (full duplex) and half-closes", () => {
    const w = world();
    const { client, server } = connect(w);
    const up = pattern(200_000, 1);
    const down = pattern(150_000, 2);
    const gotUp = new Uint8Array(up.length);
    const gotDown = new Uint8Array(down.length);
    let su = 0, sd = 0, ru = 0, rd = 0;
    for (let t = 0; t < 30_000 && (ru < up.length || rd < down.length); t++) {
      if (su < up.length) {
        const n = client.write(up.subarray(su));
        if (!isNetError(n)) su += n;
      }
      if (sd < down.length) {
        const n = server.write(down.subarray(sd));
        if (!isNetError(n)) sd += n;
      }
      const r1 = server.read();
      if (!isNetError(r1)) {
        gotUp.set(r1, ru);
        ru += r1.length;
      }
      const r2 = client.read();
      if (!isNetError(r2)) {
        gotDown.set(r2, rd);
        rd += r2.length;
      }
      w.clock.advance(1);
    }
    expect(sameBytes(gotUp, up)).toBe(true);
    expect(sameBytes(gotDown, down)).toBe(true);
    // Half-close: the client stops sending but still receives.
    client.shutdown({ write: true });
    w.clock.advance(50);
    expect(server.read()).toEqual(new Uint8Array(0));
    expect(client.currentState).toBe(TcpState.FinWait2);
    expect(server.write(Uint8Array.of(1, 2, 3))).toBe(3);
    w.clock.advance(50);
    expect([...(client.read() as Uint8Array)]).toEqual([1, 2, 3]);
  });

  it("recovers from 10% loss in both directions (SACK, timestamps, window scaling on)", () => {
    const w = world({ loss: 0.1 });
    const { client, server } = connect(w);
    expect(client.sackPermitted && client.tsEnabled && client.wsEnabled).toBe(true);
    const data = pattern(512 * 1024, 17);
    const got = transfer(w, client, server, data, 3_600_000);
    expect(sameBytes(got, data)).toBe(true);
  });
});

describe("two stacks over Ethernet", () => {
  it("resolves neighbors with ARP and NDP and carries TCP over IPv4 and IPv6", () => {
    const clock = new ManualClock();
    const wa = new ChannelEndpoint({ headerKind: "ethernet", linkAddress: LinkAddress.parse("02:00:00:00:00:0a") as LinkAddress });
    const wb = new ChannelEndpoint({ headerKind: "ethernet", linkAddress: LinkAddress.parse("02:00:00:00:00:0b") as LinkAddress });
    connectChannels(clock, wa, wb, 1);
    const a = new Stack({ clock, seed: 1 });
    const b = new Stack({ clock, seed: 2 });
    a.createNic(1, wa);
    b.createNic(1, wb);
    a.addAddress(1, A, 24);
    b.addAddress(1, B, 24);
    const a6 = IPAddress.parse("fd00::a") as IPAddress;
    const b6 = IPAddress.parse("fd00::b") as IPAddress;
    a.addAddress(1, a6, 64);
    b.addAddress(1, b6, 64);
    const listener = b.newTcpEndpoint();
    listener.bind({ port: 80 });
    listener.listen(4);
    for (const dst of [B, b6]) {
      const c = a.newTcpEndpoint();
      expect(c.connect({ address: dst, port: 80 })).toBeUndefined();
      clock.advance(20);
      const s = listener.accept() as TcpEndpoint;
      expect(isNetError(s)).toBe(false);
      const data = pattern(100_000, dst.version);
      const out = new Uint8Array(data.length);
      let sent = 0;
      let got = 0;
      for (let t = 0; t < 5000 && got < data.length; t++) {
        const n = c.write(data.subarray(sent));
        if (!isNetError(n)) sent += n;
        const r = s.read();
        if (!isNetError(r)) {
          out.set(r, got);
          got += r.length;
        }
        clock.advance(1);
      }
      expect(sameBytes(out, data)).toBe(true);
    }
    expect(a.nic(1)?.arp?.lookup(B)?.key).toBe("02:00:00:00:00:0b");
    expect(a.nic(1)?.ndp?.lookup(b6)?.key).toBe("02:00:00:00:00:0b");
    expect(b.nic(1)?.ndp?.lookup(a6)?.key).toBe("02:00:00:00:00:0a");
  });
});

describe("determinism", () => {
  function tracedRun(): Uint8Array {
    const chunks: Uint8Array[] = [];
    const clock = new ManualClock();
    const wa = new ChannelEndpoint();
    const wb = new ChannelEndpoint();
    connectChannels(clock, wa, wb, 2);
    const pcap = new PcapWriter((b) => chunks.push(b), clock, LINKTYPE_RAW);
    const la = new SnifferEndpoint(new ImpairedEndpoint(wa, clock, { seed: 5, loss: 0.05, reorder: 0.05, reorderDelayMs: 3 }), pcap);
    const a = new Stack({ clock, seed: 1 });
    const b = new Stack({ clock, seed: 2 });
    a.createNic(1, la);
    b.createNic(1, wb);
    a.addAddress(1, A, 24);
    b.addAddress(1, B, 24);
    const { client, server } = connect({ clock, a, b, linkA: la, linkB: wb });
    transfer({ clock, a, b, linkA: la, linkB: wb }, client, server, pattern(200_000, 8), 600_000);
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  it("produces a byte-identical packet trace from the same seeds", () => {
    const first = tracedRun();
    const second = tracedRun();
    expect(first.length).toBeGreaterThan(200_000);
    expect(sameBytes(first, second)).toBe(true);
  });
});

