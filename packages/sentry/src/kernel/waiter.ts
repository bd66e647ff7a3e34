/**
 * Wait queues: how a blocking operation sleeps until an object becomes ready.
 *
 * The model (gVisor's `waiter` package, reshaped for one JS thread):
 *
 * - An object that can block (a pipe, later sockets, eventfds, futexes) owns a `WaitQueue`.
 *   When its readiness changes it calls `queue.notify(mask)` with the events that may now be
 *   ready (EPOLLIN, EPOLLOUT, EPOLLHUP, ...).
 * - A waiter is a `WaitEntry` registered on the queue for an event mask. `notify` calls every
 *   entry whose mask intersects the notified events, synchronously, in registration order.
 *   epoll will register entries directly; blocking syscalls use `blockOn`.
 * - A task owns one `Interrupter`. Signal delivery calls `interrupt()`, which wakes whatever
 *   the task is awaiting; the blocked operation returns ERESTARTSYS and the task's run loop
 *   decides between restarting the syscall and EINTR (SA_RESTART), as Linux does.
 *
 * Concurrency: everything runs on the kernel thread. `notify` never awaits, so callbacks run
 * before the notifier's next statement; `blockOn` re-checks readiness after registering, so an
 * event can never fall between the check and the sleep.
 */
import { EAGAIN, ERESTARTSYS, type LinuxError } from "@runsc-ts/abi";

/** A set of EPOLL* event bits. */
export type EventMask = number;

/** One registration on a wait queue. */
export class WaitEntry {
  constructor(readonly callback: (events: EventMask) => void) {}
}

export class WaitQueue {
  private readonly entries = new Map<WaitEntry, EventMask>();

  /** Registers `entry` for `mask`; registering again replaces the mask. */
  register(entry: WaitEntry, mask: EventMask): void {
    this.entries.set(entry, mask);
  }

  unregister(entry: WaitEntry): void {
    this.entries.delete(entry);
  }

  /** Calls every entry whose mask intersects `mask` with the intersecting events. */
  notify(mask: EventMask): void {
    // Snapshot: a callback may unregister itself or others.
    for (const [entry, want] of [...this.entries]) {
      const hit = want & mask;
      if (hit !== 0 && this.entries.has(entry)) entry.callback(hit);
    }
  }

  /** The union of every registered mask (what some waiter is interested in). */
  interest(): EventMask {
    let m = 0;
    for (const mask of this.entries.values()) m |= mask;
    return m;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * A task's interruption source. `interrupt()` is sticky until `clear()`: an interrupt that
 * arrives while the task is not blocked still stops its next wait, as a pending signal does.
 */
export class Interrupter {
  private pending = false;
  private readonly listeners = new Set<() => void>();

  get interrupted(): boolean {
    return this.pending;
  }

  /**
   * Whether the task is blocked in an interruptible wait (/proc's "S" state): every such wait
   * listens for interrupts while it lasts, and only then.
   */
  get waiting(): boolean {
    return this.listeners.size > 0;
  }

  /** Marks the task interrupted and wakes its current wait, if any. */
  interrupt(): void {
    this.pending = true;
    for (const l of [...this.listeners]) l();
  }

  /** Clears the pending interrupt (the task run loop does this once the signal is handled). */
  clear(): void {
    this.pending = false;
  }

  /** Calls `listener` on each interrupt until the returned function is called. */
  onInterrupt(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * Runs `attempt` until it returns something other than EAGAIN, sleeping on `queue` for `mask`
 * between tries. Returns the attempt's result, or ERESTARTSYS if `interrupter` fires first.
 * Readiness wins over interruption: after a wake-up the attempt runs once more before the
 * interrupt is looked at, as Linux's pipe_read checks for data before signal_pending.
 *
 * An attempt that makes partial progress (a large pipe write) keeps its progress in its
 * closure and returns EAGAIN to wait for more; the caller turns ERESTARTSYS into the partial
 * count.
 */
export async function blockOn<T>(
  queue: WaitQueue,
  mask: EventMask,
  attempt: () => T | LinuxError | Promise<T | LinuxError>,
  interrupter?: Interrupter,
): Promise<T | LinuxError> {
  let r = await attempt();
  if (r !== EAGAIN) return r;
  let fired = false;
  let wake: (() => void) | undefined;
  const entry = new WaitEntry(() => {
    fired = true;
    wake?.();
  });
  queue.register(entry, mask);
  const stopListening = interrupter?.onInterrupt(() => wake?.());
  try {
    for (;;) {
      fired = false;
      r = await attempt();
      if (r !== EAGAIN) return r;
      if (interrupter?.interrupted === true) return ERESTARTSYS;
      if (!fired) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    }
  } finally {
    queue.unregister(entry);
    stopListening?.();
  }
}

/** Resolves on the first event in `mask` on `queue` ("ready") or on interruption ("interrupted"). */
export function waitForEvent(queue: WaitQueue, mask: EventMask, interrupter?: Interrupter): Promise<"ready" | "interrupted"> {
  if (interrupter?.interrupted === true) return Promise.resolve("interrupted");
  return new Promise((resolve) => {
    const entry = new WaitEntry(() => done("ready"));
    const stop = interrupter?.onInterrupt(() => done("interrupted"));
    queue.register(entry, mask);
    function done(why: "ready" | "interrupted"): void {
      queue.unregister(entry);
      stop?.();
      resolve(why);
    }
  });
}

/**
 * Sleeps `ms` milliseconds (negative: until interrupted). Resolves "done", or "interrupted" as
 * soon as `interrupter` fires (at once if it already has).
 */
export function sleepInterruptible(ms: number, interrupter: Interrupter): Promise<"done" | "interrupted"> {
  if (interrupter.interrupted) return Promise.resolve("interrupted");
  return new Promise((resolve) => {
    const timer = ms >= 0 ? setTimeout(() => finish("done"), Math.min(ms, 2 ** 31 - 1)) : undefined;
    const stop = interrupter.onInterrupt(() => finish("interrupted"));
    function finish(why: "done" | "interrupted"): void {
      clearTimeout(timer);
      stop();
      resolve(why);
    }
  });
}
