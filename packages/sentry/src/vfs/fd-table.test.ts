import { describe, expect, it } from "vitest";
import { EBADF, EINVAL, EMFILE, FD_CLOEXEC, O_CLOEXEC, O_RDONLY } from "@runsc-ts/abi";
import { CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE } from "./constants.js";
import { FdTable } from "./fd-table.js";
import { FileDescription } from "./file-description.js";
import { makeEnv } from "./test-env.js";

function file(onRelease?: () => void): FileDescription {
  const env = makeEnv();
  const vd = env.ns.rootVd();
  return new FileDescription(vd, vd.dentry.inode, { seekable: false, release: onRelease ?? (() => {}) }, O_RDONLY);
}

describe("FdTable", () => {
  it("allocates the lowest free fd", () => {
    const t = new FdTable();
    const f = file();
    expect(t.newFd(f, false)).toBe(0);
    expect(t.newFd(f, false)).toBe(1);
    expect(t.newFd(f, false)).toBe(2);
    t.close(1);
    expect(t.newFd(f, false)).toBe(1);
    expect(t.newFd(f, false, 10)).toBe(10);
    expect(t.fds()).toEqual([0, 1, 2, 10]);
  });

  it("returns EMFILE at RLIMIT_NOFILE, read at each allocation", () => {
    let limit = 2;
    const t = new FdTable(() => limit);
    const f = file();
    expect(t.newFd(f, false)).toBe(0);
    expect(t.newFd(f, false)).toBe(1);
    expect(t.newFd(f, false)).toBe(EMFILE);
    expect(t.dup(0)).toBe(EMFILE);
    limit = 3;
    expect(t.newFd(f, false)).toBe(2);
  });

  it("keeps FD_CLOEXEC per fd, not per description", () => {
    const t = new FdTable();
    const f = file();
    t.newFd(f, true);
    expect(t.dup(0)).toBe(1);
    expect(t.getFdFlags(0)).toBe(FD_CLOEXEC);
    expect(t.getFdFlags(1)).toBe(0);
    expect(t.setFdFlags(1, FD_CLOEXEC | 0x80)).toBeUndefined();
    expect(t.getFdFlags(1)).toBe(FD_CLOEXEC);
    expect(t.getFdFlags(5)).toBe(EBADF);
    expect(t.setFdFlags(-1, 0)).toBe(EBADF);
  });

  it("dup2: same fd is a no-op that checks the old fd; replaces and closes the target", () => {
    const t = new FdTable();
    let releasedA = 0;
    const a = file(() => releasedA++);
    const b = file();
    t.newFd(a, false);
    t.newFd(b, false);
    a.decRef(); // the table's reference remains
    expect(t.dup2(0, 0)).toBe(0);
    expect(t.dup2(7, 7)).toBe(EBADF);
    expect(t.dup2(1, 0)).toBe(0);
    expect(releasedA).toBe(1);
    expect(t.get(0)).toBe(b);
    expect(t.dup2(1, 5)).toBe(5);
    expect(t.dup2(9, 1)).toBe(EBADF);
    expect(t.dup2(1, -1)).toBe(EBADF);
    expect(t.dup2(1, 1 << 30)).toBe(EBADF);
  });

  it("dup3: EINVAL for equal fds and unknown flags, O_CLOEXEC honoured", () => {
    const t = new FdTable();
    t.newFd(file(), false);
    expect(t.dup3(0, 0, 0)).toBe(EINVAL);
    expect(t.dup3(0, 1, 0x1)).toBe(EINVAL);
    expect(t.dup3(3, 4, 0)).toBe(EBADF);
    expect(t.dup3(0, 4, O_CLOEXEC)).toBe(4);
    expect(t.getFdFlags(4)).toBe(FD_CLOEXEC);
  });

  it("F_DUPFD: lowest free at or above the minimum; EINVAL beyond the limit", () => {
    const t = new FdTable(() => 16);
    t.newFd(file(), false);
    expect(t.dupFd(0, 3, true)).toBe(3);
    expect(t.dupFd(0, 3, false)).toBe(4);
    expect(t.getFdFlags(3)).toBe(FD_CLOEXEC);
    expect(t.dupFd(0, 16, false)).toBe(EINVAL);
    expect(t.dupFd(0, -1, false)).toBe(EINVAL);
    expect(t.dupFd(9, 0, false)).toBe(EBADF);
  });

  it("close: EBADF for closed and negative fds; releases the description at the last close", () => {
    const t = new FdTable();
    let released = 0;
    const f = file(() => released++);
    t.newFd(f, false);
    t.dup(0);
    f.decRef();
    expect(t.close(0)).toBeUndefined();
    expect(released).toBe(0);
    expect(t.close(0)).toBe(EBADF);
    expect(t.close(-3)).toBe(EBADF);
    expect(t.close(1)).toBeUndefined();
    expect(released).toBe(1);
    expect(t.size).toBe(0);
  });

  it("close_range: closes or marks CLOEXEC, validates its arguments", () => {
    const t = new FdTable();
    const f = file();
    for (let i = 0; i < 6; i++) t.newFd(f, false);
    expect(t.closeRange(4, 2, 0)).toBe(EINVAL);
    expect(t.closeRange(0, 1, 0x80)).toBe(EINVAL);
    expect(t.closeRange(1, 2, CLOSE_RANGE_CLOEXEC)).toBeUndefined();
    expect(t.getFdFlags(1)).toBe(FD_CLOEXEC);
    expect(t.closeRange(3, 0xffffffff, CLOSE_RANGE_UNSHARE)).toBeUndefined();
    expect(t.fds()).toEqual([0, 1, 2]);
    t.closeOnExec();
    expect(t.fds()).toEqual([0]);
  });

  it("fork copies the table sharing descriptions", () => {
    const t = new FdTable();
    const f = file();
    t.newFd(f, true);
    const u = t.fork();
    expect(u.get(0)).toBe(f);
    expect(u.getFdFlags(0)).toBe(FD_CLOEXEC);
    expect(f.refCount).toBe(3);
    u.closeAll();
    expect(f.refCount).toBe(2);
  });
});
