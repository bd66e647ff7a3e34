/** Test helpers: a VFS over a fresh tmpfs, with a root (or chosen) task context. */
import { isLinuxError, type LinuxError } from "@runsc-ts/abi";
import { Credentials } from "../kernel/auth/credentials.js";
import { ManualClock } from "../kernel/time.js";
import type { Interrupter } from "../kernel/waiter.js";
import { TmpFilesystem, type TmpfsOptions } from "../fsimpl/tmpfs/filesystem.js";
import type { VfsContext } from "./context.js";
import { FdTable } from "./fd-table.js";
import type { Filesystem } from "./filesystem.js";
import type { MountNamespace, VirtualDentry } from "./mount.js";
import { VirtualFilesystem } from "./vfs.js";

export interface TestEnv {
  vfs: VirtualFilesystem;
  fs: Filesystem;
  ns: MountNamespace;
  clock: ManualClock;
  ctx: VfsContext;
  /** A context for other credentials, sharing the fd table. */
  as(creds: Credentials, extra?: { cwd?: VirtualDentry; umask?: number; interrupter?: Interrupter }): VfsContext;
}

export function makeEnv(opts: { fs?: Filesystem; tmpfs?: TmpfsOptions; creds?: Credentials; umask?: number } = {}): TestEnv {
  const clock = new ManualClock();
  const fs = opts.fs ?? new TmpFilesystem({ clock, ...opts.tmpfs });
  const vfs = new VirtualFilesystem();
  const ns = vfs.newMountNamespace(fs);
  const root = ns.rootVd();
  const fdTable = new FdTable();
  const ctx: VfsContext = { creds: opts.creds ?? Credentials.root(), root, cwd: root, fdTable, umask: opts.umask ?? 0o022 };
  return {
    vfs, fs, ns, clock, ctx,
    as(creds, extra = {}) {
      const c: VfsContext = { ...ctx, creds, cwd: extra.cwd ?? ctx.cwd, umask: extra.umask ?? ctx.umask };
      return extra.interrupter === undefined ? c : { ...c, interrupter: extra.interrupter };
    },
  };
}

/** Unwraps a result that must not be an error (the test fails with the errno's name). */
export function ok<T>(v: T | LinuxError): T {
  if (isLinuxError(v)) throw new Error(`unexpected ${v.name}`);
  return v;
}
