import { SIGFPE, SIGILL, SIGKILL, SIGSEGV, SIGSYS, SIGTRAP, SYS_exit_group, SYS_getpid, SYS_getppid, SYS_read, SYS_write } from "@runsc-ts/abi";
import { closeSync, ftruncateSync, readFileSync, readSync, readdirSync, readlinkSync, writeSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { native } from "../native.js";
import type { AppEvent } from "../platform.js";
import { PtracePlatform } from "./ptrace-platform.js";
import { REG } from "./regs.js";
import { load, until, freshPlatformEachTest } from "./test-programs.js";

const platform = freshPlatformEachTest();

function syscallOf(e: AppEvent): { nr: number; args: readonly bigint[] } {
  if (e.kind !== "syscall") throw new Error(`expected a syscall, got ${JSON.stringify(e, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
  return e;
}

describe("stubs", () => {
  it("leaves only the scratch and stub pages mapped in a new address space, and the channel as its only FD", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    const maps = readFileSync(`/proc/${as.pid}/maps`, "utf8").trim().split("\n");
    const mapped = maps.filter((l) => !l.includes("[vsyscall]"));
    expect(mapped).toHaveLength(2);
    expect(mapped[0]).toMatch(/^7fffffffd000-7fffffffe000 rw-p /);
    expect(mapped[1]).toMatch(/^7fffffffe000-7ffffffff000 r-xp /);
    expect(readdirSync(`/proc/${as.pid}/fd`)).toEqual([String(native.ptraceConstants.STUB_CHANNEL_FD)]);
    const status = readFileSync(`/proc/${as.pid}/status`, "utf8");
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(status).toMatch(new RegExp(`^TracerPid:\\s+${process.pid}$`, "m"));
    // Nothing blocked (the tracer must see every signal); only SIGCHLD ignored.
    expect(status).toMatch(/^SigBlk:\s+0000000000000000$/m);
    expect(status).toMatch(/^SigIgn:\s+0000000000010000$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
  });

  it("runs stubs in their own network, IPC and UTS namespaces (tests run as root)", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    for (const ns of ["net", "ipc", "uts"]) {
      expect(readlinkSync(`/proc/${as.pid}/ns/${ns}`), ns).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    }
  });

  it("binds a context to the tracer's CPU, unless told not to", async () => {
    const cpus = (pid: number | "self"): string =>
      /^Cpus_allowed_list:\s+(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "";
    const { ctx } = load(platform(), "getppid", 10n);
    syscallOf(await ctx.switchToApp());
    expect(cpus(ctx.tid)).toMatch(/^\d+$/);
    native.ptraceSetPinning(false);
    try {
      expect(cpus(ctx.tid)).toBe(cpus("self"));
      ctx.setReturn(1n);
      syscallOf(await ctx.switchToApp());
      expect(cpus(ctx.tid)).toBe(cpus("self"));
    } finally {
      native.ptraceSetPinning(true);
    }
  });

  it("binds a stub to the tracer's CPU when a call is injected into it", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    expect(as.mmap(0x10000000n, 4096n, 3, 0x22 | 0x10)).toBe(0x10000000n); // MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED
    expect(/^Cpus_allowed_list:\s+(\S+)$/m.exec(readFileSync(`/proc/${as.pid}/status`, "utf8"))?.[1]).toMatch(/^\d+$/);
  });

  it("reports the stub's resident memory as the application's, and none once destroyed", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    const before = as.residentBytes();
    expect(before).toBeGreaterThan(0);
    const size = 4n << 20n;
    expect(as.mmap(0x10000000n, size, 3, 0x22 | 0x10)).toBe(0x10000000n);
    expect(as.residentBytes()).toBe(before); // mapped, not yet touched
    expect(as.write(0x10000000n, new Uint8Array(Number(size)).fill(1))).toBe(Number(size));
    expect(as.residentBytes() - before).toBeGreaterThanOrEqual(Number(size));
    as.destroy();
    expect(as.residentBytes()).toBe(0);
  });

  it("refuses a second platform in the same process", () => {
    expect(() => PtracePlatform.start()).toThrow(/already running/);
  });
});

describe("syscall trapping", () => {
  it("traps every syscall with its number and arguments, and answers from TypeScript", async () => {
    const { as, ctx } = load(platform(), "echo");
    const seen: number[] = [];
    const read = syscallOf(await ctx.switchToApp());
    seen.push(read.nr);
    expect(read.nr).toBe(SYS_read);
    expect(read.args[0]).toBe(0n);
    expect(read.args[2]).toBe(64n);
    const buf = read.args[1]!;
    // Answer read(0, buf, 64) = 5 by writing the bytes into the application's memory.
    expect(as.write(buf, new TextEncoder().encode("ping!"))).toBe(5);
    ctx.setReturn(5n);
    const write = syscallOf(await ctx.switchToApp());
    seen.push(write.nr);
    expect(write.nr).toBe(SYS_write);
    expect(write.args.slice(0, 3)).toEqual([1n, buf, 5n]);
    const back = new Uint8Array(5);
    expect(as.read(buf, back)).toBe(5);
    expect(new TextDecoder().decode(back)).toBe("ping!");
    ctx.setReturn(5n);
    const getpid = syscallOf(await ctx.switchToApp());
    seen.push(getpid.nr);
    ctx.setReturn(1n);
    const exit = syscallOf(await ctx.switchToApp());
    seen.push(exit.nr);
    expect(exit.args[0]).toBe(5n);
    expect(seen).toEqual([SYS_read, SYS_write, SYS_getpid, SYS_exit_group]);
  });

  it("passes registers both ways and keeps the FP state", async () => {
    const { ctx } = load(platform(), "regs");
    const e = syscallOf(await ctx.switchToApp());
    expect(e.nr).toBe(0x1234);
    expect(e.args).toEqual([0x1111n, 0x2222n, 0x3333n, 0x4444n, 0x5555n, 0x6666n]);
    expect(ctx.regs[REG.rbx]).toBe(0xbbbbn);
    expect(ctx.regs[REG.r12]).toBe(0xccccn);
    expect(ctx.regs[REG.r13]).toBe(0xddddn);
    // xmm0 lives at offset 160 of the legacy FXSAVE region of the XSAVE area.
    const fp = ctx.getFpState();
    const xmm0 = new DataView(fp.buffer, fp.byteOffset + 160, 16);
    expect(xmm0.getBigUint64(0, true)).toBe(0x0123456789abcdefn);
    expect(xmm0.getBigUint64(8, true)).toBe(0xfedcba9876543210n);
    // Change xmm0 and rbx; the program checks rbx and rax.
    xmm0.setBigUint64(0, 0n, true);
    ctx.setFpState(fp);
    expect(new DataView(ctx.getFpState().buffer, 160, 8).getBigUint64(0, true)).toBe(0n);
    ctx.regs[REG.rbx] = 0xb0b0n;
    ctx.setReturn(0x5151n);
    const exit = syscallOf(await ctx.switchToApp());
    expect(exit.nr).toBe(SYS_exit_group);
    expect(exit.args[0]).toBe(0n);
  });

  it("gets and sets fs_base", async () => {
    const { ctx } = load(platform(), "getppid", 3n);
    ctx.fsBase = 0x12345000n;
    syscallOf(await ctx.switchToApp());
    expect(ctx.fsBase).toBe(0x12345000n);
  });

  it("answers 100 getppid calls in order", async () => {
    const { ctx } = load(platform(), "getppid", 100n);
    let calls = 0;
    const e = await until(ctx, (nr) => {
      if (nr !== SYS_getppid) return undefined;
      calls++;
      return 4242n;
    });
    expect(calls).toBe(100);
    expect(syscallOf(e).nr).toBe(SYS_exit_group);
    expect(syscallOf(e).args[0]).toBe(0n);
  });
});

describe("memory and injected syscalls", () => {
  it("maps, writes, reads back, protects and unmaps memory in the stub", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    const addr = 0x10000000n;
    expect(as.mmap(addr, 0x3000n, 3, 0x32)).toBe(addr);  // RW, PRIVATE|ANONYMOUS|FIXED
    const data = Uint8Array.from({ length: 0x3000 }, (_, i) => i & 0xff);
    expect(as.write(addr, data)).toBe(0x3000);
    // Gather from three pieces in one call.
    const out = new Uint8Array(12);
    expect(as.readv([[addr, 4], [addr + 0x1000n, 4], [addr + 0x2ffcn, 4]], out)).toBe(12);
    expect([...out]).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0xfc, 0xfd, 0xfe, 0xff]);
    expect(as.writev([[addr + 8n, 2], [addr + 0x2000n, 2]], Uint8Array.of(9, 8, 7, 6))).toBe(4);
    const two = new Uint8Array(2);
    as.read(addr + 0x2000n, two);
    expect([...two]).toEqual([7, 6]);
    // Read-only pages refuse process_vm_writev: a short count, not an exception.
    expect(as.mprotect(addr, 0x1000n, 1)).toBeUndefined();
    expect(as.write(addr, Uint8Array.of(1))).toBe(0);
    expect(readFileSync(`/proc/${as.pid}/maps`, "utf8")).toMatch(/^10000000-10001000 r--p /m);
    expect(as.mremap(addr + 0x1000n, 0x2000n, 0x4000n, 1)).toBeTypeOf("bigint");  // MREMAP_MAYMOVE
    expect(as.munmap(addr, 0x1000n)).toBeUndefined();
    expect(as.read(addr, two)).toBe(0);
  });

  it("zeroes private pages with madvise(MADV_DONTNEED) and stops a copy at the first hole", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    const addr = 0x10000000n;
    as.mmap(addr, 0x2000n, 3, 0x32);
    as.write(addr, Uint8Array.of(1, 2, 3));
    expect(as.madvise(addr, 0x1000n, 4)).toBeUndefined();  // MADV_DONTNEED
    const three = new Uint8Array(3);
    as.read(addr, three);
    expect([...three]).toEqual([0, 0, 0]);
    // A gather whose second piece is unmapped copies the first and stops.
    const buf = new Uint8Array(8);
    expect(as.readv([[addr + 0x1ffcn, 4], [0x1000n, 4]], buf)).toBe(4);
    // A read that runs off the end of the mapping is short.
    expect(as.read(addr + 0x1ff0n, new Uint8Array(0x20))).toBe(0x10);
  });

  it("shrugs off signals sent to a stub from outside", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    for (const sig of ["SIGSTOP", "SIGTERM", "SIGSEGV", "SIGCONT"] as const) {
      process.kill(as.pid, sig);
      expect(as.mmap(0x10000000n, 0x1000n, 3, 0x32)).toBe(0x10000000n);
    }
    expect(as.munmap(0x10000000n, 0x1000n)).toBeUndefined();
  });

  it("returns errno values from injected calls", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    const e = as.mmap(0x1001n, 0x1000n, 3, 0x32);  // unaligned MAP_FIXED
    expect(typeof e === "bigint" ? e : e.name).toBe("EINVAL");
    const m = as.munmap(0x1001n, 0x1000n);
    expect(m?.name).toBe("EINVAL");
  });

  it("keeps the scratch and stub pages out of the application's reach", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    const stub = 0x7fffffffd000n; // the scratch page, then the stub page
    expect(as.mmap(stub, 0x1000n, 3, 0x32)).toHaveProperty("name", "ENOMEM");
    expect(as.mmap(stub - 0x1000n, 0x2000n, 3, 0x32)).toHaveProperty("name", "ENOMEM");
    expect(as.munmap(stub, 0x1000n)?.name).toBe("EINVAL");
    expect(as.mprotect(stub, 0x1000n, 7)?.name).toBe("ENOMEM");
    expect(as.mremap(0x10000n, 0x1000n, 0x1000n, 3, stub)).toHaveProperty("name", "ENOMEM");
    expect(as.mmap(stub - 0x1000n, 0x1000n, 3, 0x32)).toBe(stub - 0x1000n);
    expect(readFileSync(`/proc/${as.pid}/maps`, "utf8")).toMatch(/^7fffffffe000-7ffffffff000 r-xp /m);
  });

  it("maps a host file shared: the stub receives the FD over its channel, maps it and closes it", () => {
    const { addressSpace: as } = platform().newAddressSpace();
    const fd = native.memfdCreate("shared-test");
    try {
      writeSync(fd, Buffer.from("hello from the host file"));
      ftruncateSync(fd, 0x2000);
      const at = as.mapFile(0x3000_0000n, 0x2000n, 3, 0x11 /* MAP_SHARED|MAP_FIXED */, fd, 0n);
      expect(at).toBe(0x3000_0000n);
      const got = new Uint8Array(10);
      as.read(0x3000_0000n, got);
      expect(Buffer.from(got).toString()).toBe("hello from");
      // The mapping and the file are the same pages, both ways.
      as.write(0x3000_0006n, Buffer.from("FROM"));
      const back = Buffer.alloc(10);
      readSync(fd, back, 0, 10, 0);
      expect(back.toString()).toBe("hello FROM");
      // A forked address space shares the mapping too.
      const { addressSpace: child } = as.fork(platform().newAddressSpace().context);
      child.write(0x3000_0000n, Buffer.from("HELLO"));
      readSync(fd, back, 0, 10, 0);
      expect(back.toString()).toBe("HELLO FROM");
      // Nothing is left open in the stub but its channel.
      expect(readdirSync(`/proc/${as.pid}/fd`)).toEqual([String(native.ptraceConstants.STUB_CHANNEL_FD)]);
      // A bad descriptor is refused without breaking the channel for the next mapping.
      expect(() => as.mapFile(0x3100_0000n, 0x1000n, 3, 0x11, 987654, 0n)).toThrow();
      expect(as.mapFile(0x3100_0000n, 0x1000n, 1, 0x11, fd, 0n)).toBe(0x3100_0000n);
    } finally {
      closeSync(fd);
    }
  });

  it("never maps over the stub page by accident of the loader", () => {
    const { as } = load(platform(), "echo");
    const maps = readFileSync(`/proc/${as.pid}/maps`, "utf8");
    expect(maps).toMatch(/^00400000-/m);
    expect(maps).toMatch(/^7fffffffe000-7ffffffff000 r-xp /m);
  });
});

describe("bad input", () => {
  const cases: [string, bigint, number, number | undefined][] = [
    ["int3", 1n, SIGTRAP, undefined],
    ["ud2", 2n, SIGILL, undefined],
    ["divide by zero", 3n, SIGFPE, undefined],
    ["a jump to address 0", 4n, SIGSEGV, 0],
  ];
  for (const [what, mode, signo, addr] of cases) {
    it(`reports ${what} as a signal and never delivers it`, async () => {
      const { ctx } = load(platform(), "bad", mode);
      const e = await ctx.switchToApp();
      expect(e.kind).toBe("signal");
      if (e.kind !== "signal") return;
      expect(e.signo).toBe(signo);
      if (addr !== undefined) expect(e.addr).toBe(BigInt(addr));
      // The application is still there, stopped: the sentry decides.
      expect(ctx.dead).toBe(false);
    });
  }

  it("reports a store to read-only text as SIGSEGV at that address", async () => {
    const { ctx } = load(platform(), "bad", 7n);
    const e = await ctx.switchToApp();
    if (e.kind !== "signal") throw new Error(e.kind);
    expect(e.signo).toBe(SIGSEGV);
    expect(e.addr).toBeGreaterThanOrEqual(0x400000n);
    expect(e.addr).toBeLessThan(0x500000n);
  });

  it("traps garbage syscall numbers and arguments like any other", async () => {
    const { ctx } = load(platform(), "bad", 5n);
    const seen: (readonly [number, bigint])[] = [];
    const e = await until(ctx, (nr, args) => {
      if (nr === SYS_exit_group) return undefined;
      seen.push([nr, args[0]!]);
      return -38n;  // ENOSYS
    });
    expect(syscallOf(e).nr).toBe(SYS_exit_group);
    expect(seen).toEqual([
      [-1, 0xffffffffffffffffn],
      [0x7fffffff, 0n],
      [9, 0xdeadbeefn],
      [0x40000000 | SYS_getpid, 0n],
    ]);
  });

  it("tells an int 0x80 call from a syscall instruction", async () => {
    const { ctx } = load(platform(), "bad", 10n);
    const e = await ctx.switchToApp();
    if (e.kind === "signal") {
      expect(e.signo).toBe(SIGSEGV);  // a kernel without IA32 emulation
      return;
    }
    expect(syscallOf(e).nr).toBe(20);  // getpid in the i386 table
    expect(ctx.syscallAbi()).toBe("i386");
    ctx.setReturn(4242n);
    const exit = syscallOf(await ctx.switchToApp());
    expect(ctx.syscallAbi()).toBe("x86_64");
    expect(exit.args[0]).toBe(0n);
  });

  it("stops a call into the vsyscall page before the host kernel runs it", async () => {
    const { ctx } = load(platform(), "bad", 6n);
    const e = await ctx.switchToApp();
    if (e.kind !== "signal") throw new Error(e.kind);
    expect([SIGSYS, SIGSEGV]).toContain(e.signo);
  });

  it("lets the seccomp filter stop application syscalls when interception is off", async () => {
    const { ctx } = load(platform(), "echo");
    ctx.interceptionDisabledForTest = true;
    const e = await ctx.switchToApp();
    if (e.kind !== "signal") throw new Error(e.kind);
    expect(e.signo).toBe(SIGSYS);
    expect(e.code).toBe(1);  // SYS_SECCOMP
  });

  it("interrupts a spinning application", async () => {
    const { ctx } = load(platform(), "bad", 8n);
    const pending = ctx.switchToApp();
    setTimeout(() => ctx.interrupt(), 20);
    expect(await pending).toEqual({ kind: "interrupt" });
    // It can be resumed and interrupted again.
    const again = ctx.switchToApp();
    setTimeout(() => ctx.interrupt(), 5);
    expect((await again).kind).toBe("interrupt");
  });

  it("reports a stub killed from outside while it runs", async () => {
    const { ctx } = load(platform(), "bad", 8n);
    const pending = ctx.switchToApp();
    setTimeout(() => process.kill(ctx.tid, "SIGKILL"), 20);
    expect(await pending).toEqual({ kind: "killed", signo: SIGKILL });
    expect(ctx.dead).toBe(true);
  });

  it("reports a stub killed from outside while it is stopped", async () => {
    const { ctx } = load(platform(), "getppid", 10n);
    syscallOf(await ctx.switchToApp());
    process.kill(ctx.tid, "SIGKILL");
    expect(await ctx.switchToApp()).toEqual({ kind: "killed", signo: SIGKILL });
  });

  it("notices a kill of a stopped context while idle, without a switch", async () => {
    const { ctx } = load(platform(), "getppid", 10n);
    syscallOf(await ctx.switchToApp());
    process.kill(ctx.tid, "SIGKILL");
    for (let i = 0; i < 200 && !ctx.dead; i++) await new Promise((r) => setTimeout(r, 5));
    expect(ctx.dead).toBe(true);
  });
});
