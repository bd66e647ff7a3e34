/**
 * The loopback link: every frame written is delivered back to the same NIC, deferred through
 * the clock (delay 0) so a send never re-enters the stack's receive path.
 */
import type { Clock } from "../clock.js";
import type { LinkDispatcher, LinkEndpoint } from "./endpoint.js";

export class LoopbackEndpoint implements LinkEndpoint {
  readonly headerKind = "none" as const;
  readonly linkAddress = undefined;
  private dispatcher: LinkDispatcher | undefined;

  constructor(
    private readonly clock: Clock,
    readonly mtu = 65536,
  ) {}

  attach(dispatcher: LinkDispatcher | undefined): void {
    this.dispatcher = dispatcher;
  }

  writePackets(frames: readonly Uint8Array[]): number {
    for (const f of frames) this.clock.schedule(0, () => this.dispatcher?.deliverFrame(f));
    return frames.length;
  }
}
