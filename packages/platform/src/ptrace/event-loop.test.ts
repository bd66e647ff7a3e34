// The tracer's wait and Node's event loop: application code running on the host must not stop
// timers, socket I/O or child processes of the Node process that traces it.
import { SYS_getppid } from "@runsc-ts/abi";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { socketPair } from "../unix-stream.js";
import { load, sleep, freshPlatformEachTest } from "./test-programs.js";

const platform = freshPlatformEachTest();

describe("the tracer's wait and the event loop", () => {
  it("fires timers while application code spins", async () => {
    const { ctx } = load(platform(), "bad", 8n);
    const running = ctx.switchToApp();
    const start = Date.now();
    await sleep(30);
    await sleep(30);
    expect(Date.now() - start).toBeGreaterThanOrEqual(55);
    ctx.interrupt();
    expect((await running).kind).toBe("interrupt");
  });

  it("delivers socket data while application code spins", async () => {
    const { ctx } = load(platform(), "bad", 8n);
    const running = ctx.switchToApp();
    const [a, b] = socketPair();
    const received = new Promise<string>((resolve) => {
      b.start({ data: (bytes) => resolve(Buffer.from(bytes).toString()), end: () => undefined });
    });
    setTimeout(() => a.write([Buffer.from("hello")], []), 10);
    expect(await received).toBe("hello");
    a.close();
    b.close();
    ctx.interrupt();
    await running;
  });

  it("delivers socket data while application code makes syscalls as fast as it can", async () => {
    const { ctx } = load(platform(), "getppid", 1_000_000n);
    let calls = 0;
    let stop = false;
    const loop = (async () => {
      for (;;) {
        const e = await ctx.switchToApp();
        if (e.kind !== "syscall" || e.nr !== SYS_getppid || stop) return;
        calls++;
        ctx.setReturn(1n);
      }
    })();
    const [a, b] = socketPair();
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      b.start({
        data: (bytes) => {
          got.push(Buffer.from(bytes).toString());
          if (got.join("").length >= 3) resolve();
        },
        end: () => undefined,
      });
    });
    for (const s of ["x", "y", "z"]) {
      await sleep(5);
      a.write([Buffer.from(s)], []);
    }
    await done;
    stop = true;
    await loop;
    expect(got.join("")).toBe("xyz");
    expect(calls).toBeGreaterThan(0);
    a.close();
    b.close();
  });

  it("runs eight address spaces at once, each answered in order", async () => {
    const run = async (i: number): Promise<number> => {
      const { ctx } = load(platform(), "getppid", 2000n);
      let calls = 0;
      for (;;) {
        const e = await ctx.switchToApp();
        if (e.kind !== "syscall") throw new Error(e.kind);
        if (e.nr !== SYS_getppid) {
          expect(e.args[0]).toBe(0n);  // the program checks every answer
          return calls;
        }
        calls++;
        ctx.setReturn(BigInt(1000 + i));
      }
    };
    expect(await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(run))).toEqual(Array(8).fill(2000));
  });

  it("keeps other contexts running while one waits for an asynchronous answer", async () => {
    const slow = load(platform(), "getppid", 5n).ctx;
    const fast = load(platform(), "getppid", 1_000_000n).ctx;
    let fastCalls = 0;
    let stop = false;
    const fastLoop = (async () => {
      while (!stop) {
        const e = await fast.switchToApp();
        if (e.kind !== "syscall" || e.nr !== SYS_getppid) return;
        fastCalls++;
        fast.setReturn(1n);
      }
    })();
    const during: number[] = [];
    for (;;) {
      const e = await slow.switchToApp();
      if (e.kind !== "syscall" || e.nr !== SYS_getppid) break;
      const before = fastCalls;
      await sleep(5);  // an answer that takes a while (an RPC, say)
      during.push(fastCalls - before);
      slow.setReturn(7n);
    }
    stop = true;
    await fastLoop;
    expect(during).toHaveLength(5);
    for (const n of during) expect(n).toBeGreaterThan(0);
  });

  it("leaves Node's own child processes to Node", async () => {
    const { ctx } = load(platform(), "getppid", 200n);
    const loop = (async () => {
      for (;;) {
        const e = await ctx.switchToApp();
        if (e.kind !== "syscall" || e.nr !== SYS_getppid) return e;
        ctx.setReturn(1n);
      }
    })();
    const { stdout } = await promisify(execFile)("/bin/echo", ["child"]);
    expect(stdout).toBe("child\n");
    expect((await loop).kind).toBe("syscall");
  });
});
