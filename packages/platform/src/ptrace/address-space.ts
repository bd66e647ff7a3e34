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
  EXEC_PAGESIZE,
  type LinuxError,
  SIGCHLD,
  SYS_clone,
  SYS_close,
  SYS_fork,
  SYS_madvise,
  SYS_mmap,
  SYS_mprotect,
  SYS_mremap,
  SYS_munmap,
  SYS_recvmsg,
  linuxErrorFromErrno,
} from "@runsc-ts/abi";
import { readFileSync } from "node:fs";
import { native } from "../native.js";
import type { AddressSpace, Context } from "../platform.js";
import { PtraceContext } from "./context.js";
import type { Tracer } from "./tracer.js";

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const PAGE_BYTES = EXEC_PAGESIZE;

/**
 * The scratch and stub pages and everything above them are not the application's: the top of
 * the address space the sentry may use is STUB_SCRATCH_ADDR. A range reaching into it is refused
 * as Linux refuses a range beyond TASK_SIZE.
 */
export const APP_ADDRESS_TOP = BigInt(native.ptraceConstants.STUB_SCRATCH_ADDR);

const SCRATCH = BigInt(native.ptraceConstants.STUB_SCRATCH_ADDR);
const CHANNEL_FD = BigInt(native.ptraceConstants.STUB_CHANNEL_FD);
const MSG_DONTWAIT = 0x40n;
const MSG_CMSG_CLOEXEC = 0x40000000n;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;

/**
 * Our end of the stubs' channel (a SOCK_SEQPACKET socket every stub inherits as
 * STUB_CHANNEL_FD): each message carries one host FD and a sequence number, so a stub that
 * receives a stale message (an earlier transfer that failed halfway) can tell and drop it.
 */
export class FdChannel {
  private seq = 0n;
  constructor(private fd: number) {}

  /** Queues `hostFd` for the next stub that receives; returns the message's sequence number. */
  send(hostFd: number): bigint {
    const seq = ++this.seq;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, seq, true);
    if (native.sendmsg(this.fd, [b], [hostFd]) !== 8) throw new Error("the stub channel is full");
    return seq;
  }

  close(): void {
    if (this.fd >= 0) native.close(this.fd);
    this.fd = -1;
  }
}

/** recvmsg's arguments in the scratch page: msghdr, its iovec, the data and the control buffer. */
function receiveArea(): Uint8Array {
  const b = new Uint8Array(152);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(16, SCRATCH + 64n, true); // msg_iov
  dv.setBigUint64(24, 1n, true); // msg_iovlen
  dv.setBigUint64(32, SCRATCH + 128n, true); // msg_control
  dv.setBigUint64(40, 24n, true); // msg_controllen: CMSG_SPACE(sizeof(int))
  dv.setBigUint64(64, SCRATCH + 96n, true); // iov_base
  dv.setBigUint64(72, 8n, true); // iov_len
  return b;
}

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
    private readonly channel: FdChannel,
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

  /**
   * Maps host file `hostFd` (a descriptor of the sentry's) into the stub: the FD travels over the
   * stub channel, the stub receives it (recvmsg with its arguments in the scratch page), maps it
   * and closes it again (the mapping keeps the file).
   */
  mapFile(addr: bigint, length: bigint, prot: number, flags: number, hostFd: number, offset: bigint): bigint | LinuxError {
    if (beyondTop(addr, length)) return ENOMEM;
    const seq = this.channel.send(hostFd);
    let stubFd = -1n;
    // Drop any stale message ahead of ours (an earlier transfer that failed halfway).
    for (let tries = 0; tries < 8 && stubFd < 0n; tries++) {
      native.vmWrite(this.pid, BigUint64Array.of(SCRATCH, 152n), receiveArea());
      const got = this.inject(SYS_recvmsg, CHANNEL_FD, SCRATCH, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)[0];
      if (got !== 8n) throw new Error(`stub ${this.pid} could not receive a file (recvmsg: ${got})`);
      const back = new Uint8Array(56);
      native.vmRead(this.pid, BigUint64Array.of(SCRATCH + 96n, 56n), back);
      const dv = new DataView(back.buffer);
      const fd = dv.getInt32(48, true);
      const isRights = dv.getInt32(40, true) === SOL_SOCKET && dv.getInt32(44, true) === SCM_RIGHTS && dv.getBigUint64(32, true) === 20n;
      if (!isRights) throw new Error(`stub ${this.pid} received no descriptor`);
      if (dv.getBigUint64(0, true) === seq) stubFd = BigInt(fd);
      else this.inject(SYS_close, BigInt(fd));
    }
    if (stubFd < 0n) throw new Error(`stub ${this.pid} did not receive its file`);
    try {
      return hostResult(this.inject(SYS_mmap, addr, length, BigInt(prot), BigInt(flags), stubFd, offset)[0]);
    } finally {
      this.inject(SYS_close, stubFd);
    }
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
    const child = new PtraceAddressSpace(pid, this.tracer, this.spaces, this.channel);
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

  /** The stub process's resident set, from the host's /proc/<pid>/statm (pages). */
  residentBytes(): number {
    if (!this.stubAlive) return 0;
    try {
      const resident = Number(readFileSync(`/proc/${this.pid}/statm`, "latin1").split(" ")[1]);
      return Number.isFinite(resident) ? resident * PAGE_BYTES : 0;
    } catch {
      return 0; // the stub is gone (killed from outside); destroy() will notice
    }
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
