/**
 * Time is injected: the netstack reads no clock and creates no timer of its own. Everything
 * time-dependent (RTO, delayed ACK, TIME-WAIT, ARP retries, reassembly timeouts, link delay)
 * goes through a `Clock`. Production passes one backed by the host's monotonic clock and event
 * loop; tests pass a `ManualClock` and advance it explicitly.
 *
 * Concurrency: single-threaded. A scheduled callback runs on the same thread as everything
 * else, never re-entrantly inside `schedule`.
 */

/** Cancels a scheduled callback; idempotent, and harmless after the callback ran. */
export type Cancel = () => void;

export interface Clock {
  /** Monotonic time in milliseconds (may be fractional). */
  nowMs(): number;
  /** Runs `fn` once, `delayMs` (>= 0) from now. */
  schedule(delayMs: number, fn: () => void): Cancel;
}

interface Pending {
  due: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A deterministic clock for tests: time moves only in `advance`, which runs every due
 * callback in (due time, scheduling order) and lets callbacks schedule more work that also
 * runs if it falls inside the advanced interval. Pending callbacks sit in a binary heap;
 * cancelled ones are discarded lazily when they reach the top.
 */
export class ManualClock implements Clock {
  private now = 0;
  private order = 0;
  private heap: Pending[] = [];
  private live = 0;

  constructor(startMs = 0) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  schedule(delayMs: number, fn: () => void): Cancel {
    const p: Pending = { due: this.now + Math.max(0, delayMs), order: this.order++, fn, cancelled: false };
    this.push(p);
    this.live++;
    return () => {
      // An entry that already ran is marked cancelled, so this only counts live ones.
      if (p.cancelled) return;
      p.cancelled = true;
      this.live--;
    };
  }

  /** Number of callbacks still waiting. */
  get pendingCount(): number {
    return this.live;
  }

  /** Due time of the earliest pending callback, if any. */
  nextDue(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.due;
  }

  /** Advances time by `ms`, running callbacks as their due time is reached. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (top === undefined || top.due > target) break;
      this.pop();
      this.live--;
      top.cancelled = true; // ran: a later cancel() is a no-op
      this.now = Math.max(this.now, top.due);
      top.fn();
    }
    this.now = target;
  }

  /** Runs callbacks due now (delay 0) without moving time. */
  runDue(): void {
    this.advance(0);
  }

  /**
   * Runs until nothing is pending or `limitMs` of time has passed, jumping straight to each
   * due time. Returns the time advanced.
   */
  runUntilIdle(limitMs = 3_600_000): number {
    const start = this.now;
    for (;;) {
      const due = this.nextDue();
      if (due === undefined || due - start > limitMs) break;
      this.advance(due - this.now);
    }
    return this.now - start;
  }

  private dropCancelled(): void {
    while (this.heap[0]?.cancelled === true) this.pop();
  }

  private before(a: Pending, b: Pending): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order);
  }

  private push(p: Pending): void {
    const h = this.heap;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pp = h[parent] as Pending;
      if (!this.before(p, pp)) break;
      h[i] = pp;
      i = parent;
    }
    h[i] = p;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      const lv = h[l];
      const rv = h[r];
      if (lv !== undefined && this.before(lv, best)) {
        m = l;
        best = lv;
      }
      if (rv !== undefined && this.before(rv, best)) m = r;
      if (m === i) break;
      h[i] = h[m] as Pending;
      i = m;
    }
    h[i] = last;
  }
}

/**
 * A restartable one-shot timer on a `Clock` (RTO, delayed ACK, TIME-WAIT...). Arming an armed
 * timer reschedules it.
 */
export class Timer {
  private cancel: Cancel | undefined;
  private dueMs: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
  ) {}

  arm(delayMs: number): void {
    this.disarm();
    this.dueMs = this.clock.nowMs() + delayMs;
    this.cancel = this.clock.schedule(delayMs, () => {
      this.cancel = undefined;
      this.dueMs = undefined;
      this.fn();
    });
  }

  disarm(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.dueMs = undefined;
  }

  get armed(): boolean {
    return this.cancel !== undefined;
  }

  /** Absolute due time, if armed. */
  get due(): number | undefined {
    return this.dueMs;
  }
}
