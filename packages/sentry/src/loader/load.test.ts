import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  AT_FDCWD,
  AUXV,
  EACCES,
  ELOOP,
  ENOENT,
  ENOEXEC,
  O_CREAT,
  O_WRONLY,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  isLinuxError,
} from "@runsc-ts/abi";
import { REG } from "@runsc-ts/platform";
import { describe, expect, it } from "vitest";
import { Credentials } from "../kernel/auth/credentials.js";
import { Kernel } from "../kernel/kernel.js";
import { FakePlatform } from "../kernel/test-platform.js";
import { ManualClock } from "../kernel/time.js";
import { TmpFilesystem } from "../fsimpl/tmpfs/filesystem.js";
import { linuxSyscalls } from "../syscalls/linux/table.js";
import { FdTable } from "../vfs/fd-table.js";
import { VirtualFilesystem } from "../vfs/vfs.js";
import { STACK_TOP, loadExecutable } from "./load.js";

const enc = (s: string) => new TextEncoder().encode(s);

/** A task over a tmpfs holding `files` (path → bytes and mode). */
async function setup(files: Record<string, { data: Uint8Array; mode: number }>) {
  const vfs = new VirtualFilesystem();
  const ns = vfs.newMountNamespace(new TmpFilesystem({ clock: new ManualClock() }));
  const root = ns.rootVd();
  const kernel = new Kernel({ platform: new FakePlatform(async () => {}), vfs, syscalls: linuxSyscalls() });
  const fdTable = new FdTable();
  const ctx = { creds: Credentials.root(), root, cwd: root, fdTable, umask: 0 };
  for (const [p, f] of Object.entries(files)) {
    const parts = p.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) await vfs.mkdirAt(ctx, AT_FDCWD, "/" + parts.slice(0, i).join("/"), 0o755);
    const fd = await vfs.openAt(ctx, AT_FDCWD, p, O_WRONLY | O_CREAT, f.mode);
    if (isLinuxError(fd)) throw new Error(`${p}: ${fd.name}`);
    expect(await fd.pwrite(f.data, 0)).toBe(f.data.length);
    fd.decRef();
  }
  const task = kernel.newProcess({ creds: Credentials.root(), fs: { root, cwd: root, umask: 0o022 }, fdTable, name: "init" });
  return { task };
}

function readelfEntry(path: string): bigint {
  const out = execFileSync("readelf", ["-h", path], { encoding: "utf8" });
  return BigInt(/Entry point address:\s+(0x[0-9a-f]+)/.exec(out)?.[1] ?? "0");
}

const word = (as: { read(a: bigint, b: Uint8Array): number }, a: bigint) => {
  const b = new Uint8Array(8);
  as.read(a, b);
  return new DataView(b.buffer).getBigUint64(0, true);
};
const cstr = (as: { read(a: bigint, b: Uint8Array): number }, a: bigint) => {
  const b = new Uint8Array(256);
  as.read(a, b);
  return new TextDecoder().decode(b.subarray(0, b.indexOf(0)));
};

describe("loadExecutable", () => {
  const busybox = "/bin/busybox";

  it("maps a static executable, builds its stack and sets the entry registers", async () => {
    const { task } = await setup({ "/bin/busybox": { data: readFileSync(busybox), mode: 0o755 } });
    const r = await loadExecutable(task, { path: "/bin/busybox", argv: [enc("busybox"), enc("echo"), enc("hi")], envp: [enc("A=1")] });
    if (isLinuxError(r)) throw new Error(r.name);
    expect(r.entry).toBe(readelfEntry(busybox));
    const regs = task.context.regs;
    expect(regs[REG.rip]).toBe(r.entry);
    expect(regs[REG.rsp]).toBe(r.sp);
    expect(r.sp % 16n).toBe(0n);
    const as = task.mm.as;
    expect(word(as, r.sp)).toBe(3n);
    expect(cstr(as, word(as, r.sp + 8n))).toBe("busybox");
    expect(cstr(as, word(as, r.sp + 24n))).toBe("hi");
    expect(word(as, r.sp + 32n)).toBe(0n);
    expect(cstr(as, word(as, r.sp + 40n))).toBe("A=1");
    // auxv: AT_ENTRY equals the ELF entry for a static binary.
    let a = r.sp + 56n;
    const aux = new Map<number, bigint>();
    for (;;) {
      const type = Number(word(as, a));
      aux.set(type, word(as, a + 8n));
      if (type === AUXV.AT_NULL) break;
      a += 16n;
    }
    expect(aux.get(AUXV.AT_ENTRY)).toBe(r.entry);
    expect(aux.get(AUXV.AT_BASE)).toBe(0n);
    // Mappings: code executable and not writable, data writable, a stack, and the break after.
    const maps = task.mm.mappings();
    expect(maps.some((m) => m.name === "/bin/busybox" && m.prot === (PROT_READ | PROT_EXEC))).toBe(true);
    expect(maps.some((m) => m.name === "/bin/busybox" && m.prot === (PROT_READ | PROT_WRITE))).toBe(true);
    expect(maps.some((m) => m.name === "[stack]" && m.end === STACK_TOP)).toBe(true);
    expect(task.mm.brkStart).toBeGreaterThan(0x400000n);
    // The code bytes are the file's.
    const file = readFileSync(busybox);
    const probe = new Uint8Array(16);
    as.read(0x401000n, probe);
    expect([...probe]).toEqual([...file.subarray(0x1000, 0x1010)]);
  });

  it("loads a dynamic PIE executable and its interpreter", async () => {
    const { task } = await setup({
      "/bin/ls": { data: readFileSync("/bin/ls"), mode: 0o755 },
      "/lib64/ld-linux-x86-64.so.2": { data: readFileSync("/lib64/ld-linux-x86-64.so.2"), mode: 0o755 },
    });
    const r = await loadExecutable(task, { path: "/bin/ls", argv: [enc("ls")], envp: [] });
    if (isLinuxError(r)) throw new Error(r.name);
    const maps = task.mm.mappings();
    expect(maps.some((m) => m.name === "/bin/ls" && m.start >= 0x5555_5555_4000n)).toBe(true);
    const interp = maps.find((m) => m.name === "/lib64/ld-linux-x86-64.so.2");
    expect(interp).toBeDefined();
    // Execution starts in the interpreter.
    expect(r.entry).toBeGreaterThanOrEqual(interp?.start ?? 0n);
  });

  it("runs #! scripts through their interpreter with the script path as an argument", async () => {
    const { task } = await setup({
      "/bin/busybox": { data: readFileSync("/bin/busybox"), mode: 0o755 },
      "/script": { data: enc("#!/bin/busybox sh -e\necho hi\n"), mode: 0o755 },
    });
    const r = await loadExecutable(task, { path: "/script", argv: [enc("/script"), enc("x")], envp: [] });
    if (isLinuxError(r)) throw new Error(r.name);
    const as = task.mm.as;
    const argv = [1n, 2n, 3n, 4n].map((i) => cstr(as, word(as, r.sp + 8n * i)));
    expect(word(as, r.sp)).toBe(4n);
    expect(argv).toEqual(["/bin/busybox", "sh -e", "/script", "x"]);
  });

  it("answers like execve: ENOENT, EACCES, ENOEXEC, ELOOP", async () => {
    const { task } = await setup({
      "/text": { data: enc("root:x:0:0\n"), mode: 0o755 },
      "/noexec": { data: enc("#!/bin/sh\n"), mode: 0o644 },
      "/loop": { data: enc("#!/loop\n"), mode: 0o755 },
      "/empty": { data: new Uint8Array(0), mode: 0o755 },
      "/dir/file": { data: enc("x"), mode: 0o755 },
    });
    const run = (path: string) => loadExecutable(task, { path, argv: [enc(path)], envp: [] });
    expect(await run("/missing")).toBe(ENOENT);
    expect(await run("/noexec")).toBe(EACCES);
    expect(await run("/dir")).toBe(EACCES);
    expect(await run("/text")).toBe(ENOEXEC);
    expect(await run("/empty")).toBe(ENOEXEC);
    expect(await run("/loop")).toBe(ELOOP);
  });
});
