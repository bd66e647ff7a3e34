// The addon's file-system and confinement functions (native/src/fs*.cc, confine.cc): argument
// validation before any system call, Node-shaped SystemErrors, and each call against node:fs.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  RESOLVE_BENEATH,
  RESOLVE_NO_SYMLINKS,
  SEEK_SET,
  STATX_BASIC_STATS,
  S_IFIFO,
  UTIME_OMIT,
  linux_dirent64,
  statfs as statfsLayout,
  statx as statxLayout,
} from "@runsc-ts/abi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { isSystemError, native } from "./native.js";
import { expectNoFdLeaks } from "./test-util.js";

let dir: string;
let dirFd: number;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "host-fs-"));
  fs.writeFileSync(path.join(dir, "f"), "content");
  fs.symlinkSync("/etc", path.join(dir, "link"));
  dirFd = native.openat(AT_FDCWD, dir, O_PATH | O_DIRECTORY, 0);
});
afterAll(() => {
  native.close(dirFd);
  fs.rmSync(dir, { recursive: true, force: true });
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function codeOf(f: () => unknown): string | undefined {
  const e = thrown(f);
  return isSystemError(e) ? e.code : undefined;
}

describe("file-system natives", () => {
  expectNoFdLeaks();

  it("validate arguments before any system call (TypeError/RangeError with Node's codes)", () => {
    expect(thrown(() => native.openat(-5, "f", 0, 0))).toMatchObject({ name: "RangeError", code: "ERR_OUT_OF_RANGE" });
    expect(thrown(() => native.openat(dirFd, "a\0b", 0, 0))).toMatchObject({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" });
    expect(thrown(() => native.openat(dirFd, 5 as unknown as string, 0, 0))).toMatchObject({ name: "TypeError" });
    expect(thrown(() => native.openat(dirFd, "f", -1, 0))).toMatchObject({ name: "RangeError" });
    expect(thrown(() => native.statx(dirFd, "f", 0, 0, new Uint8Array(10)))).toMatchObject({ name: "RangeError" });
    expect(thrown(() => native.capset(1 as unknown as bigint, 0n, 0n))).toMatchObject({ name: "TypeError" });
    expect(thrown(() => native.ftruncate(0, -1))).toMatchObject({ name: "RangeError" });
  });

  it("throw SystemErrors with code, negative errno and syscall", () => {
    const e = thrown(() => native.openat(dirFd, "missing", O_RDONLY, 0));
    expect(e).toMatchObject({ code: "ENOENT", errno: -2, syscall: "openat" });
    expect((e as Error).message).toBe("ENOENT: no such file or directory, openat");
    expect(codeOf(() => native.openat(dirFd, "link", O_RDONLY | O_NOFOLLOW, 0))).toBe("ELOOP");
  });

  it("openat2 refuses to resolve symlinks with RESOLVE_NO_SYMLINKS and .. with RESOLVE_BENEATH", () => {
    expect(codeOf(() => native.openat2(dirFd, "link/passwd", O_PATH, 0, RESOLVE_NO_SYMLINKS))).toBe("ELOOP");
    expect(codeOf(() => native.openat2(dirFd, "../", O_PATH, 0, RESOLVE_BENEATH))).toBe("EXDEV");
    const fd = native.openat2(dirFd, "f", O_PATH | O_NOFOLLOW, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    native.close(fd);
  });

  it("statx fills struct statx like lstat", () => {
    const buf = new Uint8Array(statxLayout.size);
    native.statx(dirFd, Buffer.from("f"), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf);
    const v = new DataView(buf.buffer);
    const st = fs.lstatSync(path.join(dir, "f"), { bigint: true });
    expect(v.getBigUint64(statxLayout.fields.stx_ino.offset, true)).toBe(st.ino);
    expect(v.getBigUint64(statxLayout.fields.stx_size.offset, true)).toBe(st.size);
    expect(v.getUint16(statxLayout.fields.stx_mode.offset, true)).toBe(Number(st.mode));
  });

  it("creates, links, renames, reads links and removes relative to a directory FD", () => {
    native.mkdirat(dirFd, "d", 0o755);
    native.mknodat(dirFd, "p", S_IFIFO | 0o600, 0, 0);
    expect(fs.lstatSync(path.join(dir, "p")).isFIFO()).toBe(true);
    native.symlinkat(Buffer.from("target\xff", "latin1"), dirFd, "s");
    expect(native.readlinkat(dirFd, "s")).toEqual(Buffer.from("target\xff", "latin1"));
    const f = native.openat(dirFd, "f", O_PATH, 0);
    native.linkat(f, "", dirFd, "hard", AT_EMPTY_PATH);
    expect(fs.statSync(path.join(dir, "hard")).ino).toBe(fs.statSync(path.join(dir, "f")).ino);
    native.close(f);
    expect(codeOf(() => native.renameat2(dirFd, "hard", dirFd, "p", RENAME_NOREPLACE))).toBe("EEXIST");
    native.renameat2(dirFd, "hard", dirFd, "p", RENAME_EXCHANGE);
    expect(fs.lstatSync(path.join(dir, "hard")).isFIFO()).toBe(true);
    for (const name of ["hard", "p", "s"]) native.unlinkat(dirFd, name, 0);
    expect(codeOf(() => native.unlinkat(dirFd, "d", 0))).toBe("EISDIR");
    native.unlinkat(dirFd, "d", AT_REMOVEDIR);
  });

  it("reads a directory with getdents64 and lseek", () => {
    const d = native.openat(dirFd, ".", O_RDONLY | O_DIRECTORY, 0);
    const buf = new Uint8Array(4096);
    native.lseek(d, 0n, SEEK_SET);
    const n = native.getdents64(d, buf);
    const names: string[] = [];
    const v = new DataView(buf.buffer);
    for (let pos = 0; pos < n; pos += v.getUint16(pos + linux_dirent64.fields.d_reclen.offset, true)) {
      const start = pos + linux_dirent64.fields.d_name.offset;
      names.push(Buffer.from(buf.subarray(start, buf.indexOf(0, start))).toString());
    }
    expect(names.sort()).toEqual([".", "..", ...fs.readdirSync(dir)].sort());
    expect(native.getdents64(d, buf)).toBe(0);
    native.close(d);
  });

  it("changes attributes through O_PATH descriptors (AT_EMPTY_PATH) and open files", () => {
    const p = native.openat(dirFd, "f", O_PATH, 0);
    native.fchmodat(p, "", 0o600, AT_EMPTY_PATH);
    native.fchownat(p, "", 123, 456, AT_EMPTY_PATH);
    native.utimensat(p, "", 1000n, 0, 2000, UTIME_OMIT, AT_EMPTY_PATH);
    const st = fs.statSync(path.join(dir, "f"));
    expect([st.mode & 0o777, st.uid, st.gid, st.atimeMs]).toEqual([0o600, 123, 456, 1_000_000]);
    native.close(p);
    const rw = native.openat(dirFd, "f", O_RDWR, 0);
    native.ftruncate(rw, 3n);
    native.fchmod(rw, 0o644);
    native.fsync(rw);
    native.fdatasync(rw);
    native.fsetxattr(rw, "user.test", Buffer.from("v"), 0);
    expect(native.fgetxattr(rw, "user.test", new Uint8Array(0))).toBe(1);
    const list = new Uint8Array(256);
    expect(Buffer.from(list.subarray(0, native.flistxattr(rw, list))).toString()).toContain("user.test\0");
    native.fremovexattr(rw, "user.test");
    expect(codeOf(() => native.fgetxattr(rw, "user.test", new Uint8Array(8)))).toBe("ENODATA");
    const sf = new Uint8Array(statfsLayout.size);
    native.fstatfs(rw, sf);
    expect(new DataView(sf.buffer).getBigInt64(statfsLayout.fields.f_type.offset, true)).toBe(fs.statfsSync(dir, { bigint: true }).type);
    native.close(rw);
    expect(fs.statSync(path.join(dir, "f")).size).toBe(3);
  });

  it("binds and connects AF_UNIX sockets by name relative to a directory FD, restoring the cwd", () => {
    const cwd = process.cwd();
    const { SOCK_STREAM } = native.constants;
    const s = native.bindUnixAt(dirFd, "sock", SOCK_STREAM);
    expect(fs.lstatSync(path.join(dir, "sock")).isSocket()).toBe(true);
    expect(codeOf(() => native.connectUnixAt(dirFd, "sock", SOCK_STREAM))).toBe("ECONNREFUSED");
    expect(codeOf(() => native.bindUnixAt(dirFd, "sock", SOCK_STREAM))).toBe("EADDRINUSE");
    expect(thrown(() => native.bindUnixAt(dirFd, "a/b", SOCK_STREAM))).toMatchObject({ name: "RangeError" });
    expect(thrown(() => native.bindUnixAt(dirFd, "x".repeat(108), SOCK_STREAM))).toMatchObject({ name: "RangeError" });
    expect(process.cwd()).toBe(cwd);
    native.close(s);
    native.unlinkat(dirFd, "sock", 0);
  });

  it("confinement calls report what the thread holds (and refuse what it may not do)", () => {
    const caps = native.capget();
    expect(typeof caps.effective).toBe("bigint");
    expect(native.prctl(39 /* PR_GET_NO_NEW_PRIVS */)).toBeGreaterThanOrEqual(0);
    expect(thrown(() => native.unshare(-1))).toMatchObject({ name: "RangeError" });
    expect(codeOf(() => native.pivotRoot("/nonexistent-a", "/nonexistent-b"))).toMatch(/^(ENOENT|EINVAL|EPERM)$/);
  });
});
