import { SYS_clone, SYS_exit, SYS_exit_group, SYS_fork, SYS_getppid, SYS_write } from "@runsc-ts/abi";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { AppEvent } from "../platform.js";
import type { PtraceContext } from "./context.js";
import { REG } from "./regs.js";
import { load, freshPlatformEachTest } from "./test-programs.js";

const platform = freshPlatformEachTest();

function syscallOf(e: AppEvent): { nr: number; args: readonly bigint[] } {
  if (e.kind !== "syscall") throw new Error(`expected a syscall, got ${e.kind}`);
  return e;
}

describe("fork", () => {
  it("makes a copy-on-write address space whose context continues from the parent's registers", async () => {
    const { as, ctx } = load(platform(), "fork", 1n);
    const fork = syscallOf(await ctx.switchToApp());
    expect(fork.nr).toBe(SYS_fork);
    const { addressSpace: childAs, context: child } = as.fork(ctx);
    expect(childAs.pid).not.toBe(as.pid);
    expect(child.regs[REG.rip]).toBe(ctx.regs[REG.rip]);
    ctx.setReturn(2n);  // the child's (virtual) pid
    child.setReturn(0n);

    // Each writes its own marker byte from the same virtual address.
    const [pw, cw] = await Promise.all([ctx.switchToApp(), child.switchToApp()]);
    const parentWrite = syscallOf(pw);
    const childWrite = syscallOf(cw);
    expect(parentWrite.nr).toBe(SYS_write);
    expect(childWrite.args[1]).toBe(parentWrite.args[1]);
    const byte = new Uint8Array(1);
    as.read(parentWrite.args[1]!, byte);
    expect(String.fromCharCode(byte[0]!)).toBe("p");
    childAs.read(childWrite.args[1]!, byte);
    expect(String.fromCharCode(byte[0]!)).toBe("c");
    ctx.setReturn(1n);
    child.setReturn(1n);
    const [pe, ce] = await Promise.all([ctx.switchToApp(), child.switchToApp()]);
    expect([syscallOf(pe).nr, syscallOf(pe).args[0]]).toEqual([SYS_exit_group, 1n]);
    expect([syscallOf(ce).nr, syscallOf(ce).args[0]]).toEqual([SYS_exit_group, 0n]);
    expect(platform().addressSpaces.size).toBe(2);
    childAs.destroy();
    expect(childAs.destroyed).toBe(true);
    expect(child.dead).toBe(true);
    expect(platform().addressSpaces.size).toBe(1);
  });

  it("keeps memory mapped after the fork private to each side", () => {
    const { addressSpace: as, context: ctx } = platform().newAddressSpace();
    expect(as.mmap(0x20000000n, 0x1000n, 3, 0x32)).toBe(0x20000000n);
    as.write(0x20000000n, Uint8Array.of(1));
    const { addressSpace: child } = as.fork(ctx);
    child.write(0x20000000n, Uint8Array.of(2));
    const a = new Uint8Array(1);
    const b = new Uint8Array(1);
    as.read(0x20000000n, a);
    child.read(0x20000000n, b);
    expect([a[0], b[0]]).toEqual([1, 2]);
    expect(readFileSync(`/proc/${child.pid}/maps`, "utf8")).toMatch(/^20000000-20001000 rw-p /m);
  });
});

describe("threads", () => {
  it("runs a second context in the same address space, concurrently", async () => {
    const { as, ctx } = load(platform(), "fork", 2n);
    const clone = syscallOf(await ctx.switchToApp());
    expect(clone.nr).toBe(SYS_clone);
    const thread = as.cloneThread(ctx);
    thread.regs[REG.rsp] = clone.args[1]!;
    thread.setReturn(0n);
    ctx.setReturn(101n);

    const runThread = async (t: PtraceContext): Promise<number> => {
      const e = syscallOf(await t.switchToApp());
      t.release();  // the thread's exit(0): its host thread ends
      return e.nr;
    };
    const runMain = async (c: PtraceContext): Promise<{ polls: number; exit: readonly bigint[] }> => {
      let polls = 0;
      for (;;) {
        const e = syscallOf(await c.switchToApp());
        if (e.nr !== SYS_getppid) return { polls, exit: e.args };
        polls++;
        c.setReturn(1n);
      }
    };
    const [threadNr, main] = await Promise.all([runThread(thread), runMain(ctx)]);
    expect(threadNr).toBe(SYS_exit);
    expect(main.exit[0]).toBe(7n);
    expect(thread.dead).toBe(true);
  });

  it("shares memory between contexts of one address space", () => {
    const { addressSpace: as, context: ctx } = platform().newAddressSpace();
    const t = as.cloneThread(ctx);
    expect(readFileSync(`/proc/${t.tid}/maps`, "utf8")).toBe(readFileSync(`/proc/${as.pid}/maps`, "utf8"));
    as.mmap(0x30000000n, 0x1000n, 3, 0x32);
    expect(readFileSync(`/proc/${t.tid}/maps`, "utf8")).toMatch(/^30000000-30001000 rw-p /m);
  });
});
