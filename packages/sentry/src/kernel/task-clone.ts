/**
 * clone(2), clone3(2), fork(2) and vfork(2): a new task, sharing with its creator what the
 * CLONE_* flags say and copying the rest.
 *
 *     CLONE_VM       the memory (a host thread in the same stub); else a copy-on-write host fork
 *     CLONE_FILES    the fd table;           else a copy sharing the open file descriptions
 *     CLONE_FS       root, cwd and umask;    else a copy
 *     CLONE_SIGHAND  the dispositions;       else a copy
 *     CLONE_THREAD   the thread group (a thread); else a new process, child of the caller
 *                    (or of the caller's parent with CLONE_PARENT)
 */
import {
  CLONE_CHILD_CLEARTID,
  CLONE_CHILD_SETTID,
  CLONE_CLEAR_SIGHAND,
  CLONE_DETACHED,
  CLONE_FILES,
  CLONE_FS,
  CLONE_IO,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  CLONE_PARENT,
  CLONE_PARENT_SETTID,
  CLONE_PIDFD,
  CLONE_PTRACE,
  CLONE_SETTLS,
  CLONE_SIGHAND,
  CLONE_SYSVSEM,
  CLONE_THREAD,
  CLONE_UNTRACED,
  CLONE_VFORK,
  CLONE_VM,
  EAGAIN,
  EINVAL,
  type LinuxError,
  RLIMIT_NOFILE,
  RLIMIT_NPROC,
} from "@runsc-ts/abi";
import { REG } from "@runsc-ts/platform";
import { MemoryManager } from "../mm/memory-manager.js";
import { Limits } from "./limits.js";
import { NSIG } from "./signals.js";
import { installPidfd } from "./pidfd.js";
import { NO_ALT_STACK } from "./signal-frame.js";
import { Task } from "./task.js";
import { ThreadGroup } from "./thread-group.js";

export interface CloneRequest {
  readonly flags: bigint;
  /** The child's stack pointer; 0 keeps the caller's. */
  readonly stack: bigint;
  readonly parentTid: bigint;
  readonly childTid: bigint;
  readonly tls: bigint;
  /** The signal the parent gets when the child exits (clone's low byte, clone3's exit_signal). */
  readonly exitSignal: number;
  /** CLONE_PIDFD: where the pidfd's number goes (an int). */
  readonly pidfd: bigint;
}

/** Flags we do not implement: namespaces, pidfds, tracing. */
const UNSUPPORTED = BigInt(
  CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_PTRACE | CLONE_UNTRACED,
) | BigInt(CLONE_NEWTIME);

/** Flags that change nothing here (no I/O scheduler, no SysV semaphores yet, ignored by Linux). */
const ACCEPTED = BigInt(CLONE_IO | CLONE_SYSVSEM | CLONE_DETACHED);

/** The most tasks a sandbox may hold (Linux's default threads-max is far above real programs). */
const MAX_TASKS = 32_768;

const has = (flags: bigint, f: number): boolean => (flags & BigInt(f)) !== 0n;

/** Creates the child and starts it. Returns its tid (in the caller's pid namespace). */
export async function cloneTask(t: Task, req: CloneRequest): Promise<number | LinuxError> {
  const { flags } = req;
  if ((flags & UNSUPPORTED) !== 0n) return EINVAL;
  const known = BigInt(
    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_PARENT | CLONE_VFORK | CLONE_SETTLS |
      CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_CLEAR_SIGHAND | CLONE_PIDFD,
  ) | ACCEPTED;
  if ((flags & ~(known | UNSUPPORTED)) !== 0n) return EINVAL;
  // copy_process's rules.
  if (has(flags, CLONE_THREAD) && !has(flags, CLONE_SIGHAND)) return EINVAL;
  if (has(flags, CLONE_SIGHAND) && !has(flags, CLONE_VM)) return EINVAL;
  if (has(flags, CLONE_SIGHAND) && has(flags, CLONE_CLEAR_SIGHAND)) return EINVAL;
  if (has(flags, CLONE_PIDFD) && has(flags, CLONE_THREAD)) return EINVAL;
  // init cannot give itself siblings.
  if (has(flags, CLONE_PARENT) && t.tg.tgid === 1) return EINVAL;
  if (req.exitSignal < 0 || req.exitSignal > NSIG) return EINVAL;
  const kernel = t.kernel;
  if (kernel.tasks.size >= MAX_TASKS) return EAGAIN;
  if (!has(flags, CLONE_THREAD) && countProcesses(t) >= t.tg.limits.cur(RLIMIT_NPROC) && t.creds.uid !== 0) return EAGAIN;

  // Memory and the host context.
  let mm: MemoryManager;
  let context;
  try {
    if (has(flags, CLONE_VM)) {
      context = t.mm.as.cloneThread(t.context);
      mm = t.mm;
      mm.users++;
    } else {
      const forked = t.mm.as.fork(t.context);
      context = forked.context;
      mm = t.mm.fork(forked.addressSpace);
    }
  } catch (e) {
    kernel.log?.warn({ tid: t.tid, err: String(e) }, "clone: the platform could not make the child");
    return EAGAIN;
  }
  context.setReturn(0n);
  if (req.stack !== 0n) context.regs[REG.rsp] = req.stack;
  if (has(flags, CLONE_SETTLS)) context.fsBase = req.tls;

  const tid = kernel.allocTid();
  let tg: ThreadGroup;
  if (has(flags, CLONE_THREAD)) {
    tg = t.tg;
  } else {
    const handlers = has(flags, CLONE_SIGHAND) ? t.tg.handlers : t.tg.handlers.copy();
    if (has(flags, CLONE_CLEAR_SIGHAND)) handlers.resetForExec();
    const parent = has(flags, CLONE_PARENT) ? t.tg.parent : t.tg;
    tg = new ThreadGroup(tid, parent, { limits: new Limits(t.tg.limits), handlers, exitSignal: req.exitSignal, startTime: kernel.now() });
    tg.oomScoreAdj = t.tg.oomScoreAdj;
  }
  const fdTable = has(flags, CLONE_FILES) ? t.fdTable : t.fdTable.fork(() => tg.limits.cur(RLIMIT_NOFILE));
  if (has(flags, CLONE_FILES)) fdTable.incRef();
  const fs = has(flags, CLONE_FS) ? t.fs.share() : t.fs.copy();
  const child = new Task(kernel, tid, tg, context, mm, fdTable, fs, t.creds, t.name);
  child.signalMask = t.signalMask;
  child.ioprio = t.ioprio;
  if (t.schedResetOnFork) {
    child.nice = Math.max(t.nice, 0);
  } else {
    child.nice = t.nice;
    child.schedPolicy = t.schedPolicy;
    child.schedPriority = t.schedPriority;
  }
  // A new thread starts without an alternate stack; a forked process keeps its copy of it.
  child.altStack = has(flags, CLONE_VM) && !has(flags, CLONE_VFORK) ? NO_ALT_STACK : t.altStack;
  if (has(flags, CLONE_CHILD_CLEARTID)) child.clearChildTid = req.childTid;
  kernel.addTask(child);
  if (tg !== t.tg) kernel.sessions.join(tg);

  const tidBytes = new Uint8Array(4);
  new DataView(tidBytes.buffer).setInt32(0, tid, true);
  if (has(flags, CLONE_PARENT_SETTID)) t.mm.copyOut(req.parentTid, tidBytes);
  if (has(flags, CLONE_CHILD_SETTID)) mm.copyOut(req.childTid, tidBytes);
  if (has(flags, CLONE_PIDFD)) {
    const pidfd = installPidfd(t, tg, false);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, typeof pidfd === "number" ? pidfd : -1, true);
    t.mm.copyOut(req.pidfd, b);
  }

  let vforkDone: Promise<void> | undefined;
  if (has(flags, CLONE_VFORK)) vforkDone = new Promise((resolve) => (child.vforkDone = resolve));
  void kernel.run(child);
  if (vforkDone !== undefined) await vforkDone;
  return tid;
}

/** Processes owned by the caller's real uid (RLIMIT_NPROC counts them). */
function countProcesses(t: Task): number {
  let n = 0;
  for (const tg of t.kernel.threadGroups.values()) if (!tg.reaped && tg.creds()?.uid === t.creds.uid) n++;
  return n;
}

