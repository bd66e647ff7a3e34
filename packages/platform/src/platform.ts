/**
 * The platform interface the sentry programs against: an address space per application memory
 * image, a context per application thread, and events out of `switchToApp`. `ptrace` implements
 * it today (src/ptrace/); KVM is refused (see {@link platformFor}).
 */
import type { LinuxError } from "@runsc-ts/abi";

/** Six syscall arguments, rdi rsi rdx r10 r8 r9, as unsigned 64-bit values. */
export type SyscallArgs = readonly [bigint, bigint, bigint, bigint, bigint, bigint];

/**
 * What stopped the application: the reason `switchToApp` returned.
 *
 * * `syscall`: the application executed a system call; nothing ran on the host. Set the result
 *   with `ctx.setReturn()` (or edit `ctx.regs`) and switch back.
 * * `signal`: a host signal stopped it — a fault (SIGSEGV with `addr`, SIGBUS, SIGILL, SIGFPE,
 *   SIGTRAP from int3, SIGSYS from the stub's seccomp filter) or a signal sent from outside. It
 *   was not delivered: the sentry decides what the application sees.
 * * `interrupt`: the sentry asked the context to stop running application code (`interrupt()`).
 * * `exited`, `killed`: the host thread is gone (killed from outside, or the address space was
 *   destroyed). The context is dead.
 */
export type AppEvent =
  | {
      readonly kind: "syscall";
      /** The number as the kernel reads it: the low 32 bits of rax, signed. */
      readonly nr: number;
      readonly args: SyscallArgs;
    }
  | {
      readonly kind: "signal";
      readonly signo: number;
      readonly code: number;
      /** si_addr: the fault address for SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP (0 otherwise). */
      readonly addr: bigint;
      /** The raw siginfo_t (128 bytes), a copy. */
      readonly siginfo: Uint8Array;
    }
  | { readonly kind: "interrupt" }
  | { readonly kind: "exited"; readonly status: number }
  | { readonly kind: "killed"; readonly signo: number };

/** CPU time and page faults of one application thread, as the host accounted them (ns). */
export interface CpuUsage {
  readonly user: bigint;
  readonly system: bigint;
  /** Time on a CPU in ns at full resolution (user and system are in 10 ms ticks). */
  readonly runtime: bigint;
  readonly minorFaults: bigint;
  readonly majorFaults: bigint;
}

export const NO_USAGE: CpuUsage = Object.freeze({ user: 0n, system: 0n, runtime: 0n, minorFaults: 0n, majorFaults: 0n });

/** One application thread's host execution state. */
export interface Context {
  /**
   * The general registers as a user_regs_struct (index with `REG.rax` etc.). Valid while the
   * context is stopped; written back when it switches to the application.
   */
  readonly regs: BigUint64Array;
  readonly addressSpace: AddressSpace;
  /** Whether the host thread is gone. */
  readonly dead: boolean;
  /** Sets the syscall result (rax). */
  setReturn(value: bigint): void;
  fsBase: bigint;
  /** The FP/SIMD state (XSAVE layout). */
  getFpState(): Uint8Array;
  setFpState(state: Uint8Array): void;
  /** Runs application code until the next event. Preconditions: the context is stopped. */
  switchToApp(): Promise<AppEvent>;
  /** Makes a running context stop with an `interrupt` event (a stopped one gets it next switch). */
  interrupt(): void;
  /** The thread's CPU time so far (NO_USAGE once it is gone). */
  cpuUsage(): CpuUsage;
  /** Ends the host thread. Idempotent. */
  release(): void;
}

/** An application address space: a host process image the sentry maps memory into. */
export interface AddressSpace {
  readonly destroyed: boolean;
  mmap(addr: bigint, length: bigint, prot: number, flags: number, fd?: number, offset?: bigint): bigint | LinuxError;
  /**
   * Maps the sentry's host file `hostFd` at `addr` (mmap(2) semantics for `flags`; MAP_SHARED
   * mappings share pages with the file and every other mapping of it).
   */
  mapFile(addr: bigint, length: bigint, prot: number, flags: number, hostFd: number, offset: bigint): bigint | LinuxError;
  munmap(addr: bigint, length: bigint): LinuxError | undefined;
  mprotect(addr: bigint, length: bigint, prot: number): LinuxError | undefined;
  mremap(oldAddr: bigint, oldLength: bigint, newLength: bigint, flags: number, newAddr?: bigint): bigint | LinuxError;
  /** madvise(2) on the host mapping (e.g. MADV_DONTNEED to drop and zero private pages). */
  madvise(addr: bigint, length: bigint, advice: number): LinuxError | undefined;
  /** Copies application memory at `addr` into `buf`; returns the bytes copied (short at a fault). */
  read(addr: bigint, buf: Uint8Array): number;
  /** Copies `buf` into application memory at `addr`; returns the bytes copied (short at a fault). */
  write(addr: bigint, buf: Uint8Array): number;
  /** Gather: the pieces (addr, length) in order into `buf`, one host call. Returns bytes copied. */
  readv(pieces: readonly (readonly [bigint, number])[], buf: Uint8Array): number;
  /** Scatter: `buf` into the pieces in order, one host call. Returns bytes copied. */
  writev(pieces: readonly (readonly [bigint, number])[], buf: Uint8Array): number;
  /** A new context in this address space, registers copied from `from` (a new thread). */
  cloneThread(from: Context): Context;
  /** A copy-on-write copy of this address space, and a context in it copied from `from`. */
  fork(from: Context): { addressSpace: AddressSpace; context: Context };
  /**
   * Bytes of application memory resident in host RAM (RSS), as the host accounts them; 0 once
   * destroyed.
   */
  residentBytes(): number;
  /** Kills every context and the address space's host process. Idempotent. */
  destroy(): void;
}

/** A platform: makes address spaces. */
export interface Platform {
  readonly name: string;
  /** An empty address space (only the platform's stub page is mapped) and its first context. */
  newAddressSpace(): { addressSpace: AddressSpace; context: Context };
  /** Ends every address space. */
  close(): void;
}
