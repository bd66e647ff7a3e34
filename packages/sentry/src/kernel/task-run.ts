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

/**
 * A state does its work and returns the next state (undefined: the task is done). It returns a
 * promise only when it has to wait, so a syscall answered synchronously goes back to the
 * application without a microtask hop — the platform's tracer notices a task that does not
 * resume at once and yields to the event loop, which costs tens of microseconds.
 */
type Next = RunState | undefined;
type RunState = (t: Task) => Next | Promise<Next>;

/**
 * Runs application code until the next event. The driver (runTask) awaits the platform here and
 * continues with `nextAfter(event)` in the same microtask.
 */
const runApp: RunState = () => {
  throw new Error("runApp is driven by runTask");
};

/** The state an application event leads to. */
function nextAfter(ev: AppEvent): Next {
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
}

/** Serves one system call, then returns to the application (or exits). */
function runSyscall(ev: Extract<AppEvent, { kind: "syscall" }>): RunState {
  return (t) => {
    const r = t.kernel.syscall(t, ev.nr, ev.args);
    return r instanceof Promise ? r.then((v) => afterSyscall(t, v)) : afterSyscall(t, r);
  };
}

function afterSyscall(t: Task, r: number | bigint | LinuxError): Next {
  if (t.exiting) return runExit;
  t.context.setReturn(raxOf(r));
  return runApp;
}

/**
 * A host signal stopped the application (a fault, or a signal sent to the stub). Until signal
 * handlers can be delivered, the default action applies: the thread group dies of the signal.
 */
function runFatalSignal(signo: number): RunState {
  return (t) => {
    const core = CORE_DUMP_SIGNALS.has(signo);
    t.kernel.log?.debug({ tid: t.tid, signo }, "task killed by a signal");
    t.kernel.exitThreadGroup(t.tg, signaledStatus(signo, core));
    return runExit;
  };
}

/** Signals whose default action dumps core (signal(7)). */
const CORE_DUMP_SIGNALS = new Set([SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS]);

const runExit: RunState = (t) => {
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
  let state: Next = runApp;
  while (state !== undefined) {
    if (state === runApp) {
      if (t.exiting) {
        state = runExit;
        continue;
      }
      state = nextAfter(await t.context.switchToApp());
      continue;
    }
    const next: Next | Promise<Next> = state(t);
    state = next instanceof Promise ? await next : next;
  }
}
