/** What the process can learn about its limits and the machine: rlimits, sysinfo, CPUs, ids. */
import {
  EFAULT,
  EINVAL,
  ESRCH,
  HZ,
  RLIMIT_CPU,
  type LinuxError,
  RUSAGE_CHILDREN,
  RUSAGE_SELF,
  RUSAGE_THREAD,
  encodeStruct,
  isLinuxError,
  rusage,
  sysinfo,
  tms,
} from "@runsc-ts/abi";
import type { CpuUsage } from "@runsc-ts/platform";
import { applyCpuLimit } from "../../kernel/cpu-limit.js";
import type { Task } from "../../kernel/task.js";
import { INFINITY, type Rlimit } from "../../kernel/limits.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

const CAP_SYS_RESOURCE = 24;

function rlimitBytes(l: Rlimit): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, l.cur, true);
  dv.setBigUint64(8, l.max, true);
  return b;
}

function readRlimit(t: Task, addr: bigint): Rlimit | LinuxError {
  const b = t.mm.copyIn(addr, 16);
  if (isLinuxError(b)) return EFAULT;
  const dv = new DataView(b.buffer);
  return { cur: dv.getBigUint64(0, true), max: dv.getBigUint64(8, true) };
}

/** prlimit64(2) on the calling process (pid 0 or its own pid). */
export function sysPrlimit64(t: Task, a: SyscallArgs): SyscallValue {
  const pid = a.int(0);
  if (pid !== 0 && pid !== t.tg.tgid) return pid < 0 ? EINVAL : ESRCH;
  const resource = a.int(1);
  const old = t.tg.limits.get(resource);
  if (isLinuxError(old)) return old;
  if (a.pointer(2) !== 0n) {
    const next = readRlimit(t, a.pointer(2));
    if (isLinuxError(next)) return next;
    const r = t.tg.limits.set(resource, next, t.creds.hasCapability(CAP_SYS_RESOURCE));
    if (isLinuxError(r)) return r;
    if (resource === RLIMIT_CPU) applyCpuLimit(t.tg);
  }
  if (a.pointer(3) !== 0n) return t.mm.copyOut(a.pointer(3), rlimitBytes(old)) ?? 0;
  return 0;
}

export function sysGetrlimit(t: Task, a: SyscallArgs): SyscallValue {
  const l = t.tg.limits.get(a.int(0));
  if (isLinuxError(l)) return l;
  return t.mm.copyOut(a.pointer(1), rlimitBytes(l)) ?? 0;
}

export function sysSetrlimit(t: Task, a: SyscallArgs): SyscallValue {
  const next = readRlimit(t, a.pointer(1));
  if (isLinuxError(next)) return next;
  const r = t.tg.limits.set(a.int(0), next, t.creds.hasCapability(CAP_SYS_RESOURCE));
  if (isLinuxError(r)) return r;
  if (a.int(0) === RLIMIT_CPU) applyCpuLimit(t.tg);
  return 0;
}

/** sysinfo(2): uptime, the configured memory, one process per thread group. */
export function sysSysinfo(t: Task, a: SyscallArgs): SyscallValue {
  const uptime = Number((process.hrtime.bigint() - t.kernel.bootTime) / 1_000_000_000n);
  const total = t.kernel.totalMemory;
  const buf = encodeStruct(sysinfo, {
    uptime,
    loads: [0, 0, 0],
    totalram: total,
    freeram: Math.floor(total / 2),
    sharedram: 0,
    bufferram: 0,
    totalswap: 0,
    freeswap: 0,
    procs: t.kernel.threadGroups.size,
    pad: 0,
    totalhigh: 0,
    freehigh: 0,
    mem_unit: 1,
    _f: new Uint8Array(0),
  });
  return t.mm.copyOut(a.pointer(0), buf) ?? 0;
}

/** sched_getaffinity(2): the sandbox's CPUs, all allowed. */
export function sysSchedGetaffinity(t: Task, a: SyscallArgs): SyscallValue {
  const pid = a.int(0);
  if (pid !== 0 && !t.kernel.tasks.has(pid)) return ESRCH;
  const len = a.sizeT(1);
  if (len < 8 || len % 8 !== 0) return EINVAL;
  const b = new Uint8Array(8);
  const cpus = Math.min(t.kernel.cpus, 64);
  new DataView(b.buffer).setBigUint64(0, cpus === 64 ? INFINITY : (1n << BigInt(cpus)) - 1n, true);
  return t.mm.copyOut(a.pointer(2), b) ?? 8;
}

/** getcpu(2): always CPU 0, node 0 (tasks are not pinned). */
export function sysGetcpu(t: Task, a: SyscallArgs): SyscallValue {
  const zero = new Uint8Array(4);
  if (a.pointer(0) !== 0n && t.mm.copyOut(a.pointer(0), zero) !== undefined) return EFAULT;
  if (a.pointer(1) !== 0n && t.mm.copyOut(a.pointer(1), zero) !== undefined) return EFAULT;
  return 0;
}

/** getresuid/getresgid(2). */
function putIds(t: Task, addrs: bigint[], ids: number[]): SyscallValue {
  for (let i = 0; i < 3; i++) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, ids[i] ?? 0, true);
    if (t.mm.copyOut(addrs[i] ?? 0n, b) !== undefined) return EFAULT;
  }
  return 0;
}

export const sysGetresuid = (t: Task, a: SyscallArgs) => putIds(t, [a.pointer(0), a.pointer(1), a.pointer(2)], [t.creds.uid, t.creds.euid, t.creds.suid]);
export const sysGetresgid = (t: Task, a: SyscallArgs) => putIds(t, [a.pointer(0), a.pointer(1), a.pointer(2)], [t.creds.gid, t.creds.egid, t.creds.sgid]);

/** getgroups(2). */
export function sysGetgroups(t: Task, a: SyscallArgs): SyscallValue {
  const size = a.int(0);
  const groups = t.creds.groups;
  if (size < 0) return EINVAL;
  if (size === 0) return groups.length;
  if (size < groups.length) return EINVAL;
  const b = new Uint8Array(4 * groups.length);
  groups.forEach((g, i) => new DataView(b.buffer).setUint32(4 * i, g, true));
  return t.mm.copyOut(a.pointer(1), b) ?? groups.length;
}

/** struct rusage for `u` (times as timevals; the counters the sentry has; the rest zero). */
export function encodeRusage(u: CpuUsage): Uint8Array {
  const tv = (ns: bigint) => ({ tv_sec: ns / 1_000_000_000n, tv_usec: (ns % 1_000_000_000n) / 1000n });
  return encodeStruct(rusage, { ru_utime: tv(u.user), ru_stime: tv(u.system), ru_minflt: u.minorFaults, ru_majflt: u.majorFaults });
}

/** getrusage(2): the process, its waited-for children, or the calling thread. */
export function sysGetrusage(t: Task, a: SyscallArgs): SyscallValue {
  let u: CpuUsage;
  switch (a.int(0)) {
    case RUSAGE_SELF:
      u = t.tg.usage();
      break;
    case RUSAGE_CHILDREN:
      u = t.tg.childrenUsage;
      break;
    case RUSAGE_THREAD:
      u = t.context.cpuUsage();
      break;
    default:
      return EINVAL;
  }
  return t.mm.copyOut(a.pointer(1), encodeRusage(u)) ?? 0;
}

/** times(2): process and children times in clock ticks; returns ticks since boot. */
export function sysTimes(t: Task, a: SyscallArgs): SyscallValue {
  const ticks = (ns: bigint) => ns / (1_000_000_000n / BigInt(HZ));
  if (a.pointer(0) !== 0n) {
    const self = t.tg.usage();
    const kids = t.tg.childrenUsage;
    const b = encodeStruct(tms, { tms_utime: ticks(self.user), tms_stime: ticks(self.system), tms_cutime: ticks(kids.user), tms_cstime: ticks(kids.system) });
    const w = t.mm.copyOut(a.pointer(0), b);
    if (w !== undefined) return w;
  }
  return ticks(t.kernel.now());
}
