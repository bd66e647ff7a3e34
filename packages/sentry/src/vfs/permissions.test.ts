import { describe, expect, it } from "vitest";
import { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, EACCES, EPERM, S_IFDIR, S_IFREG, S_ISVTX } from "@runsc-ts/abi";
import { Credentials, capabilityBit } from "../kernel/auth/credentials.js";
import { MAY_EXEC, MAY_READ, MAY_WRITE } from "./constants.js";
import { checkChmod, checkChown, checkSticky, checkUtimes, genericPermission } from "./permissions.js";

const user = Credentials.forIds(1000, 100, [200]);
const withCaps = (...caps: number[]): Credentials => user.with({ effective: caps.reduce((m, c) => m | capabilityBit(c), 0n) });
const file = (mode: number, uid = 0, gid = 0): { mode: number; uid: number; gid: number } => ({ mode: S_IFREG | mode, uid, gid });
const dir = (mode: number, uid = 0, gid = 0): { mode: number; uid: number; gid: number } => ({ mode: S_IFDIR | mode, uid, gid });

describe("genericPermission", () => {
  it("uses exactly one class of bits: owner, else group (incl. supplementary), else other", () => {
    expect(genericPermission(user, file(0o070, 1000, 100), MAY_READ)).toBe(EACCES); // owner bits win even if group allows
    expect(genericPermission(user, file(0o040, 0, 100), MAY_READ)).toBeUndefined();
    expect(genericPermission(user, file(0o040, 0, 200), MAY_READ)).toBeUndefined();
    expect(genericPermission(user, file(0o404, 0, 300), MAY_READ)).toBeUndefined();
    expect(genericPermission(user, file(0o604, 0, 300), MAY_WRITE)).toBe(EACCES);
  });

  it("CAP_DAC_OVERRIDE: read/write anything, execute only if some x bit is set, search any directory", () => {
    const c = withCaps(CAP_DAC_OVERRIDE);
    expect(genericPermission(c, file(0o000), MAY_READ | MAY_WRITE)).toBeUndefined();
    expect(genericPermission(c, file(0o644), MAY_EXEC)).toBe(EACCES);
    expect(genericPermission(c, file(0o001), MAY_EXEC)).toBeUndefined();
    expect(genericPermission(c, dir(0o000), MAY_EXEC | MAY_WRITE)).toBeUndefined();
  });

  it("CAP_DAC_READ_SEARCH: read any file, search any directory, nothing else", () => {
    const c = withCaps(CAP_DAC_READ_SEARCH);
    expect(genericPermission(c, file(0o000), MAY_READ)).toBeUndefined();
    expect(genericPermission(c, file(0o000), MAY_WRITE)).toBe(EACCES);
    expect(genericPermission(c, dir(0o000), MAY_READ | MAY_EXEC)).toBeUndefined();
    expect(genericPermission(c, file(0o000), MAY_EXEC)).toBe(EACCES);
  });
});

describe("ownership rules", () => {
  it("sticky: owner of the victim or the directory, or CAP_FOWNER", () => {
    const tmp = dir(0o777 | S_ISVTX, 0, 0);
    expect(checkSticky(user, tmp, file(0o644, 5))).toBe(EPERM);
    expect(checkSticky(user, tmp, file(0o644, 1000))).toBeUndefined();
    expect(checkSticky(user, dir(0o777 | S_ISVTX, 1000), file(0o644, 5))).toBeUndefined();
    expect(checkSticky(withCaps(CAP_FOWNER), tmp, file(0o644, 5))).toBeUndefined();
    expect(checkSticky(user, dir(0o777), file(0o644, 5))).toBeUndefined();
  });

  it("chmod: owner or CAP_FOWNER; S_ISGID dropped outside the group without CAP_FSETID", () => {
    expect(checkChmod(user, file(0o644, 5), 0o600)).toBe(EPERM);
    expect(checkChmod(withCaps(CAP_FOWNER), file(0o644, 5), 0o600)).toBe(0o600);
    expect(checkChmod(user, file(0o644, 1000, 300), 0o2755)).toBe(0o755);
    expect(checkChmod(user, file(0o644, 1000, 200), 0o2755)).toBe(0o2755);
    expect(checkChmod(user.with({ effective: capabilityBit(CAP_FSETID) }), file(0o644, 1000, 300), 0o2755)).toBe(0o2755);
  });

  it("chown: CAP_CHOWN for the owner; the owner may move the group among their groups", () => {
    const mine = file(0o644, 1000, 100);
    expect(checkChown(user, mine, 0, undefined)).toBe(EPERM);
    expect(checkChown(user, mine, 1000, 200)).toBeUndefined();
    expect(checkChown(user, mine, undefined, 300)).toBe(EPERM);
    expect(checkChown(user, file(0o644, 5, 100), undefined, 100)).toBe(EPERM);
    expect(checkChown(withCaps(CAP_CHOWN), file(0o644, 5, 100), 7, 300)).toBeUndefined();
  });

  it("utimes: explicit times need ownership; 'now' needs write permission", () => {
    expect(checkUtimes(user, file(0o666, 5), true)).toBe(EPERM);
    expect(checkUtimes(user, file(0o666, 5), false)).toBeUndefined();
    expect(checkUtimes(user, file(0o644, 5), false)).toBe(EACCES);
    expect(checkUtimes(user, file(0o444, 1000), true)).toBeUndefined();
  });
});
