/**
 * The kernel: the platform it runs applications on, the VFS, the tasks, and the syscall table.
 *
 * The kernel runs on Node's main thread, which is the kernel lock: no kernel state is shared
 * with another thread. Each task is an async run loop (task-run.ts); a blocking syscall is an
 * awaited wait, so tasks interleave only at awaits.
 */
import type { Platform } from "@runsc-ts/platform";
import type { Logger } from "pino";
import { HostFilesystem } from "../fsimpl/host/hostfs.js";
import { PipeFilesystem } from "../fsimpl/pipe/pipefs.js";
import { TmpFilesystem } from "../fsimpl/tmpfs/filesystem.js";
import { Mount } from "../vfs/mount.js";
import { MemoryManager } from "../mm/memory-manager.js";
import { FutexManager } from "./futex.js";
import { SyscallArgs } from "../syscalls/args.js";
import { formatCall } from "../syscalls/strace.js";
import type { SyscallTable, SyscallValue } from "../syscalls/table.js";
import type { FdTable } from "../vfs/fd-table.js";
import type { VirtualFilesystem } from "../vfs/vfs.js";
import type { Credentials } from "./auth/credentials.js";
import { type Clock, realtimeClock } from "./time.js";
import { Limits } from "./limits.js";
import { type FsContext, Task } from "./task.js";
import { runTask } from "./task-run.js";
import { Sessions } from "./sessions.js";
import { ThreadGroup, exitedStatus } from "./thread-group.js";
import { UtsNamespace } from "./uts.js";

export interface KernelOptions {
  readonly platform: Platform;
  readonly vfs: VirtualFilesystem;
  readonly syscalls: SyscallTable<Task>;
  readonly log?: Logger;
  /** Log every syscall with its arguments and result (--strace). */
  readonly strace?: boolean;
  readonly clock?: Clock;
  readonly hostname?: string;
  /** CPUs the sandbox reports (sched_getaffinity, /proc/cpuinfo). */
  readonly cpus?: number;
  /** Memory the sandbox reports (sysinfo, /proc/meminfo), in bytes. */
  readonly totalMemory?: number;
}

export interface NewProcessOptions {
  readonly creds: Credentials;
  readonly fs: FsContext;
  readonly fdTable: FdTable;
  readonly name: string;
  readonly limits?: Limits;
  readonly parent?: ThreadGroup;
}

/** Raised (and logged) when a syscall handler throws: a sentry bug, never an errno. */
export class SentryBug extends Error {
  override readonly name = "SentryBug";
}

export class Kernel {
  readonly platform: Platform;
  readonly vfs: VirtualFilesystem;
  readonly syscalls: SyscallTable<Task>;
  readonly log: Logger | undefined;
  readonly strace: boolean;
  readonly clock: Clock;
  readonly uts: UtsNamespace;
  readonly cpus: number;
  readonly totalMemory: number;
  /** Monotonic start, for uptime and CLOCK_BOOTTIME. */
  readonly bootTime = process.hrtime.bigint();
  readonly futexes = new FutexManager();
  /** Where pipe(2) pipes live. */
  readonly pipefs = new PipeFilesystem();
  /** Files without a path (eventfd, imported host FDs). */
  readonly anonfs = new HostFilesystem();
  /** memfd_create(2) files: a private tmpfs, never mounted where paths reach it. */
  readonly memfs = new TmpFilesystem();
  readonly memMount = new Mount(this.memfs, this.memfs.root);
  readonly tasks = new Map<number, Task>();
  readonly threadGroups = new Map<number, ThreadGroup>();
  readonly sessions = new Sessions();
  private nextTid = 1;
  /** A handler threw: the sandbox is failing loudly. */
  bug: SentryBug | undefined;

  constructor(opts: KernelOptions) {
    this.platform = opts.platform;
    this.vfs = opts.vfs;
    this.syscalls = opts.syscalls;
    this.log = opts.log;
    this.strace = opts.strace ?? false;
    this.clock = opts.clock ?? realtimeClock;
    this.uts = new UtsNamespace(opts.hostname);
    this.cpus = opts.cpus ?? 1;
    this.totalMemory = opts.totalMemory ?? 2 ** 31;
  }

  /**
   * A new process with one task and an empty address space (the loader fills it). Its
   * `opts.fs` root and working directory each take a dentry reference (chdir moves the cwd's).
   */
  newProcess(opts: NewProcessOptions): Task {
    const { addressSpace, context } = this.platform.newAddressSpace();
    opts.fs.root.dentry.incRef();
    opts.fs.cwd.dentry.incRef();
    const tid = this.allocTid();
    const tg = new ThreadGroup(tid, opts.parent, opts.limits);
    const t = new Task(this, tid, tg, context, new MemoryManager(addressSpace), opts.fdTable, opts.fs, opts.creds, opts.name);
    tg.tasks.add(t);
    this.tasks.set(tid, t);
    this.threadGroups.set(tid, tg);
    this.sessions.join(tg);
    return t;
  }

  /** Runs a task until it exits. */
  run(t: Task): Promise<void> {
    return runTask(t);
  }

  /**
   * Runs one syscall for `t`: table lookup, handler, strace. Returns the result directly when the
   * handler answered synchronously (most do), so the run loop can resume the application without
   * a single await; a promise only when the handler blocks.
   */
  syscall(t: Task, nr: number, raw: readonly bigint[]): SyscallValue | Promise<SyscallValue> {
    const entry = this.syscalls.lookup(nr);
    const args = new SyscallArgs(raw);
    if (entry.handler === undefined) return this.traced(t, entry.name, args, entry.errno);
    let r: SyscallValue | Promise<SyscallValue>;
    try {
      r = entry.handler(t, args);
    } catch (e) {
      return this.handlerThrew(t, entry.name, e);
    }
    if (!(r instanceof Promise)) return this.traced(t, entry.name, args, r);
    return r.then(
      (v) => this.traced(t, entry.name, args, v),
      (e: unknown) => this.handlerThrew(t, entry.name, e),
    );
  }

  private traced(t: Task, name: string, args: SyscallArgs, result: SyscallValue): SyscallValue {
    if (this.strace) this.log?.info({ tid: t.tid }, formatCall(name, args, result, t.mm));
    return result;
  }

  /** A handler threw: a sentry bug. Log it, fail the sandbox, and never return to the task. */
  private handlerThrew(t: Task, name: string, e: unknown): SyscallValue {
    const bug = new SentryBug(`${name} (tid ${t.tid}) threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    this.log?.error({ tid: t.tid, syscall: name, err: bug.message }, "sentry bug: a syscall handler threw");
    this.bug ??= bug;
    this.exitThreadGroup(t.tg, exitedStatus(128));
    return 0;
  }

  /** Starts the exit of a whole thread group with `status` (exit_group, fatal signal). */
  exitThreadGroup(tg: ThreadGroup, status: number): void {
    if (tg.exiting) return;
    tg.exiting = true;
    tg.exitStatus = status;
    for (const t of tg.tasks) {
      t.exiting = true;
      t.context.interrupt();
    }
  }

  /** Called by a task's run loop when it has finished. */
  taskExited(t: Task): void {
    this.tasks.delete(t.tid);
    const tg = t.tg;
    tg.tasks.delete(t);
    if (tg.tasks.size > 0) {
      t.context.release();
      return;
    }
    t.fdTable.closeAll();
    // The process's FsContext (its own: newProcess took its references) lets its dentries go.
    t.fs.root.dentry.decRef();
    t.fs.cwd.dentry.decRef();
    t.mm.as.destroy();
    this.threadGroups.delete(tg.tgid);
    this.sessions.leave(tg);
    tg.finish();
  }

  private allocTid(): number {
    // Linux's default pid_max; wrap and skip live ids.
    for (let i = 0; i < 4_194_304; i++) {
      const tid = this.nextTid;
      this.nextTid = tid >= 4_194_303 ? 1 : tid + 1;
      if (!this.tasks.has(tid) && !this.threadGroups.has(tid) && !this.sessions.inUse(tid)) return tid;
    }
    throw new SentryBug("out of thread ids");
  }
}
