import { describe, expect, it } from "vitest";
import * as abi from "./index.js";
import { SYSCALL_MAX, SYS_clone3, SYS_getppid, SYS_read, syscallName, syscallNumber } from "./index.js";
import { cIntegers } from "./test-cc.js";

const table = Object.entries(abi)
  .filter((e): e is [string, number] => e[0].startsWith("SYS_") && /[a-z]/.test(e[0]) && typeof e[1] === "number")
  .map(([k, nr]) => [k.slice(4), nr] as const);

describe("syscall numbers", () => {
  it("agree with the C library's <sys/syscall.h>, compiled at test time", () => {
    const c = cIntegers(["sys/syscall.h"], {
      read: "SYS_read", write: "SYS_write", getppid: "SYS_getppid", clone: "SYS_clone",
      clone3: "SYS_clone3", execve: "SYS_execve", rt_sigreturn: "SYS_rt_sigreturn",
      exit_group: "SYS_exit_group", openat2: "SYS_openat2", ptrace: "SYS_ptrace",
      process_vm_readv: "SYS_process_vm_readv", seccomp: "SYS_seccomp", close_range: "SYS_close_range",
    });
    for (const [name, nr] of c) expect(`${name}=${syscallNumber(name)}`).toBe(`${name}=${nr}`);
    expect(SYS_read).toBe(0);
    expect(BigInt(SYS_getppid)).toBe(c.get("getppid"));
    expect(BigInt(SYS_clone3)).toBe(c.get("clone3"));
  });

  it("agree with every SYS_ name the C library defines", () => {
    const exprs = Object.fromEntries(table.map(([name]) => [name, `SYS_${name}`]));
    // glibc may lag the kernel headers: ask only for the names it has.
    const src = table.map(([name]) => `#ifndef SYS_${name}\n#define SYS_${name} (-1)\n#endif`).join("\n");
    const c = cIntegers(["sys/syscall.h"], exprs, src);
    let compared = 0;
    for (const [name, nr] of table) {
      const v = c.get(name);
      if (v === undefined || v === -1n) continue;
      expect(`${name}=${nr}`).toBe(`${name}=${v}`);
      compared++;
    }
    expect(compared).toBeGreaterThan(300);
  });

  it("map names to numbers and back", () => {
    expect(table.length).toBeGreaterThan(300);
    for (const [name, nr] of table) {
      expect(syscallName(nr)).toBe(name);
      expect(syscallNumber(name)).toBe(nr);
    }
    expect(syscallName(110)).toBe("getppid");
    expect(SYSCALL_MAX).toBe(Math.max(...table.map(([, nr]) => nr)));
  });

  it("return undefined for numbers and names that are not syscalls", () => {
    expect(syscallName(-1)).toBeUndefined();
    expect(syscallName(SYSCALL_MAX + 1)).toBeUndefined();
    expect(syscallName(1.5)).toBeUndefined();
    expect(syscallNumber("nosuchcall")).toBeUndefined();
    expect(syscallNumber("constructor")).toBeUndefined();
  });
});
