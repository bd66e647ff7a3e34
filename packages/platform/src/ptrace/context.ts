/**
 * PtraceContext: one application thread = one traced host thread (a CLONE_VM child of its
 * address space's stub). Registers live in `regs` (a user_regs_struct the addon fills at every
 * stop and writes back at every switch); `switchToApp` resumes with PTRACE_SYSEMU so every
 * system call stops before the host runs it.
 *
 * States: **stopped** (registers valid, may be edited) → `switchToApp` → **running** → a
 * report → **stopped**, or → **dead** (exited/killed; final). Preconditions: every method runs
 * on the tracer thread (Node's main thread); `switchToApp` only when stopped.
 */
import { readFileSync } from "node:fs";
import { native } from "../native.js";
import { type AppEvent, type Context, type CpuUsage, NO_USAGE, type SyscallArgs } from "../platform.js";
import type { PtraceAddressSpace } from "./address-space.js";
import { REG } from "./regs.js";
import type { Tracer } from "./tracer.js";

const C = native.ptraceConstants;
const INTERRUPT: AppEvent = Object.freeze({ kind: "interrupt" });
/** Nanoseconds per clock tick of /proc's times (USER_HZ is 100 on x86-64). */
const TICK_NS = 10_000_000n;

export type ContextState = "stopped" | "running" | "dead";

export class PtraceContext implements Context {
  readonly regs = new BigUint64Array(C.USER_REGS_COUNT);
  /** The same registers as 32-bit halves: the syscall number without a BigInt. */
  private readonly regs32 = new Int32Array(this.regs.buffer);
  private readonly siginfo = new Uint8Array(C.SIGINFO_SIZE);
  private readonly siginfoView = new DataView(this.siginfo.buffer);
  state: ContextState = "stopped";
  /** Set when an event was delivered and the owner has not switched back yet. */
  awaitingHandler = false;
  private waiter: ((e: AppEvent) => void) | undefined;
  private failer: ((e: unknown) => void) | undefined;
  private pending: AppEvent | undefined;
  private death: AppEvent | undefined;
  /**
   * Test hook: resume with PTRACE_CONT instead of PTRACE_SYSEMU, so application system calls
   * reach the host kernel — where the stub's seccomp filter must stop them (SIGSYS).
   */
  interceptionDisabledForTest = false;

  /** Preconditions: `tid` is a stopped tracee the addon knows (a fresh clone or fork child). */
  constructor(
    readonly tid: number,
    readonly addressSpace: PtraceAddressSpace,
    private readonly tracer: Tracer,
  ) {
    native.ptraceRegister(tid, this.regs, this.siginfo);
    tracer.register(this);
  }

  get dead(): boolean {
    return this.state === "dead";
  }

  setReturn(value: bigint): void {
    this.regs[REG.rax] = value;  // stored modulo 2^64: -1n becomes 0xffff_ffff_ffff_ffffn
  }

  get fsBase(): bigint {
    return this.regs[REG.fs_base] ?? 0n;
  }

  set fsBase(value: bigint) {
    this.regs[REG.fs_base] = value;
  }

  getFpState(): Uint8Array {
    this.checkStopped("getFpState");
    const buf = new Uint8Array(C.XSTATE_SIZE);
    const n = native.ptraceGetFpregs(this.tid, buf);
    return buf.subarray(0, n);
  }

  setFpState(state: Uint8Array): void {
    this.checkStopped("setFpState");
    native.ptraceSetFpregs(this.tid, state);
  }

  switchToApp(): Promise<AppEvent> {
    this.awaitingHandler = false;
    if (this.pending !== undefined) {
      const e = this.pending;
      this.pending = undefined;
      return Promise.resolve(e);
    }
    if (this.death !== undefined) return Promise.resolve(this.death);
    if (this.state !== "stopped") throw new Error(`switchToApp: context ${this.tid} is ${this.state}`);
    const promise = new Promise<AppEvent>((resolve, reject) => {
      this.waiter = resolve;
      this.failer = reject;
    });
    const mode = this.interceptionDisabledForTest ? C.RESUME_CONT : C.RESUME_SYSEMU;
    try {
      native.ptraceResume(this.tid, mode, 0, true);
    } catch {
      // Gone while stopped (killed from outside): its report is pending; collect it.
      this.tracer.kick();
      return promise;
    }
    this.state = "running";
    this.tracer.resumed();
    return promise;
  }

  /**
   * The ABI of the system call the context is stopped at: "i386" for `int 0x80` from 64-bit
   * code (numbers and argument registers of the 32-bit ABI), else "x86_64". One host call, so
   * asked only when needed. Preconditions: the last event was a syscall.
   */
  syscallAbi(): "x86_64" | "i386" {
    this.checkStopped("syscallAbi");
    return native.ptraceSyscallArch(this.tid) === C.AUDIT_ARCH_I386 ? "i386" : "x86_64";
  }

  interrupt(): void {
    if (this.state !== "dead") native.ptraceInterrupt(this.tid);
  }

  /**
   * From the host's /proc/<tid>/stat (utime and stime in clock ticks, minflt, majflt) and the
   * process CPU clock (runtime in ns): a context is a host process of its own, so these are
   * exactly its thread's.
   */
  cpuUsage(): CpuUsage {
    if (this.state === "dead") return NO_USAGE;
    let stat: string;
    let runtime: bigint;
    try {
      stat = readFileSync(`/proc/${this.tid}/stat`, "latin1");
      runtime = native.cpuClockNs(this.tid);
    } catch {
      return NO_USAGE;
    }
    // Fields after the ")" that ends the command name: state is field 3.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const field = (n: number) => BigInt(f[n - 3] ?? "0");
    return { user: field(14) * TICK_NS, system: field(15) * TICK_NS, runtime, minorFaults: field(10), majorFaults: field(12) };
  }

  release(): void {
    if (this.state === "dead") return;
    const wasRunning = this.state === "running";
    native.ptraceKill(this.tid);
    this.tracer.unregister(this, wasRunning);
    this.die({ kind: "killed", signo: 9 });
  }

  /** Delivers a report from the tracer's run loop. */
  report(kind: number, detail: number): void {
    let event: AppEvent;
    if (kind === C.EVENT_SYSCALL) {
      const r = this.regs;
      const args: SyscallArgs = [r[REG.rdi]!, r[REG.rsi]!, r[REG.rdx]!, r[REG.r10]!, r[REG.r8]!, r[REG.r9]!];
      // The kernel reads the number as a 32-bit int (do_syscall_64): 0x1_0000_0027 is getpid.
      // The low half of orig_rax (little endian), signed.
      event = { kind: "syscall", nr: this.regs32[REG.orig_rax * 2]!, args };
      this.state = "stopped";
    } else if (kind === C.EVENT_SIGNAL) {
      const v = this.siginfoView;
      event = {
        kind: "signal",
        signo: detail,
        code: v.getInt32(C.SIGINFO_CODE, true),
        addr: v.getBigUint64(C.SIGINFO_ADDR, true),
        siginfo: this.siginfo.slice(),
      };
      this.state = "stopped";
    } else if (kind === C.EVENT_INTERRUPT) {
      event = INTERRUPT;
      this.state = "stopped";
    } else if (kind === C.EVENT_EXIT || kind === C.EVENT_KILLED) {
      this.die(kind === C.EVENT_EXIT ? { kind: "exited", status: detail } : { kind: "killed", signo: detail });
      return;
    } else {
      // An unexpected ptrace event stop (the application cannot fork on its own): stopped,
      // reported as an interrupt so the owner re-examines and switches back.
      event = INTERRUPT;
      this.state = "stopped";
    }
    this.awaitingHandler = true;
    this.settle(event);
  }

  /** The run loop failed: reject a pending switch. */
  fail(e: unknown): void {
    const failer = this.failer;
    this.waiter = undefined;
    this.failer = undefined;
    failer?.(e);
  }

  /** Marks the context dead (the addon has already forgotten it) and settles a waiter. */
  die(event: AppEvent): void {
    if (this.death !== undefined) return;
    this.state = "dead";
    this.death = event;
    this.addressSpace.contextDied(this);
    if (this.waiter !== undefined) this.settle(event);
  }

  private settle(event: AppEvent): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    this.failer = undefined;
    if (waiter !== undefined) waiter(event);
    else this.pending = event;
  }

  private checkStopped(what: string): void {
    if (this.state !== "stopped") throw new Error(`${what}: context ${this.tid} is ${this.state}`);
  }
}
