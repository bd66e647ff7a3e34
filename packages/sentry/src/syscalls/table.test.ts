import { EBADF, ENOSYS, EPERM, SYS_getpid, SYS_read, SYS_uselib } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { SyscallArgs } from "./args.js";
import { SyscallTable, formatReport, partial, supported, unimplemented } from "./table.js";

type FakeTask = { pid: number };

describe("SyscallTable", () => {
  const table = new SyscallTable<FakeTask>([
    supported("getpid", (t) => t.pid),
    partial("read", () => EBADF, "only pipes"),
    unimplemented("uselib", "obsolete"),
    unimplemented("kexec_load", "not in a sandbox", EPERM),
  ]);

  it("finds entries by number and runs their handlers", async () => {
    const e = table.lookup(SYS_getpid);
    expect(e.name).toBe("getpid");
    expect(e.support).toBe("supported");
    expect(await e.handler?.({ pid: 42 }, new SyscallArgs([0n, 0n, 0n, 0n, 0n, 0n]))).toBe(42);
    expect(table.lookup(SYS_read).note).toBe("only pipes");
  });

  it("answers ENOSYS for unimplemented calls and for numbers that are not syscalls", () => {
    expect(table.lookup(SYS_uselib).errno).toBe(ENOSYS);
    expect(table.lookup(SYS_uselib).handler).toBeUndefined();
    for (const nr of [-1, 100000, 3.5, Number.NaN, 1 << 30]) {
      const e = table.lookup(nr);
      expect(e.support).toBe("unimplemented");
      expect(e.errno).toBe(ENOSYS);
    }
  });

  it("keeps a chosen errno for unimplemented calls", () => {
    expect(table.lookup(246).errno).toBe(EPERM); // kexec_load
  });

  it("rejects unknown names and duplicates", () => {
    expect(() => new SyscallTable([supported("no_such_call", () => 0)])).toThrow(/unknown system call/);
    expect(() => new SyscallTable([supported("read", () => 0), supported("read", () => 0)])).toThrow(/twice/);
  });

  it("reports every syscall with a level and sums them", () => {
    const text = formatReport(table);
    expect(text).toMatch(/^\s*39  getpid\s+supported/m);
    expect(text).toMatch(/^\s*0  read\s+partial\s+only pipes/m);
    expect(text).toMatch(/uselib\s+unimplemented \(ENOSYS\)\s+obsolete/);
    const s = table.summary();
    expect(s.supported).toBe(1);
    expect(s.partial).toBe(1);
    expect(s.supported + s.partial + s.unimplemented).toBe(table.report().length);
    expect(table.report().length).toBeGreaterThan(300);
  });
});

describe("SyscallArgs", () => {
  const a = new SyscallArgs([0xffff_ffff_ffff_ffffn, 0x1_0000_0005n, -1n, 0x8000_0000n, 2n ** 63n, 7n]);
  it("decodes int as the low 32 bits, signed", () => {
    expect(a.int(0)).toBe(-1);
    expect(a.int(1)).toBe(5);
    expect(a.int(3)).toBe(-2147483648);
  });
  it("decodes uint, long, ulong and pointers", () => {
    expect(a.uint(0)).toBe(0xffff_ffff);
    expect(a.long(0)).toBe(-1n);
    expect(a.ulong(2)).toBe(0xffff_ffff_ffff_ffffn);
    expect(a.pointer(4)).toBe(2n ** 63n);
  });
  it("clamps absurd sizes to a safe integer", () => {
    expect(a.sizeT(0)).toBe(Number.MAX_SAFE_INTEGER);
    expect(a.sizeT(5)).toBe(7);
  });
  it("rejects the wrong number of registers", () => {
    expect(() => new SyscallArgs([1n])).toThrow(RangeError);
  });
});
