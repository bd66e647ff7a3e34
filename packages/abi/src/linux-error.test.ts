import { describe, expect, it } from "vitest";
import * as abi from "./index.js";
import {
  EAGAIN, EBADF, EDEADLK, EDEADLOCK, EINTR, ENOENT, ENOTSUP, EOPNOTSUPP, ERESTART_RESTARTBLOCK,
  ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS, EWOULDBLOCK, LinuxError, isLinuxError,
  linuxErrorFromErrno, linuxErrorFromName,
} from "./index.js";
import { cIntegers, runC } from "./test-cc.js";

const allErrors = Object.entries(abi).filter((e): e is [string, LinuxError] => e[1] instanceof LinuxError);

describe("LinuxError", () => {
  it("gives each errno a name, a positive number and strerror's message", () => {
    expect(EBADF.errno).toBe(9);
    expect(EBADF.name).toBe("EBADF");
    expect(EBADF.message).toBe("Bad file descriptor");
    expect(ENOENT.message).toBe("No such file or directory");
    expect(String(EBADF)).toBe("EBADF (9): Bad file descriptor");
  });

  it("makes aliases the same object as the value they name", () => {
    expect(EWOULDBLOCK).toBe(EAGAIN);
    expect(EDEADLOCK).toBe(EDEADLK);
    expect(ENOTSUP).toBe(EOPNOTSUPP);
    expect(EAGAIN.name).toBe("EAGAIN");
  });

  it("looks errors up by number and by name, returning the singletons", () => {
    expect(linuxErrorFromErrno(9)).toBe(EBADF);
    expect(linuxErrorFromErrno(11)).toBe(EAGAIN);
    expect(linuxErrorFromName("EBADF")).toBe(EBADF);
    expect(linuxErrorFromName("EWOULDBLOCK")).toBe(EAGAIN);
    expect(linuxErrorFromName("ENOTSUP")).toBe(EOPNOTSUPP);
  });

  it("returns undefined for numbers and names that are not errnos", () => {
    for (const n of [0, -9, 4095, 9.5, Number.NaN, 515, 517]) expect(linuxErrorFromErrno(n)).toBeUndefined();
    expect(linuxErrorFromName("EFOO")).toBeUndefined();
    expect(linuxErrorFromName("toString")).toBeUndefined();
  });

  it("registers every exported error under its number, once", () => {
    const numbers = new Set<number>();
    for (const [name, e] of allErrors) {
      expect(linuxErrorFromErrno(e.errno)).toBe(e);
      expect(linuxErrorFromName(name)).toBe(e);
      numbers.add(e.errno);
    }
    expect(numbers.size).toBeGreaterThan(130);
  });

  it("has frozen singletons that cannot be constructed from outside", () => {
    expect(Object.isFrozen(EBADF)).toBe(true);
    expect(() => new LinuxError(Symbol("x"), 9, "EBADF", "x")).toThrow(TypeError);
    expect(isLinuxError(EBADF)).toBe(true);
    expect(isLinuxError(9)).toBe(false);
    expect(isLinuxError(new Error("EBADF"))).toBe(false);
  });

  it("includes the kernel-internal restart codes, distinct from EINTR", () => {
    expect([ERESTARTSYS.errno, ERESTARTNOINTR.errno, ERESTARTNOHAND.errno, ERESTART_RESTARTBLOCK.errno])
      .toEqual([512, 513, 514, 516]);
    expect(linuxErrorFromErrno(512)).toBe(ERESTARTSYS);
    expect(linuxErrorFromName("ERESTART_RESTARTBLOCK")).toBe(ERESTART_RESTARTBLOCK);
    expect(ERESTARTSYS).not.toBe(EINTR);
  });

  it("matches the numbers in the C library's <errno.h>", () => {
    const names = allErrors.map(([name]) => name).filter((n) => !n.startsWith("ERESTART"));
    const c = cIntegers(["errno.h"], Object.fromEntries(names.map((n) => [n, n])));
    for (const [name, e] of allErrors) {
      if (name.startsWith("ERESTART")) continue;
      expect(`${name}=${e.errno}`).toBe(`${name}=${c.get(name)}`);
    }
  });

  it("matches strerror() for every errno", () => {
    const src = [
      "#include <stdio.h>", "#include <string.h>", "#include <stdlib.h>",
      "int main(int argc, char **argv) { for (int i = 1; i < argc; i++) printf(\"%s\\n\", strerror(atoi(argv[i]))); return 0; }",
    ].join("\n");
    const primaries = allErrors.filter(([name, e]) => name === e.name && !name.startsWith("ERESTART"));
    const lines = runC(src, primaries.map(([, e]) => String(e.errno))).trimEnd().split("\n");
    expect(primaries.map(([, e]) => e.message)).toEqual(lines);
  });
});
