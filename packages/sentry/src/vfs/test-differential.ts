/**
 * Differential test harness: one script of file operations, run through the sentry VFS on a
 * fresh tmpfs and natively (node:fs) in a fresh host directory, producing one outcome per
 * step (a value or an errno name) that the tests compare.
 */
import * as nfs from "node:fs";
import { isLinuxError, O_RDONLY, O_WRONLY, type LinuxError } from "@runsc-ts/abi";
import type { gofer } from "@runsc-ts/proto";
import { Credentials } from "../kernel/auth/credentials.js";
import { parseDirents64 } from "./file-description.js";
import { GoferFilesystem, type Coherence } from "../fsimpl/gofer/filesystem.js";
import { connectFakeGofer } from "../fsimpl/gofer/test-fake-gofer.js";
import { OverlayFilesystem } from "../fsimpl/overlay/filesystem.js";
import { TmpFilesystem } from "../fsimpl/tmpfs/filesystem.js";
import type { Filesystem } from "./filesystem.js";
import { makeEnv, type TestEnv } from "./test-env.js";
import { AT_FDCWD } from "@runsc-ts/abi";

export type Step =
  | ["mkdir", string, number]
  | ["rmdir", string]
  | ["unlink", string]
  | ["open", string, number, number?]
  | ["write", string, string, number?]
  | ["pwrite", string, number, string]
  | ["read", string, number?, number?]
  | ["stat", string]
  | ["lstat", string]
  | ["readdir", string]
  | ["rename", string, string]
  | ["link", string, string]
  | ["symlink", string, string]
  | ["readlink", string]
  | ["chmod", string, number]
  | ["chown", string, number, number]
  | ["truncate", string, number]
  | ["utimes", string, number, number]
  | ["access", string, number];

export type Outcome = string | number | Record<string, unknown> | string[];

interface StatSummary {
  [k: string]: unknown;
  type: string;
  perm: string;
  size?: number;
  nlink: number;
  uid: number;
  gid: number;
}

function typeName(mode: number): string {
  return ({ 0o100000: "reg", 0o040000: "dir", 0o120000: "lnk", 0o010000: "fifo", 0o020000: "chr", 0o140000: "sock" } as Record<number, string>)[mode & 0o170000] ?? "?";
}

function summarize(mode: number, size: number, nlink: number, uid: number, gid: number): StatSummary {
  const t = typeName(mode);
  // Directory sizes are filesystem-specific; everything else must match.
  const s: StatSummary = { type: t, perm: (mode & 0o7777).toString(8), nlink, uid, gid };
  if (t !== "dir") s.size = size;
  return s;
}

/** Runs `steps` natively under `dir`; node's error codes are the errno names. */
export function runNative(dir: string, steps: readonly Step[]): Outcome[] {
  const p = (rel: string): string => (rel.startsWith("/") ? rel : `${dir}/${rel}`);
  const out: Outcome[] = [];
  for (const step of steps) {
    try {
      out.push(nativeStep(step, p));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (typeof code !== "string") throw e;
      out.push(code);
    }
  }
  return out;
}

function nativeStep(step: Step, p: (rel: string) => string): Outcome {
  switch (step[0]) {
    case "mkdir": nfs.mkdirSync(p(step[1]), step[2]); return "ok";
    case "rmdir": nfs.rmdirSync(p(step[1])); return "ok";
    case "unlink": nfs.unlinkSync(p(step[1])); return "ok";
    case "open": nfs.closeSync(nfs.openSync(p(step[1]), step[2], step[3] ?? 0o644)); return "ok";
    case "write": {
      const fd = nfs.openSync(p(step[1]), O_WRONLY | (step[3] ?? 0));
      try { return nfs.writeSync(fd, Buffer.from(step[2], "latin1")); } finally { nfs.closeSync(fd); }
    }
    case "pwrite": {
      const fd = nfs.openSync(p(step[1]), O_WRONLY);
      try { return nfs.writeSync(fd, Buffer.from(step[3], "latin1"), 0, step[3].length, step[2]); } finally { nfs.closeSync(fd); }
    }
    case "read": {
      const fd = nfs.openSync(p(step[1]), O_RDONLY);
      try {
        const buf = Buffer.alloc(step[3] ?? 65536);
        const n = nfs.readSync(fd, buf, 0, buf.length, step[2] ?? 0);
        return buf.subarray(0, n).toString("latin1");
      } finally { nfs.closeSync(fd); }
    }
    case "stat": { const s = nfs.statSync(p(step[1])); return summarize(s.mode, s.size, s.nlink, s.uid, s.gid); }
    case "lstat": { const s = nfs.lstatSync(p(step[1])); return summarize(s.mode, s.size, s.nlink, s.uid, s.gid); }
    case "readdir": return nfs.readdirSync(p(step[1])).sort();
    case "rename": nfs.renameSync(p(step[1]), p(step[2])); return "ok";
    case "link": nfs.linkSync(p(step[1]), p(step[2])); return "ok";
    case "symlink": nfs.symlinkSync(step[1], p(step[2])); return "ok";
    case "readlink": return nfs.readlinkSync(p(step[1]), "latin1");
    case "chmod": nfs.chmodSync(p(step[1]), step[2]); return "ok";
    case "chown": nfs.chownSync(p(step[1]), step[2], step[3]); return "ok";
    case "truncate": nfs.truncateSync(p(step[1]), step[2]); return "ok";
    case "utimes": {
      nfs.utimesSync(p(step[1]), step[2], step[3]);
      const s = nfs.statSync(p(step[1]));
      return { atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
    }
    case "access": nfs.accessSync(p(step[1]), step[2]); return "ok";
  }
}

/**
 * Where the sentry runs a script: a fresh tmpfs, or an overlay whose lower layer is a tmpfs
 * on which the first `split` steps ran (the rest run on the overlay, exercising copy-up).
 */
export type Variant =
  | { readonly kind: "tmpfs" }
  /** An overlay; the lower layer is a tmpfs, or a gofer mount of `goferDir` (as `runsc-ts do`). */
  | { readonly kind: "overlay"; readonly split: number; readonly goferDir?: string }
  /**
   * A gofer mount of an empty host directory `dir`, served by the test double unless
   * `connect` provides another gofer (e2e tests pass a real `runsc-ts gofer` process).
   */
  | { readonly kind: "gofer"; readonly dir: string; readonly coherence: Coherence; readonly connect?: GoferConnector };

/** Starts a gofer serving `dir` and returns a client for it. */
export type GoferConnector = (dir: string) => Promise<{ client: gofer.Gofer$Client; close(): Promise<void> | void }>;

/** Runs `steps` through the VFS with root credentials and the given umask. */
export async function runSentry(steps: readonly Step[], umask: number, variant: Variant = { kind: "tmpfs" }): Promise<Outcome[]> {
  if (variant.kind === "tmpfs") return runSteps(makeEnv({ umask, creds: Credentials.root() }), steps);
  if (variant.kind === "gofer") {
    const conn = variant.connect !== undefined ? await variant.connect(variant.dir) : connectFakeGofer(variant.dir);
    try {
      const fs = await GoferFilesystem.mount(conn.client, { coherence: variant.coherence });
      if (isLinuxError(fs)) throw new Error(`gofer mount: ${fs.name}`);
      return await runSteps(makeEnv({ fs, umask, creds: Credentials.root() }), steps);
    } finally {
      await conn.close();
    }
  }
  const conn = variant.goferDir === undefined ? undefined : connectFakeGofer(variant.goferDir);
  try {
    let lower: Filesystem;
    if (conn === undefined) {
      lower = new TmpFilesystem();
    } else {
      const g = await GoferFilesystem.mount(conn.client);
      if (isLinuxError(g)) throw new Error(`gofer mount: ${g.name}`);
      lower = g;
    }
    const first = await runSteps(makeEnv({ fs: lower, umask, creds: Credentials.root() }), steps.slice(0, variant.split));
    const overlay = new OverlayFilesystem({ lower });
    const rest = await runSteps(makeEnv({ fs: overlay, umask, creds: Credentials.root() }), steps.slice(variant.split));
    return [...first, ...rest];
  } finally {
    conn?.close();
  }
}

async function runSteps(env: TestEnv, steps: readonly Step[]): Promise<Outcome[]> {
  const { vfs, ctx } = env;
  const out: Outcome[] = [];
  const err = (e: LinuxError): string => e.name;
  const withFile = async <T>(path: string, flags: number, fn: (f: import("./file-description.js").FileDescription) => Promise<T | LinuxError>): Promise<Outcome> => {
    const f = await vfs.openAt(ctx, AT_FDCWD, path, flags, 0);
    if (isLinuxError(f)) return err(f);
    try {
      const r = await fn(f);
      return isLinuxError(r) ? err(r) : (r as Outcome);
    } finally {
      f.decRef();
    }
  };
  const ok = (r: void | LinuxError): Outcome => (isLinuxError(r) ? err(r) : "ok");
  for (const step of steps) {
    switch (step[0]) {
      case "mkdir": out.push(ok(await vfs.mkdirAt(ctx, AT_FDCWD, step[1], step[2]))); break;
      case "rmdir": out.push(ok(await vfs.rmdirAt(ctx, AT_FDCWD, step[1]))); break;
      case "unlink": out.push(ok(await vfs.unlinkAt(ctx, AT_FDCWD, step[1], 0))); break;
      case "open": {
        const f = await vfs.openAt(ctx, AT_FDCWD, step[1], step[2], step[3] ?? 0o644);
        if (isLinuxError(f)) out.push(err(f));
        else { f.decRef(); out.push("ok"); }
        break;
      }
      case "write": out.push(await withFile(step[1], O_WRONLY | (step[3] ?? 0), (f) => f.write(Buffer.from(step[2], "latin1")))); break;
      case "pwrite": out.push(await withFile(step[1], O_WRONLY, (f) => f.pwrite(Buffer.from(step[3], "latin1"), step[2]))); break;
      case "read": out.push(await withFile(step[1], O_RDONLY, async (f) => {
        const buf = new Uint8Array(step[3] ?? 65536);
        const n = await f.pread(buf, step[2] ?? 0);
        return isLinuxError(n) ? n : Buffer.from(buf.subarray(0, n)).toString("latin1");
      })); break;
      case "stat":
      case "lstat": {
        const s = await vfs.statAt(ctx, AT_FDCWD, step[1], step[0] === "lstat" ? 0x100 : 0);
        out.push(isLinuxError(s) ? err(s) : summarize(s.mode, s.size, s.nlink, s.uid, s.gid));
        break;
      }
      case "readdir": out.push(await withFile(step[1], O_RDONLY, async (f) => {
        const names: string[] = [];
        for (;;) {
          const b = await f.getdents64(4096);
          if (isLinuxError(b)) return b;
          if (b.length === 0) break;
          for (const d of parseDirents64(b)) if (d.name !== "." && d.name !== "..") names.push(d.name);
        }
        return names.sort();
      })); break;
      case "rename": out.push(ok(await vfs.renameAt(ctx, AT_FDCWD, step[1], AT_FDCWD, step[2], 0))); break;
      case "link": out.push(ok(await vfs.linkAt(ctx, AT_FDCWD, step[1], AT_FDCWD, step[2], 0))); break;
      case "symlink": out.push(ok(await vfs.symlinkAt(ctx, step[1], AT_FDCWD, step[2]))); break;
      case "readlink": { const r = await vfs.readlinkAt(ctx, AT_FDCWD, step[1]); out.push(isLinuxError(r) ? err(r) : r); break; }
      case "chmod": out.push(ok(await vfs.setStatAt(ctx, AT_FDCWD, step[1], 0, { mode: step[2] }))); break;
      case "chown": out.push(ok(await vfs.setStatAt(ctx, AT_FDCWD, step[1], 0, { uid: step[2], gid: step[3] }))); break;
      case "truncate": out.push(ok(await vfs.setStatAt(ctx, AT_FDCWD, step[1], 0, { size: step[2] }))); break;
      case "utimes": {
        const r = await vfs.setStatAt(ctx, AT_FDCWD, step[1], 0, { atime: { sec: step[2], nsec: 0 }, mtime: { sec: step[3], nsec: 0 } });
        if (isLinuxError(r)) { out.push(err(r)); break; }
        const s = await vfs.statAt(ctx, AT_FDCWD, step[1], 0);
        out.push(isLinuxError(s) ? err(s) : { atime: s.atime.sec, mtime: s.mtime.sec });
        break;
      }
      case "access": out.push(ok(await vfs.accessAt(ctx, AT_FDCWD, step[1], step[2], 0))); break;
    }
  }
  return out;
}
