/**
 * Signals: dispositions (rt_sigaction), masks (rt_sigprocmask), the alternate stack, sending
 * (kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo), waiting (pause, rt_sigsuspend,
 * rt_sigtimedwait, rt_sigpending) and returning from a handler (rt_sigreturn).
 */
import {
  EAGAIN,
  EFAULT,
  EINTR,
  EINVAL,
  EPERM,
  ERESTARTNOHAND,
  ESRCH,
  type LinuxError,
  SIGCONT,
  SIGKILL,
  SIGSEGV,
  SIGSTOP,
  SIG_BLOCK,
  SIG_SETMASK,
  SIG_UNBLOCK,
  SI_TKILL,
  SI_USER,
  isLinuxError,
  sigaction,
} from "@runsc-ts/abi";
import { CAP_KILL } from "@runsc-ts/abi";
import { REG } from "@runsc-ts/platform";
import { altStackReport, parseAltStack, restoreFrame } from "../../kernel/signal-frame.js";
import {
  type SigSet,
  type SignalInfo,
  UNBLOCKABLE,
  decodeSigAction,
  encodeSigAction,
  isValidSignal,
  killInfo,
  rawInfo,
  sigBit,
} from "../../kernel/signals.js";
import { sendSignal, setTemporaryMask } from "../../kernel/task-signals.js";
import type { Task } from "../../kernel/task.js";
import { type ThreadGroup, signaledStatus } from "../../kernel/thread-group.js";
import { capabilityBit } from "../../kernel/auth/credentials.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { timespecMs } from "./sys-poll.js";

/** The sigsetsize every rt_sig* call must pass (sizeof(sigset_t) in the kernel). */
const SIGSET_SIZE = 8n;

/**
 * The optional signal-mask argument of ppoll, pselect6 and epoll_pwait: installs it for the
 * call (setTemporaryMask). A null pointer changes nothing.
 */
export function applyCallMask(t: Task, addr: bigint, size: bigint): LinuxError | undefined {
  if (addr === 0n) return undefined;
  if (size !== SIGSET_SIZE) return EINVAL;
  const set = readSigset(t, addr);
  if (isLinuxError(set)) return set;
  setTemporaryMask(t, set);
  return undefined;
}

function readSigset(t: Task, addr: bigint): SigSet | LinuxError {
  const b = t.mm.copyIn(addr, 8);
  if (isLinuxError(b)) return EFAULT;
  return new DataView(b.buffer).getBigUint64(0, true);
}

function writeSigset(t: Task, addr: bigint, set: SigSet): LinuxError | undefined {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, set, true);
  return t.mm.copyOut(addr, b) ?? undefined;
}

/** rt_sigaction(2). */
export function sysRtSigaction(t: Task, a: SyscallArgs): SyscallValue {
  const sig = a.int(0);
  if (a.ulong(3) !== SIGSET_SIZE) return EINVAL;
  if (!isValidSignal(sig)) return EINVAL;
  const actAddr = a.pointer(1);
  const oldAddr = a.pointer(2);
  let next;
  if (actAddr !== 0n) {
    if (sig === SIGKILL || sig === SIGSTOP) return EINVAL;
    const b = t.mm.copyIn(actAddr, sigaction.size);
    if (isLinuxError(b)) return EFAULT;
    next = decodeSigAction(b);
    next = { ...next, mask: next.mask & ~UNBLOCKABLE };
  }
  if (oldAddr !== 0n) {
    const w = t.mm.copyOut(oldAddr, encodeSigAction(t.tg.handlers.get(sig)));
    if (w !== undefined) return w;
  }
  if (next !== undefined) {
    t.tg.handlers.set(sig, next);
    // A signal now ignored is discarded from every queue (POSIX; Linux's do_sigaction).
    if (t.tg.handlers.ignores(sig)) {
      t.tg.pending.discard(sigBit(sig));
      for (const o of t.tg.tasks) o.pending.discard(sigBit(sig));
    }
  }
  return 0;
}

/** Applies rt_sigprocmask's `how` to `mask`. */
function applyHow(mask: SigSet, how: number, set: SigSet): SigSet | LinuxError {
  switch (how) {
    case SIG_BLOCK:
      return mask | set;
    case SIG_UNBLOCK:
      return mask & ~set;
    case SIG_SETMASK:
      return set;
    default:
      return EINVAL;
  }
}

/** rt_sigprocmask(2). */
export function sysRtSigprocmask(t: Task, a: SyscallArgs): SyscallValue {
  if (a.ulong(3) !== SIGSET_SIZE) return EINVAL;
  const setAddr = a.pointer(1);
  const oldAddr = a.pointer(2);
  let set: SigSet | undefined;
  if (setAddr !== 0n) {
    const s = readSigset(t, setAddr);
    if (isLinuxError(s)) return s;
    set = s;
  }
  let next: SigSet | undefined;
  if (set !== undefined) {
    const m = applyHow(t.signalMask, a.int(0), set);
    if (isLinuxError(m)) return m;
    next = m & ~UNBLOCKABLE;
  }
  if (oldAddr !== 0n) {
    const w = writeSigset(t, oldAddr, t.signalMask);
    if (w !== undefined) return w;
  }
  if (next !== undefined) t.signalMask = next;
  return 0;
}

/** sigaltstack(2). */
export function sysSigaltstack(t: Task, a: SyscallArgs): SyscallValue {
  const ssAddr = a.pointer(0);
  const oldAddr = a.pointer(1);
  const sp = t.context.regs[REG.rsp] as bigint;
  let next;
  if (ssAddr !== 0n) {
    const b = t.mm.copyIn(ssAddr, 24);
    if (isLinuxError(b)) return EFAULT;
    next = parseAltStack(t.altStack, sp, b);
    if (isLinuxError(next)) return next;
  }
  if (oldAddr !== 0n) {
    const w = t.mm.copyOut(oldAddr, altStackReport(t.altStack, sp));
    if (w !== undefined) return w;
  }
  if (next !== undefined) t.altStack = next;
  return 0;
}

/** rt_sigreturn(2): back from a handler. A frame that cannot be read kills with SIGSEGV. */
export function sysRtSigreturn(t: Task): SyscallValue {
  const rax = restoreFrame(t, UNBLOCKABLE);
  if (isLinuxError(rax)) {
    t.kernel.exitThreadGroup(t.tg, signaledStatus(SIGSEGV));
    return 0;
  }
  return rax;
}

// ---- sending ---------------------------------------------------------------------------------

/** kill(2)'s permission rule: same user, CAP_KILL, or SIGCONT within the session. */
export function mayKill(t: Task, target: ThreadGroup, sig: number): boolean {
  const c = t.creds;
  if ((c.effective & capabilityBit(CAP_KILL)) !== 0n) return true;
  const tc = target.creds();
  if (tc === undefined) return true;
  if (c.euid === tc.suid || c.euid === tc.uid || c.uid === tc.suid || c.uid === tc.uid) return true;
  return sig === SIGCONT && target.processGroup?.session === t.tg.processGroup?.session;
}

/** Sends to each of `targets` the caller may signal; ESRCH for none, EPERM if all refused. */
function sendToGroups(t: Task, targets: Iterable<ThreadGroup>, info: SignalInfo): SyscallValue {
  let found = false;
  let sent = false;
  for (const tg of targets) {
    found = true;
    if (!mayKill(t, tg, info.signo)) continue;
    sent = true;
    sendSignal(tg, info);
  }
  if (!found) return ESRCH;
  return sent ? 0 : EPERM;
}

/** kill(2): a process, the caller's process group, every process (-1), or a process group. */
export function sysKill(t: Task, a: SyscallArgs): SyscallValue {
  const pid = a.int(0);
  const sig = a.int(1);
  if (sig !== 0 && !isValidSignal(sig)) return EINVAL;
  const info = killInfo(sig, t.tg.tgid, t.creds.uid, SI_USER);
  const k = t.kernel;
  if (pid > 0) {
    const tg = k.threadGroups.get(pid);
    return tg === undefined ? ESRCH : sendToGroups(t, [tg], info);
  }
  if (pid === -1) {
    const all = [...k.threadGroups.values()].filter((tg) => tg.tgid !== 1 && tg !== t.tg && !tg.reaped);
    return sendToGroups(t, all, info);
  }
  const pgid = pid === 0 ? t.tg.processGroup?.pgid : -pid;
  const pg = pgid === undefined ? undefined : k.sessions.group(pgid);
  return pg === undefined ? ESRCH : sendToGroups(t, [...pg.members], info);
}

/** The live thread `tid`, in thread group `tgid` if given. */
function threadOf(t: Task, tid: number, tgid?: number): Task | LinuxError {
  if (tid <= 0 || (tgid !== undefined && tgid <= 0)) return EINVAL;
  const target = t.kernel.tasks.get(tid);
  if (target === undefined || (tgid !== undefined && target.tg.tgid !== tgid)) return ESRCH;
  return target;
}

function sendToThread(t: Task, target: Task, info: SignalInfo): SyscallValue {
  if (!mayKill(t, target.tg, info.signo)) return EPERM;
  sendSignal(target, info);
  return 0;
}

/** tkill(2). */
export function sysTkill(t: Task, a: SyscallArgs): SyscallValue {
  const sig = a.int(1);
  if (sig !== 0 && !isValidSignal(sig)) return EINVAL;
  const target = threadOf(t, a.int(0));
  if (isLinuxError(target)) return target;
  return sendToThread(t, target, killInfo(sig, t.tg.tgid, t.creds.uid, SI_TKILL));
}

/** tgkill(2). */
export function sysTgkill(t: Task, a: SyscallArgs): SyscallValue {
  const sig = a.int(2);
  if (sig !== 0 && !isValidSignal(sig)) return EINVAL;
  const target = threadOf(t, a.int(1), a.int(0));
  if (isLinuxError(target)) return target;
  return sendToThread(t, target, killInfo(sig, t.tg.tgid, t.creds.uid, SI_TKILL));
}

/** The siginfo a caller of rt_(tg)sigqueueinfo supplies; it may not pose as the kernel. */
export function queuedInfo(t: Task, sig: number, addr: bigint, target: ThreadGroup): SignalInfo | LinuxError {
  const b = t.mm.copyIn(addr, 128);
  if (isLinuxError(b)) return EFAULT;
  const info = rawInfo(sig, b);
  // Only the kernel (si_code > 0) and tkill (SI_TKILL) are trusted; a process may forge its own
  // siginfo only when signalling itself.
  if ((info.code >= 0 || info.code === SI_TKILL) && target !== t.tg) return EPERM;
  return info;
}

/** rt_sigqueueinfo(2). */
export function sysRtSigqueueinfo(t: Task, a: SyscallArgs): SyscallValue {
  const sig = a.int(1);
  if (!isValidSignal(sig)) return EINVAL;
  const tg = t.kernel.threadGroups.get(a.int(0));
  if (tg === undefined || tg.reaped) return ESRCH;
  const info = queuedInfo(t, sig, a.pointer(2), tg);
  if (isLinuxError(info)) return info;
  return sendToGroups(t, [tg], info);
}

/** rt_tgsigqueueinfo(2). */
export function sysRtTgsigqueueinfo(t: Task, a: SyscallArgs): SyscallValue {
  const sig = a.int(2);
  if (!isValidSignal(sig)) return EINVAL;
  const target = threadOf(t, a.int(1), a.int(0));
  if (isLinuxError(target)) return target;
  const info = queuedInfo(t, sig, a.pointer(3), target.tg);
  if (isLinuxError(info)) return info;
  return sendToThread(t, target, info);
}

// ---- waiting ---------------------------------------------------------------------------------

/** rt_sigpending(2): pending signals the caller blocks (its own and its process's). */
export function sysRtSigpending(t: Task, a: SyscallArgs): SyscallValue {
  if (a.ulong(1) > SIGSET_SIZE) return EINVAL;
  const set = (t.pending.set | t.tg.pending.set) & t.signalMask;
  return writeSigset(t, a.pointer(0), set) ?? 0;
}

/** Sleeps until a signal interrupts the task. */
function untilInterrupted(t: Task): Promise<void> {
  if (t.interrupter.interrupted) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = t.interrupter.onInterrupt(() => {
      stop();
      resolve();
    });
  });
}

/** pause(2): sleeps until a signal is delivered (always EINTR, or the task dies). */
export async function sysPause(t: Task): Promise<SyscallValue> {
  await untilInterrupted(t);
  return ERESTARTNOHAND;
}

/** rt_sigsuspend(2): pause with a temporary mask, put back after the handler returns. */
export async function sysRtSigsuspend(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  if (a.ulong(1) !== SIGSET_SIZE) return EINVAL;
  const set = readSigset(t, a.pointer(0));
  if (isLinuxError(set)) return set;
  setTemporaryMask(t, set);
  await untilInterrupted(t);
  return ERESTARTNOHAND;
}

/**
 * rt_sigtimedwait(2): takes a pending signal from `set` (blocked ones: that is the point) and
 * returns its number, filling the siginfo; waits up to the timeout for one to come.
 */
export async function sysRtSigtimedwait(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  if (a.ulong(3) !== SIGSET_SIZE) return EINVAL;
  const set = readSigset(t, a.pointer(0));
  if (isLinuxError(set)) return set;
  const want = set & ~UNBLOCKABLE;
  const ms = timespecMs(t, a.pointer(2));
  if (isLinuxError(ms)) return ms;
  const take = (): SignalInfo | undefined => {
    const own = t.pending.peek(want);
    if (own !== undefined) return t.pending.take(own);
    const shared = t.tg.pending.peek(want);
    return shared === undefined ? undefined : t.tg.pending.take(shared);
  };
  let info = take();
  if (info === undefined && ms !== 0) {
    // While waiting, the signals in the set are deliverable to this wait: unblock them so a
    // sender wakes us, as Linux does (it sets real_blocked and unblocks the set).
    const saved = t.signalMask;
    t.signalMask &= ~want;
    t.interrupter.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([untilInterrupted(t), ...(ms > 0 ? [new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))] : [])]);
    clearTimeout(timer);
    t.signalMask = saved;
    info = take();
    if (info === undefined) return t.interrupter.interrupted ? EINTR : EAGAIN;
  }
  if (info === undefined) return EAGAIN;
  const infoAddr = a.pointer(1);
  if (infoAddr !== 0n) {
    const w = t.mm.copyOut(infoAddr, info.bytes);
    if (w !== undefined) return w;
  }
  return info.signo;
}

/** restart_syscall(2): continues what an interrupted nanosleep left. */
export function sysRestartSyscall(t: Task): SyscallValue | Promise<SyscallValue> {
  const block = t.restartBlock;
  t.restartBlock = undefined;
  return block === undefined ? EINTR : block();
}

