/**
 * A thread group (a process): its tasks, its exit status, its limits, and who waits for it.
 *
 * Field ownership: everything here belongs to the kernel thread; task run loops change it only
 * between awaits (no read-modify-write spans an await).
 */
import type { Task } from "./task.js";
import { Limits } from "./limits.js";
import type { ProcessGroup } from "./sessions.js";

export class ThreadGroup {
  readonly tasks = new Set<Task>();
  readonly children = new Set<ThreadGroup>();
  /** The wait(2) status once the group has exited (WIFEXITED/WIFSIGNALED encoding). */
  exitStatus: number | undefined;
  /** Set by exit_group or a fatal signal: every task stops at its next chance. */
  exiting = false;
  readonly limits: Limits;
  /** Its process group (kernel/sessions.ts); undefined once it has exited. */
  processGroup: ProcessGroup | undefined;
  /** rt_sigaction dispositions, raw struct sigaction bytes by signal - 1 (bookkeeping). */
  readonly sigactions: Array<Uint8Array | undefined> = [];
  private readonly exitWaiters: Array<(status: number) => void> = [];

  constructor(
    readonly tgid: number,
    public parent: ThreadGroup | undefined,
    limits?: Limits,
  ) {
    this.limits = limits ?? new Limits();
    parent?.children.add(this);
  }

  /** Resolves with the wait status when the last task of the group has gone. */
  waitExit(): Promise<number> {
    if (this.exitStatus !== undefined && this.tasks.size === 0) return Promise.resolve(this.exitStatus);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Called by the last task to leave. */
  finish(): void {
    const status = this.exitStatus ?? 0;
    this.exitStatus = status;
    for (const w of this.exitWaiters.splice(0)) w(status);
  }
}

/** The wait status of a normal exit with `code` (WIFEXITED). */
export function exitedStatus(code: number): number {
  return (code & 0xff) << 8;
}

/** The wait status of a death by `signo` (WIFSIGNALED), with the core-dump bit when asked. */
export function signaledStatus(signo: number, core = false): number {
  return (signo & 0x7f) | (core ? 0x80 : 0);
}

/** The shell's view of a wait status: the exit code, or 128 + signal. */
export function shellExitCode(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}
