/** Process and thread identity, exit, and the small per-thread settings glibc makes at start. */
import { randomFillSync } from "node:crypto";
import {
  ARCH_GET_FS,
  ARCH_GET_GS,
  ARCH_SET_FS,
  ARCH_SET_GS,
  EFAULT,
  CAP_LAST_CAP,
  CAP_SYS_ADMIN,
  CAP_SETPCAP,
  EINVAL,
  EPERM,
  ENAMETOOLONG,
  ESRCH,
  GRND_INSECURE,
  GRND_NONBLOCK,
  GRND_RANDOM,
  type LinuxError,
  PR_GET_CHILD_SUBREAPER,
  PR_GET_DUMPABLE,
  PR_GET_KEEPCAPS,
  PR_GET_NAME,
  PR_CAPBSET_DROP,
  PR_CAPBSET_READ,
  PR_GET_NO_NEW_PRIVS,
  PR_GET_PDEATHSIG,
  PR_SET_CHILD_SUBREAPER,
  PR_SET_DUMPABLE,
  PR_SET_KEEPCAPS,
  PR_SET_NAME,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_PDEATHSIG,
  encodeStruct,
  isLinuxError,
  utsname,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import { type ThreadGroup, exitedStatus } from "../../kernel/thread-group.js";
import { UNAME } from "../../kernel/uts.js";
import { TASK_SIZE } from "../../mm/memory-manager.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

export function sysGetpid(t: Task): SyscallValue {
  return t.tg.tgid;
}

export function sysGettid(t: Task): SyscallValue {
  return t.tid;
}

export function sysGetppid(t: Task): SyscallValue {
  return t.tg.parent?.tgid ?? 0;
}

export function sysGetuid(t: Task): SyscallValue {
  return t.creds.uid;
}
export function sysGeteuid(t: Task): SyscallValue {
  return t.creds.euid;
}
export function sysGetgid(t: Task): SyscallValue {
  return t.creds.gid;
}
export function sysGetegid(t: Task): SyscallValue {
  return t.creds.egid;
}

/** exit(2): ends the calling thread; the last thread's exit ends the process. */
export function sysExit(t: Task, a: SyscallArgs): SyscallValue {
  if (t.tg.tasks.size === 1) t.tg.exitStatus ??= exitedStatus(a.int(0));
  t.exiting = true;
  return 0;
}

/** exit_group(2). */
export function sysExitGroup(t: Task, a: SyscallArgs): SyscallValue {
  t.kernel.exitThreadGroup(t.tg, exitedStatus(a.int(0)));
  return 0;
}

/** set_tid_address(2): remembers the clear-child-tid address, returns the tid. */
export function sysSetTidAddress(t: Task, a: SyscallArgs): SyscallValue {
  t.clearChildTid = a.pointer(0);
  return t.tid;
}

/** set_robust_list(2): bookkeeping (robust futexes are released at exit once futexes exist). */
export function sysSetRobustList(t: Task, a: SyscallArgs): SyscallValue {
  if (a.ulong(1) !== 24n) return EINVAL; // sizeof(struct robust_list_head)
  t.robustList = a.pointer(0);
  return 0;
}

/** arch_prctl(2): the FS and GS bases. */
export function sysArchPrctl(t: Task, a: SyscallArgs): SyscallValue {
  const code = a.int(0);
  const addr = a.pointer(1);
  switch (code) {
    case ARCH_SET_FS:
      if (addr >= TASK_SIZE) return EFAULT;
      t.context.fsBase = addr;
      return 0;
    case ARCH_GET_FS: {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, t.context.fsBase, true);
      return t.mm.copyOut(addr, b) ?? 0;
    }
    case ARCH_SET_GS:
    case ARCH_GET_GS:
      return EINVAL; // not used by x86-64 user space; gs belongs to the kernel
    default:
      return EINVAL;
  }
}

/** uname(2). */
export function sysUname(t: Task, a: SyscallArgs): SyscallValue {
  const field = (s: string) => {
    const b = new Uint8Array(65);
    b.set(new TextEncoder().encode(s).subarray(0, 64));
    return b;
  };
  const buf = encodeStruct(utsname, {
    sysname: field(UNAME.sysname),
    nodename: field(t.kernel.uts.hostname),
    release: field(UNAME.release),
    version: field(UNAME.version),
    machine: field(UNAME.machine),
    domainname: field(t.kernel.uts.domainname),
  });
  return t.mm.copyOut(a.pointer(0), buf) ?? 0;
}

/** sethostname(2) and setdomainname(2): CAP_SYS_ADMIN; at most 64 bytes. */
function setUtsName(t: Task, a: SyscallArgs, field: "hostname" | "domainname"): SyscallValue {
  const len = a.int(1);
  if (len < 0 || len > 64) return EINVAL;
  if (!t.creds.hasCapability(CAP_SYS_ADMIN)) return EPERM;
  const b = t.mm.copyIn(a.pointer(0), len);
  if (isLinuxError(b)) return EFAULT;
  const nul = b.indexOf(0);
  t.kernel.uts[field] = Buffer.from(nul < 0 ? b : b.subarray(0, nul)).toString("latin1");
  return 0;
}

export const sysSethostname = (t: Task, a: SyscallArgs): SyscallValue => setUtsName(t, a, "hostname");
export const sysSetdomainname = (t: Task, a: SyscallArgs): SyscallValue => setUtsName(t, a, "domainname");

/** prctl(2): the options programs use at start; others are EINVAL as on an old kernel. */
export function sysPrctl(t: Task, a: SyscallArgs): SyscallValue {
  switch (a.int(0)) {
    case PR_SET_NAME: {
      // Linux copies at most 15 bytes, stopping at a NUL; a longer name is cut, not refused.
      let name = t.mm.copyInString(a.pointer(1), 16);
      if (name === ENAMETOOLONG) name = t.mm.copyIn(a.pointer(1), 15);
      if (!(name instanceof Uint8Array)) return EFAULT;
      t.name = Buffer.from(name.subarray(0, 15)).toString("latin1");
      return 0;
    }
    case PR_GET_NAME: {
      const b = new Uint8Array(16);
      b.set(Buffer.from(t.name, "latin1").subarray(0, 15));
      return t.mm.copyOut(a.pointer(1), b) ?? 0;
    }
    case PR_SET_PDEATHSIG: {
      const sig = a.ulong(1);
      if (sig > 64n) return EINVAL;
      t.pdeathSignal = Number(sig);
      return 0;
    }
    case PR_GET_PDEATHSIG:
      return writeInt(t, a.pointer(1), t.pdeathSignal);
    case PR_SET_CHILD_SUBREAPER:
      t.tg.childSubreaper = a.ulong(1) !== 0n;
      return 0;
    case PR_GET_CHILD_SUBREAPER:
      return writeInt(t, a.pointer(1), t.tg.childSubreaper ? 1 : 0);
    case PR_SET_DUMPABLE:
      if (a.ulong(1) > 1n) return EINVAL;
      t.tg.dumpable = a.ulong(1) === 1n;
      return 0;
    case PR_GET_DUMPABLE:
      return t.tg.dumpable ? 1 : 0;
    case PR_SET_KEEPCAPS:
      if (a.ulong(1) > 1n) return EINVAL;
      t.keepCaps = a.ulong(1) === 1n;
      return 0;
    case PR_GET_KEEPCAPS:
      return t.keepCaps ? 1 : 0;
    case PR_CAPBSET_READ: {
      const cap = a.ulong(1);
      if (cap > BigInt(CAP_LAST_CAP)) return EINVAL;
      return (t.creds.bounding >> cap) & 1n ? 1 : 0;
    }
    case PR_CAPBSET_DROP: {
      const cap = a.ulong(1);
      if (cap > BigInt(CAP_LAST_CAP)) return EINVAL;
      if (!t.creds.hasCapability(CAP_SETPCAP)) return EPERM;
      t.creds = t.creds.with({ bounding: t.creds.bounding & ~(1n << cap) });
      return 0;
    }
    case PR_SET_NO_NEW_PRIVS:
      return a.ulong(1) === 1n ? 0 : EINVAL;
    case PR_GET_NO_NEW_PRIVS:
      return 1;
    default:
      return EINVAL;
  }
}

function writeInt(t: Task, addr: bigint, v: number): SyscallValue {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return t.mm.copyOut(addr, b) ?? 0;
}

/** getrandom(2). */
export function sysGetrandom(t: Task, a: SyscallArgs): SyscallValue {
  const flags = a.uint(2);
  if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) !== 0) return EINVAL;
  if ((flags & GRND_RANDOM) !== 0 && (flags & GRND_INSECURE) !== 0) return EINVAL;
  const len = Math.min(a.sizeT(1), 33_554_431); // Linux caps one call at 32 MiB - 1
  const buf = randomFillSync(new Uint8Array(len));
  const r: void | LinuxError = t.mm.copyOut(a.pointer(0), buf);
  return r ?? len;
}

/** sched_yield(2). */
export async function sysSchedYield(): Promise<SyscallValue> {
  await new Promise((resolve) => setImmediate(resolve));
  return 0;
}

/** The thread group `pid` names (0: the caller's), or ESRCH. */
function groupOf(t: Task, pid: number): ThreadGroup | LinuxError {
  if (pid === 0) return t.tg;
  return t.kernel.threadGroups.get(pid) ?? ESRCH;
}

export function sysGetpgid(t: Task, a: SyscallArgs): SyscallValue {
  const tg = groupOf(t, a.int(0));
  if (isLinuxError(tg)) return tg;
  return tg.processGroup?.pgid ?? ESRCH;
}

export const sysGetpgrp = (t: Task): SyscallValue => t.tg.processGroup?.pgid ?? ESRCH;

export function sysGetsid(t: Task, a: SyscallArgs): SyscallValue {
  const tg = groupOf(t, a.int(0));
  if (isLinuxError(tg)) return tg;
  return tg.processGroup?.session.sid ?? ESRCH;
}

export const sysSetsid = (t: Task): SyscallValue => t.kernel.sessions.setsid(t.tg);

/** setpgid(2): EINVAL for a negative group comes before the pid lookup, as on Linux. */
export function sysSetpgid(t: Task, a: SyscallArgs): SyscallValue {
  const pgid = a.int(1);
  if (pgid < 0) return EINVAL;
  const target = groupOf(t, a.int(0));
  if (isLinuxError(target)) return target;
  return t.kernel.sessions.setpgid(t.tg, target, pgid);
}
