/**
 * The kernel: the platform it runs applications on, the VFS, the tasks, and the syscall table.
 *
 * The kernel runs on Node's main thread, which is the kernel lock: no kernel state is shared
 * with another thread. Each task is an async run loop (task-run.ts); a blocking syscall is an
 * awaited wait, so tasks interleave only at awaits.
 */
import { CLD_DUMPED, CLD_EXITED, CLD_KILLED, SIGKILL, SI_USER } from "@runsc-ts/abi";
import type { Platform } from "@runsc-ts/platform";
import type { Logger } from "pino";
import { HostFilesystem } from "../fsimpl/host/hostfs.js";
import { PipeFilesystem } from "../fsimpl/pipe/pipefs.js";
import { TmpFilesystem } from "../fsimpl/tmpfs/filesystem.js";
import { Mount } from "../vfs/mount.js";
import { MemoryManager } from "../mm/memory-manager.js";
import { FutexManager } from "./futex.js";
import { SyscallArgs } from "../syscalls/args.js";
import { FORMAT_BEFORE, formatArgs, formatCall } from "../syscalls/strace.js";
import type { SyscallTable, SyscallValue } from "../syscalls/table.js";
import type { FdTable } from "../vfs/fd-table.js";
import type { VirtualFilesystem } from "../vfs/vfs.js";
import type { Credentials } from "./auth/credentials.js";
import { type Clock, realtimeClock } from "./time.js";
import { Limits } from "./limits.js";
import { type FsContext, FsState, Task } from "./task.js";
import { runTask } from "./task-run.js";
import { Sessions } from "./sessions.js";
import { UnixNamespace } from "../socket/unix.js";
import { ThreadGroup, addUsage, exitedStatus, signaledStatus } from "./thread-group.js";
import { applyCpuLimit } from "./cpu-limit.js";
import { notifyParentOfExit, sendSignal } from "./task-signals.js";
import { killInfo } from "./signals.js";
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
  /** AF_UNIX names: the abstract namespace and bound socket files. */
  readonly unix = new UnixNamespace();
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
   * A new process with one task and an empty address space (the loader fills it). Its root and
   * working directory each take a dentry reference (FsState).
   */
  newProcess(opts: NewProcessOptions): Task {
    const { addressSpace, context } = this.platform.newAddressSpace();
    const fs = new FsState(opts.fs.root, opts.fs.cwd, opts.fs.umask);
    const tid = this.allocTid();
    const tg = new ThreadGroup(tid, opts.parent, { ...(opts.limits === undefined ? {} : { limits: opts.limits }), startTime: this.now() });
    const t = new Task(this, tid, tg, context, new MemoryManager(addressSpace), opts.fdTable, fs, opts.creds, opts.name);
    this.addTask(t);
    this.sessions.join(tg);
    return t;
  }

  /** Registers a new task (and its thread group, if it is the first task of it). */
  addTask(t: Task): void {
    const newProcess = t.tg.tasks.size === 0;
    t.tg.tasks.add(t);
    this.tasks.set(t.tid, t);
    this.threadGroups.set(t.tg.tgid, t.tg);
    if (newProcess) applyCpuLimit(t.tg);
  }

  /** Runs a task until it exits. */
  run(t: Task): Promise<void> {
    t.done = runTask(t).catch((e: unknown) => {
      const bug = new SentryBug(`task ${t.tid}'s run loop threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      this.log?.error({ tid: t.tid, err: bug.message }, "sentry bug: a run loop threw");
      this.bug ??= bug;
      this.killAll();
    });
    return t.done;
  }

  /** Nanoseconds since boot (process start times, CLOCK_BOOTTIME). */
  now(): bigint {
    return process.hrtime.bigint() - this.bootTime;
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
    const shown = this.strace && FORMAT_BEFORE.has(entry.name) ? formatArgs(entry.name, args, 0, t.mm) : undefined;
    let r: SyscallValue | Promise<SyscallValue>;
    try {
      r = entry.handler(t, args);
    } catch (e) {
      return this.handlerThrew(t, entry.name, e);
    }
    if (!(r instanceof Promise)) return this.traced(t, entry.name, args, r, shown);
    return r.then(
      (v) => this.traced(t, entry.name, args, v, shown),
      (e: unknown) => this.handlerThrew(t, entry.name, e),
    );
  }

  private traced(t: Task, name: string, args: SyscallArgs, result: SyscallValue, shown?: readonly string[]): SyscallValue {
    if (this.strace) this.log?.info({ tid: t.tid }, formatCall(name, args, result, t.mm, shown));
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
      t.interrupter.interrupt();
      t.context.interrupt();
    }
    tg.resumeStopped();
  }

  /** Ends every process (init died, or the sentry failed). */
  killAll(): void {
    for (const tg of this.threadGroups.values()) this.exitThreadGroup(tg, signaledStatus(SIGKILL));
  }

  /**
   * Called by a task's run loop when it has finished: wakes a CLONE_CHILD_CLEARTID waiter,
   * releases the thread's memory and host context, and when it was the last task, turns the
   * process into a zombie for its parent (or reaps it when nobody will wait).
   */
  taskExited(t: Task): void {
    const tg = t.tg;
    this.tasks.delete(t.tid);
    tg.tasks.delete(t);
    tg.lastCreds = t.creds;
    if (t.clearChildTid !== 0n && t.mm.users > 1) {
      if (t.mm.copyOut(t.clearChildTid, new Uint8Array(4)) === undefined) this.futexes.wake(t.mm.futexKey(t.clearChildTid, false), 1, 0xffff_ffff);
    }
    t.vforkDone?.();
    t.vforkDone = undefined;
    tg.deadUsage = addUsage(tg.deadUsage, t.context.cpuUsage());
    t.context.release();
    t.mm.release();
    t.fs.release();
    if (tg.tasks.size > 0) return;
    t.fdTable.decRef();
    tg.timers.cancelAll();
    tg.exitStatus ??= 0;
    this.reparentChildren(tg);
    const status = tg.exitStatus;
    const sig = status & 0x7f;
    const code = sig === 0 ? CLD_EXITED : (status & 0x80) !== 0 ? CLD_DUMPED : CLD_KILLED;
    const autoReap = notifyParentOfExit(tg, code, sig === 0 ? (status >> 8) & 0xff : sig);
    tg.finish();
    if (autoReap) this.reap(tg);
    // The sandbox's init has gone: every other process dies with it (pid_namespaces(7)).
    if (tg.tgid === 1) this.killAll();
  }

  /**
   * Collects a zombie: its pid, process group and session membership go away. `waited`: its
   * parent collected it with wait, so its CPU time counts among the parent's children's.
   */
  reap(tg: ThreadGroup, waited = false): void {
    if (tg.reaped) return;
    tg.reaped = true;
    if (waited && tg.parent !== undefined) tg.parent.childrenUsage = addUsage(tg.parent.childrenUsage, addUsage(tg.deadUsage, tg.childrenUsage));
    tg.parent?.children.delete(tg);
    this.threadGroups.delete(tg.tgid);
    this.sessions.leave(tg);
  }

  /**
   * An exiting process's children go to its nearest living child-subreaper ancestor, else to the
   * sandbox's init (or are reaped when there is none). Children that asked for a parent-death
   * signal get it.
   */
  private reparentChildren(tg: ThreadGroup): void {
    let heir: ThreadGroup | undefined;
    for (let a = tg.parent; a !== undefined && heir === undefined; a = a.parent) if (a.childSubreaper && !a.exiting) heir = a;
    const init = this.threadGroups.get(1);
    heir ??= init !== undefined && init !== tg && !init.exiting ? init : undefined;
    for (const child of tg.children) {
      for (const t of child.tasks) if (t.pdeathSignal !== 0) sendSignal(t, killInfo(t.pdeathSignal, tg.tgid, tg.lastCreds?.uid ?? 0, SI_USER));
      child.parent = heir;
      if (heir !== undefined) {
        heir.children.add(child);
        if (child.zombie) heir.childEvents.notify(1);
      } else if (child.zombie) {
        this.reap(child);
      }
    }
    tg.children.clear();
  }

  allocTid(): number {
    // Linux's default pid_max; wrap and skip live ids.
    for (let i = 0; i < 4_194_304; i++) {
      const tid = this.nextTid;
      this.nextTid = tid >= 4_194_303 ? 1 : tid + 1;
      if (!this.tasks.has(tid) && !this.threadGroups.has(tid) && !this.sessions.inUse(tid)) return tid;
    }
    throw new SentryBug("out of thread ids");
  }
}
