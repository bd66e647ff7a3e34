/**
 * Clocks the kernel reads. Everything that stamps a time (file times, timers later) takes a
 * `Clock`, so tests inject a `ManualClock` and never depend on wall-clock time.
 */

/** A point in time: seconds since the epoch and nanoseconds within the second (0..999999999). */
export interface Timespec {
  readonly sec: number;
  readonly nsec: number;
}

export interface Clock {
  /** CLOCK_REALTIME now. */
  now(): Timespec;
}

/** The host's CLOCK_REALTIME, at nanosecond resolution as far as Node reports it. */
export const realtimeClock: Clock = {
  now(): Timespec {
    const ms = Date.now();
    const ns = process.hrtime.bigint() % 1_000_000n;
    return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 + Number(ns) };
  },
};

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private current: Timespec;

  constructor(start: Timespec = { sec: 1_700_000_000, nsec: 0 }) {
    this.current = start;
  }

  now(): Timespec {
    return this.current;
  }

  set(t: Timespec): void {
    this.current = t;
  }

  /** Advances by `ns` nanoseconds. */
  advance(ns: number): void {
    const total = this.current.nsec + ns;
    this.current = { sec: this.current.sec + Math.floor(total / 1e9), nsec: total % 1e9 };
  }
}
