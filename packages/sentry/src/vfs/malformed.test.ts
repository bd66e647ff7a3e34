/** Garbage in from a hostile or buggy application: every case is an errno, never a throw. */
import { describe, expect, it } from "vitest";
import {
  AT_FDCWD,
  EFBIG,
  EINVAL,
  ENAMETOOLONG,
  ENOTDIR,
  O_CREAT,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  S_IFMT,
  S_IFREG,
  SEEK_SET,
} from "@runsc-ts/abi";
import { validateName, validatePath } from "./resolve.js";
import { makeEnv, ok } from "./test-env.js";

describe("malformed input", () => {
  it("validates names for filesystems", () => {
    expect(validateName("ok")).toBeUndefined();
    expect(validateName("")).toBe(EINVAL);
    expect(validateName(".")).toBe(EINVAL);
    expect(validateName("..")).toBe(EINVAL);
    expect(validateName("a/b")).toBe(EINVAL);
    expect(validateName("a\0b")).toBe(EINVAL);
    expect(validateName("\u20ac")).toBe(EINVAL);
    expect(validateName("n".repeat(256))).toBe(ENAMETOOLONG);
    expect(validatePath("p".repeat(4095))).toBeUndefined();
    expect(validatePath("p".repeat(4096))).toBe(ENAMETOOLONG);
  });

  it("rejects bad flags with EINVAL and ignores unknown open(2) bits as Linux does", async () => {
    const { vfs, ctx } = makeEnv();
    ok(await vfs.openAt(ctx, AT_FDCWD, "/f", O_CREAT | O_WRONLY | 0x40000000, 0o644)).decRef();
    expect(await vfs.unlinkAt(ctx, AT_FDCWD, "/f", 0x4)).toBe(EINVAL);
    expect(await vfs.linkAt(ctx, AT_FDCWD, "/f", AT_FDCWD, "/g", 0x1)).toBe(EINVAL);
    expect(await vfs.accessAt(ctx, AT_FDCWD, "/f", 8)).toBe(EINVAL);
    expect(await vfs.accessAt(ctx, AT_FDCWD, "/f", 0, 0x1)).toBe(EINVAL);
    expect(await vfs.setStatAt(ctx, AT_FDCWD, "/f", 0x4, { mode: 0o600 })).toBe(EINVAL);
    expect(await vfs.statAt(ctx, AT_FDCWD, "/f", 0x6000)).toBe(EINVAL);
    expect(await vfs.renameAt(ctx, AT_FDCWD, "/f", AT_FDCWD, "/g", -1)).toBe(EINVAL);
    expect(await vfs.openAt(ctx, AT_FDCWD, "/f", Number.NaN)).toBe(EINVAL);
  });

  it("rejects absurd sizes, offsets and times", async () => {
    const { vfs, ctx } = makeEnv();
    const f = ok(await vfs.openAt(ctx, AT_FDCWD, "/f", O_CREAT | O_RDWR, 0o644));
    expect(await f.pread(new Uint8Array(1), -1)).toBe(EINVAL);
    expect(await f.pwrite(new Uint8Array(1), -5)).toBe(EINVAL);
    expect(await f.pwrite(new Uint8Array(1), 2 ** 53)).toBe(EINVAL);
    expect(await f.pwrite(new Uint8Array(2), Number.MAX_SAFE_INTEGER)).toBe(EFBIG);
    expect(await f.seek(Number.NaN, SEEK_SET)).toBe(EINVAL);
    expect(await f.seek(-1, SEEK_SET)).toBe(EINVAL);
    expect(await f.getdents64(4096)).toBe(ENOTDIR);
    expect(await vfs.setStatAt(ctx, AT_FDCWD, "/f", 0, { size: -1 })).toBe(EINVAL);
    expect(await vfs.setStatAt(ctx, AT_FDCWD, "/f", 0, { size: 2 ** 60 })).toBe(EFBIG);
    expect(await vfs.setStatAt(ctx, AT_FDCWD, "/f", 0, { size: 1.5 })).toBe(EINVAL);
    expect(await vfs.setStatAt(ctx, AT_FDCWD, "/f", 0, { atime: { sec: 0, nsec: -1 } })).toBe(EINVAL);
    // A huge sparse truncate costs nothing and reads back zeros.
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/f", 0, { size: 2 ** 40 }));
    const buf = new Uint8Array(8).fill(1);
    expect(ok(await f.pread(buf, 2 ** 40 - 4))).toBe(4);
    expect([...buf.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    f.decRef();
  });

  it("masks mode bits beyond 07777 and keeps the file type", async () => {
    const { vfs, ctx } = makeEnv();
    ok(await vfs.openAt(ctx, AT_FDCWD, "/f", O_CREAT | O_WRONLY, 0o177777)).decRef();
    ok(await vfs.setStatAt(ctx, AT_FDCWD, "/f", 0, { mode: 0xffffffff }));
    const st = ok(await vfs.statAt(ctx, AT_FDCWD, "/f", 0));
    expect(st.mode & S_IFMT).toBe(S_IFREG);
    expect(st.mode & 0o7777).toBe(0o7777);
  });

  it("rejects symlink targets and paths with NUL bytes", async () => {
    const { vfs, ctx } = makeEnv();
    expect(await vfs.symlinkAt(ctx, "a\0b", AT_FDCWD, "/l")).toBe(EINVAL);
    expect(await vfs.mkdirAt(ctx, AT_FDCWD, "/x\0y", 0o755)).toBe(EINVAL);
    expect(await vfs.openAt(ctx, AT_FDCWD, "/x\0", O_RDONLY)).toBe(EINVAL);
    expect(await vfs.renameAt(ctx, AT_FDCWD, "/", AT_FDCWD, "/\0", 0)).toBe(EINVAL);
  });
});
