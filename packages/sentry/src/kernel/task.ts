/**
 * A task: one application thread. It implements the VFS's context (credentials, root, cwd,
 * fd table, umask) so syscall handlers pass the task itself to the VFS.
 *
 * Field ownership: a task's fields belong to its own run loop (task-run.ts); other code reads
 * them only on the kernel thread between awaits.
 */
import type { Context } from "@runsc-ts/platform";
import type { MemoryManager } from "../mm/memory-manager.js";
import type { VfsContext } from "../vfs/context.js";
import type { FdTable } from "../vfs/fd-table.js";
import type { VirtualDentry } from "../vfs/mount.js";
import type { Credentials } from "./auth/credentials.js";
import type { Kernel } from "./kernel.js";
import type { ThreadGroup } from "./thread-group.js";

/**
 * Where a task's paths start: its root (chroot) and working directory, and its umask. An
 * FsContext holds one dentry reference on each of `root` and `cwd` (vfs/dentry.ts: they are
 * never evicted): whoever makes one takes them (Kernel.newProcess), whoever moves `cwd` moves
 * its reference (chdir), and the last task using it drops them (Kernel.taskExited).
 */
export interface FsContext {
  root: VirtualDentry;
  cwd: VirtualDentry;
  umask: number;
}

export class Task implements VfsContext {
  /** comm: at most 15 bytes, as PR_SET_NAME and /proc/[pid]/comm see it. */
  name: string;
  /** set_tid_address(2): cleared and futex-woken at exit. */
  clearChildTid = 0n;
  /** set_robust_list(2) head (bookkeeping). */
  robustList = 0n;
  /** The blocked signal set (rt_sigprocmask; bookkeeping until signal delivery lands). */
  signalMask = 0n;
  /** sigaltstack(2): the stack_t the task set (bookkeeping). */
  altStack: Uint8Array | undefined;
  /** Set when the task must leave its run loop (exit, exit_group, fatal signal). */
  exiting = false;

  constructor(
    readonly kernel: Kernel,
    readonly tid: number,
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
