/** pidfd_open, pidfd_send_signal, pidfd_getfd (and the pidfd helpers clone and waitid use). */
import { CAP_SYS_PTRACE, EBADF, EINVAL, EPERM, ESRCH, type LinuxError, O_NONBLOCK, SI_USER, isLinuxError } from "@runsc-ts/abi";
import { PidFd, installPidfd } from "../../kernel/pidfd.js";
import { isValidSignal, killInfo } from "../../kernel/signals.js";
import { sendSignal } from "../../kernel/task-signals.js";
import type { Task } from "../../kernel/task.js";
import type { ThreadGroup } from "../../kernel/thread-group.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { mayKill, queuedInfo } from "./sys-signal.js";

/** The process a pidfd names. */
export function pidfdTarget(t: Task, fd: number): ThreadGroup | LinuxError {
  const f = t.fdTable.get(fd);
  if (f === undefined) return EBADF;
  return f.impl instanceof PidFd ? f.impl.tg : EBADF;
}

/** pidfd_open(2): the pid must be a live process (a thread group's leader). */
export function sysPidfdOpen(t: Task, a: SyscallArgs): SyscallValue {
  const flags = a.uint(1);
  if ((flags & ~O_NONBLOCK) !== 0) return EINVAL;
  const pid = a.int(0);
  if (pid <= 0) return EINVAL;
  const tg = t.kernel.threadGroups.get(pid);
  if (tg === undefined || tg.reaped) return ESRCH;
  return installPidfd(t, tg, flags !== 0);
}

/** pidfd_send_signal(2): kill(2) through a pidfd, with an optional siginfo (rt_sigqueueinfo's rules). */
export function sysPidfdSendSignal(t: Task, a: SyscallArgs): SyscallValue {
  const tg = pidfdTarget(t, a.int(0));
  if (isLinuxError(tg)) return tg;
  const sig = a.int(1);
  if (a.uint(3) !== 0) return EINVAL;
  if (sig !== 0 && !isValidSignal(sig)) return EINVAL;
  if (tg.exited) return ESRCH;
  const info = a.pointer(2) === 0n ? killInfo(sig, t.tg.tgid, t.creds.uid, SI_USER) : queuedInfo(t, sig, a.pointer(2), tg);
  if (isLinuxError(info)) return info;
  if (!mayKill(t, tg, sig)) return EPERM;
  sendSignal(tg, info);
  return 0;
}

/** pidfd_getfd(2): a duplicate of another process's FD (same user, or CAP_SYS_PTRACE). */
export function sysPidfdGetfd(t: Task, a: SyscallArgs): SyscallValue {
  const tg = pidfdTarget(t, a.int(0));
  if (isLinuxError(tg)) return tg;
  if (a.uint(2) !== 0) return EINVAL;
  const target = tg.leader() ?? tg.tasks.values().next().value;
  if (target === undefined) return ESRCH;
  const tc = target.creds;
  const same = tc.uid === t.creds.euid && tc.euid === t.creds.euid && tc.gid === t.creds.egid;
  if (!same && !t.creds.hasCapability(CAP_SYS_PTRACE)) return EPERM;
  const f = target.fdTable.get(a.int(1));
  if (f === undefined) return EBADF;
  return t.fdTable.newFd(f, true);
}
