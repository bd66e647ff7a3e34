/**
 * PtraceAddressSpace: an application memory image = one host stub process (a fork of the
 * zygote, or of another address space's stub). Its own thread — the stub, `pid` — never runs
 * application code: it only executes injected system calls (mmap, munmap, mprotect, mremap,
 * fork, clone) at the stub page's syscall instruction, so the address space can be changed
 * while its contexts run. Contexts are CLONE_VM clones of the stub. Memory is copied with
 * process_vm_readv/writev, one host call per copy (gather/scatter for many pieces).
 *
 * Preconditions: every method runs on the tracer thread. Not after `destroy()`.
 */
import {
  CLONE_FILES,
  CLONE_FS,
  CLONE_VM,
  EINVAL,
  ENOMEM,
  type LinuxError,
  SIGCHLD,
  SYS_clone,
  SYS_fork,
  SYS_madvise,
  SYS_mmap,
  SYS_mprotect,
  SYS_mremap,
  SYS_munmap,
  linuxErrorFromErrno,
} from "@runsc-ts/abi";
import { native } from "../native.js";
import type { AddressSpace, Context } from "../platform.js";
import { PtraceContext } from "./context.js";
import type { Tracer } from "./tracer.js";

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/**
 * The stub page and everything above it are not the application's: the top of the address
 * space the sentry may use is STUB_PAGE_ADDR. A range reaching into it is refused as Linux
 * refuses a range beyond TASK_SIZE.
 */
export const APP_ADDRESS_TOP = BigInt(native.ptraceConstants.STUB_PAGE_ADDR);

function beyondTop(addr: bigint, length: bigint): boolean {
  return addr < 0n || length < 0n || addr + length > APP_ADDRESS_TOP;
}

/** A host result: a value, or a negative errno as a LinuxError. */
function hostResult(r: bigint): bigint | LinuxError {
  if (r >= 0n || r < -4095n) return r;
  const e = linuxErrorFromErrno(Number(-r));
  if (e === undefined) throw new Error(`host errno ${-r} unknown to @runsc-ts/abi`);
  return e;
}

export class PtraceAddressSpace implements AddressSpace {
  private readonly contexts = new Set<PtraceContext>();
  private readonly args = new BigUint64Array(6);
  private stubAlive = true;

  /** Preconditions: `pid` is a stopped, registered-with-the-addon stub (fresh fork child). */
  constructor(
    readonly pid: number,
    private readonly tracer: Tracer,
    /** The platform's live address spaces: this one is in it until destroyed. */
    private readonly spaces: Set<PtraceAddressSpace>,
  ) {
    spaces.add(this);
  }

  get destroyed(): boolean {
    return !this.stubAlive;
  }

  /** Runs host system call `nr` in the stub; returns [result, new tracee or 0]. */
  inject(nr: number, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n, a4 = 0n, a5 = 0n): [bigint, number] {
    if (!this.stubAlive) throw new Error(`address space ${this.pid} is destroyed`);
    const a = this.args;
    a[0] = u64(a0);
    a[1] = u64(a1);
    a[2] = u64(a2);
    a[3] = u64(a3);
    a[4] = u64(a4);
    a[5] = u64(a5);
    return native.ptraceInject(this.pid, nr, a);
  }

  mmap(addr: bigint, length: bigint, prot: number, flags: number, fd = -1, offset = 0n): bigint | LinuxError {
    if (beyondTop(addr, length)) return ENOMEM;
    return hostResult(this.inject(SYS_mmap, addr, length, BigInt(prot), BigInt(flags), BigInt(fd), offset)[0]);
  }

  munmap(addr: bigint, length: bigint): LinuxError | undefined {
    if (beyondTop(addr, length)) return EINVAL;
    const r = hostResult(this.inject(SYS_munmap, addr, length)[0]);
    return typeof r === "bigint" ? undefined : r;
  }

  mprotect(addr: bigint, length: bigint, prot: number): LinuxError | undefined {
    if (beyondTop(addr, length)) return ENOMEM;
    const r = hostResult(this.inject(SYS_mprotect, addr, length, BigInt(prot))[0]);
    return typeof r === "bigint" ? undefined : r;
  }

  mremap(oldAddr: bigint, oldLength: bigint, newLength: bigint, flags: number, newAddr = 0n): bigint | LinuxError {
    if (beyondTop(oldAddr, oldLength) || beyondTop(oldAddr, newLength) || beyondTop(newAddr, newLength)) return ENOMEM;
    return hostResult(this.inject(SYS_mremap, oldAddr, oldLength, newLength, BigInt(flags), newAddr)[0]);
  }

  madvise(addr: bigint, length: bigint, advice: number): LinuxError | undefined {
    if (beyondTop(addr, length)) return ENOMEM;
    const r = hostResult(this.inject(SYS_madvise, addr, length, BigInt(advice))[0]);
    return typeof r === "bigint" ? undefined : r;
  }

  read(addr: bigint, buf: Uint8Array): number {
    return native.vmRead(this.pid, BigUint64Array.of(addr, BigInt(buf.length)), buf);
  }

  write(addr: bigint, buf: Uint8Array): number {
    return native.vmWrite(this.pid, BigUint64Array.of(addr, BigInt(buf.length)), buf);
  }

  readv(pieces: readonly (readonly [bigint, number])[], buf: Uint8Array): number {
    return native.vmRead(this.pid, flatten(pieces), buf);
  }

  writev(pieces: readonly (readonly [bigint, number])[], buf: Uint8Array): number {
    return native.vmWrite(this.pid, flatten(pieces), buf);
  }

  /** A fresh context (registers: the stub's, at its trap) — for a new process image. */
  newContext(): PtraceContext {
    const [r, tid] = this.inject(SYS_clone, BigInt(CLONE_VM | CLONE_FS | CLONE_FILES | SIGCHLD));
    if (tid <= 0) throw new Error(`clone in stub ${this.pid} failed: ${String(r)}`);
    const ctx = new PtraceContext(tid, this, this.tracer);
    this.contexts.add(ctx);
    return ctx;
  }

  cloneThread(from: Context): PtraceContext {
    const ctx = this.newContext();
    ctx.regs.set(from.regs);
    return ctx;
  }

  fork(from: Context): { addressSpace: PtraceAddressSpace; context: PtraceContext } {
    const [r, pid] = this.inject(SYS_fork);
    if (pid <= 0) throw new Error(`fork in stub ${this.pid} failed: ${String(r)}`);
    const child = new PtraceAddressSpace(pid, this.tracer, this.spaces);
    try {
      return { addressSpace: child, context: child.cloneThread(from) };
    } catch (e) {
      child.destroy();
      throw e;
    }
  }

  /** Called by a context when its host thread is gone. */
  contextDied(ctx: PtraceContext): void {
    this.contexts.delete(ctx);
  }

  destroy(): void {
    if (!this.stubAlive) return;
    for (const ctx of [...this.contexts]) ctx.release();
    this.stubAlive = false;
    native.ptraceKill(this.pid);
    this.spaces.delete(this);
  }
}

function flatten(pieces: readonly (readonly [bigint, number])[]): BigUint64Array {
  const out = new BigUint64Array(pieces.length * 2);
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    out[2 * i] = p[0];
    out[2 * i + 1] = BigInt(p[1]);
  }
  return out;
}
