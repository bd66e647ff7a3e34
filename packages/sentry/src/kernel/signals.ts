/**
 * Signals (signal(7)): dispositions, pending queues, default actions and siginfo.
 *
 * - A thread group's dispositions live in one `SignalHandlers` table, shared with every thread
 *   (and with processes cloned with CLONE_SIGHAND).
 * - Each task and each thread group has a `PendingSignals` queue: signals sent to a thread
 *   (tgkill, faults) wait on the task's, signals sent to a process on the group's. A standard
 *   signal is pending at most once (a second one is dropped); real-time signals queue, in order.
 * - Delivery (task-run.ts) takes the lowest-numbered unblocked signal, synchronous faults first,
 *   as Linux's dequeue_signal does.
 */
import {
  SA_RESETHAND,
  SIGABRT,
  SIGBUS,
  SIGCHLD,
  SIGCONT,
  SIGFPE,
  SIGILL,
  SIGKILL,
  SIGQUIT,
  SIGRTMAX,
  SIGSEGV,
  SIGSTOP,
  SIGSYS,
  SIGTRAP,
  SIGTSTP,
  SIGTTIN,
  SIGTTOU,
  SIGURG,
  SIGWINCH,
  SIGXCPU,
  SIGXFSZ,
  SI_USER,
  readStruct,
  sigaction,
  siginfo_kill,
  encodeStruct,
} from "@runsc-ts/abi";

/** The highest signal number (_NSIG). */
export const NSIG = SIGRTMAX;

/** A set of signals: bit (n - 1) is signal n, as in sigset_t. */
export type SigSet = bigint;

export const sigBit = (sig: number): SigSet => 1n << BigInt(sig - 1);

/** SIGKILL and SIGSTOP can be neither blocked, caught nor ignored. */
export const UNBLOCKABLE: SigSet = sigBit(SIGKILL) | sigBit(SIGSTOP);

/** The signals a fault raises; they are dequeued before any other (Linux's SYNCHRONOUS_MASK). */
const SYNCHRONOUS: SigSet = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS].reduce((m, s) => m | sigBit(s), 0n);

export const SIG_DFL = 0n;
export const SIG_IGN = 1n;

/** One disposition: struct sigaction as rt_sigaction(2) reads it. */
export interface SigAction {
  readonly handler: bigint;
  readonly flags: number;
  readonly restorer: bigint;
  readonly mask: SigSet;
}

export const DEFAULT_ACTION: SigAction = Object.freeze({ handler: SIG_DFL, flags: 0, restorer: 0n, mask: 0n });

export function decodeSigAction(b: Uint8Array): SigAction {
  const s = readStruct(sigaction, b);
  return { handler: s.sa_handler, flags: Number(BigInt.asUintN(32, s.sa_flags)), restorer: s.sa_restorer, mask: s.sa_mask };
}

export function encodeSigAction(a: SigAction): Uint8Array {
  return encodeStruct(sigaction, { sa_handler: a.handler, sa_flags: BigInt(a.flags >>> 0), sa_restorer: a.restorer, sa_mask: a.mask });
}

/** What happens to a signal whose disposition is SIG_DFL (signal(7)'s table). */
export type DefaultAction = "terminate" | "core" | "ignore" | "stop" | "continue";

const CORE = new Set([SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS]);
const STOP = new Set([SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]);
const IGNORE = new Set([SIGCHLD, SIGURG, SIGWINCH]);

export function defaultAction(sig: number): DefaultAction {
  if (CORE.has(sig)) return "core";
  if (STOP.has(sig)) return "stop";
  if (IGNORE.has(sig)) return "ignore";
  if (sig === SIGCONT) return "continue";
  return "terminate";
}

export const isStopSignal = (sig: number): boolean => STOP.has(sig);

export function isValidSignal(sig: number): boolean {
  return Number.isInteger(sig) && sig >= 1 && sig <= NSIG;
}

/** A thread group's dispositions (shared by its threads and CLONE_SIGHAND processes). */
export class SignalHandlers {
  private readonly actions: SigAction[] = Array.from({ length: NSIG }, () => DEFAULT_ACTION);

  get(sig: number): SigAction {
    return this.actions[sig - 1] ?? DEFAULT_ACTION;
  }

  set(sig: number, a: SigAction): void {
    this.actions[sig - 1] = a;
  }

  /** Whether `sig` would be discarded on arrival: SIG_IGN, or SIG_DFL with an ignore default. */
  ignores(sig: number): boolean {
    const h = this.get(sig).handler;
    return h === SIG_IGN || (h === SIG_DFL && defaultAction(sig) === "ignore");
  }

  /** After a handler is entered: SA_RESETHAND makes the disposition SIG_DFL again. */
  entered(sig: number): void {
    if ((this.get(sig).flags & SA_RESETHAND) !== 0) this.actions[sig - 1] = DEFAULT_ACTION;
  }

  /** A copy (fork without CLONE_SIGHAND). */
  copy(): SignalHandlers {
    const h = new SignalHandlers();
    this.actions.forEach((a, i) => (h.actions[i] = a));
    return h;
  }

  /** execve: caught signals go back to SIG_DFL; ignored ones stay ignored. */
  resetForExec(): void {
    this.actions.forEach((a, i) => {
      if (a.handler !== SIG_IGN) this.actions[i] = DEFAULT_ACTION;
    });
  }
}

/** A signal with its siginfo_t (128 bytes; si_signo and si_code are in it too). */
export interface SignalInfo {
  readonly signo: number;
  readonly code: number;
  readonly bytes: Uint8Array;
}

/** siginfo for kill(2)-style signals: si_pid and si_uid of the sender. */
export function killInfo(signo: number, pid: number, uid: number, code: number = SI_USER): SignalInfo {
  return { signo, code, bytes: encodeStruct(siginfo_kill, { si_signo: signo, si_code: code, si_pid: pid, si_uid: uid }) };
}

/** siginfo from raw bytes (rt_sigqueueinfo, platform faults), with si_signo forced to `signo`. */
export function rawInfo(signo: number, bytes: Uint8Array): SignalInfo {
  const b = new Uint8Array(128);
  b.set(bytes.subarray(0, 128));
  const dv = new DataView(b.buffer);
  dv.setInt32(0, signo, true);
  return { signo, code: dv.getInt32(8, true), bytes: b };
}

/** Signals waiting for delivery to a task or a thread group. */
export class PendingSignals {
  private readonly queues = new Map<number, SignalInfo[]>();
  /** The set of pending signals. */
  set: SigSet = 0n;

  get empty(): boolean {
    return this.set === 0n;
  }

  /** Queues `info`. A standard signal already pending is not queued again (returns false). */
  enqueue(info: SignalInfo): boolean {
    const q = this.queues.get(info.signo);
    if (q !== undefined && info.signo < 32) return false;
    if (q === undefined) this.queues.set(info.signo, [info]);
    else q.push(info);
    this.set |= sigBit(info.signo);
    return true;
  }

  /** The signal delivery should take next from `allowed`: synchronous ones first, then lowest. */
  peek(allowed: SigSet): number | undefined {
    const ready = this.set & allowed;
    if (ready === 0n) return undefined;
    const sync = ready & SYNCHRONOUS;
    return lowest(sync !== 0n ? sync : ready);
  }

  /** Takes the first queued instance of `sig`. */
  take(sig: number): SignalInfo | undefined {
    const q = this.queues.get(sig);
    const info = q?.shift();
    if (q !== undefined && q.length === 0) {
      this.queues.delete(sig);
      this.set &= ~sigBit(sig);
    }
    return info;
  }

  /** Whether this very siginfo is still waiting (a POSIX timer's last expiry). */
  contains(info: SignalInfo): boolean {
    return this.queues.get(info.signo)?.includes(info) ?? false;
  }

  /** Drops every pending instance of the signals in `mask`. */
  discard(mask: SigSet): void {
    for (const sig of this.queues.keys()) {
      if ((mask & sigBit(sig)) !== 0n) this.queues.delete(sig);
    }
    this.set &= ~mask;
  }
}

/** The lowest signal number in a non-empty set. */
function lowest(set: SigSet): number {
  let sig = 1;
  while ((set & 1n) === 0n) {
    set >>= 1n;
    sig++;
  }
  return sig;
}
