/**
 * Readiness notification for endpoints (the netstack's equivalent of a wait queue). An
 * endpoint reports a mask of ready events; interested parties subscribe and are called when
 * any event in their mask may have become ready. The bit values match poll(2) so the sentry's
 * epoll bridge can pass them through, but they are the netstack's own constants.
 */
export const EVENT_IN = 0x1;
export const EVENT_OUT = 0x4;
export const EVENT_ERR = 0x8;
export const EVENT_HUP = 0x10;
export const EVENT_RDHUP = 0x2000;

export type EventMask = number;

interface Entry {
  mask: EventMask;
  fn: (ready: EventMask) => void;
}

export class WaiterQueue {
  private readonly entries = new Set<Entry>();

  /** Calls `fn` when an event in `mask` is notified; returns an unsubscribe function. */
  subscribe(mask: EventMask, fn: (ready: EventMask) => void): () => void {
    const e: Entry = { mask, fn };
    this.entries.add(e);
    return () => {
      this.entries.delete(e);
    };
  }

  /** Notifies subscribers whose mask intersects `events`. */
  notify(events: EventMask): void {
    for (const e of [...this.entries]) if ((e.mask & events) !== 0) e.fn(events & e.mask);
  }

  get size(): number {
    return this.entries.size;
  }
}
