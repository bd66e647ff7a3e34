/**
 * A task: one application thread. It implements the VFS's context (credentials, root, cwd,
 * fd table, umask) so syscall handlers pass the task itself to the VFS.
 *
 * Field ownership: a task's fields belong to its own run loop (task-run.ts); other code reads
 * them only on the kernel thread between awaits.
 */
import type { LinuxError } from "@runsc-ts/abi";
import type { Context } from "@runsc-ts/platform";
import type { MemoryManager } from "../mm/memory-manager.js";
import type { SyscallValue } from "../syscalls/table.js";
import type { VfsContext } from "../vfs/context.js";
import type { FdTable } from "../vfs/fd-table.js";
import type { VirtualDentry } from "../vfs/mount.js";
import type { Credentials } from "./auth/credentials.js";
import type { Kernel } from "./kernel.js";
import type { ThreadGroup } from "./thread-group.js";
import { type AltStack, NO_ALT_STACK } from "./signal-frame.js";
import { PendingSignals, type SigSet } from "./signals.js";
import { Interrupter } from "./waiter.js";

/** Where a task's paths start: its root (chroot) and working directory, and its umask. */
export interface FsContext {
  readonly root: VirtualDentry;
  readonly cwd: VirtualDentry;
  umask: number;
}

/**
 * A task's FsContext, shared by the tasks cloned with CLONE_FS. It holds one dentry reference on
 * each of `root` and `cwd` (vfs/dentry.ts: they are never evicted while held): chdir and chroot
 * move them, and the last task using the context drops them (Kernel.taskExited).
 */
export class FsState implements FsContext {
  private users = 1;
  #root: VirtualDentry;
  #cwd: VirtualDentry;

  constructor(root: VirtualDentry, cwd: VirtualDentry, public umask: number) {
    root.dentry.incRef();
    cwd.dentry.incRef();
    this.#root = root;
    this.#cwd = cwd;
  }

  get root(): VirtualDentry {
    return this.#root;
  }

  get cwd(): VirtualDentry {
    return this.#cwd;
  }

  setRoot(vd: VirtualDentry): void {
    vd.dentry.incRef();
    this.#root.dentry.decRef();
    this.#root = vd;
  }

  setCwd(vd: VirtualDentry): void {
    vd.dentry.incRef();
    this.#cwd.dentry.decRef();
    this.#cwd = vd;
  }

  /** clone(CLONE_FS): one more task shares this context. */
  share(): FsState {
    this.users++;
    return this;
  }

  /** clone without CLONE_FS: a copy with references of its own. */
  copy(): FsState {
    return new FsState(this.#root, this.#cwd, this.umask);
  }

  /** A task stopped using the context; the last one drops the references. */
  release(): void {
    if (--this.users > 0) return;
    this.#root.dentry.decRef();
    this.#cwd.dentry.decRef();
  }
}

/** A syscall that returned a restart code, waiting for signal delivery to decide its fate. */
export interface PendingRestart {
  readonly code: LinuxError;
  /** The syscall number, put back in rax when the call restarts. */
  readonly nr: number;
}

export class Task implements VfsContext {
  /** comm: at most 15 bytes, as PR_SET_NAME and /proc/[pid]/comm see it. */
  name: string;
  /** set_tid_address(2): cleared and futex-woken at exit. */
  clearChildTid = 0n;
  /** set_robust_list(2) head (bookkeeping). */
  robustList = 0n;
  /** The blocked signal set (rt_sigprocmask). */
  signalMask: SigSet = 0n;
  /**
   * The mask to restore once a signal has been handled, when a syscall (sigsuspend, ppoll,
   * pselect6, epoll_pwait) swapped in a temporary one.
   */
  savedMask: SigSet | undefined;
  /** sigaltstack(2). */
  altStack: AltStack = NO_ALT_STACK;
  /** Signals sent to this thread (tgkill, faults). Signals to the process wait on `tg.pending`. */
  readonly pending = new PendingSignals();
  /** Wakes whatever the task is blocked in when a signal it does not block arrives. */
  readonly interrupter = new Interrupter();
  /** The interrupted syscall to restart or fail with EINTR at signal delivery. */
  restart: PendingRestart | undefined;
  /** What restart_syscall(2) continues (nanosleep's remaining time). */
  restartBlock: (() => SyscallValue | Promise<SyscallValue>) | undefined;
  /** The nice value (-20..19; setpriority). */
  nice = 0;
  /** The I/O priority (ioprio_set): class << 13 | data; 0 is "none", the default. */
  ioprio = 0;
  /** sched_setscheduler's policy, priority and SCHED_RESET_ON_FORK (recorded; the host schedules). */
  schedPolicy = 0;
  schedPriority = 0;
  schedResetOnFork = false;
  /** prctl(PR_SET_KEEPCAPS): leaving uid 0 keeps the permitted capabilities. Cleared by execve. */
  keepCaps = false;
  /** prctl(PR_SET_PDEATHSIG): the signal this task gets when its parent process exits (0: none). */
  pdeathSignal = 0;
  /** vfork(2): releases the parent once this child has exec'd or exited. */
  vforkDone: (() => void) | undefined;
  /** Set when the task must leave its run loop (exit, exit_group, fatal signal). */
  exiting = false;
  /** Settles when the run loop has ended (Kernel.start). */
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly kernel: Kernel,
    /** Changes only when a non-leader thread execs and takes over the leader's id. */
    public tid: number,
    readonly tg: ThreadGroup,
    public context: Context,
    public mm: MemoryManager,
    public fdTable: FdTable,
    public fs: FsState,
    public creds: Credentials,
    name: string,
  ) {
    this.name = name.slice(0, 15);
    // The VFS derives contexts with object spread ({ ...ctx, creds }), which copies only own
    // enumerable properties: the VfsContext view of the shared FsContext must be own getters.
    Object.defineProperties(this, {
      root: { get: () => this.fs.root, enumerable: true },
      cwd: { get: () => this.fs.cwd, enumerable: true },
      umask: { get: () => this.fs.umask, enumerable: true },
      pid: { get: () => this.tg.tgid, enumerable: true },
    });
  }

  // VfsContext (defined as own getters in the constructor).
  declare readonly root: VirtualDentry;
  declare readonly cwd: VirtualDentry;
  declare readonly umask: number;
  declare readonly pid: number;
}
