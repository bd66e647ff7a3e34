/** Process life: clone, clone3, fork, vfork, execve, execveat, wait4, waitid. */
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  CLONE_DETACHED,
  CLONE_PARENT_SETTID,
  CLONE_PIDFD,
  CLONE_VFORK,
  CLONE_VM,
  E2BIG,
  EBADF,
  EFAULT,
  EINVAL,
  ENAMETOOLONG,
  ENOENT,
  EPERM,
  ESRCH,
  type LinuxError,
  P_ALL,
  P_PGID,
  P_PID,
  P_PIDFD,
  PATH_MAX,
  RLIMIT_STACK,
  SIGCHLD,
  WCONTINUED,
  WEXITED,
  WNOHANG,
  WNOWAIT,
  WSTOPPED,
  WUNTRACED,
  __WALL,
  __WCLONE,
  __WNOTHREAD,
  clone_args,
  encodeStruct,
  isLinuxError,
  readStruct,
  rusage,
  siginfo_sigchld,
} from "@runsc-ts/abi";
import { cloneTask } from "../../kernel/task-clone.js";
import { execTask } from "../../kernel/task-exec.js";
import { type WaitResult, type WaitTarget, waitChild } from "../../kernel/task-wait.js";
import { isValidSignal } from "../../kernel/signals.js";
import type { Task } from "../../kernel/task.js";
import type { CpuUsage } from "@runsc-ts/platform";
import type { SyscallArgs } from "../args.js";
import { encodeRusage } from "./sys-info.js";
import { pidfdTarget } from "./sys-pidfd.js";
import type { SyscallValue } from "../table.js";

/** clone(2): x86-64 order (flags, stack, parent_tid, child_tid, tls); the low byte is the exit signal. */
export function sysClone(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const raw = a.ulong(0);
  // clone(2) writes a CLONE_PIDFD pidfd where the parent's tid would go: the two cannot mix.
  if ((raw & BigInt(CLONE_PIDFD)) !== 0n && (raw & BigInt(CLONE_PARENT_SETTID)) !== 0n) return Promise.resolve(EINVAL);
  return cloneTask(t, {
    pidfd: a.pointer(2),
    flags: raw & ~0xffn,
    stack: a.pointer(1),
    parentTid: a.pointer(2),
    childTid: a.pointer(3),
    tls: a.ulong(4),
    exitSignal: Number(raw & 0xffn),
  });
}

/** The smallest struct clone_args (CLONE_ARGS_SIZE_VER0) and the largest size accepted. */
const CLONE_ARGS_VER0 = 64;
const CLONE_ARGS_MAX = 4096;

/** clone3(2). */
export async function sysClone3(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const size = a.ulong(1);
  if (size < BigInt(CLONE_ARGS_VER0) || size > BigInt(CLONE_ARGS_MAX)) return EINVAL;
  const raw = t.mm.copyIn(a.pointer(0), Number(size));
  if (isLinuxError(raw)) return EFAULT;
  // A newer struct than ours is fine only if what we do not know is zero.
  for (let i = clone_args.size; i < raw.length; i++) if (raw[i] !== 0) return E2BIG;
  const full = new Uint8Array(clone_args.size);
  full.set(raw.subarray(0, Math.min(raw.length, clone_args.size)));
  const c = readStruct(clone_args, full);
  if ((c.flags & BigInt(CLONE_DETACHED)) !== 0n) return EINVAL;
  if (c.exit_signal > 64n || (c.exit_signal !== 0n && !isValidSignal(Number(c.exit_signal)))) return EINVAL;
  if ((c.stack === 0n) !== (c.stack_size === 0n)) return EINVAL;
  if (c.set_tid !== 0n || c.set_tid_size !== 0n) return EPERM; // choosing pids needs CAP_SYS_ADMIN over the pid namespace
  if (c.cgroup !== 0n) return EINVAL;
  return cloneTask(t, {
    pidfd: c.pidfd,
    flags: c.flags,
    stack: c.stack === 0n ? 0n : c.stack + c.stack_size,
    parentTid: c.parent_tid,
    childTid: c.child_tid,
    tls: c.tls,
    exitSignal: Number(c.exit_signal),
  });
}

export function sysFork(t: Task): Promise<SyscallValue> {
  return cloneTask(t, { flags: 0n, stack: 0n, parentTid: 0n, childTid: 0n, tls: 0n, exitSignal: SIGCHLD, pidfd: 0n });
}

export function sysVfork(t: Task): Promise<SyscallValue> {
  return cloneTask(t, { flags: BigInt(CLONE_VM | CLONE_VFORK), stack: 0n, parentTid: 0n, childTid: 0n, tls: 0n, exitSignal: SIGCHLD, pidfd: 0n });
}

/** Linux's limit on one argument or environment string (MAX_ARG_STRLEN: 32 pages). */
const MAX_ARG_STRLEN = 32 * 4096;

/** A NULL-terminated array of string pointers (argv, envp); E2BIG past `budget` bytes. */
function readStrings(t: Task, addr: bigint, budget: number): Uint8Array[] | LinuxError {
  const out: Uint8Array[] = [];
  if (addr === 0n) return out;
  let used = 0;
  for (let i = 0; ; i++) {
    const p = t.mm.copyIn(addr + BigInt(8 * i), 8);
    if (isLinuxError(p)) return EFAULT;
    const ptr = new DataView(p.buffer).getBigUint64(0, true);
    if (ptr === 0n) return out;
    const s = t.mm.copyInString(ptr, MAX_ARG_STRLEN);
    if (s === ENAMETOOLONG) return E2BIG;
    if (isLinuxError(s)) return EFAULT;
    used += s.length + 1 + 8;
    if (used > budget) return E2BIG;
    out.push(s);
  }
}

/** execve(2) and execveat(2) once the path is known. */
async function exec(t: Task, path: string, argvAddr: bigint, envpAddr: bigint): Promise<SyscallValue> {
  // Arguments and environment together may use a quarter of the stack limit (at most 6 MiB here).
  const budget = Math.min(Math.max(t.tg.limits.cur(RLIMIT_STACK) / 4, 128 * 1024), 6 << 20);
  const argv = readStrings(t, argvAddr, budget);
  if (isLinuxError(argv)) return argv;
  const envp = readStrings(t, envpAddr, budget - argv.reduce((n, s) => n + s.length + 9, 0));
  if (isLinuxError(envp)) return envp;
  return execTask(t, { path, argv, envp });
}

function readPath(t: Task, addr: bigint): string | LinuxError {
  const p = t.mm.copyInString(addr, PATH_MAX);
  if (isLinuxError(p)) return p;
  return Buffer.from(p).toString("latin1");
}

export async function sysExecve(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const path = readPath(t, a.pointer(0));
  if (isLinuxError(path)) return path;
  if (path === "") return ENOENT;
  return exec(t, path, a.pointer(1), a.pointer(2));
}

/**
 * execveat(2). A path relative to a directory fd, or AT_EMPTY_PATH (fexecve), is turned into the
 * fd's path in the caller's root: files with no path (deleted, memfd) cannot be executed yet.
 */
export async function sysExecveat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const dirfd = a.int(0);
  const flags = a.int(4);
  if ((flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) !== 0) return EINVAL;
  let path = readPath(t, a.pointer(1));
  if (isLinuxError(path)) return path;
  if (path === "" && (flags & AT_EMPTY_PATH) === 0) return ENOENT;
  if (dirfd !== AT_FDCWD && !path.startsWith("/")) {
    const file = t.fdTable.get(dirfd);
    if (file === undefined) return EBADF;
    const base = t.kernel.vfs.pathOf(t.fs.root, file.vd);
    if (base === undefined) return ENOENT;
    path = path === "" ? base : `${base === "/" ? "" : base}/${path}`;
  }
  return exec(t, path, a.pointer(2), a.pointer(3));
}

// ---- wait ------------------------------------------------------------------------------------

function writeRusage(t: Task, addr: bigint, usage: CpuUsage | undefined): LinuxError | undefined {
  if (addr === 0n) return undefined;
  return t.mm.copyOut(addr, usage === undefined ? new Uint8Array(rusage.size) : encodeRusage(usage)) ?? undefined;
}

/** wait4(2). */
export async function sysWait4(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const pid = a.int(0);
  const options = a.int(2);
  if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL)) !== 0) return EINVAL;
  if (pid === -0x8000_0000) return ESRCH;
  let target: WaitTarget;
  if (pid > 0) target = { kind: "pid", pid };
  else if (pid === -1) target = { kind: "any" };
  else if (pid === 0) target = { kind: "pgid", pgid: t.tg.processGroup?.pgid ?? 0 };
  else target = { kind: "pgid", pgid: -pid };
  const r = await waitChild(t, { target, options: options | WEXITED });
  if (r === undefined) return 0;
  if (isLinuxError(r)) return r;
  const statusAddr = a.pointer(1);
  if (statusAddr !== 0n) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, r.status, true);
    const w = t.mm.copyOut(statusAddr, b);
    if (w !== undefined) return w;
  }
  return writeRusage(t, a.pointer(3), r.usage) ?? r.pid;
}

/** waitid(2). */
export async function sysWaitid(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const idtype = a.int(0);
  const id = a.int(1);
  const options = a.int(3);
  if ((options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL)) !== 0) return EINVAL;
  if ((options & (WEXITED | WSTOPPED | WCONTINUED)) === 0) return EINVAL;
  let target: WaitTarget;
  switch (idtype) {
    case P_ALL:
      target = { kind: "any" };
      break;
    case P_PID:
      if (id <= 0) return EINVAL;
      target = { kind: "pid", pid: id };
      break;
    case P_PGID:
      if (id < 0) return EINVAL;
      target = { kind: "pgid", pgid: id === 0 ? t.tg.processGroup?.pgid ?? 0 : id };
      break;
    case P_PIDFD: {
      const tg = pidfdTarget(t, id);
      if (isLinuxError(tg)) return tg;
      target = { kind: "pid", pid: tg.tgid };
      break;
    }
    default:
      return EINVAL;
  }
  const r = await waitChild(t, { target, options });
  if (isLinuxError(r)) return r;
  const infoAddr = a.pointer(2);
  if (infoAddr !== 0n) {
    const w = t.mm.copyOut(infoAddr, waitidInfo(r));
    if (w !== undefined) return w;
  }
  return writeRusage(t, a.pointer(4), r?.usage) ?? 0;
}

/** waitid's siginfo: zero when WNOHANG found nothing (Linux clears it). */
function waitidInfo(r: WaitResult | undefined): Uint8Array {
  if (r === undefined) return new Uint8Array(128);
  return encodeStruct(siginfo_sigchld, { si_signo: SIGCHLD, si_code: r.code, si_pid: r.pid, si_uid: r.uid, si_status: r.siStatus });
}
