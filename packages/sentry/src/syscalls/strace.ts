/**
 * --strace: one line per syscall with its arguments decoded the way strace(1) shows them —
 * paths and buffers as quoted strings, FDs (AT_FDCWD by name), flags and pointers in hex, sizes
 * in decimal — and the result with its errno name.
 */
import { AT_FDCWD, type LinuxError, isLinuxError } from "@runsc-ts/abi";
import type { SyscallArgs } from "./args.js";

/** How to show one argument. */
export type ArgKind = "fd" | "dirfd" | "path" | "buf" | "ubuf" | "int" | "uint" | "size" | "hex" | "ptr" | "off";

/** Argument kinds of the syscalls worth decoding; others show every register in hex. */
const KINDS: Readonly<Record<string, readonly ArgKind[]>> = {
  read: ["fd", "ubuf", "size"],
  write: ["fd", "buf", "size"],
  pread64: ["fd", "ubuf", "size", "off"],
  pwrite64: ["fd", "buf", "size", "off"],
  readv: ["fd", "ptr", "int"],
  writev: ["fd", "ptr", "int"],
  open: ["path", "hex", "hex"],
  openat: ["dirfd", "path", "hex", "hex"],
  creat: ["path", "hex"],
  close: ["fd"],
  stat: ["path", "ptr"],
  lstat: ["path", "ptr"],
  fstat: ["fd", "ptr"],
  newfstatat: ["dirfd", "path", "ptr", "hex"],
  statx: ["dirfd", "path", "hex", "hex", "ptr"],
  access: ["path", "hex"],
  faccessat: ["dirfd", "path", "hex"],
  faccessat2: ["dirfd", "path", "hex", "hex"],
  readlink: ["path", "ptr", "size"],
  readlinkat: ["dirfd", "path", "ptr", "size"],
  lseek: ["fd", "off", "int"],
  getdents64: ["fd", "ptr", "size"],
  chdir: ["path"],
  fchdir: ["fd"],
  mkdir: ["path", "hex"],
  mkdirat: ["dirfd", "path", "hex"],
  unlink: ["path"],
  unlinkat: ["dirfd", "path", "hex"],
  rmdir: ["path"],
  rename: ["path", "path"],
  renameat2: ["dirfd", "path", "dirfd", "path", "hex"],
  symlink: ["path", "path"],
  dup: ["fd"],
  dup2: ["fd", "fd"],
  dup3: ["fd", "fd", "hex"],
  fcntl: ["fd", "int", "hex"],
  ioctl: ["fd", "hex", "hex"],
  mmap: ["ptr", "size", "hex", "hex", "fd", "off"],
  munmap: ["ptr", "size"],
  mprotect: ["ptr", "size", "hex"],
  brk: ["ptr"],
  exit: ["int"],
  exit_group: ["int"],
  arch_prctl: ["hex", "ptr"],
  prctl: ["int", "hex", "hex", "hex", "hex"],
  getrandom: ["ptr", "size", "hex"],
  poll: ["ptr", "uint", "int"],
  epoll_create1: ["hex"],
  epoll_ctl: ["fd", "int", "fd", "ptr"],
  epoll_wait: ["fd", "ptr", "int", "int"],
  epoll_pwait: ["fd", "ptr", "int", "int", "ptr", "size"],
  eventfd2: ["uint", "hex"],
  futex: ["ptr", "int", "uint", "ptr", "ptr", "uint"],
  rt_sigaction: ["int", "ptr", "ptr", "size"],
  rt_sigprocmask: ["int", "ptr", "ptr", "size"],
  execve: ["path", "ptr", "ptr"],
};

/** What the decoder needs from the task: reads of its memory. */
export interface TraceMemory {
  copyIn(addr: bigint, len: number): Uint8Array | LinuxError;
  copyInString(addr: bigint, max: number): Uint8Array | LinuxError;
}

const MAX_SHOWN = 32;

/** A byte string the way strace prints it: escapes, and "..." past MAX_SHOWN bytes. */
export function quote(b: Uint8Array, truncated = false): string {
  let s = "";
  for (const c of b.subarray(0, MAX_SHOWN)) {
    if (c === 0x0a) s += "\\n";
    else if (c === 0x09) s += "\\t";
    else if (c === 0x22) s += '\\"';
    else if (c === 0x5c) s += "\\\\";
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return `"${s}"${truncated || b.length > MAX_SHOWN ? "..." : ""}`;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

function showArg(kind: ArgKind, a: SyscallArgs, i: number, mem: TraceMemory, count: number | undefined): string {
  const raw = a.raw[i] ?? 0n;
  switch (kind) {
    case "fd":
    case "int":
      return String(a.int(i));
    case "dirfd":
      return a.int(i) === AT_FDCWD ? "AT_FDCWD" : String(a.int(i));
    case "uint":
      return String(a.uint(i));
    case "size":
    case "off":
      return String(kind === "off" ? a.long(i) : raw);
    case "hex":
      return hex(raw);
    case "ptr":
      return raw === 0n ? "NULL" : hex(raw);
    case "path": {
      if (raw === 0n) return "NULL";
      const s = mem.copyInString(raw, 4096);
      return isLinuxError(s) ? hex(raw) : quote(s);
    }
    case "buf":
    case "ubuf": {
      // Output buffers hold data only after the call: show as many bytes as it returned.
      const n = Math.min(count ?? 0, MAX_SHOWN);
      if (raw === 0n || n <= 0) return hex(raw);
      const b = mem.copyIn(raw, n);
      return isLinuxError(b) ? hex(raw) : quote(b, (count ?? 0) > MAX_SHOWN);
    }
  }
}

/** The line strace would print for this call and result. */
export function formatCall(name: string, a: SyscallArgs, result: number | bigint | LinuxError, mem: TraceMemory, shownArgs?: readonly string[]): string {
  const ok = typeof result === "number" || typeof result === "bigint";
  const args = shownArgs ?? formatArgs(name, a, result, mem);
  const res = ok ? String(result) : `-1 ${result.name} (${result.message})`;
  return `${name}(${args.join(", ")}) = ${res}`;
}

/**
 * The arguments as strace shows them. Usually formatted after the call (a read's buffer shows
 * what was read); for calls that replace the caller's memory (execve), before it.
 */
export function formatArgs(name: string, a: SyscallArgs, result: number | bigint | LinuxError, mem: TraceMemory): string[] {
  const kinds = KINDS[name];
  const ok = typeof result === "number" || typeof result === "bigint";
  // For read-like calls the buffer shows what was read; for write-like, what was asked.
  const count = (kind: ArgKind, i: number) => (kind === "ubuf" ? (ok ? Number(result) : 0) : kind === "buf" ? Number(a.raw[i + 1] ?? 0n) : undefined);
  return kinds === undefined ? a.raw.map(hex) : kinds.map((k, i) => showArg(k, a, i, mem, count(k, i)));
}

/** Calls whose arguments must be formatted before they run: they replace the caller's memory. */
export const FORMAT_BEFORE = new Set(["execve", "execveat"]);
