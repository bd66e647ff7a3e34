import { describe, expect, it } from "vitest";
import { ManualClock, Timer } from "./clock.js";

describe("ManualClock", () => {
  it("runs callbacks in due order, ties in scheduling order", () => {
    const c = new ManualClock();
    const log: string[] = [];
    c.schedule(20, () => log.push("b"));
    c.schedule(10, () => log.push("a"));
    c.schedule(20, () => log.push("c"));
    c.advance(15);
    expect(log).toEqual(["a"]);
    expect(c.nowMs()).toBe(15);
    c.advance(5);
    expect(log).toEqual(["a", "b", "c"]);
  });

  it("shows callbacks the time they were due, and runs work they schedule within the interval", () => {
    const c = new ManualClock();
    const seen: number[] = [];
    c.schedule(10, () => {
      seen.push(c.nowMs());
      c.schedule(10, () => seen.push(c.nowMs()));
    });
    c.advance(100);
    expect(seen).toEqual([10, 20]);
    expect(c.nowMs()).toBe(100);
  });

  it("never runs a cancelled callback", () => {
    const c = new ManualClock();
    let ran = false;
    const cancel = c.schedule(1, () => (ran = true));
    cancel();
    c.advance(10);
    expect(ran).toBe(false);
    expect(c.pendingCount).toBe(0);
  });

  it("runs until idle by jumping to each due time", () => {
    const c = new ManualClock();
    let n = 0;
    const tick = (): void => {
      if (++n < 5) c.schedule(1000, tick);
    };
    c.schedule(1000, tick);
    expect(c.runUntilIdle()).toBe(5000);
    expect(n).toBe(5);
  });
});

describe("Timer", () => {
  it("re-arming replaces the previous deadline", () => {
    const c = new ManualClock();
    let fired = 0;
    const t = new Timer(c, () => fired++);
    t.arm(10);
    c.advance(5);
    t.arm(10);
    c.advance(6);
    expect(fired).toBe(0);
    expect(t.due).toBe(15);
    c.advance(4);
    expect(fired).toBe(1);
    expect(t.armed).toBe(false);
  });
});
