import { EAGAIN, ERESTARTSYS, EWOULDBLOCK } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { Interrupter } from "../kernel/waiter.js";
import { TO_EOF, flockFile, releaseLocks, setLock, testLock } from "./locks.js";

describe("record locks", () => {
  it("conflict only between owners and only when one of them writes", async () => {
    const inode = {};
    const [a, b] = [{}, {}];
    expect(await setLock(inode, a, 1, "read", 0n, 10n, undefined)).toBe(0);
    expect(await setLock(inode, b, 2, "read", 5n, 15n, undefined)).toBe(0);
    expect(await setLock(inode, b, 2, "write", 5n, 15n, undefined)).toBe(EAGAIN);
    expect(await setLock(inode, b, 2, "write", 10n, 15n, undefined)).toBe(0);
    expect(testLock(inode, b, "write", 0n, TO_EOF)).toMatchObject({ pid: 1, type: "read", start: 0n, end: 10n });
    // An owner's own locks are replaced, split and merged, never conflicting with each other.
    expect(await setLock(inode, a, 1, "write", 0n, 5n, undefined)).toBe(0);
    expect(await setLock(inode, a, 1, undefined, 2n, 3n, undefined)).toBe(0);
    expect(testLock(inode, b, "read", 2n, 3n)).toBeUndefined();
    expect(testLock(inode, b, "read", 0n, 2n)).toMatchObject({ type: "write", start: 0n, end: 2n });
    releaseLocks(inode, a);
    expect(testLock(inode, b, "write", 0n, 10n)).toBeUndefined();
  });

  it("a waiter gets the lock when the holder releases it, or ERESTARTSYS when interrupted", async () => {
    const inode = {};
    const [a, b, c] = [{}, {}, {}];
    await setLock(inode, a, 1, "write", 0n, TO_EOF, undefined);
    const granted = setLock(inode, b, 2, "write", 100n, 200n, new Interrupter());
    const interrupter = new Interrupter();
    const interrupted = setLock(inode, c, 3, "read", 0n, 1n, interrupter);
    interrupter.interrupt();
    expect(await interrupted).toBe(ERESTARTSYS);
    releaseLocks(inode, a);
    expect(await granted).toBe(0);
  });
});

describe("flock", () => {
  it("shares read locks, excludes writers, and drops a description's lock with it", async () => {
    const inode = {};
    const [a, b] = [{}, {}];
    expect(await flockFile(inode, a, "read", undefined)).toBe(0);
    expect(await flockFile(inode, b, "read", undefined)).toBe(0);
    expect(await flockFile(inode, b, "write", undefined)).toBe(EWOULDBLOCK);
    releaseLocks(inode, a);
    expect(await flockFile(inode, b, "write", undefined)).toBe(0);
    expect(await flockFile(inode, a, "read", undefined)).toBe(EWOULDBLOCK);
    expect(await flockFile(inode, b, undefined, undefined)).toBe(0);
    expect(await flockFile(inode, a, "read", undefined)).toBe(0);
  });
});
