/**
 * Scheduling settings: nice values (getpriority/setpriority), policies and priorities
 * (sched_*), CPU affinity. The sentry records them with Linux's permission rules and reports them
 * back; the host schedules the application's threads as it likes (no real-time classes).
 */
import {
  CAP_SYS_ADMIN,
  CAP_SYS_NICE,
  EACCES,
  EFAULT,
  EINVAL,
  EPERM,
  ESRCH,
  type LinuxError,
  PRIO_PGRP,
  PRIO_PROCESS,
  PRIO_USER,
  SCHED_BATCH,
  SCHED_FIFO,
  SCHED_IDLE,
  SCHED_RR,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

const SCHED_OTHER = 0;
/** The flag sched_setscheduler may carry: children start back at SCHED_OTHER. */
const SCHED_RESET_ON_FORK = 0x4000_0000;

/** The tasks `which`/`who` name (getpriority(2)). */
function prioTargets(t: Task, which: number, who: number): Task[] | LinuxError {
  const k = t.kernel;
  switch (which) {
    case PRIO_PROCESS: {
      if (who === 0) return [t];
      const target = k.tasks.get(who);
      return target === undefined ? [] : [target];
    }
    case PRIO_PGRP: {
      const pg = who === 0 ? t.tg.processGroup : k.sessions.group(who);
      return pg === undefined ? [] : [...pg.members].flatMap((tg) => [...tg.tasks]);
    }
    case PRIO_USER: {
      const uid = who === 0 ? t.creds.uid : who;
      return [...k.tasks.values()].filter((x) => x.creds.uid === uid);
    }
    default:
      return EINVAL;
  }
}

/** getpriority(2): the highest priority (lowest nice) of the targets, as 20 - nice. */
export function sysGetpriority(t: Task, a: SyscallArgs): SyscallValue {
  const targets = prioTargets(t, a.int(0), a.int(1));
  if (isLinuxError(targets)) return targets;
  if (targets.length === 0) return ESRCH;
  return 20 - Math.min(...targets.map((x) => x.nice));
}

/** setpriority(2): lowering nice needs CAP_SYS_NICE; others' tasks need a matching uid. */
export function sysSetpriority(t: Task, a: SyscallArgs): SyscallValue {
  const targets = prioTargets(t, a.int(0), a.int(1));
  if (isLinuxError(targets)) return targets;
  if (targets.length === 0) return ESRCH;
  const nice = Math.max(-20, Math.min(19, a.int(2)));
  const privileged = t.creds.hasCapability(CAP_SYS_NICE);
  let result: SyscallValue = 0;
  for (const x of targets) {
    if (!privileged && x.creds.uid !== t.creds.euid && x.creds.euid !== t.creds.euid) {
      result = EPERM;
      continue;
    }
    if (nice < x.nice && !privileged) {
      result = EACCES;
      continue;
    }
    x.nice = nice;
  }
  return result;
}

/** ioprio_set/ioprio_get's `which` (IOPRIO_WHO_PROCESS, _PGRP, _USER) are PRIO_* plus one. */
const IOPRIO_WHO_OFFSET = 1;
const IOPRIO_BITS = 16;
const IOPRIO_CLASS_SHIFT = 13;
const IOPRIO_LEVEL_MASK = 7;
const IOPRIO_CLASS_NONE = 0;
const IOPRIO_CLASS_RT = 1;
const IOPRIO_CLASS_IDLE = 3;

/** The order ioprio_get picks the "best" of several tasks' priorities in: RT, BE, none, idle, then level. */
function ioprioRank(ioprio: number): number {
  const order = [2, 0, 1, 3][ioprio >> IOPRIO_CLASS_SHIFT] ?? 4;
  return order * 8 + (ioprio & IOPRIO_LEVEL_MASK);
}

/**
 * ioprio_set(2): I/O priorities are recorded with Linux's checks (the host does the I/O). As since
 * Linux 6.5 the data holds a level in its low three bits and hints above it: only the value's
 * size, the class (EINVAL), a level for the "none" class (EINVAL) and CAP_SYS_NICE or
 * CAP_SYS_ADMIN for the real-time class (EPERM) are checked; others' tasks need a matching uid or
 * CAP_SYS_NICE (EPERM).
 */
export function sysIoprioSet(t: Task, a: SyscallArgs): SyscallValue {
  const ioprio = a.int(2);
  if (ioprio < 0 || ioprio >= 1 << IOPRIO_BITS) return EINVAL;
  const cls = ioprio >> IOPRIO_CLASS_SHIFT;
  if (cls > IOPRIO_CLASS_IDLE) return EINVAL;
  if (cls === IOPRIO_CLASS_NONE && (ioprio & IOPRIO_LEVEL_MASK) !== 0) return EINVAL;
  if (cls === IOPRIO_CLASS_RT && !t.creds.hasCapability(CAP_SYS_NICE) && !t.creds.hasCapability(CAP_SYS_ADMIN)) return EPERM;
  const targets = prioTargets(t, a.int(0) - IOPRIO_WHO_OFFSET, a.int(1));
  if (isLinuxError(targets)) return targets;
  if (targets.length === 0) return ESRCH;
  const privileged = t.creds.hasCapability(CAP_SYS_NICE);
  let result: SyscallValue = 0;
  for (const x of targets) {
    if (!privileged && x.creds.uid !== t.creds.euid && x.creds.euid !== t.creds.euid) result = EPERM;
    else x.ioprio = ioprio;
  }
  return result;
}

/** ioprio_get(2): the task's I/O priority, or the best of a group's or a user's tasks. */
export function sysIoprioGet(t: Task, a: SyscallArgs): SyscallValue {
  const targets = prioTargets(t, a.int(0) - IOPRIO_WHO_OFFSET, a.int(1));
  if (isLinuxError(targets)) return targets;
  if (targets.length === 0) return ESRCH;
  return targets.map((x) => x.ioprio).reduce((best, p) => (ioprioRank(p) < ioprioRank(best) ? p : best));
}

function taskOf(t: Task, pid: number): Task | LinuxError {
  if (pid < 0) return EINVAL;
  if (pid === 0) return t;
  return t.kernel.tasks.get(pid) ?? ESRCH;
}

const isRealtime = (policy: number): boolean => policy === SCHED_FIFO || policy === SCHED_RR;

function validPolicy(policy: number): boolean {
  return policy === SCHED_OTHER || policy === SCHED_BATCH || policy === SCHED_IDLE || isRealtime(policy);
}

/** sched_setscheduler(2) and sched_setparam(2) (policy -1: keep the policy). */
function setScheduler(t: Task, pid: number, policy: number, paramAddr: bigint): SyscallValue {
  const target = taskOf(t, pid);
  if (isLinuxError(target)) return target;
  if (paramAddr === 0n) return EINVAL;
  const raw = t.mm.copyIn(paramAddr, 4);
  if (isLinuxError(raw)) return EFAULT;
  const priority = new DataView(raw.buffer).getInt32(0, true);
  const resetOnFork = policy !== -1 && (policy & SCHED_RESET_ON_FORK) !== 0;
  const p = policy === -1 ? target.schedPolicy : policy & ~SCHED_RESET_ON_FORK;
  if (!validPolicy(p)) return EINVAL;
  if (isRealtime(p) ? priority < 1 || priority > 99 : priority !== 0) return EINVAL;
  const privileged = t.creds.hasCapability(CAP_SYS_NICE);
  if (!privileged) {
    if (target.creds.uid !== t.creds.euid && target.creds.euid !== t.creds.euid) return EPERM;
    if (isRealtime(p) && priority > 0) return EPERM; // RLIMIT_RTPRIO is 0
  }
  target.schedPolicy = p;
  target.schedPriority = priority;
  if (policy !== -1) target.schedResetOnFork = resetOnFork;
  return 0;
}

export const sysSchedSetscheduler = (t: Task, a: SyscallArgs): SyscallValue => setScheduler(t, a.int(0), a.int(1), a.pointer(2));
export const sysSchedSetparam = (t: Task, a: SyscallArgs): SyscallValue => setScheduler(t, a.int(0), -1, a.pointer(1));

export function sysSchedGetscheduler(t: Task, a: SyscallArgs): SyscallValue {
  const target = taskOf(t, a.int(0));
  if (isLinuxError(target)) return target;
  return target.schedPolicy | (target.schedResetOnFork ? SCHED_RESET_ON_FORK : 0);
}

export function sysSchedGetparam(t: Task, a: SyscallArgs): SyscallValue {
  const target = taskOf(t, a.int(0));
  if (isLinuxError(target)) return target;
  if (a.pointer(1) === 0n) return EINVAL;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, target.schedPriority, true);
  return t.mm.copyOut(a.pointer(1), b) ?? 0;
}

export function sysSchedGetPriorityMax(_t: Task, a: SyscallArgs): SyscallValue {
  const policy = a.int(0);
  if (!validPolicy(policy)) return EINVAL;
  return isRealtime(policy) ? 99 : 0;
}

export function sysSchedGetPriorityMin(_t: Task, a: SyscallArgs): SyscallValue {
  const policy = a.int(0);
  if (!validPolicy(policy)) return EINVAL;
  return isRealtime(policy) ? 1 : 0;
}

/** sched_rr_get_interval(2): SCHED_RR's time slice (100 ms), 0 for the other policies. */
export function sysSchedRrGetInterval(t: Task, a: SyscallArgs): SyscallValue {
  const target = taskOf(t, a.int(0));
  if (isLinuxError(target)) return target;
  const b = new Uint8Array(16);
  if (target.schedPolicy === SCHED_RR) new DataView(b.buffer).setBigInt64(8, 100_000_000n, true);
  return t.mm.copyOut(a.pointer(1), b) ?? 0;
}

/** sched_setaffinity(2): accepted when the mask names one of the sandbox's CPUs (tasks are not pinned). */
export function sysSchedSetaffinity(t: Task, a: SyscallArgs): SyscallValue {
  const target = taskOf(t, a.int(0));
  if (isLinuxError(target)) return target;
  const len = Math.min(a.sizeT(1), 128);
  if (len === 0) return EINVAL;
  const raw = t.mm.copyIn(a.pointer(2), len);
  if (isLinuxError(raw)) return EFAULT;
  const cpus = Math.min(t.kernel.cpus, len * 8);
  for (let cpu = 0; cpu < cpus; cpu++) if (((raw[cpu >> 3] ?? 0) & (1 << (cpu & 7))) !== 0) return 0;
  return EINVAL;
}
