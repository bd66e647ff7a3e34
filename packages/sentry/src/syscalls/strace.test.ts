import { EBADF, ENAMETOOLONG, EFAULT, type LinuxError } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { SyscallArgs } from "./args.js";
import { formatCall, quote } from "./strace.js";

/** Memory with a path at 0x1000 and bytes at 0x2000. */
const mem = {
  copyIn(addr: bigint, len: number): Uint8Array | LinuxError {
    if (addr === 0x2000n) return new TextEncoder().encode("hello, world\n".padEnd(64, "!")).subarray(0, len);
    return EFAULT;
  },
  copyInString(addr: bigint): Uint8Array | LinuxError {
    return addr === 0x1000n ? new TextEncoder().encode("/etc/os-release") : addr === 0x3000n ? ENAMETOOLONG : EFAULT;
  },
};
const args = (...v: bigint[]) => new SyscallArgs([...v, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6));

describe("strace lines", () => {
  it("decodes paths, FDs, AT_FDCWD and flags", () => {
    expect(formatCall("openat", args(0xffff_ff9cn, 0x1000n, 0x80000n), 3, mem)).toBe('openat(AT_FDCWD, "/etc/os-release", 0x80000, 0x0) = 3');
  });
  it("shows written bytes, escaped, and truncates long buffers", () => {
    expect(formatCall("write", args(1n, 0x2000n, 13n), 13, mem)).toBe('write(1, "hello, world\\n", 13) = 13');
    expect(formatCall("write", args(1n, 0x2000n, 64n), 64, mem)).toMatch(/^write\(1, "hello, world\\n!{19}"\.\.\., 64\) = 64$/);
  });
  it("shows read bytes only as many as were read, and errors by name", () => {
    expect(formatCall("read", args(3n, 0x2000n, 100n), 5, mem)).toBe('read(3, "hello", 100) = 5');
    expect(formatCall("read", args(9n, 0x2000n, 100n), EBADF, mem)).toBe("read(9, 0x2000, 100) = -1 EBADF (Bad file descriptor)");
  });
  it("falls back to hex for bad pointers and unknown syscalls", () => {
    expect(formatCall("stat", args(0xdeadn, 0n), EFAULT, mem)).toBe("stat(0xdead, NULL) = -1 EFAULT (Bad address)");
    expect(formatCall("uselib", args(1n, 2n), 0, mem)).toBe("uselib(0x1, 0x2, 0x0, 0x0, 0x0, 0x0) = 0");
  });
  it("quotes non-printable bytes", () => {
    expect(quote(new Uint8Array([0, 0x22, 0x5c, 0xff]))).toBe('"\\x00\\"\\\\\\xff"');
  });
});
