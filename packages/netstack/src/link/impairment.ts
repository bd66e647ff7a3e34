/**
 * A seeded impairment wrapper around a link's outbound direction: loss, duplication, delay
 * with jitter, and reordering (a reordered frame is held back by an extra delay, letting
 * later frames overtake it). All randomness comes from a seeded `Prng` and all delay from the
 * injected clock, so a test run is exactly reproducible. Wrap each side to impair both ways.
 */
import type { Clock } from "../clock.js";
import { Prng } from "../random.js";
import type { LinkDispatcher, LinkEndpoint } from "./endpoint.js";

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
}

export interface ImpairmentStats {
  sent: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

export class ImpairedEndpoint implements LinkEndpoint {
  private readonly rng: Prng;
  readonly stats: ImpairmentStats = { sent: 0, dropped: 0, duplicated: 0, reordered: 0 };
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
      if (this.rng.next() < (this.opts.loss ?? 0)) {
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
    if (delay <= 0) {
      this.inner.writePackets([frame]);
      return;
    }
    this.clock.schedule(delay, () => this.inner.writePackets([frame]));
  }
}
