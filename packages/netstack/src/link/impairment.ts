/**
 * A seeded impairment wrapper around a link's outbound direction: loss, duplication, delay
 * with jitter, and reordering (a reordered frame is held back by an extra delay, letting
 * later frames overtake it), and optionally a bottleneck: a drop-tail queue drained at a fixed
 * rate, so a transfer meets a real link's capacity instead of an infinitely fast wire. All
 * randomness comes from a seeded `Prng` and all delay from the injected clock, so a test run
 * is exactly reproducible. Wrap each side to impair both ways.
 */
import type { Clock } from "../clock.js";
import { ETHERNET_HEADER_SIZE, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "../header/ethernet.js";
import { IP_PROTOCOL_TCP, IPv4View } from "../header/ipv4.js";
import { IPv6View } from "../header/ipv6.js";
import { TcpView } from "../header/tcp.js";
import { Prng } from "../random.js";
import type { LinkDispatcher, LinkEndpoint, LinkHeaderKind } from "./endpoint.js";

export interface ImpairmentOptions {
  seed: number;
  /** Probability in [0, 1] that a frame is dropped. */
  loss?: number;
  /** Probability that a frame is sent twice. */
  duplicate?: number;
  /** Probability that a frame is held back by `reorderDelayMs` extra. */
  reorder?: number;
  reorderDelayMs?: number;
  /** Fixed one-way delay. */
  delayMs?: number;
  /** Uniform extra delay in [0, jitterMs). Note: jitter alone can also reorder. */
  jitterMs?: number;
  /**
   * Which frames `loss` applies to (default: all). `isTcpData` drops only segments that carry
   * payload, as "1% of data segments dropped" asks, leaving handshakes and ACKs alone.
   */
  lossFilter?: (frame: Uint8Array) => boolean;
  /** Bottleneck rate in bytes per millisecond (125 = 1 Mbit/s); default unlimited. */
  rateBytesPerMs?: number;
  /** Bytes the bottleneck queue holds before it drops new frames (drop-tail); default 1.5 MB. */
  queueBytes?: number;
}

/**
 * Whether `frame` (bare IP for a "none" link, Ethernet II for "ethernet") is a TCP segment with
 * payload. Unparsable frames are not.
 */
export function isTcpData(frame: Uint8Array, headerKind: LinkHeaderKind = "none"): boolean {
  let ip = frame;
  if (headerKind === "ethernet") {
    if (frame.length < ETHERNET_HEADER_SIZE) return false;
    const type = ((frame[12] ?? 0) << 8) | (frame[13] ?? 0);
    if (type !== ETHERTYPE_IPV4 && type !== ETHERTYPE_IPV6) return false;
    ip = frame.subarray(ETHERNET_HEADER_SIZE);
  }
  let segment: Uint8Array | undefined;
  if ((ip[0] ?? 0) >> 4 === 4) {
    const v4 = IPv4View.parse(ip);
    if (v4 !== undefined && v4.protocol === IP_PROTOCOL_TCP && v4.fragmentOffset === 0) segment = v4.payload;
  } else {
    const v6 = IPv6View.parse(ip);
    if (v6 !== undefined && v6.nextHeader === IP_PROTOCOL_TCP) segment = v6.payload;
  }
  if (segment === undefined) return false;
  const tcp = TcpView.parse(segment);
  return tcp !== undefined && tcp.payload.length > 0;
}

export interface ImpairmentStats {
  sent: number;
  /** Frames lost at random (`loss`). */
  dropped: number;
  duplicated: number;
  reordered: number;
  /** Frames the full bottleneck queue refused. */
  queueDrops: number;
}

export class ImpairedEndpoint implements LinkEndpoint {
  private readonly rng: Prng;
  readonly stats: ImpairmentStats = { sent: 0, dropped: 0, duplicated: 0, reordered: 0, queueDrops: 0 };
  /** When the bottleneck finishes sending what it has queued (absolute clock time). */
  private busyUntil = 0;
  /** Set to false to pass frames through untouched (e.g. during a handshake). */
  enabled = true;

  constructor(
    private readonly inner: LinkEndpoint,
    private readonly clock: Clock,
    private readonly opts: ImpairmentOptions,
  ) {
    this.rng = new Prng(opts.seed);
  }

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
    this.inner.attach(dispatcher);
  }

  writePackets(frames: readonly Uint8Array[]): number {
    for (const f of frames) {
      this.stats.sent++;
      if (!this.enabled) {
        this.emit(f, 0);
        continue;
      }
      if ((this.opts.loss ?? 0) > 0 && (this.opts.lossFilter?.(f) ?? true) && this.rng.next() < (this.opts.loss ?? 0)) {
        this.stats.dropped++;
        continue;
      }
      const copies = this.rng.next() < (this.opts.duplicate ?? 0) ? 2 : 1;
      if (copies === 2) this.stats.duplicated++;
      for (let i = 0; i < copies; i++) {
        let delay = (this.opts.delayMs ?? 0) + this.rng.next() * (this.opts.jitterMs ?? 0);
        if (this.rng.next() < (this.opts.reorder ?? 0)) {
          this.stats.reordered++;
          delay += this.opts.reorderDelayMs ?? 1;
        }
        this.emit(f, delay);
      }
    }
    return frames.length;
  }

  private emit(frame: Uint8Array, delay: number): void {
    const rate = this.opts.rateBytesPerMs;
    if (rate !== undefined) {
      // Serialize through the bottleneck first: departure = when the queue ahead has drained
      // plus this frame's own transmission time; propagation delay comes after.
      const now = this.clock.nowMs();
      const backlog = Math.max(0, this.busyUntil - now) * rate;
      if (backlog + frame.length > (this.opts.queueBytes ?? 1_500_000)) {
        this.stats.queueDrops++;
        return;
      }
      this.busyUntil = Math.max(this.busyUntil, now) + frame.length / rate;
      this.clock.schedule(this.busyUntil - now + delay, () => this.inner.writePackets([frame]));
      return;
    }
    if (delay <= 0) {
      this.inner.writePackets([frame]);
      return;
    }
    this.clock.schedule(delay, () => this.inner.writePackets([frame]));
  }
}
