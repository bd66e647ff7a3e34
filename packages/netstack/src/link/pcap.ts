/**
 * A pcap writer (the classic libpcap file format: a 24-byte global header, then a 16-byte
 * record header per packet) and a sniffer link that records both directions of another link.
 * Output goes to a byte sink callback, never to the filesystem directly.
 */
import type { Clock } from "../clock.js";
import type { LinkDispatcher, LinkEndpoint } from "./endpoint.js";

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;

export class PcapWriter {
  constructor(
    private readonly sink: (bytes: Uint8Array) => void,
    private readonly clock: Clock,
    linkType: number,
    private readonly snapLen = 65535,
  ) {
    const h = new DataView(new ArrayBuffer(24));
    h.setUint32(0, 0xa1b2c3d4, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setUint32(16, snapLen, true);
    h.setUint32(20, linkType, true);
    sink(new Uint8Array(h.buffer));
  }

  write(packet: Uint8Array): void {
    const ms = this.clock.nowMs();
    const sec = Math.floor(ms / 1000);
    const usec = Math.floor((ms - sec * 1000) * 1000);
    const cap = Math.min(packet.length, this.snapLen);
    const rec = new Uint8Array(16 + cap);
    const v = new DataView(rec.buffer);
    v.setUint32(0, sec, true);
    v.setUint32(4, usec, true);
    v.setUint32(8, cap, true);
    v.setUint32(12, packet.length, true);
    rec.set(packet.subarray(0, cap), 16);
    this.sink(rec);
  }
}

/** Wraps a link and records every frame in and out to a `PcapWriter`. */
export class SnifferEndpoint implements LinkEndpoint {
  constructor(
    private readonly inner: LinkEndpoint,
    private readonly pcap: PcapWriter,
  ) {}

  get mtu(): number {
    return this.inner.mtu;
  }
  get headerKind(): LinkEndpoint["headerKind"] {
    return this.inner.headerKind;
  }
  get linkAddress(): LinkEndpoint["linkAddress"] {
    return this.inner.linkAddress;
  }

  attach(dispatcher: LinkDispatcher | undefined): void {
    if (dispatcher === undefined) {
      this.inner.attach(undefined);
      return;
    }
    this.inner.attach({
      deliverFrame: (f) => {
        this.pcap.write(f);
        dispatcher.deliverFrame(f);
      },
    });
  }

  writePackets(frames: readonly Uint8Array[]): ReturnType<LinkEndpoint["writePackets"]> {
    for (const f of frames) this.pcap.write(f);
    return this.inner.writePackets(frames);
  }
}
