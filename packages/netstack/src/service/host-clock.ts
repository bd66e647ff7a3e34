/**
 * The netstack process's clock: host monotonic time (`performance.now()`) and the event loop.
 * The stack itself never reads time; the process creates one HostClock and injects it, exactly
 * where tests inject a ManualClock.
 *
 * Model: every callback sits in one ManualClock-style heap (reused, so ordering rules are the
 * same as in tests: due time, then scheduling order). One host timer is armed for the earliest
 * due callback; callbacks due now (delay 0: loopback delivery, deferred sends) run from a
 * single setImmediate, so a burst of them costs one event-loop turn, and I/O callbacks still
 * get their turn between bursts (a pump runs only what is due when it starts, plus what those
 * callbacks schedule for a time already past).
 */
import { ManualClock, type Cancel, type Clock } from "../clock.js";

export class HostClock implements Clock {
  private readonly heap: ManualClock;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private pumping = false;
  private unrefd = false;
  /** After stop(), nothing runs again. */
  private stopped = false;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.heap = new ManualClock(now());
  }

  nowMs(): number {
    return this.now();
  }

  schedule(delayMs: number, fn: () => void): Cancel {
    // The heap's own time lags between pumps: express the due time relative to it.
    const lag = this.now() - this.heap.nowMs();
    const cancel = this.heap.schedule(Math.max(0, delayMs) + lag, fn);
    if (!this.pumping) this.arm();
    return cancel;
  }

  /** Callbacks still pending. */
  get pendingCount(): number {
    return this.heap.pendingCount;
  }

  /** Host timers stop keeping the process alive (the RPC connection does that). */
  unref(): void {
    this.unrefd = true;
    this.timer?.unref();
    this.immediate?.unref();
  }

  /** Drops every pending callback and host timer. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.timerDue = Infinity;
    this.stopped = true;
  }

  private pump(): void {
    if (this.stopped) return;
    this.pumping = true;
    try {
      this.heap.advance(Math.max(0, this.now() - this.heap.nowMs()));
    } finally {
      this.pumping = false;
      this.arm();
    }
  }

  private arm(): void {
    if (this.stopped) return;
    const due = this.heap.nextDue();
    if (due === undefined) return;
    const delay = due - this.now();
    if (delay <= 0) {
      if (this.immediate === undefined) {
        this.immediate = setImmediate(() => {
          this.immediate = undefined;
          this.pump();
        });
        if (this.unrefd) this.immediate.unref();
      }
      return;
    }
    if (this.timer !== undefined && this.timerDue <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = due;
    // setTimeout rounds down to whole milliseconds; round up so the pump finds the callback due.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.pump();
    }, Math.ceil(delay));
    if (this.unrefd) this.timer.unref();
  }
}
