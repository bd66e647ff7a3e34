import { describe, expect, it } from "vitest";
import {
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_FOLLOW,
  EACCES,
  EBADF,
  EBUSY,
  EEXIST,
  EINVAL,
  EISDIR,
  ENOENT,
  ENOTDIR,
  ENOTEMPTY,
  EOPNOTSUPP,
  EPERM,
  EROFS,
  EXDEV,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_NOATIME,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_TMPFILE,
  O_WRONLY,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  RENAME_WHITEOUT,
  S_IFCHR,
  S_IFIFO,
  S_IFMT,
  S_ISGID,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  ENXIO,
  ESPIPE,
} from "@runsc-ts/abi";
import { Credentials } from "../kernel/auth/credentials.js";
import { TmpFilesystem } from "../fsimpl/tmpfs/filesystem.js";
import { ST_RDONLY, TMPFS_MAGIC, makeDev } from "./constants.js";
import { parseDirents64 } from "./file-description.js";
import { makeEnv, type TestEnv, ok } from "./test-env.js";

const enc = (s: string): Uint8Array => Buffer.from(s, "latin1");
const dec = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

async function touch(env: TestEnv, path: string, mode = 0o644, data = ""): Promise<void> {
  const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, path, O_CREAT | O_WRONLY, mode));
  if (data.length > 0) ok(await f.write(enc(data)));
  f.decRef();
}

async function readAll(env: TestEnv, path: string): Promise<string> {
  const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, path, O_RDONLY));
  const buf = new Uint8Array(1 << 16);
  const n = ok(await f.read(buf));
  f.decRef();
  return dec(buf.subarray(0, n));
}

describe("renameat2 flags", () => {
  it("RENAME_NOREPLACE refuses an existing target", async () => {
    const env = makeEnv();
    await touch(env, "/a", 0o644, "A");
    await touch(env, "/b", 0o644, "B");
    expect(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/a", AT_FDCWD, "/b", RENAME_NOREPLACE)).toBe(EEXIST);
    expect(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/a", AT_FDCWD, "/", RENAME_NOREPLACE)).toBe(EEXIST);
    ok(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/a", AT_FDCWD, "/c", RENAME_NOREPLACE));
    expect(await readAll(env, "/c")).toBe("A");
  });

  it("RENAME_EXCHANGE swaps two names, including a file and a directory", async () => {
    const env = makeEnv();
    await touch(env, "/a", 0o644, "A");
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/d", 0o755));
    await touch(env, "/d/inner", 0o644, "I");
    ok(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/a", AT_FDCWD, "/d", RENAME_EXCHANGE));
    expect(await readAll(env, "/d")).toBe("A");
    expect(await readAll(env, "/a/inner")).toBe("I");
    expect(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/a", AT_FDCWD, "/missing", RENAME_EXCHANGE)).toBe(ENOENT);
    expect(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/a", AT_FDCWD, "/a/inner", RENAME_EXCHANGE)).toBe(EINVAL);
  });

  it("rejects bad flag combinations", async () => {
    const env = makeEnv();
    await touch(env, "/a");
    expect(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/a", AT_FDCWD, "/b", RENAME_EXCHANGE | RENAME_NOREPLACE)).toBe(EINVAL);
    expect(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/a", AT_FDCWD, "/b", RENAME_EXCHANGE | RENAME_WHITEOUT)).toBe(EINVAL);
    expect(await env.vfs.renameAt(env.ctx, AT_FDCWD, "/a", AT_FDCWD, "/b", 0x100)).toBe(EINVAL);
  });
});

describe("mounts and the VFS", () => {
  it("EXDEV across mounts for rename and link, even of the same filesystem (bind)", async () => {
    const env = makeEnv();
    const { vfs, ctx } = env;
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/m", 0o755));
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/src", 0o755));
    await touch(env, "/src/f", 0o644, "x");
    ok(await vfs.mount(ctx, new TmpFilesystem(), "/m"));
    expect(await vfs.renameAt(ctx, AT_FDCWD, "/src/f", AT_FDCWD, "/m/f", 0)).toBe(EXDEV);
    expect(await vfs.linkAt(ctx, AT_FDCWD, "/src/f", AT_FDCWD, "/m/f", 0)).toBe(EXDEV);
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/bind", 0o755));
    ok(await vfs.bindMount(ctx, "/src", "/bind"));
    expect(await readAll(env, "/bind/f")).toBe("x");
    expect(await vfs.renameAt(ctx, AT_FDCWD, "/src/f", AT_FDCWD, "/bind/g", 0)).toBe(EXDEV);
    ok(await vfs.renameAt(ctx, AT_FDCWD, "/bind/f", AT_FDCWD, "/bind/g", 0));
    expect(await readAll(env, "/src/g")).toBe("x");
  });

  it("EBUSY for mount points; read-only bind mounts give EROFS", async () => {
    const env = makeEnv();
    const { vfs, ctx } = env;
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/m", 0o755));
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/ro", 0o755));
    await touch(env, "/f", 0o644, "data");
    ok(await vfs.mount(ctx, new TmpFilesystem(), "/m"));
    expect(await vfs.rmdirAt(ctx, AT_FDCWD, "/m")).toBe(EBUSY);
    expect(await vfs.renameAt(ctx, AT_FDCWD, "/m", AT_FDCWD, "/m2", 0)).toBe(EBUSY);
    expect(await vfs.rmdirAt(ctx, AT_FDCWD, "/")).toBe(EBUSY);
    ok(await vfs.bindMount(ctx, "/", "/ro", { readOnly: true }));
    expect(await vfs.openAt(ctx, AT_FDCWD, "/ro/f", O_WRONLY)).toBe(EROFS);
    expect(await vfs.openAt(ctx, AT_FDCWD, "/ro/new", O_CREAT | O_WRONLY, 0o644)).toBe(EROFS);
    expect(await vfs.mkdirAt(ctx, AT_FDCWD, "/ro/f", 0o755)).toBe(EEXIST); // EEXIST wins over EROFS
    expect(await vfs.mkdirAt(ctx, AT_FDCWD, "/ro/x", 0o755)).toBe(EROFS);
    expect(await vfs.unlinkAt(ctx, AT_FDCWD, "/ro/missing", 0)).toBe(EROFS); // EROFS wins over ENOENT
    expect(await vfs.setStatAt(ctx, AT_FDCWD, "/ro/f", 0, { mode: 0o600 })).toBe(EROFS);
    expect(await vfs.accessAt(ctx, AT_FDCWD, "/ro/f", 2)).toBe(EROFS);
    expect(await readAll(env, "/ro/f")).toBe("data");
    expect(ok(await vfs.statfsAt(ctx, "/ro")).flags & ST_RDONLY).toBe(ST_RDONLY);
    expect(ok(await vfs.statfsAt(ctx, "/")).type).toBe(TMPFS_MAGIC);
    expect(ok(await vfs.statfsAt(ctx, "/")).flags & ST_RDONLY).toBe(0);
  });

  it("mounts a filesystem whose root is a directory only on a directory", async () => {
    const env = makeEnv();
    await touch(env, "/f", 0o644, "under");
    // (A gofer serving one file, whose root is that file, mounts only on a non-directory: e2e/boot.)
    expect(await env.vfs.mount(env.ctx, new TmpFilesystem(), "/f")).toBe(ENOTDIR);
  });

  it("pathOf walks back through mounts", async () => {
    const env = makeEnv();
    const { vfs, ctx } = env;
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/m", 0o755));
    ok(await vfs.mount(ctx, new TmpFilesystem(), "/m"));
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/m/x", 0o755));
    const vd = ok(await vfs.lookupAt(ctx, AT_FDCWD, "/m/x", true, false));
    expect(vfs.pathOf(ctx.root, vd)).toBe("/m/x");
    expect(vfs.pathOf(ctx.root, ctx.root)).toBe("/");
  });
});

describe("permissions", () => {
  it("sticky directories: only the owner of the file or directory may remove or rename", async () => {
    const env = makeEnv();
    const { vfs, ctx } = env;
    const alice = env.as(Credentials.forIds(1001, 1001), { umask: 0 });
    const bob = env.as(Credentials.forIds(1002, 1002));
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/tmp", 0o1777));
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/tmp", 0, { mode: 0o1777 })); // past the umask
    ok(await vfs.openAt(alice, AT_FDCWD, "/tmp/a", O_CREAT | O_WRONLY, 0o666)).decRef();
    expect(await vfs.unlinkAt(bob, AT_FDCWD, "/tmp/a", 0)).toBe(EPERM);
    expect(await vfs.renameAt(bob, AT_FDCWD, "/tmp/a", AT_FDCWD, "/tmp/b", 0)).toBe(EPERM);
    ok(await vfs.openAt(bob, AT_FDCWD, "/tmp/bobs", O_CREAT | O_WRONLY, 0o644)).decRef();
    expect(await vfs.renameAt(bob, AT_FDCWD, "/tmp/bobs", AT_FDCWD, "/tmp/a", 0)).toBe(EPERM);
    ok(await vfs.unlinkAt(alice, AT_FDCWD, "/tmp/a", 0));
    ok(await vfs.unlinkAt(ctx, AT_FDCWD, "/tmp/bobs", 0));
  });

  it("chmod/chown/utimes ownership rules for an unprivileged user", async () => {
    const env = makeEnv();
    const { vfs, ctx } = env;
    const alice = env.as(Credentials.forIds(1001, 1001, [50]));
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/home", 0o777));
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/home", 0, { mode: 0o777 }));
    ok(await vfs.openAt(alice, AT_FDCWD, "/home/f", O_CREAT | O_WRONLY, 0o644)).decRef();
    await touch(env, "/home/rootfile");
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/home/rootfile", 0, { mode: 0o666 }));
    expect(await vfs.setStatAt(alice, AT_FDCWD, "/home/rootfile", 0, { mode: 0o600 })).toBe(EPERM);
    ok(await vfs.setStatAt(alice, AT_FDCWD, "/home/f", 0, { mode: 0o2755 }));
    expect(ok(await vfs.statAt(alice, AT_FDCWD, "/home/f", 0)).mode & 0o7777).toBe(0o2755);
    expect(await vfs.setStatAt(alice, AT_FDCWD, "/home/f", 0, { uid: 0 })).toBe(EPERM);
    expect(await vfs.setStatAt(alice, AT_FDCWD, "/home/f", 0, { gid: 99 })).toBe(EPERM);
    ok(await vfs.setStatAt(alice, AT_FDCWD, "/home/f", 0, { gid: 50 }));
    // Setting S_ISGID for a group one is not in drops the bit.
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/home/f", 0, { gid: 99 }));
    ok(await vfs.setStatAt(alice, AT_FDCWD, "/home/f", 0, { mode: 0o2755 }));
    expect(ok(await vfs.statAt(alice, AT_FDCWD, "/home/f", 0)).mode & S_ISGID).toBe(0);
    // utimes: "now" needs write permission, explicit times need ownership.
    ok(await vfs.setStatAt(alice, AT_FDCWD, "/home/rootfile", 0, { atime: "now", mtime: "now" }));
    expect(await vfs.setStatAt(alice, AT_FDCWD, "/home/rootfile", 0, { mtime: { sec: 5, nsec: 0 } })).toBe(EPERM);
    expect(await vfs.setStatAt(alice, AT_FDCWD, "/home/rootfile", 0, { mtime: { sec: 5, nsec: 1e9 } })).toBe(EINVAL);
    expect(await vfs.openAt(alice, AT_FDCWD, "/home/rootfile", O_RDONLY | O_NOATIME)).toBe(EPERM);
    expect(await vfs.mknodAt(alice, AT_FDCWD, "/home/null", S_IFCHR | 0o666, makeDev(1, 3))).toBe(EPERM);
  });

  it("new files get fsuid, and the group of a setgid directory", async () => {
    const env = makeEnv();
    const { vfs, ctx } = env;
    const alice = env.as(Credentials.forIds(1001, 1001), { umask: 0o027 });
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/shared", 0o777));
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/shared", 0, { gid: 500, mode: 0o2777 }));
    ok(await vfs.mkdirAt(alice, AT_FDCWD, "/shared/sub", 0o777));
    ok(await vfs.openAt(alice, AT_FDCWD, "/shared/f", O_CREAT | O_WRONLY, 0o666)).decRef();
    const sub = ok(await vfs.statAt(ctx, AT_FDCWD, "/shared/sub", 0));
    const f = ok(await vfs.statAt(ctx, AT_FDCWD, "/shared/f", 0));
    expect([sub.uid, sub.gid, sub.mode & 0o7777]).toEqual([1001, 500, 0o2750]);
    expect([f.uid, f.gid, f.mode & 0o7777]).toEqual([1001, 500, 0o640]);
  });

  it("writes and truncates by an unprivileged user clear set-id bits (file_remove_privs)", async () => {
    const env = makeEnv();
    const { vfs, ctx } = env;
    const alice = env.as(Credentials.forIds(1001, 1001));
    const mode = async (p: string): Promise<number> => ok(await vfs.statAt(ctx, AT_FDCWD, p, 0)).mode & 0o7777;
    for (const p of ["/suid", "/sgid", "/sgid-noexec", "/trunc"]) await touch(env, p);
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/suid", 0, { mode: 0o4777 }));
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/sgid", 0, { mode: 0o2777 }));
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/sgid-noexec", 0, { mode: 0o2666 }));
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/trunc", 0, { mode: 0o6777 }));
    // Root (CAP_FSETID) keeps them.
    const r = ok(await vfs.openAt(ctx, AT_FDCWD, "/suid", O_WRONLY));
    ok(await r.write(enc("x")));
    r.decRef();
    expect(await mode("/suid")).toBe(0o4777);
    for (const p of ["/suid", "/sgid", "/sgid-noexec"]) {
      const f = ok(await vfs.openAt(alice, AT_FDCWD, p, O_WRONLY));
      ok(await f.write(enc("x")));
      f.decRef();
    }
    expect(await mode("/suid")).toBe(0o777);
    expect(await mode("/sgid")).toBe(0o777);
    expect(await mode("/sgid-noexec")).toBe(0o2666); // not group-executable: kept
    ok(await vfs.setStatAt(alice, AT_FDCWD, "/trunc", 0, { size: 0 }));
    expect(await mode("/trunc")).toBe(0o777);
  });

  it("a newly created file opens even when its mode denies access", async () => {
    const env = makeEnv();
    const alice = env.as(Credentials.forIds(1001, 1001));
    const f = ok(await env.vfs.openAt(alice, AT_FDCWD, "/f", O_CREAT | O_RDWR, 0o000));
    expect(ok(await f.write(enc("x")))).toBe(1);
    f.decRef();
    expect(await env.vfs.openAt(alice, AT_FDCWD, "/f", O_RDONLY)).toBe(EACCES);
  });
});

describe("file descriptions on tmpfs", () => {
  it("shares the offset between dups, keeps O_APPEND settable", async () => {
    const env = makeEnv();
    await touch(env, "/f", 0o644, "0123456789");
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/f", O_RDWR));
    const buf = new Uint8Array(3);
    expect(ok(await f.read(buf))).toBe(3);
    expect(ok(await f.seek(0, SEEK_CUR))).toBe(3);
    f.setStatusFlags(O_APPEND | O_NONBLOCK | O_RDONLY);
    expect(f.statusFlags & (O_APPEND | O_NONBLOCK)).toBe(O_APPEND | O_NONBLOCK);
    expect(f.writable).toBe(true); // the access mode never changes
    ok(await f.write(enc("AB")));
    expect(ok(await f.seek(0, SEEK_CUR))).toBe(12);
    expect(await readAll(env, "/f")).toBe("0123456789AB");
    expect(ok(await f.seek(-2, SEEK_END))).toBe(10);
    expect(await f.seek(-20, SEEK_CUR)).toBe(EINVAL);
    expect(await f.seek(0, 17)).toBe(EINVAL);
    expect(ok(await f.seek(4, SEEK_DATA))).toBe(4);
    expect(ok(await f.seek(4, SEEK_HOLE))).toBe(12);
    expect(await f.seek(12, SEEK_DATA)).toBe(ENXIO);
    f.decRef();
  });

  it("reads an unlinked file through an open description", async () => {
    const env = makeEnv();
    await touch(env, "/f", 0o644, "still here");
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/f", O_RDONLY));
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/f", 0));
    const buf = new Uint8Array(32);
    expect(dec(buf.subarray(0, ok(await f.read(buf))))).toBe("still here");
    expect(ok(await env.vfs.statFd(f)).nlink).toBe(0);
    expect(await env.vfs.linkAt(env.ctx, AT_FDCWD, "/nothing", AT_FDCWD, "/x", AT_SYMLINK_FOLLOW)).toBe(ENOENT);
    f.decRef();
  });

  it("ftruncate needs a description open for writing; fchmod rejects O_PATH", async () => {
    const env = makeEnv();
    await touch(env, "/f", 0o644, "abc");
    const r = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/f", O_RDONLY));
    expect(await env.vfs.setStatFd(env.ctx, r, { size: 0 })).toBe(EINVAL);
    const w = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/f", O_WRONLY));
    ok(await env.vfs.setStatFd(env.ctx, w, { size: 1 }));
    expect(await readAll(env, "/f")).toBe("a");
    const p = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/f", 0o10000000));
    expect(await env.vfs.setStatFd(env.ctx, p, { mode: 0o600 })).toBe(EBADF);
    expect(await p.getdents64(4096)).toBe(EBADF);
    r.decRef(); w.decRef(); p.decRef();
  });

  it("reading a directory is EISDIR; O_TMPFILE is not supported yet", async () => {
    const env = makeEnv();
    const d = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY));
    expect(await d.read(new Uint8Array(4))).toBe(EISDIR);
    expect(await env.vfs.openAt(env.ctx, AT_FDCWD, "/", O_TMPFILE | O_RDWR, 0o600)).toBe(EOPNOTSUPP);
    expect(await env.vfs.openAt(env.ctx, AT_FDCWD, "/", O_TMPFILE | O_RDONLY, 0o600)).toBe(EINVAL);
  });
});

describe("getdents64 on tmpfs", () => {
  it("lists ., .. and entries with types, resumable with small buffers", async () => {
    const env = makeEnv();
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/d", 0o755));
    for (let i = 0; i < 50; i++) await touch(env, `/d/file${i}`);
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/d/sub", 0o755));
    ok(await env.vfs.symlinkAt(env.ctx, "x", AT_FDCWD, "/d/link"));
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/d/fifo", S_IFIFO | 0o644, 0));
    const d = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/d", O_RDONLY | O_DIRECTORY));
    expect(await d.getdents64(20)).toBe(EINVAL);
    const names: string[] = [];
    const types = new Map<string, number>();
    for (;;) {
      const b = ok(await env.vfs.getdents64(d, 100));
      if (b.length === 0) break;
      for (const e of parseDirents64(b)) {
        names.push(e.name);
        types.set(e.name, e.type);
      }
    }
    expect(names.length).toBe(55);
    expect(names.slice(0, 2)).toEqual([".", ".."]);
    expect([types.get("sub"), types.get("link"), types.get("fifo"), types.get("file7")]).toEqual([4, 10, 1, 8]);
    expect(ok(await d.seek(0, SEEK_SET))).toBe(0);
    expect(await d.seek(0, SEEK_END)).toBe(EINVAL);
    expect(parseDirents64(ok(await d.getdents64(4096)))[0]?.name).toBe(".");
    d.decRef();
  });

  it("keeps cookies stable when entries are removed during a listing", async () => {
    const env = makeEnv();
    for (let i = 0; i < 20; i++) await touch(env, `/f${i}`);
    const d = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY));
    const first = parseDirents64(ok(await d.getdents64(200))).map((e) => e.name);
    // Remove the last entry returned and some not yet returned.
    const lastSeen = first[first.length - 1] as string;
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, `/${lastSeen}`, 0));
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/f19", 0));
    await touch(env, "/late");
    const rest: string[] = [];
    for (;;) {
      const b = ok(await d.getdents64(200));
      if (b.length === 0) break;
      rest.push(...parseDirents64(b).map((e) => e.name));
    }
    const all = [...first, ...rest];
    expect(new Set(all).size).toBe(all.length); // nothing repeated
    const expected = [".", "..", ...Array.from({ length: 19 }, (_, i) => `f${i}`), "late"];
    expect(all.sort()).toEqual(expected.sort());
    d.decRef();
  });
});

describe("misc operations", () => {
  it("unlinkat flags and AT_REMOVEDIR", async () => {
    const env = makeEnv();
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/d", 0o755));
    await touch(env, "/d/f");
    expect(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/d", 0x1)).toBe(EINVAL);
    expect(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/d", AT_REMOVEDIR)).toBe(ENOTEMPTY);
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/d/f", 0));
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/d", AT_REMOVEDIR));
  });

  it("creating in a removed directory is ENOENT", async () => {
    const env = makeEnv();
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/d", 0o755));
    const d = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/d", O_RDONLY | O_DIRECTORY));
    const dfd = ok(env.ctx.fdTable.newFd(d, false));
    ok(await env.vfs.rmdirAt(env.ctx, AT_FDCWD, "/d"));
    expect(await env.vfs.openAt(env.ctx, dfd, "x", O_CREAT | O_WRONLY, 0o644)).toBe(ENOENT);
    expect(await env.vfs.mkdirAt(env.ctx, dfd, "x", 0o755)).toBe(ENOENT);
    expect(ok(await env.vfs.statFd(d)).nlink).toBe(0);
  });

  it("mknod: types, and device nodes open through the registry (ENXIO when unknown)", async () => {
    const env = makeEnv();
    expect(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/d", 0o040755, 0)).toBe(EPERM);
    expect(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/bad", 0o070000, 0)).toBe(EINVAL);
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/reg", 0o644, 0));
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/chr", S_IFCHR | 0o666, makeDev(240, 7)));
    const st = ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/chr", 0));
    expect([st.mode & S_IFMT, st.rdevMajor, st.rdevMinor]).toEqual([S_IFCHR, 240, 7]);
    expect(await env.vfs.openAt(env.ctx, AT_FDCWD, "/chr", O_RDONLY)).toBe(ENXIO);
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/sock", 0o140755, 0));
    expect(await env.vfs.openAt(env.ctx, AT_FDCWD, "/sock", O_RDONLY)).toBe(ENXIO);
  });

  it("FIFOs in tmpfs: non-blocking opens and data through the pipe", async () => {
    const env = makeEnv();
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/p", S_IFIFO | 0o666, 0));
    expect(await env.vfs.openAt(env.ctx, AT_FDCWD, "/p", O_WRONLY | O_NONBLOCK)).toBe(ENXIO);
    const r = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/p", O_RDONLY | O_NONBLOCK));
    const w = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/p", O_WRONLY | O_NONBLOCK));
    expect(await w.seek(0, SEEK_SET)).toBe(ESPIPE);
    expect(ok(await w.write(enc("through")))).toBe(7);
    const buf = new Uint8Array(16);
    expect(dec(buf.subarray(0, ok(await r.read(buf))))).toBe("through");
    w.decRef();
    expect(await r.read(buf)).toBe(0);
    r.decRef();
  });

  it("a blocking FIFO open waits for the other end", async () => {
    const env = makeEnv();
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/p", S_IFIFO | 0o666, 0));
    let opened = false;
    const pending = env.vfs.openAt(env.ctx, AT_FDCWD, "/p", O_RDONLY).then((f) => {
      opened = true;
      return f;
    });
    await new Promise((res) => setTimeout(res, 5));
    expect(opened).toBe(false);
    const w = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/p", O_WRONLY));
    const r = ok(await pending);
    expect(opened).toBe(true);
    r.decRef();
    w.decRef();
  });
});
