import { describe, expect, it } from "vitest";
import { EAGAIN, EPOLLIN, EPOLLOUT, ERESTARTSYS } from "@runsc-ts/abi";
import { Interrupter, WaitEntry, WaitQueue, blockOn, waitForEvent } from "./waiter.js";

describe("WaitQueue", () => {
  it("notifies only entries whose mask intersects the events", () => {
    const q = new WaitQueue();
    const seen: string[] = [];
    const a = new WaitEntry((m) => seen.push(`a${m}`));
    const b = new WaitEntry((m) => seen.push(`b${m}`));
    q.register(a, EPOLLIN);
    q.register(b, EPOLLOUT);
    q.notify(EPOLLIN);
    expect(seen).toEqual([`a${EPOLLIN}`]);
    q.unregister(a);
    q.notify(EPOLLIN | EPOLLOUT);
    expect(seen).toEqual([`a${EPOLLIN}`, `b${EPOLLOUT}`]);
    expect(q.interest()).toBe(EPOLLOUT);
  });

  it("tolerates entries unregistering during notify", () => {
    const q = new WaitQueue();
    const calls: number[] = [];
    const b = new WaitEntry(() => calls.push(2));
    const a = new WaitEntry(() => {
      calls.push(1);
      q.unregister(b);
    });
    q.register(a, EPOLLIN);
    q.register(b, EPOLLIN);
    q.notify(EPOLLIN);
    expect(calls).toEqual([1]);
  });
});

describe("blockOn", () => {
  it("returns at once when the attempt succeeds", async () => {
    const q = new WaitQueue();
    expect(await blockOn(q, EPOLLIN, () => 7)).toBe(7);
    expect(q.size).toBe(0);
  });

  it("sleeps until notified, then retries", async () => {
    const q = new WaitQueue();
    let ready = false;
    const p = blockOn(q, EPOLLIN, () => (ready ? "data" : EAGAIN));
    await Promise.resolve();
    expect(q.size).toBe(1);
    ready = true;
    q.notify(EPOLLIN);
    expect(await p).toBe("data");
    expect(q.size).toBe(0);
  });

  it("ignores notifications for other events", async () => {
    const q = new WaitQueue();
    let ready = false;
    let settled = false;
    const p = blockOn(q, EPOLLIN, () => (ready ? 1 : EAGAIN)).then((v) => { settled = true; return v; });
    await new Promise((r) => setTimeout(r, 1));
    q.notify(EPOLLOUT);
    await new Promise((r) => setTimeout(r, 1));
    expect(settled).toBe(false);
    ready = true;
    q.notify(EPOLLIN);
    expect(await p).toBe(1);
  });

  it("returns ERESTARTSYS when interrupted while blocked", async () => {
    const q = new WaitQueue();
    const intr = new Interrupter();
    const p = blockOn(q, EPOLLIN, () => EAGAIN, intr);
    await new Promise((r) => setTimeout(r, 1));
    intr.interrupt();
    expect(await p).toBe(ERESTARTSYS);
    expect(q.size).toBe(0);
  });

  it("prefers readiness over a pending interrupt", async () => {
    const q = new WaitQueue();
    const intr = new Interrupter();
    intr.interrupt();
    expect(await blockOn(q, EPOLLIN, () => "ready", intr)).toBe("ready");
    expect(await blockOn(q, EPOLLIN, () => EAGAIN, intr)).toBe(ERESTARTSYS);
    intr.clear();
    expect(intr.interrupted).toBe(false);
  });
});

describe("waitForEvent", () => {
  it("resolves ready on an event and interrupted on interrupt", async () => {
    const q = new WaitQueue();
    const intr = new Interrupter();
    const a = waitForEvent(q, EPOLLIN, intr);
    q.notify(EPOLLIN);
    expect(await a).toBe("ready");
    const b = waitForEvent(q, EPOLLIN, intr);
    intr.interrupt();
    expect(await b).toBe("interrupted");
    expect(q.size).toBe(0);
  });
});
