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
  root: VirtualDentry;
  cwd: VirtualDentry;
  umask: number;
}

/** A copy of `fs` (clone without CLONE_FS, or execve unsharing it). */
export function copyFsContext(fs: FsContext): FsContext {
  return { root: fs.root, cwd: fs.cwd, umask: fs.umask };
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
    public fs: FsContext,
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
