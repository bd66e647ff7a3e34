// Test helpers: the static programs of native/programs, loaded into a fresh address space, and
// a check that no stub process outlives a test.
import { readdirSync, readFileSync } from "node:fs";
import { nativeBuildDir } from "../native.js";
import type { AppEvent } from "../platform.js";
import type { PtraceAddressSpace } from "./address-space.js";
import type { PtraceContext } from "./context.js";
import { afterEach, beforeEach, expect } from "vitest";
import { PtracePlatform } from "./ptrace-platform.js";
import { loadStaticElf } from "./static-elf.js";

export type ProgramName = "getppid" | "echo" | "regs" | "bad" | "fork";

const images = new Map<string, Uint8Array>();

export function programImage(name: ProgramName): Uint8Array {
  let image = images.get(name);
  if (image === undefined) {
    image = readFileSync(`${nativeBuildDir}/programs/${name}`);
    images.set(name, image);
  }
  return image;
}

/** A new address space running `name` with %rdi = `rdi`, stopped at its entry. */
export function load(p: PtracePlatform, name: ProgramName, rdi = 0n): { as: PtraceAddressSpace; ctx: PtraceContext } {
  const { addressSpace: as, context: ctx } = p.newAddressSpace();
  loadStaticElf(as, ctx, programImage(name), { rdi });
  return { as, ctx };
}

/** Runs until the next event that is not a syscall answered by `answer` (undefined: stop). */
export async function until(
  ctx: PtraceContext,
  answer: (nr: number, args: readonly bigint[]) => bigint | undefined,
): Promise<AppEvent> {
  for (;;) {
    const e = await ctx.switchToApp();
    if (e.kind !== "syscall") return e;
    const r = answer(e.nr, e.args);
    if (r === undefined) return e;
    ctx.setReturn(r);
  }
}

/** Pids of processes in process group `pgid` (live or zombie): the stubs of a platform. */
export function processesInGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;  // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses; split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) out.push(Number(name));
  }
  return out;
}

/** Resolves after `ms` on a real timer. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a fresh platform before each test of the file and, after each, closes it and checks
 * that none of its stub processes is left. Returns the current test's platform.
 */
export function freshPlatformEachTest(): () => PtracePlatform {
  let p: PtracePlatform | undefined;
  beforeEach(() => {
    p = PtracePlatform.start();
  });
  afterEach(() => {
    if (p === undefined) return;
    const zygote = p.zygote;
    p.close();
    p = undefined;
    expect(processesInGroup(zygote)).toEqual([]);
  });
  return () => {
    if (p === undefined) throw new Error("the platform exists only inside a test");
    return p;
  };
}
