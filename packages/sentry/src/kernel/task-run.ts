/**
 * The task run loop as explicit states, gVisor-style: each state does its work and returns the
 * next state, until the task is done.
 *
 *     app ──syscall──▶ syscall ──▶ app
 *      │                  └──(exit)──▶ exit
 *      ├──fault/signal──▶ fatal signal ──▶ exit
 *      └──host thread gone──▶ exit
 *
 * Preconditions: called once per task, on the kernel thread.
 */
import { type LinuxError, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGQUIT, SIGSEGV, SIGSYS, SIGTRAP, SIGXCPU, SIGXFSZ } from "@runsc-ts/abi";
import type { AppEvent } from "@runsc-ts/platform";
import type { Task } from "./task.js";
import { signaledStatus } from "./thread-group.js";

type RunState = (t: Task) => Promise<RunState | undefined>;

/** Runs application code until the next event. */
const runApp: RunState = async (t) => {
  if (t.exiting) return runExit;
  const ev = await t.context.switchToApp();
  switch (ev.kind) {
    case "syscall":
      return runSyscall(ev);
    case "signal":
      return runFatalSignal(ev.signo);
    case "interrupt":
      return runApp;
    case "exited":
    case "killed":
      return runExit;
  }
};

/** Serves one system call, then returns to the application (or exits). */
function runSyscall(ev: Extract<AppEvent, { kind: "syscall" }>): RunState {
  return async (t) => {
    const r = await t.kernel.syscall(t, ev.nr, ev.args);
    if (t.exiting) return runExit;
    t.context.setReturn(raxOf(r));
    return runApp;
  };
}

/**
 * A host signal stopped the application (a fault, or a signal sent to the stub). Until signal
 * handlers can be delivered, the default action applies: the thread group dies of the signal.
 */
function runFatalSignal(signo: number): RunState {
  return async (t) => {
    const core = CORE_DUMP_SIGNALS.has(signo);
    t.kernel.log?.debug({ tid: t.tid, signo }, "task killed by a signal");
    t.kernel.exitThreadGroup(t.tg, signaledStatus(signo, core));
    return runExit;
  };
}

/** Signals whose default action dumps core (signal(7)). */
const CORE_DUMP_SIGNALS = new Set([SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS]);

const runExit: RunState = async (t) => {
  t.kernel.taskExited(t);
  return undefined;
};

/** A syscall's result as rax: the value, or -errno. */
export function raxOf(r: number | bigint | LinuxError): bigint {
  if (typeof r === "number") return BigInt.asUintN(64, BigInt(r));
  if (typeof r === "bigint") return BigInt.asUintN(64, r);
  return BigInt.asUintN(64, BigInt(-r.errno));
}

export async function runTask(t: Task): Promise<void> {
  for (let state: RunState | undefined = runApp; state !== undefined; ) {
    state = await state(t);
  }
}
