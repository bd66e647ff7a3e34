/**
 * wait4(2) and waitid(2): finding a child whose state changed (exited, stopped, continued),
 * reporting it, and reaping it. A caller with matching children but none ready sleeps on its
 * process's `childEvents` queue until one changes, a signal interrupts it (ERESTARTSYS), or
 * WNOHANG says not to wait.
 */
import {
  CLD_CONTINUED,
  CLD_DUMPED,
  CLD_EXITED,
  CLD_KILLED,
  CLD_STOPPED,
  ECHILD,
  ERESTARTSYS,
  type LinuxError,
  SIGCHLD,
  SIGCONT,
  WCONTINUED,
  WEXITED,
  WNOHANG,
  WNOWAIT,
  WSTOPPED,
  __WALL,
  __WCLONE,
} from "@runsc-ts/abi";
import type { Task } from "./task.js";
import type { CpuUsage } from "@runsc-ts/platform";
import { type ThreadGroup, addUsage } from "./thread-group.js";
import { waitForEvent } from "./waiter.js";

/** Which children a wait is for. */
export type WaitTarget =
  | { readonly kind: "any" }
  | { readonly kind: "pid"; readonly pid: number }
  | { readonly kind: "pgid"; readonly pgid: number };

export interface WaitRequest {
  readonly target: WaitTarget;
  /** WEXITED, WSTOPPED (WUNTRACED), WCONTINUED, WNOHANG, WNOWAIT, __WCLONE, __WALL. */
  readonly options: number;
}

/** One child's reported state change. */
export interface WaitResult {
  readonly pid: number;
  readonly uid: number;
  /** The wait4 status word. */
  readonly status: number;
  /** waitid's si_code (CLD_*) and si_status. */
  readonly code: number;
  readonly siStatus: number;
  /** The child's CPU time (with its own waited-for children's, for an exit), for wait4's rusage. */
  readonly usage: CpuUsage;
}

/** Finds (and, without WNOWAIT, consumes) a state change; undefined for WNOHANG with none ready. */
export async function waitChild(t: Task, req: WaitRequest): Promise<WaitResult | undefined | LinuxError> {
  const tg = t.tg;
  for (;;) {
    let matched = false;
    for (const child of tg.children) {
      if (!matches(child, req)) continue;
      matched = true;
      const r = collect(t, child, req.options);
      if (r !== undefined) return r;
    }
    if (!matched) return ECHILD;
    if ((req.options & WNOHANG) !== 0) return undefined;
    if ((await waitForEvent(tg.childEvents, 1, t.interrupter)) === "interrupted") return ERESTARTSYS;
  }
}

function matches(child: ThreadGroup, req: WaitRequest): boolean {
  const target = req.target;
  if (target.kind === "pid" && child.tgid !== target.pid) return false;
  if (target.kind === "pgid" && child.processGroup?.pgid !== target.pgid) return false;
  if ((req.options & __WALL) !== 0) return true;
  // A "clone" child reports with a signal other than SIGCHLD; __WCLONE waits only for those.
  const cloneChild = child.exitSignal !== SIGCHLD;
  return cloneChild === ((req.options & __WCLONE) !== 0);
}

function collect(t: Task, child: ThreadGroup, options: number): WaitResult | undefined {
  const noWait = (options & WNOWAIT) !== 0;
  const uid = child.creds()?.uid ?? 0;
  if ((options & WEXITED) !== 0 && child.zombie) {
    const status = child.exitStatus ?? 0;
    const sig = status & 0x7f;
    const code = sig === 0 ? CLD_EXITED : (status & 0x80) !== 0 ? CLD_DUMPED : CLD_KILLED;
    const usage = addUsage(child.deadUsage, child.childrenUsage);
    if (!noWait) t.kernel.reap(child, true);
    return { pid: child.tgid, uid, status, code, siStatus: sig === 0 ? (status >> 8) & 0xff : sig, usage };
  }
  if ((options & WSTOPPED) !== 0 && child.stopToReport !== undefined && child.stopped) {
    const sig = child.stopToReport;
    if (!noWait) child.stopToReport = undefined;
    return { pid: child.tgid, uid, status: 0x7f | (sig << 8), code: CLD_STOPPED, siStatus: sig, usage: child.usage() };
  }
  if ((options & WCONTINUED) !== 0 && child.continueToReport) {
    if (!noWait) child.continueToReport = false;
    return { pid: child.tgid, uid, status: 0xffff, code: CLD_CONTINUED, siStatus: SIGCONT, usage: child.usage() };
  }
  return undefined;
}

