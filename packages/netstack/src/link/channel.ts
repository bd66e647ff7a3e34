/**
 * A channel link for tests: outbound frames are queued for the test to read (or handed to a
 * `forward` function, to join two stacks), inbound frames are injected by the test.
 */
import type { LinkAddress } from "../address.js";
import type { Clock } from "../clock.js";
import type { LinkDispatcher, LinkEndpoint, LinkHeaderKind } from "./endpoint.js";

export interface ChannelOptions {
  mtu?: number;
  headerKind?: LinkHeaderKind;
  linkAddress?: LinkAddress;
  /** Frames beyond this many queued are dropped (counted in `dropped`). Default 65536. */
  queueLimit?: number;
}

export class ChannelEndpoint implements LinkEndpoint {
  readonly mtu: number;
  readonly headerKind: LinkHeaderKind;
  readonly linkAddress: LinkAddress | undefined;
  private readonly queueLimit: number;
  private dispatcher: LinkDispatcher | undefined;
  private readonly queue: Uint8Array[] = [];
  /** When set, outbound frames go here instead of the queue. */
  forward: ((frame: Uint8Array) => void) | undefined;
  /** Outbound frames dropped because the queue was full. */
  dropped = 0;

  constructor(opts: ChannelOptions = {}) {
    this.mtu = opts.mtu ?? 1500;
    this.headerKind = opts.headerKind ?? "none";
    this.linkAddress = opts.linkAddress;
    this.queueLimit = opts.queueLimit ?? 65536;
  }

  attach(dispatcher: LinkDispatcher | undefined): void {
    this.dispatcher = dispatcher;
  }

  writePackets(frames: readonly Uint8Array[]): number {
    let n = 0;
    for (const f of frames) {
      if (this.forward !== undefined) {
        this.forward(f);
      } else if (this.queue.length >= this.queueLimit) {
        this.dropped++;
        continue;
      } else {
        this.queue.push(f);
      }
      n++;
    }
    return n;
  }

  /** Takes the oldest outbound frame, if any. */
  read(): Uint8Array | undefined {
    return this.queue.shift();
  }

  /** Takes every queued outbound frame. */
  drain(): Uint8Array[] {
    return this.queue.splice(0, this.queue.length);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Delivers an inbound frame to the attached NIC (dropped if none is attached). */
  inject(frame: Uint8Array): void {
    this.dispatcher?.deliverFrame(frame);
  }
}

/**
 * Joins two channel endpoints into a wire: whatever one writes the other receives, after
 * `latencyMs` on the clock (0 still defers delivery, so a stack never re-enters itself).
 */
export function connectChannels(clock: Clock, a: ChannelEndpoint, b: ChannelEndpoint, latencyMs = 0): void {
  a.forward = (f) => clock.schedule(latencyMs, () => b.inject(f));
  b.forward = (f) => clock.schedule(latencyMs, () => a.inject(f));
}
