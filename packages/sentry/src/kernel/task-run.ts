/**
 * The task run loop as explicit states, gVisor-style: each state does its work and returns the
 * next state, until the task is done.
 *
 *     app ──syscall──▶ syscall ──▶ app
 *      │                  └──(exit)──▶ exit
 *      ├──fault──▶ forced signal ──▶ app (a handler runs, or the default action kills)
 *      └──host thread gone──▶ exit
 *
 * Before each switch to the application the task delivers its pending signals
 * (task-signals.ts): handlers get frames, default actions stop or end the group, and an
 * interrupted syscall is restarted or fails with EINTR.
 *
 * Preconditions: called once per task, on the kernel thread.
 */
import { type LinuxError, SI_KERNEL, isLinuxError } from "@runsc-ts/abi";
import type { AppEvent } from "@runsc-ts/platform";
import { killInfo, rawInfo } from "./signals.js";
import { deliverSignals, forceSignal, hasSignalWork, isRestartCode } from "./task-signals.js";
import type { Task } from "./task.js";

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
      return runFault(ev);
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
    if (!(r instanceof Promise)) return afterSyscall(t, ev.nr, r);
    return r.then((v) => afterSyscall(t, ev.nr, v));
  };
}

function afterSyscall(t: Task, nr: number, r: number | bigint | LinuxError): Next {
  if (t.exiting) return runExit;
  if (isLinuxError(r) && isRestartCode(r)) t.restart = { code: r, nr };
  t.context.setReturn(raxOf(r));
  return runApp;
}

/**
 * A host signal stopped the application: a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP,
 * SIGSYS) it must see as its own, or a signal sent to the stub from outside the sandbox, which
 * the application sees as sent by the kernel.
 */
function runFault(ev: Extract<AppEvent, { kind: "signal" }>): RunState {
  return (t) => {
    const info = ev.code > 0 ? rawInfo(ev.signo, ev.siginfo) : killInfo(ev.signo, 0, 0, SI_KERNEL);
    t.kernel.log?.debug({ tid: t.tid, signo: ev.signo, code: ev.code, addr: ev.addr }, "application fault");
    forceSignal(t, info);
    return runApp;
  };
}

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
      if (!t.exiting && hasSignalWork(t)) {
        const d = deliverSignals(t);
        if ((d instanceof Promise ? await d : d) === "exit") t.exiting = true;
      }
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
