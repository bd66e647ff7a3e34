/**
 * execve(2)'s second half: the program is loaded into a fresh address space first, so every
 * error (ENOENT, ENOEXEC, E2BIG, ...) returns to the caller with nothing changed. Then, past the
 * point of no return, the other threads of the process die, the caller takes over the
 * process's id, and the old memory, close-on-exec files, caught signals and alternate stack go.
 */
import { type LinuxError, isLinuxError } from "@runsc-ts/abi";
import { MemoryManager } from "../mm/memory-manager.js";
import { type ExecRequest, loadExecutable } from "../loader/load.js";
import { capabilitiesAfterExec } from "./auth/setid.js";
import { NO_ALT_STACK } from "./signal-frame.js";
import { wakeForSignal } from "./task-signals.js";
import type { Task } from "./task.js";
import { addUsage } from "./thread-group.js";

export async function execTask(t: Task, req: ExecRequest): Promise<0 | LinuxError> {
  const { addressSpace, context } = t.kernel.platform.newAddressSpace();
  const mm = new MemoryManager(addressSpace);
  let loaded;
  try {
    loaded = await loadExecutable(t, req, { mm, context });
  } catch (e) {
    addressSpace.destroy();
    throw e;
  }
  if (isLinuxError(loaded) || t.exiting) {
    addressSpace.destroy();
    return isLinuxError(loaded) ? loaded : 0;
  }

  // The point of no return.
  await killOtherThreads(t);
  if (t.exiting) {
    addressSpace.destroy();
    return 0;
  }
  const kernel = t.kernel;
  if (t.tid !== t.tg.tgid) {
    kernel.tasks.delete(t.tid);
    t.tid = t.tg.tgid;
    kernel.tasks.set(t.tid, t);
  }
  const oldContext = t.context;
  const oldMm = t.mm;
  // The process's CPU time survives exec; the old image's thread is gone with its context.
  t.tg.deadUsage = addUsage(t.tg.deadUsage, oldContext.cpuUsage());
  t.context = context;
  t.mm = mm;
  oldContext.release();
  oldMm.release();

  if (t.fdTable.shared) {
    const own = t.fdTable.fork();
    t.fdTable.decRef();
    t.fdTable = own;
  }
  t.fdTable.closeOnExec();
  t.tg.timers.deletePosix();
  t.tg.handlers = t.tg.handlers.copy();
  t.tg.handlers.resetForExec();
  t.altStack = NO_ALT_STACK;
  t.clearChildTid = 0n;
  t.robustList = 0n;
  t.name = (req.path.split("/").pop() ?? "").slice(0, 15);
  t.creds = capabilitiesAfterExec(t.creds);
  t.keepCaps = false;
  t.tg.execed = true;
  t.tg.dumpable = true;
  t.vforkDone?.();
  t.vforkDone = undefined;
  return 0;
}

/** de_thread: every other thread of the group exits; resolves when they have. */
async function killOtherThreads(t: Task): Promise<void> {
  const others = [...t.tg.tasks].filter((o) => o !== t);
  for (const o of others) {
    o.exiting = true;
    wakeForSignal(o);
  }
  await Promise.all(others.map((o) => o.done));
}
