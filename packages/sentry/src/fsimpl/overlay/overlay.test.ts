import { describe, expect, it } from "vitest";
import {
  AT_FDCWD,
  EMFILE,
  ENOENT,
  ENOTEMPTY,
  EXDEV,
  O_APPEND,
  O_CREAT,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  RENAME_EXCHANGE,
  S_IFCHR,
  S_IFMT,
  isLinuxError,
} from "@runsc-ts/abi";
import { parseDirents64 } from "../../vfs/file-description.js";
import { makeEnv, type TestEnv, ok } from "../../vfs/test-env.js";
import { TmpFilesystem } from "../tmpfs/filesystem.js";
import { OPAQUE_XATTR } from "./inode.js";
import { OverlayFilesystem } from "./filesystem.js";

const enc = (s: string): Uint8Array => Buffer.from(s, "latin1");

async function write(env: TestEnv, path: string, data: string, flags = O_CREAT | O_WRONLY | O_TRUNC): Promise<void> {
  const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, path, flags, 0o644));
  ok(await f.write(enc(data)));
  f.decRef();
}

async function read(env: TestEnv, path: string): Promise<string | string> {
  const f = await env.vfs.openAt(env.ctx, AT_FDCWD, path, O_RDONLY);
  if (isLinuxError(f)) return f.name;
  const buf = new Uint8Array(4096);
  const n = ok(await f.read(buf));
  f.decRef();
  return Buffer.from(buf.subarray(0, n)).toString("latin1");
}

async function ls(env: TestEnv, path: string): Promise<string[] | string> {
  const f = await env.vfs.openAt(env.ctx, AT_FDCWD, path, O_RDONLY);
  if (isLinuxError(f)) return f.name;
  const names: string[] = [];
  for (;;) {
    const b = ok(await f.getdents64(256));
    if (b.length === 0) break;
    for (const d of parseDirents64(b)) if (d.name !== "." && d.name !== "..") names.push(d.name);
  }
  f.decRef();
  return names.sort();
}

/** A lower tmpfs with /etc/passwd, /etc/hosts, /bin/sh -> busybox, /bin/busybox, /data/a/b. */
async function lowerTree(): Promise<{ lowerEnv: TestEnv; lower: TmpFilesystem }> {
  const lowerEnv = makeEnv();
  const { vfs, ctx } = lowerEnv;
  for (const d of ["/etc", "/bin", "/data", "/data/a"]) ok(await vfs.mkdirAt(ctx, AT_FDCWD, d, 0o755));
  await write(lowerEnv, "/etc/passwd", "root:x:0:0\n");
  await write(lowerEnv, "/etc/hosts", "127.0.0.1 localhost\n");
  await write(lowerEnv, "/bin/busybox", "ELF");
  ok(await vfs.symlinkAt(ctx, "busybox", AT_FDCWD, "/bin/sh"));
  await write(lowerEnv, "/data/a/b", "deep");
  ok(await vfs.setStatAt(ctx, AT_FDCWD, "/etc/passwd", 0, { mode: 0o600, uid: 5, gid: 6, mtime: { sec: 1000, nsec: 5 } }));
  return { lowerEnv, lower: lowerEnv.fs as TmpFilesystem };
}

async function overlayEnv(): Promise<{ env: TestEnv; lowerEnv: TestEnv; upper: TmpFilesystem }> {
  const { lowerEnv, lower } = await lowerTree();
  const upper = new TmpFilesystem();
  const env = makeEnv({ fs: new OverlayFilesystem({ lower, upper }) });
  return { env, lowerEnv, upper };
}

describe("overlay", () => {
  it("shows the lower tree", async () => {
    const { env } = await overlayEnv();
    expect(await ls(env, "/")).toEqual(["bin", "data", "etc"]);
    expect(await read(env, "/etc/hosts")).toBe("127.0.0.1 localhost\n");
    expect(await read(env, "/bin/sh")).toBe("ELF");
    expect(await env.vfs.readlinkAt(env.ctx, AT_FDCWD, "/bin/sh")).toBe("busybox");
  });

  it("copies up on write and never changes the lower layer", async () => {
    const { env, lowerEnv, upper } = await overlayEnv();
    const before = ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/etc/passwd", 0));
    await write(env, "/etc/passwd", "user:x:1000:1000\n", O_WRONLY | O_APPEND);
    expect(await read(env, "/etc/passwd")).toBe("root:x:0:0\nuser:x:1000:1000\n");
    expect(await read(lowerEnv, "/etc/passwd")).toBe("root:x:0:0\n");
    const after = ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/etc/passwd", 0));
    expect(after.ino).toBe(before.ino); // stable across copy-up
    expect([after.mode & 0o7777, after.uid, after.gid]).toEqual([0o600, 5, 6]);
    // The parent directory was copied up, the sibling stays lower-only.
    const upEnv = makeEnv({ fs: upper });
    expect(await ls(upEnv, "/")).toEqual(["etc"]);
    expect(await ls(upEnv, "/etc")).toEqual(["passwd"]);
  });

  it("keeps times and mode through copy-up triggered by metadata changes", async () => {
    const { env, lowerEnv } = await overlayEnv();
    ok(await env.vfs.setStatAt(env.ctx, AT_FDCWD, "/etc/passwd", 0, { uid: 7 }));
    const st = ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/etc/passwd", 0));
    expect([st.uid, st.mtime.sec, st.mtime.nsec]).toEqual([7, 1000, 5]);
    expect(await read(env, "/etc/passwd")).toBe("root:x:0:0\n");
    expect(ok(await lowerEnv.vfs.statAt(lowerEnv.ctx, AT_FDCWD, "/etc/passwd", 0)).uid).toBe(5);
  });

  it("O_TRUNC on a lower file truncates only the copy", async () => {
    const { env, lowerEnv } = await overlayEnv();
    await write(env, "/etc/hosts", "new");
    expect(await read(env, "/etc/hosts")).toBe("new");
    expect(await read(lowerEnv, "/etc/hosts")).toBe("127.0.0.1 localhost\n");
  });

  it("deleting a lower file leaves a whiteout; recreating it replaces the whiteout", async () => {
    const { env, upper } = await overlayEnv();
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/etc/hosts", 0));
    expect(await read(env, "/etc/hosts")).toBe("ENOENT");
    expect(await ls(env, "/etc")).toEqual(["passwd"]);
    const upEnv = makeEnv({ fs: upper });
    const wo = ok(await upEnv.vfs.statAt(upEnv.ctx, AT_FDCWD, "/etc/hosts", 0));
    expect([wo.mode & S_IFMT, wo.rdevMajor, wo.rdevMinor]).toEqual([S_IFCHR, 0, 0]);
    await write(env, "/etc/hosts", "again");
    expect(await read(env, "/etc/hosts")).toBe("again");
    expect(await ls(env, "/etc")).toEqual(["hosts", "passwd"]);
  });

  it("rmdir of a merged directory checks merged emptiness; a recreated directory is opaque", async () => {
    const { env, upper } = await overlayEnv();
    expect(await env.vfs.rmdirAt(env.ctx, AT_FDCWD, "/data/a")).toBe(ENOTEMPTY);
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/data/a/b", 0));
    expect(await ls(env, "/data/a")).toEqual([]);
    ok(await env.vfs.rmdirAt(env.ctx, AT_FDCWD, "/data/a"));
    expect(await ls(env, "/data")).toEqual([]);
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/data/a", 0o755));
    expect(await ls(env, "/data/a")).toEqual([]); // the lower b stays hidden
    expect(await read(env, "/data/a/b")).toBe("ENOENT");
    const upEnv = makeEnv({ fs: upper });
    const dir = ok(await upEnv.vfs.lookupAt(upEnv.ctx, AT_FDCWD, "/data/a", true, false));
    const v = await dir.dentry.inode.getxattr?.(OPAQUE_XATTR);
    expect(v !== undefined && !isLinuxError(v) && Buffer.from(v).toString()).toBe("y");
  });

  it("merges listings of upper and lower directories", async () => {
    const { env } = await overlayEnv();
    await write(env, "/etc/new", "n");
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/etc/sub", 0o755));
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/etc/passwd", 0));
    expect(await ls(env, "/etc")).toEqual(["hosts", "new", "sub"]);
    // stat and getdents agree on inode numbers.
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/etc", O_RDONLY));
    const ents = parseDirents64(ok(await f.getdents64(4096)));
    for (const e of ents) {
      if (e.name === "." || e.name === "..") continue;
      expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, `/etc/${e.name}`, 0x100)).ino).toBe(e.ino);
    }
    f.decRef();
  });

  it("renames files with copy-up; directories with lower content are EXDEV", async () => {
    const { env, lowerEnv } = await overlayEnv();
    ok(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/etc/hosts", AT_FDCWD, "/hosts", 0));
    expect(await read(env, "/hosts")).toBe("127.0.0.1 localhost\n");
    expect(await read(env, "/etc/hosts")).toBe("ENOENT");
    expect(await read(lowerEnv, "/etc/hosts")).toBe("127.0.0.1 localhost\n");
    // Rename over a lower file.
    ok(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/hosts", AT_FDCWD, "/etc/passwd", 0));
    expect(await read(env, "/etc/passwd")).toBe("127.0.0.1 localhost\n");
    expect(await ls(env, "/etc")).toEqual(["passwd"]);
    expect(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/data", AT_FDCWD, "/data2", 0)).toBe(EXDEV);
    expect(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/etc/passwd", AT_FDCWD, "/bin/sh", RENAME_EXCHANGE)).toBe(EXDEV);
    // A directory that only exists in the upper layer can move.
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/fresh", 0o755));
    await write(env, "/fresh/x", "x");
    ok(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/fresh", AT_FDCWD, "/moved", 0));
    expect(await read(env, "/moved/x")).toBe("x");
  });

  it("a directory moved onto a removed lower directory's name is opaque", async () => {
    const { env } = await overlayEnv();
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/data/a/b", 0));
    ok(await env.vfs.rmdirAt(env.ctx, AT_FDCWD, "/data/a"));
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/fresh", 0o755));
    ok(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/fresh", AT_FDCWD, "/data/a", 0));
    expect(await ls(env, "/data/a")).toEqual([]);
  });

  it("hard links copy the target up first", async () => {
    const { env } = await overlayEnv();
    ok(await env.vfs.linkAt(env.ctx, AT_FDCWD, "/etc/hosts", AT_FDCWD, "/etc/hosts2", 0));
    await write(env, "/etc/hosts2", "shared", O_RDWR | O_TRUNC);
    expect(await read(env, "/etc/hosts")).toBe("shared");
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/etc/hosts", 0)).nlink).toBe(2);
  });

  it("missing names are ENOENT, and the overlay's statfs reports overlayfs", async () => {
    const { env } = await overlayEnv();
    expect(await env.vfs.statAt(env.ctx, AT_FDCWD, "/nope", 0)).toBe(ENOENT);
    expect(ok(await env.vfs.statfsAt(env.ctx, "/")).type).toBe(0x794c7630);
  });

  it("reports the lower layer's sizes when the upper one has none, and the upper's otherwise", async () => {
    const lower = new TmpFilesystem({ maxBytes: 8 << 20 });
    const lowerStat = ok(await lower.statfs());
    expect(lowerStat.blocks).toBe(2048);
    const unsized = makeEnv({ fs: new OverlayFilesystem({ lower, upper: new TmpFilesystem() }) });
    const s = ok(await unsized.vfs.statfsAt(unsized.ctx, "/"));
    expect([s.type, s.blocks, s.blocksFree, s.blockSize]).toEqual([0x794c7630, lowerStat.blocks, lowerStat.blocksFree, lowerStat.blockSize]);
    const sized = makeEnv({ fs: new OverlayFilesystem({ lower, upper: new TmpFilesystem({ maxBytes: 1 << 20 }) }) });
    expect(ok(await sized.vfs.statfsAt(sized.ctx, "/")).blocks).toBe(256);
  });

  it("reports a lower layer's failure (EMFILE from a gofer) instead of taking it for a missing name", async () => {
    const lower = new TmpFilesystem();
    const lenv = makeEnv({ fs: lower });
    ok(await lenv.vfs.mkdirAt(lenv.ctx, AT_FDCWD, "/dir", 0o755));
    const root = lower.root.inode;
    const lookup = root.lookup?.bind(root);
    Object.defineProperty(root, "lookup", { value: (name: string) => (name === "dir" ? Promise.resolve(EMFILE) : lookup?.(name)) });
    const env = makeEnv({ fs: new OverlayFilesystem({ lower }) });
    expect(await env.vfs.statAt(env.ctx, AT_FDCWD, "/dir", 0)).toBe(EMFILE);
    expect(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/dir", 0o755)).toBe(EMFILE);
    expect(await env.vfs.statAt(env.ctx, AT_FDCWD, "/other", 0)).toBe(ENOENT);
  });
});
