/**
 * Sending and delivering signals (Linux's kernel/signal.c semantics, our own code).
 *
 * Sending (`sendSignal`): SIGKILL ends the group at once; SIGCONT resumes a stopped group and
 * drops pending stop signals (and a stop signal drops a pending SIGCONT); a signal the target
 * ignores is discarded unless blocked; otherwise it is queued on the task or the group, and one
 * task that does not block it is woken — out of its blocking syscall (the interrupter) or out
 * of application code (the platform's interrupt).
 *
 * Delivery (`deliverSignals`) runs in the task's run loop each time it is about to return to
 * the application: it takes pending unblocked signals one by one, applies default actions
 * (terminate, core, stop, ignore), pushes a frame for each caught one, and settles an
 * interrupted syscall: restarted (rax = nr, rip back over the syscall instruction) or EINTR,
 * by the restart code and SA_RESTART, as Linux's arch_do_signal_or_restart does.
 */
import {
  CLD_CONTINUED,
  CLD_STOPPED,
  EINTR,
  EPOLLIN,
  ERESTARTNOHAND,
  ERESTARTNOINTR,
  ERESTARTSYS,
  ERESTART_RESTARTBLOCK,
  type LinuxError,
  SA_NOCLDSTOP,
  SA_NOCLDWAIT,
  SA_NODEFER,
  SA_RESTART,
  SIGCHLD,
  SIGCONT,
  SIGKILL,
  SIGSEGV,
  SIGSTOP,
  SIGTSTP,
  SIGTTIN,
  SIGTTOU,
  SYS_restart_syscall,
  encodeStruct,
  siginfo_sigchld,
} from "@runsc-ts/abi";
import { REG } from "@runsc-ts/platform";
import { setupFrame } from "./signal-frame.js";
import {
  SIG_DFL,
  SIG_IGN,
  type SignalInfo,
  UNBLOCKABLE,
  defaultAction,
  isStopSignal,
  sigBit,
} from "./signals.js";
import type { Task } from "./task.js";
import { type ThreadGroup, signaledStatus } from "./thread-group.js";

const STOP_SIGNALS = [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU].reduce((m, s) => m | sigBit(s), 0n);

/** The syscall restart codes: a handler (or none) decides between restarting and EINTR. */
export function isRestartCode(e: LinuxError): boolean {
  return e === ERESTARTSYS || e === ERESTARTNOINTR || e === ERESTARTNOHAND || e === ERESTART_RESTARTBLOCK;
}

/** Wakes `t` for a signal: out of a blocking syscall, or out of application code. */
export function wakeForSignal(t: Task): void {
  t.interrupter.interrupt();
  t.context.interrupt();
}

export interface SendOptions {
  /** Sent from outside the sandbox's pid namespace (the runtime): init's protection does not apply. */
  readonly fromOutside?: boolean;
}

/**
 * Sends `info` to thread `target` (a Task) or to a whole process (a ThreadGroup). Signal 0 and
 * signals to an exited process do nothing. Permission checks are the caller's.
 */
export function sendSignal(target: Task | ThreadGroup, info: SignalInfo, opts: SendOptions = {}): void {
  const tg = "tgid" in target ? target : target.tg;
  const task = "tgid" in target ? undefined : target;
  const sig = info.signo;
  if (sig === 0 || tg.exiting || tg.tasks.size === 0) return;
  const handlers = tg.handlers;
  const blocked = (t: Task) => (t.signalMask & sigBit(sig)) !== 0n;
  // Linux's sig_ignored looks at the target thread, or the main thread for a process.
  const first = task ?? tg.leader() ?? (tg.tasks.values().next().value as Task);
  if (!blocked(first)) {
    // The sandbox's init gets only the signals it has handlers for, from inside (pid_namespaces(7)).
    if (tg.tgid === 1 && opts.fromOutside !== true && handlers.get(sig).handler === SIG_DFL) return;
    if (handlers.ignores(sig) && sig !== SIGCONT) return;
  }

  if (sig === SIGKILL) {
    first.kernel.exitThreadGroup(tg, signaledStatus(SIGKILL));
    return;
  }
  if (isStopSignal(sig)) discardEverywhere(tg, sigBit(SIGCONT));
  if (sig === SIGCONT) {
    discardEverywhere(tg, STOP_SIGNALS);
    continueGroup(tg);
  }
  const queue = task?.pending ?? tg.pending;
  if (!queue.enqueue(info)) return;
  tg.signalQueue.notify(EPOLLIN);
  if (task !== undefined) {
    if (!blocked(task)) wakeForSignal(task);
    return;
  }
  for (const t of tg.tasks) {
    if (!blocked(t) && !t.exiting) {
      wakeForSignal(t);
      return;
    }
  }
}

/** A fault the application took: delivered even if blocked or ignored (then it kills). */
export function forceSignal(t: Task, info: SignalInfo): void {
  const bit = sigBit(info.signo);
  const act = t.tg.handlers.get(info.signo);
  if ((t.signalMask & bit) !== 0n || act.handler === SIG_IGN) {
    t.tg.handlers.set(info.signo, { ...act, handler: SIG_DFL });
    t.signalMask &= ~bit;
  }
  t.pending.enqueue(info);
}

function discardEverywhere(tg: ThreadGroup, mask: bigint): void {
  tg.pending.discard(mask);
  for (const t of tg.tasks) t.pending.discard(mask);
}

/**
 * Installs a mask for the duration of a syscall (sigsuspend, ppoll, pselect6, epoll_pwait): the
 * old one comes back at the return to the application, or after the handler of a signal the
 * temporary mask let through. A signal it unblocks interrupts the call at once.
 */
export function setTemporaryMask(t: Task, mask: bigint): void {
  t.savedMask ??= t.signalMask;
  t.signalMask = mask & ~UNBLOCKABLE;
  if (((t.pending.set | t.tg.pending.set) & ~t.signalMask) !== 0n) t.interrupter.interrupt();
}

/** Whether `t` has work at the return to the application: signals, a stop, a restart, a mask. */
export function hasSignalWork(t: Task): boolean {
  return (
    ((t.pending.set | t.tg.pending.set) & ~t.signalMask) !== 0n ||
    t.restart !== undefined ||
    t.savedMask !== undefined ||
    t.tg.stopped ||
    t.interrupter.interrupted
  );
}

/** Takes the next deliverable signal for `t`: its own queue first, then the group's. */
function dequeue(t: Task): SignalInfo | undefined {
  const allowed = ~t.signalMask;
  const own = t.pending.peek(allowed);
  if (own !== undefined) return t.pending.take(own);
  const shared = t.tg.pending.peek(allowed);
  return shared === undefined ? undefined : t.tg.pending.take(shared);
}

/**
 * Handles `t`'s pending signals before it returns to the application. Returns "exit" when the
 * task must leave its run loop; a promise only while the group is stopped.
 */
export function deliverSignals(t: Task): "run" | "exit" | Promise<"run" | "exit"> {
  for (;;) {
    if (t.exiting) return "exit";
    if (t.tg.stopped) return t.tg.whileStopped().then(() => deliverSignals(t));
    const info = dequeue(t);
    if (info === undefined) break;
    const sig = info.signo;
    const act = t.tg.handlers.get(sig);
    if (act.handler === SIG_IGN) continue;
    if (act.handler === SIG_DFL) {
      const what = defaultAction(sig);
      if (what === "ignore" || what === "continue") continue;
      if (what === "stop") {
        stopGroup(t.tg, sig);
        continue;
      }
      // "core" also terminates. No core file is written, so the status's core bit stays clear,
      // as on Linux when RLIMIT_CORE is 0.
      t.kernel.exitThreadGroup(t.tg, signaledStatus(sig));
      return "exit";
    }
    // A handler: settle an interrupted syscall, push the frame, block what the handler blocks.
    if (t.restart !== undefined) {
      const code = t.restart.code;
      if (code === ERESTARTNOINTR || (code === ERESTARTSYS && (act.flags & SA_RESTART) !== 0)) restartSyscall(t, t.restart.nr);
      else t.context.setReturn(BigInt.asUintN(64, BigInt(-EINTR.errno)));
      t.restart = undefined;
    }
    const oldMask = t.savedMask ?? t.signalMask;
    t.savedMask = undefined;
    if (setupFrame(t, info, act, oldMask) !== undefined) {
      // No room for the frame: Linux's force_sigsegv.
      t.kernel.exitThreadGroup(t.tg, signaledStatus(SIGSEGV));
      return "exit";
    }
    t.signalMask = (t.signalMask | act.mask | ((act.flags & SA_NODEFER) !== 0 ? 0n : sigBit(sig))) & ~UNBLOCKABLE;
    t.tg.handlers.entered(sig);
  }
  if (t.restart !== undefined) {
    // No handler ran: every restart code restarts.
    restartSyscall(t, t.restart.code === ERESTART_RESTARTBLOCK ? SYS_restart_syscall : t.restart.nr);
    t.restart = undefined;
  }
  if (t.savedMask !== undefined) {
    t.signalMask = t.savedMask;
    t.savedMask = undefined;
  }
  t.interrupter.clear();
  return "run";
}

/** Backs the task up over its `syscall` instruction with rax = `nr`, to run the call again. */
function restartSyscall(t: Task, nr: number): void {
  const regs = t.context.regs;
  regs[REG.rax] = BigInt(nr);
  regs[REG.rip] = (regs[REG.rip] as bigint) - 2n;
}

/** Group stop: every task of `tg` stops before its next return to the application. */
export function stopGroup(tg: ThreadGroup, sig: number): void {
  if (tg.stopped || tg.exiting) return;
  tg.stopped = true;
  tg.stopToReport = sig;
  tg.continueToReport = false;
  for (const t of tg.tasks) wakeForSignal(t);
  notifyParentOfStop(tg, CLD_STOPPED, sig);
}

/** SIGCONT: a stopped group runs again, and the parent hears of it. */
function continueGroup(tg: ThreadGroup): void {
  if (!tg.stopped) return;
  tg.resumeStopped();
  tg.stopToReport = undefined;
  tg.continueToReport = true;
  notifyParentOfStop(tg, CLD_CONTINUED, SIGCONT);
}

function notifyParentOfStop(tg: ThreadGroup, code: number, sig: number): void {
  const parent = tg.parent;
  if (parent === undefined) return;
  parent.childEvents.notify(1);
  if ((parent.handlers.get(SIGCHLD).flags & SA_NOCLDSTOP) !== 0) return;
  sendSignal(parent, childInfo(tg, code, sig));
}

/** The siginfo of a child's state change (SIGCHLD, or the child's own exit signal). */
export function childInfo(child: ThreadGroup, code: number, status: number, signo: number = SIGCHLD): SignalInfo {
  const bytes = encodeStruct(siginfo_sigchld, {
    si_signo: signo,
    si_code: code,
    si_pid: child.tgid,
    si_uid: child.creds()?.uid ?? 0,
    si_status: status,
  });
  return { signo, code, bytes };
}

/**
 * Tells the parent that `tg` has exited: its exit signal, and a wake-up for wait(2). Returns
 * whether the child must be reaped at once (the parent ignores SIGCHLD or set SA_NOCLDWAIT).
 */
export function notifyParentOfExit(tg: ThreadGroup, code: number, status: number): boolean {
  const parent = tg.parent;
  if (parent === undefined) return true;
  const act = parent.handlers.get(SIGCHLD);
  const autoReap = tg.exitSignal === SIGCHLD && (act.handler === SIG_IGN || (act.flags & SA_NOCLDWAIT) !== 0);
  if (tg.exitSignal !== 0 && !autoReap) {
    sendSignal(parent, childInfo(tg, code, status, tg.exitSignal));
  }
  parent.childEvents.notify(1);
  return autoReap;
}
