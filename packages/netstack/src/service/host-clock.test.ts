// HostClock on a fake "now" (the event loop is real: callbacks run from setImmediate/setTimeout).
import { describe, expect, it } from "vitest";
import { HostClock } from "./host-clock.js";

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("HostClock", () => {
  it("never runs a callback inside schedule, and runs delay-0 work in order on a later turn", async () => {
    const clock = new HostClock();
    const ran: number[] = [];
    clock.schedule(0, () => ran.push(1));
    clock.schedule(0, () => {
      ran.push(2);
      clock.schedule(0, () => ran.push(4));
    });
    clock.schedule(0, () => ran.push(3));
    expect(ran).toEqual([]);
    await turn();
    await turn();
    expect(ran).toEqual([1, 2, 3, 4]);
    expect(clock.pendingCount).toBe(0);
  });

  it("runs a delayed callback only once its time has come on the host clock", async () => {
    let now = 1000;
    const clock = new HostClock(() => now);
    const ran: string[] = [];
    clock.schedule(5, () => ran.push("5ms"));
    clock.schedule(1, () => ran.push("1ms"));
    await sleep(10);
    expect(ran).toEqual([]); // the fake clock has not moved
    now += 2;
    await sleep(10);
    expect(ran).toEqual(["1ms"]);
    now += 10;
    await sleep(10);
    expect(ran).toEqual(["1ms", "5ms"]);
  });

  it("cancels, and stops for good", async () => {
    const clock = new HostClock();
    const ran: string[] = [];
    const cancel = clock.schedule(0, () => ran.push("cancelled"));
    cancel();
    clock.schedule(1, () => ran.push("stopped"));
    clock.stop();
    await sleep(10);
    expect(ran).toEqual([]);
    clock.schedule(0, () => ran.push("after stop"));
    await sleep(5);
    expect(ran).toEqual([]);
  });
});
