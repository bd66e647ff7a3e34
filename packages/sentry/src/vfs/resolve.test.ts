import { describe, expect, it } from "vitest";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  EACCES,
  EBADF,
  EINVAL,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  O_CREAT,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  S_IFLNK,
  S_IFMT,
  isLinuxError,
} from "@runsc-ts/abi";
import { Credentials } from "../kernel/auth/credentials.js";
import { TmpFilesystem } from "../fsimpl/tmpfs/filesystem.js";
import type { VfsContext } from "./context.js";
import type { VirtualDentry } from "./mount.js";
import { makeEnv, type TestEnv, ok } from "./test-env.js";

async function ino(env: TestEnv, path: string, ctx: VfsContext = env.ctx, flags = 0): Promise<number | string> {
  const s = await env.vfs.statAt(ctx, AT_FDCWD, path, flags);
  return isLinuxError(s) ? s.name : s.ino;
}

async function setup(): Promise<TestEnv> {
  const env = makeEnv();
  const { vfs, ctx } = env;
  ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/a", 0o755));
  ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/a/b", 0o755));
  ok(await vfs.openAt(ctx, AT_FDCWD, "/a/b/f", O_CREAT | O_WRONLY, 0o644)).decRef();
  return env;
}

describe("path resolution", () => {
  it("keeps .. at the root of the namespace and of a chroot", async () => {
    const env = await setup();
    expect(await ino(env, "/..")).toBe(await ino(env, "/"));
    expect(await ino(env, "/../../a/../..")).toBe(await ino(env, "/"));
    const chroot = ok(await env.vfs.lookupAt(env.ctx, AT_FDCWD, "/a", true, false));
    const jailed: VfsContext = { ...env.ctx, root: chroot, cwd: chroot };
    expect(await ino(env, "/..", jailed)).toBe(await ino(env, "/a"));
    expect(await ino(env, "../../b/f", jailed)).toBe(await ino(env, "/a/b/f"));
    // An absolute symlink resolves inside the chroot.
    ok(await env.vfs.symlinkAt(env.ctx, "/b/f", AT_FDCWD, "/a/abs"));
    expect(await ino(env, "/abs", jailed)).toBe(await ino(env, "/a/b/f"));
    expect(await ino(env, "/a/abs")).toBe("ENOENT");
  });

  it("crosses mounts downwards and .. upwards through mount points", async () => {
    const env = await setup();
    const { vfs, ctx } = env;
    const other = new TmpFilesystem();
    ok(await vfs.mount(ctx, other, "/a/b"));
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/a/b/inner", 0o755));
    expect(await ino(env, "/a/b/f")).toBe("ENOENT"); // hidden under the mount
    expect(await ino(env, "/a/b/inner/..")).toBe(await ino(env, "/a/b"));
    expect(await ino(env, "/a/b/..")).toBe(await ino(env, "/a"));
    expect(await ino(env, "/a/b/inner/../../b/inner")).toBe(await ino(env, "/a/b/inner"));
    const st = ok(await vfs.statAt(ctx, AT_FDCWD, "/a/b", 0));
    expect(st.devMinor).toBe(other.devMinor);
    // Stacked mounts: the newest wins; unmounting reveals the one below.
    const third = new TmpFilesystem();
    ok(await vfs.mount(ctx, third, "/a/b"));
    expect(await ino(env, "/a/b/inner")).toBe("ENOENT");
    ok(await vfs.umount(ctx, "/a/b"));
    expect(typeof (await ino(env, "/a/b/inner"))).toBe("number");
    expect(await vfs.umount(ctx, "/a")).toBe(EINVAL);
  });

  it("follows symlinks within the 40-link limit, then ELOOP", async () => {
    const env = await setup();
    const { vfs, ctx } = env;
    ok(await vfs.symlinkAt(ctx, "/a/b/f", AT_FDCWD, "/l0"));
    for (let i = 1; i <= 40; i++) ok(await vfs.symlinkAt(ctx, `l${i - 1}`, AT_FDCWD, `/l${i}`));
    expect(await ino(env, "/l39")).toBe(await ino(env, "/a/b/f"));
    expect(await ino(env, "/l40")).toBe("ELOOP");
    expect(typeof (await ino(env, "/l40", ctx, AT_SYMLINK_NOFOLLOW))).toBe("number");
    // Links in the middle of a path count too.
    ok(await vfs.symlinkAt(ctx, "/a", AT_FDCWD, "/la"));
    expect(await ino(env, "/la/b/f")).toBe(await ino(env, "/a/b/f"));
    ok(await vfs.symlinkAt(ctx, "self", AT_FDCWD, "/self"));
    expect(await ino(env, "/self/x")).toBe("ELOOP");
  });

  it("applies trailing-slash rules", async () => {
    const env = await setup();
    const { vfs, ctx } = env;
    expect(await ino(env, "/a/b/f/")).toBe("ENOTDIR");
    expect(await ino(env, "/a/b/f/.")).toBe("ENOTDIR");
    expect(await ino(env, "/a/b/")).toBe(await ino(env, "/a/b"));
    ok(await vfs.symlinkAt(ctx, "a", AT_FDCWD, "/ldir"));
    // A trailing slash follows a final symlink even with AT_SYMLINK_NOFOLLOW.
    const st = ok(await vfs.statAt(ctx, AT_FDCWD, "/ldir/", AT_SYMLINK_NOFOLLOW));
    expect(st.ino).toBe(await ino(env, "/a"));
    const lst = ok(await vfs.statAt(ctx, AT_FDCWD, "/ldir", AT_SYMLINK_NOFOLLOW));
    expect(lst.mode & S_IFMT).toBe(S_IFLNK);
  });

  it("handles O_NOFOLLOW and O_PATH on a final symlink", async () => {
    const env = await setup();
    const { vfs, ctx } = env;
    ok(await vfs.symlinkAt(ctx, "/a/b/f", AT_FDCWD, "/lf"));
    expect(await vfs.openAt(ctx, AT_FDCWD, "/lf", O_RDONLY | O_NOFOLLOW)).toBe(ELOOP);
    const p = ok(await vfs.openAt(ctx, AT_FDCWD, "/lf", O_PATH | O_NOFOLLOW));
    expect(p.isPath).toBe(true);
    expect(p.inode.mode & S_IFMT).toBe(S_IFLNK);
    expect(await p.read(new Uint8Array(4))).toBe(EBADF);
    // readlinkat with an empty path reads the O_PATH fd's symlink.
    const fd = ok(ctx.fdTable.newFd(p, false));
    expect(await vfs.readlinkAt(ctx, fd, "")).toBe("/a/b/f");
    // O_PATH ignores everything but O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC.
    const q = ok(await vfs.openAt(ctx, AT_FDCWD, "/a/b/f", O_PATH | O_WRONLY | O_CREAT));
    expect(q.writable).toBe(false);
    expect(await vfs.openAt(ctx, AT_FDCWD, "/a/b/f", O_PATH | O_DIRECTORY)).toBe(ENOTDIR);
  });

  it("resolves relative to dirfds, AT_FDCWD and AT_EMPTY_PATH", async () => {
    const env = await setup();
    const { vfs, ctx } = env;
    const dir = ok(await vfs.openAt(ctx, AT_FDCWD, "/a", O_RDONLY | O_DIRECTORY));
    const dfd = ok(ctx.fdTable.newFd(dir, false));
    const file = ok(await vfs.openAt(ctx, AT_FDCWD, "/a/b/f", O_RDONLY));
    const ffd = ok(ctx.fdTable.newFd(file, false));
    expect(ok(await vfs.statAt(ctx, dfd, "b/f", 0)).ino).toBe(await ino(env, "/a/b/f"));
    expect(ok(await vfs.statAt(ctx, dfd, "/a", 0)).ino).toBe(await ino(env, "/a")); // absolute ignores dirfd
    expect(await vfs.statAt(ctx, 99, "b", 0)).toBe(EBADF);
    expect(ok(await vfs.statAt(ctx, 99, "/a", 0)).ino).toBe(await ino(env, "/a")); // ... even a bad one
    expect(await vfs.statAt(ctx, ffd, "x", 0)).toBe(ENOTDIR);
    expect(await vfs.statAt(ctx, dfd, "", 0)).toBe(ENOENT);
    expect(ok(await vfs.statAt(ctx, ffd, "", AT_EMPTY_PATH)).ino).toBe(await ino(env, "/a/b/f"));
    expect(ok(await vfs.statAt(ctx, AT_FDCWD, "", AT_EMPTY_PATH)).ino).toBe(await ino(env, "/"));
    expect(await vfs.statAt(ctx, 42, "", AT_EMPTY_PATH)).toBe(EBADF);
    const cwdCtx: VfsContext = { ...ctx, cwd: dir.vd as VirtualDentry };
    expect(await ino(env, "b/f", cwdCtx)).toBe(await ino(env, "/a/b/f"));
  });

  it("rejects malformed paths", async () => {
    const env = await setup();
    const { vfs, ctx } = env;
    expect(await vfs.statAt(ctx, AT_FDCWD, "", 0)).toBe(ENOENT);
    expect(await vfs.statAt(ctx, AT_FDCWD, "/a\0b", 0)).toBe(EINVAL);
    expect(await vfs.statAt(ctx, AT_FDCWD, "/a/\u0100", 0)).toBe(EINVAL);
    expect(await vfs.statAt(ctx, AT_FDCWD, "/" + "x".repeat(4095), 0)).toBe(ENAMETOOLONG);
    expect(await vfs.statAt(ctx, AT_FDCWD, "/" + "x".repeat(256), 0)).toBe(ENAMETOOLONG);
    expect(await vfs.statAt(ctx, AT_FDCWD, "/a", 0x40000)).toBe(EINVAL);
    expect(await vfs.mkdirAt(ctx, AT_FDCWD, "/" + "y".repeat(256), 0o755)).toBe(ENAMETOOLONG);
    expect(await vfs.symlinkAt(ctx, "", AT_FDCWD, "/s")).toBe(ENOENT);
    expect(await vfs.symlinkAt(ctx, "t".repeat(4096), AT_FDCWD, "/s")).toBe(ENAMETOOLONG);
    expect(await vfs.openAt(ctx, AT_FDCWD, "/a", 1.5)).toBe(EINVAL);
    // Latin-1 bytes above 0x7f are ordinary name bytes.
    ok(await vfs.mkdirAt(ctx, AT_FDCWD, "/caf\u00e9", 0o755));
    expect(typeof (await ino(env, "/caf\u00e9"))).toBe("number");
  });

  it("directoryAt: chdir/fchdir targets must be searchable directories", async () => {
    const env = await setup();
    const { vfs, ctx } = env;
    const vd = ok(await vfs.directoryAt(ctx, AT_FDCWD, "/a/b"));
    expect(vfs.pathOf(ctx.root, vd)).toBe("/a/b");
    expect(await vfs.directoryAt(ctx, AT_FDCWD, "/a/b/f")).toBe(ENOTDIR);
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/a/b", 0, { mode: 0o766 }));
    expect(await vfs.directoryAt(env.as(Credentials.forIds(1000, 1000)), AT_FDCWD, "/a/b")).toBe(EACCES);
    const p = ok(await vfs.openAt(ctx, AT_FDCWD, "/a", O_PATH));
    const fd = ok(ctx.fdTable.newFd(p, false));
    expect(ok(await vfs.directoryAt(ctx, fd, "", true)).dentry).toBe(p.vd.dentry);
  });

  it("needs search permission on every directory walked", async () => {
    const env = await setup();
    const { vfs, ctx } = env;
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/a", 0, { mode: 0o700 }));
    const user = env.as(Credentials.forIds(1000, 1000));
    expect(await ino(env, "/a/b/f", user)).toBe("EACCES");
    expect(await ino(env, "/a/.", user)).toBe("EACCES");
    expect(await vfs.mkdirAt(user, AT_FDCWD, "/a/x", 0o755)).toBe(EACCES);
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/a", 0, { mode: 0o711 }));
    expect(typeof (await ino(env, "/a/b/f", user))).toBe("number");
    expect(await vfs.openAt(user, AT_FDCWD, "/a", O_RDONLY)).toBe(EACCES);
  });
});
