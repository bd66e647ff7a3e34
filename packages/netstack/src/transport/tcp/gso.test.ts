// GSO bursts: a sender whose link takes large TCP segments (an offloading TAP in production)
// hands over full segments in bursts; the "kernel" here cuts them as Linux would, and the
// receiver sees ordinary segments. Loss is applied after the cut, so recovery must work per
// segment even though the segments left as bursts.
import { describe, expect, it } from "vitest";
import { IPAddress, LinkAddress } from "../../address.js";
import { ManualClock } from "../../clock.js";
import { isNetError } from "../../errors.js";
import { ETHERNET_HEADER_SIZE, buildEthernet, ETHERTYPE_IPV4 } from "../../header/ethernet.js";
import { buildIPv4, IPv4View, IP_PROTOCOL_TCP } from "../../header/ipv4.js";
import { buildTcp, TcpView } from "../../header/tcp.js";
import { ChannelEndpoint } from "../../link/channel.js";
import type { GsoInfo, LinkDispatcher, LinkEndpoint } from "../../link/endpoint.js";
import { ImpairedEndpoint } from "../../link/impairment.js";
import { Stack } from "../../stack/stack.js";
import { pattern } from "../../test-util.js";
import type { TcpEndpoint } from "./endpoint.js";

const MAC_A = LinkAddress.parse("02:00:00:00:00:0a") as LinkAddress;
const MAC_B = LinkAddress.parse("02:00:00:00:00:0b") as LinkAddress;
const A = IPAddress.v4(10, 0, 0, 1);
const B = IPAddress.v4(10, 0, 0, 2);

/** Cuts a GSO frame into MSS-sized frames with full checksums, as the kernel does. */
function segment(frame: Uint8Array, gso: GsoInfo): Uint8Array[] {
  const ip = IPv4View.parse(frame.subarray(ETHERNET_HEADER_SIZE)) as IPv4View;
  const tcp = TcpView.parse(ip.payload) as TcpView;
  const options = ip.payload.subarray(20, tcp.dataOffset);
  const data = tcp.payload;
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += gso.mss) {
    const last = off + gso.mss >= data.length;
    const flags = last ? tcp.flags : tcp.flags & ~0x09; // PSH and FIN only on the last
    const seg = buildTcp(
      { sourcePort: tcp.sourcePort, destinationPort: tcp.destinationPort, seq: (tcp.seq + off) >>> 0, ack: tcp.ack, flags, window: tcp.window, options },
      data.subarray(off, Math.min(off + gso.mss, data.length)),
      ip.source,
      ip.destination,
    );
    const packet = buildIPv4({ id: ip.id, ttl: ip.ttl, protocol: IP_PROTOCOL_TCP, source: ip.source, destination: ip.destination }, seg);
    out.push(buildEthernet({ destination: MAC_B, source: MAC_A, etherType: ETHERTYPE_IPV4 }, packet));
  }
  return out;
}

/** A link that takes GSO frames and cuts them before passing them on. */
class GsoLink implements LinkEndpoint {
  readonly headerKind = "ethernet" as const;
  readonly mtu = 1500;
  readonly gsoMaxBytes = 64_000;
  bursts = 0;
  burstSegments = 0;
  fullChecksums = 0;
  badInfo = 0;
  constructor(
    readonly linkAddress: LinkAddress,
    private readonly inner: LinkEndpoint,
  ) {}
  attach(d: LinkDispatcher | undefined): void {
    this.inner.attach(d);
  }
  writePackets(frames: readonly Uint8Array[], gso?: GsoInfo): number {
    if (gso === undefined) return this.inner.writePackets(frames) as number;
    for (const f of frames) {
      // The partial checksum holds the pseudo-header sum only: a full check must fail.
      const ip = IPv4View.parse(f.subarray(ETHERNET_HEADER_SIZE)) as IPv4View;
      if ((TcpView.parse(ip.payload) as TcpView).checksumValid(ip.source, ip.destination)) this.fullChecksums++;
      if (gso.ipVersion !== 4 || gso.ipHeaderLength !== 20) this.badInfo++;
      const segs = segment(f, gso);
      this.bursts++;
      this.burstSegments += segs.length;
      this.inner.writePackets(segs);
    }
    return frames.length;
  }
}

function transfer(loss: number): { got: Uint8Array; link: GsoLink; sender: Stack } {
  const clock = new ManualClock();
  const wireA = new ChannelEndpoint({ headerKind: "ethernet", linkAddress: MAC_A });
  const wireB = new ChannelEndpoint({ headerKind: "ethernet", linkAddress: MAC_B });
  const la = new ImpairedEndpoint(wireA, clock, { seed: 5, loss });
  const link = new GsoLink(MAC_A, la);
  wireA.forward = (f) => clock.schedule(0.5, () => wireB.inject(f));
  wireB.forward = (f) => clock.schedule(0.5, () => wireA.inject(f));
  const sender = new Stack({ clock, seed: 1, tcp: { sendBufferSize: 1 << 20, receiveBufferSize: 1 << 20 } });
  const receiver = new Stack({ clock, seed: 2, tcp: { sendBufferSize: 1 << 20, receiveBufferSize: 1 << 20 } });
  sender.createNic(1, link);
  receiver.createNic(1, wireB);
  sender.addAddress(1, A, 24);
  receiver.addAddress(1, B, 24);
  const listener = receiver.newTcpEndpoint();
  listener.bind({ port: 80 });
  listener.listen(1);
  const client = sender.newTcpEndpoint();
  client.connect({ address: B, port: 80 });
  let server: TcpEndpoint | undefined;
  for (let i = 0; i < 100 && server === undefined; i++) {
    clock.advance(1);
    const s = listener.accept();
    if (!isNetError(s)) server = s;
  }
  if (server === undefined) throw new Error("no connection");
  const data = pattern(1 << 20, 3);
  const got = new Uint8Array(data.length);
  let sent = 0;
  let received = 0;
  let t = 0;
  for (; t < 120_000 && received < data.length; t++) {
    if (sent < data.length) {
      const n = client.write(data.subarray(sent, sent + 65536));
      if (!isNetError(n)) sent += n;
    }
    for (;;) {
      const r = server.read(1 << 20);
      if (isNetError(r) || r.length === 0) break;
      got.set(r, received);
      received += r.length;
    }
    clock.advance(1);
  }
  expect(received).toBe(data.length);
  expect(got.every((b, i) => b === data[i])).toBe(true);
  return { got, link, sender };
}

describe("GSO bursts", () => {
  it("carry several full segments each, with a partial checksum, and deliver every byte", () => {
    const { link, sender } = transfer(0);
    expect(link.bursts).toBeGreaterThan(10);
    expect(link.burstSegments / link.bursts).toBeGreaterThan(2);
    expect([link.fullChecksums, link.badInfo]).toEqual([0, 0]);
    expect(sender.stats.tcp.retransmits).toBe(0);
  });

  it("recover per segment from 2% loss after the cut (SACK and RACK see segments, not bursts)", () => {
    const { link, sender } = transfer(0.02);
    expect(link.bursts).toBeGreaterThan(0);
    expect(sender.stats.tcp.retransmits).toBeGreaterThan(0);
    expect(sender.stats.tcp.timeouts).toBeLessThan(5);
  });
});
