/** Test helpers: a kernel over a tmpfs root on the fake platform. */
import { AT_FDCWD, MAP_ANONYMOUS, MAP_PRIVATE, O_CREAT, O_RDWR, PROT_READ, PROT_WRITE, SYS_exit_group, SYS_mmap } from "@runsc-ts/abi";
import { TmpFilesystem } from "../fsimpl/tmpfs/filesystem.js";
import { linuxSyscalls } from "../syscalls/linux/table.js";
import type { SyscallTable } from "../syscalls/table.js";
import { FdTable } from "../vfs/fd-table.js";
import { VirtualFilesystem } from "../vfs/vfs.js";
import { Credentials } from "./auth/credentials.js";
import { Kernel } from "./kernel.js";
import { ManualClock } from "./time.js";
import type { Task } from "./task.js";
import { type FakeAddressSpace, type FakeCpu, FakePlatform, type Program } from "./test-platform.js";

export const errno = (e: { errno: number }): bigint => BigInt.asUintN(64, BigInt(-e.errno));

/** A kernel over a tmpfs root, with /out (fd 1) open for the program to write to. */
export async function boot(program: Program, table: SyscallTable<Task> = linuxSyscalls()) {
  const platform = new FakePlatform(program);
  const vfs = new VirtualFilesystem();
  const tmpfs = new TmpFilesystem({ clock: new ManualClock() });
  const ns = vfs.newMountNamespace(tmpfs);
  const root = ns.rootVd();
  const kernel = new Kernel({ platform, vfs, syscalls: table, hostname: "testhost" });
  const fdTable = new FdTable();
  const ctx = { creds: Credentials.root(), root, cwd: root, fdTable, umask: 0o022 };
  const out = await vfs.openAt(ctx, AT_FDCWD, "/out", O_RDWR | O_CREAT, 0o644);
  if (!("read" in out)) throw new Error(out.name);
  fdTable.installAt(1, out, false);
  const t = kernel.newProcess({ creds: Credentials.root(), fs: { root, cwd: root, umask: 0o022 }, fdTable, name: "prog" });
  const as = platform.spaces[0] as FakeAddressSpace;
  const readOut = async () => {
    const f = await vfs.openAt(ctx, AT_FDCWD, "/out", O_RDWR);
    if (!("read" in f)) throw new Error(f.name);
    const buf = new Uint8Array(1 << 16);
    const n = await f.pread(buf, 0);
    f.decRef();
    return typeof n === "number" ? new TextDecoder().decode(buf.subarray(0, n)) : n.name;
  };
  return { kernel, task: t, as, readOut };
}

/** Puts `bytes` in a fresh anonymous page of the program and returns its address. */
export async function put(cpu: FakeCpu, bytes: Uint8Array): Promise<bigint> {
  const addr = await cpu.syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cpu.as.write(addr, bytes);
  return addr;
}

/**
 * Runs `body` as the program (then exit_group(0)) and returns what it recorded with `rec`.
 * Throws if the kernel hit an internal bug.
 */
export async function record(body: (cpu: FakeCpu, rec: (v: unknown) => void) => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const { kernel, task } = await boot(async (cpu) => {
    await body(cpu, (v) => seen.push(v));
    await cpu.syscall(SYS_exit_group, 0);
  });
  await kernel.run(task);
  if (kernel.bug !== undefined) throw new Error(`kernel bug: ${String(kernel.bug)}`);
  return seen;
}
