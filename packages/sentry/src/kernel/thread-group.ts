/**
 * A thread group (a process): its tasks, its signal state, its exit and stop status, and the
 * parent that waits for it.
 *
 * Life cycle: live (tasks run) → exiting (exit_group or a fatal signal; tasks leave at their
 * next chance) → zombie (no tasks, `exitStatus` set; the pid stays taken) → reaped by the
 * parent's wait, or at once when nobody will wait (no parent, or the parent ignores SIGCHLD).
 *
 * Field ownership: everything here belongs to the kernel thread; task run loops change it only
 * between awaits (no read-modify-write spans an await).
 */
import { EPOLLIN } from "@runsc-ts/abi";
import { type CpuUsage, NO_USAGE } from "@runsc-ts/platform";
import type { Credentials } from "./auth/credentials.js";
import type { Task } from "./task.js";
import { Limits } from "./limits.js";
import type { ProcessGroup } from "./sessions.js";
import { PendingSignals, SignalHandlers } from "./signals.js";
import { ProcessTimers } from "./timers.js";
import { WaitQueue } from "./waiter.js";

export class ThreadGroup {
  readonly tasks = new Set<Task>();
  readonly children = new Set<ThreadGroup>();
  /** The wait(2) status once the group has exited (WIFEXITED/WIFSIGNALED encoding). */
  exitStatus: number | undefined;
  /** Set by exit_group or a fatal signal: every task stops at its next chance. */
  exiting = false;
  /** Set once the parent has collected the exit status (or nobody will). */
  reaped = false;
  readonly limits: Limits;
  /** Its process group (kernel/sessions.ts); undefined once it has been reaped. */
  processGroup: ProcessGroup | undefined;
  /** Dispositions; shared with processes cloned with CLONE_SIGHAND. */
  handlers: SignalHandlers;
  /** Signals sent to the process as a whole. */
  readonly pending = new PendingSignals();
  /** The signal the parent gets when this process exits (SIGCHLD; 0 for none). */
  exitSignal: number;
  /** Notified (EPOLLIN) whenever a signal is queued for the process or one of its threads (signalfd). */
  readonly signalQueue = new WaitQueue();
  /** The parent's wait(2) sleeps here; notified when a child exits, stops or continues. */
  readonly childEvents = new WaitQueue();
  /** Job control: stopped by SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU until SIGCONT. */
  stopped = false;
  /** The stop signal, while a stop waits to be reported to wait(WUNTRACED). */
  stopToReport: number | undefined;
  /** A continue waits to be reported to wait(WCONTINUED). */
  continueToReport = false;
  /** CPU time of the threads that have exited (getrusage(RUSAGE_SELF) adds the live ones). */
  deadUsage: CpuUsage = NO_USAGE;
  /** CPU time of the children (and their descendants) this process has waited for (RUSAGE_CHILDREN). */
  childrenUsage: CpuUsage = NO_USAGE;
  /** alarm/setitimer and timer_create timers. */
  readonly timers = new ProcessTimers();
  /** prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented here, not to init. */
  childSubreaper = false;
  /** /proc/[pid]/oom_score_adj (recorded; inherited by children). */
  oomScoreAdj = 0;
  /** prctl(PR_SET_DUMPABLE). */
  dumpable = true;
  /** Whether the process has called execve (setpgid on it is then EACCES). */
  execed = false;
  /** The credentials of its last task, for kill(2)'s permission check once it is a zombie. */
  lastCreds: Credentials | undefined;
  /** When the process started (ns since boot), for /proc and ps. */
  readonly startTime: bigint;
  private readonly exitWaiters: Array<(status: number) => void> = [];
  private continueWaiters: Array<() => void> = [];

  constructor(
    readonly tgid: number,
    public parent: ThreadGroup | undefined,
    opts: { limits?: Limits; handlers?: SignalHandlers; exitSignal?: number; startTime?: bigint } = {},
  ) {
    this.limits = opts.limits ?? new Limits();
    this.handlers = opts.handlers ?? new SignalHandlers();
    this.exitSignal = opts.exitSignal ?? 17; // SIGCHLD
    this.startTime = opts.startTime ?? 0n;
    parent?.children.add(this);
  }

  /** The process's own CPU time: its exited threads' and its live threads' (RUSAGE_SELF). */
  usage(): CpuUsage {
    let u = this.deadUsage;
    for (const t of this.tasks) u = addUsage(u, t.context.cpuUsage());
    return u;
  }

  /** A zombie: every task has gone, and the exit status waits for the parent. */
  get zombie(): boolean {
    return this.exitStatus !== undefined && this.tasks.size === 0 && !this.reaped;
  }

  /** The group's main thread, if it has not exited. */
  leader(): Task | undefined {
    for (const t of this.tasks) if (t.tid === this.tgid) return t;
    return undefined;
  }

  /** Credentials for permission checks: a live task's, or the last one's. */
  creds(): Credentials | undefined {
    const first = this.tasks.values().next();
    return first.done === true ? this.lastCreds : first.value.creds;
  }

  /** Resolves with the wait status when the last task of the group has gone. */
  waitExit(): Promise<number> {
    if (this.exitStatus !== undefined && this.tasks.size === 0) return Promise.resolve(this.exitStatus);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Notified (EPOLLIN) when the last task has left: pidfds poll on it. */
  readonly exitEvents = new WaitQueue();

  /** Whether every task has gone (the process is a zombie, or reaped). */
  get exited(): boolean {
    return this.exitStatus !== undefined && this.tasks.size === 0;
  }

  /** Called by the last task to leave. */
  finish(): void {
    const status = this.exitStatus ?? 0;
    this.exitStatus = status;
    for (const w of this.exitWaiters.splice(0)) w(status);
    this.exitEvents.notify(EPOLLIN);
    this.resumeStopped();
  }

  /** Resolves when the group is no longer stopped (SIGCONT, or SIGKILL). */
  whileStopped(): Promise<void> {
    if (!this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.continueWaiters.push(resolve));
  }

  /** Releases every task waiting in `whileStopped`. */
  resumeStopped(): void {
    this.stopped = false;
    const waiters = this.continueWaiters;
    this.continueWaiters = [];
    for (const w of waiters) w();
  }
}

/** The wait status of a normal exit with `code` (WIFEXITED). */
export function exitedStatus(code: number): number {
  return (code & 0xff) << 8;
}

/** The wait status of a death by `signo` (WIFSIGNALED; no core bit: no core file is written). */
export function signaledStatus(signo: number): number {
  return signo & 0x7f;
}

/** The shell's view of a wait status: the exit code, or 128 + signal. */
export function shellExitCode(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}

/** The sum of two usages. */
export function addUsage(a: CpuUsage, b: CpuUsage): CpuUsage {
  return {
    user: a.user + b.user,
    system: a.system + b.system,
    runtime: a.runtime + b.runtime,
    minorFaults: a.minorFaults + b.minorFaults,
    majorFaults: a.majorFaults + b.majorFaults,
  };
}
