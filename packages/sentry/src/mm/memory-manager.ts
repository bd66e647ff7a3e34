/**
 * A task's memory: the sentry's own map of the address space (VMAs, for validation,
 * /proc/[pid]/maps and brk) over the platform's host-owned AddressSpace, which does the actual
 * mapping. Copies in and out of application memory go through here, so a bad pointer becomes
 * EFAULT in one place.
 *
 * Concurrency: owned by the kernel thread; callers are task run loops. Every method is
 * synchronous (the platform's memory operations are).
 */
import {
  EEXIST,
  EFAULT,
  EINVAL,
  ENAMETOOLONG,
  ENOMEM,
  EXEC_PAGESIZE,
  type LinuxError,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  isLinuxError,
} from "@runsc-ts/abi";
import { fstatSync } from "node:fs";
import type { AddressSpace } from "@runsc-ts/platform";

export const PAGE_SIZE = BigInt(EXEC_PAGESIZE);
/**
 * The top of the application's usable address space: x86-64's TASK_SIZE (0x7ffffffff000) less
 * the platform's stub page, which sits just below it and must never be mapped over.
 */
export const TASK_SIZE = 0x7fff_ffff_d000n;

export const pageDown = (a: bigint): bigint => a & ~(PAGE_SIZE - 1n);
export const pageUp = (a: bigint): bigint => (a + PAGE_SIZE - 1n) & ~(PAGE_SIZE - 1n);

/** One mapping, [start, end), page aligned. */
/** A mapped file's device and inode, for /proc/[pid]/maps. */
export interface FileIdentity {
  readonly devMajor: number;
  readonly devMinor: number;
  readonly ino: number;
}

export interface Vma {
  start: bigint;
  end: bigint;
  prot: number;
  /** MAP_PRIVATE or MAP_SHARED, and MAP_ANONYMOUS for anonymous memory. */
  flags: number;
  /** What /proc/[pid]/maps names it: a path, "[heap]", "[stack]", or "" for anonymous. */
  name: string;
  /** For a file's mapping (or a private copy of one): the file's device and inode, as stat reports them. */
  file?: FileIdentity;
  /** File offset of `start`, for file mappings (and the offset into a shared anonymous object). */
  offset: bigint;
  /**
   * For MAP_SHARED mappings: what is mapped (a host file's device and inode, or one shared
   * anonymous object), so futexes in it are shared with every process that maps it too.
   */
  shared?: string;
  /**
   * A private file mapping that has been writable, so it may hold pages of its own (Linux: it has
   * an anon_vma). Like Linux, such a mapping never merges with one that has not: a data
   * segment made read-only by RELRO stays apart from the read-only segment before it.
   */
  cow?: boolean;
}

/** Where a futex word lives: a memory manager and an address, or a shared object and an offset. */
export interface FutexKey {
  readonly space: object | string;
  readonly offset: bigint;
}

let sharedAnonymous = 0;

/** A host file's identity for shared futexes: its device and inode. */
function fileIdentity(hostFd: number): string {
  try {
    const st = fstatSync(hostFd, { bigint: true });
    return `file:${st.dev}:${st.ino}`;
  } catch {
    return `fd:${hostFd}`;
  }
}

export class MemoryManager {
  /** Sorted by start, non-overlapping. */
  private vmas: Vma[] = [];
  /** The program break: [brkStart, brk) is the heap. */
  brkStart = 0n;
  brk = 0n;
  /** Where argv and envp strings live ([argStart, argEnd) is /proc/[pid]/cmdline). */
  argStart = 0n;
  argEnd = 0n;
  envStart = 0n;
  envEnd = 0n;
  /** The executable's path, for /proc/[pid]/exe. */
  executable = "";

  /** Tasks running in this memory (threads, and vfork children until they exec). */
  users = 1;

  constructor(readonly as: AddressSpace) {}

  /** fork(2): this map over `as`, the platform's copy-on-write copy of our address space. */
  fork(as: AddressSpace): MemoryManager {
    const m = new MemoryManager(as);
    m.vmas = this.vmas.map((v) => ({ ...v }));
    m.brkStart = this.brkStart;
    m.brk = this.brk;
    m.argStart = this.argStart;
    m.argEnd = this.argEnd;
    m.envStart = this.envStart;
    m.envEnd = this.envEnd;
    m.executable = this.executable;
    return m;
  }

  /** A task stopped using this memory; the last one destroys the address space. */
  release(): void {
    if (--this.users === 0) this.as.destroy();
  }

  /** The mappings, in address order (copies). */
  mappings(): Vma[] {
    return this.vmas.map((v) => ({ ...v }));
  }

  /** mmap's checks of the range, protection and placement: the page-rounded length and whether it is fixed. */
  private checkMapping(addr: bigint, length: bigint, prot: number, flags: number): { len: bigint; fixed: boolean } | LinuxError {
    if (length === 0n) return EINVAL;
    const len = pageUp(length);
    if (len === 0n || len > TASK_SIZE) return ENOMEM;
    if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) return EINVAL;
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    if (fixed) {
      if (addr % PAGE_SIZE !== 0n) return EINVAL;
      if (addr + len > TASK_SIZE || addr + len < addr) return ENOMEM;
      if ((flags & MAP_FIXED_NOREPLACE) !== 0 && this.overlaps(addr, addr + len)) return EEXIST;
    }
    return { len, fixed };
  }

  /** The size of the address space in bytes: every mapping's length (Linux's total_vm). */
  vmBytes(): bigint {
    return this.vmas.reduce((n, v) => n + (v.end - v.start), 0n);
  }

  /** Bytes mapped in [start, end). */
  mappedBytesIn(start: bigint, end: bigint): bigint {
    let n = 0n;
    for (const v of this.vmas) {
      const lo = v.start > start ? v.start : start;
      const hi = v.end < end ? v.end : end;
      if (hi > lo) n += hi - lo;
    }
    return n;
  }

  /** mmap(2) of anonymous memory (files go through mmapFile). `addr` is a hint unless MAP_FIXED. Returns the address. */
  mmap(addr: bigint, length: bigint, prot: number, flags: number, name = "", file?: FileIdentity): bigint | LinuxError {
    if ((flags & (MAP_PRIVATE | MAP_SHARED)) === 0) return EINVAL;
    if ((flags & MAP_ANONYMOUS) === 0) return EINVAL;
    const checked = this.checkMapping(addr, length, prot, flags);
    if (isLinuxError(checked)) return checked;
    const { len, fixed } = checked;
    const got = this.as.mmap(fixed ? addr : pageDown(addr), len, prot, (flags & ~MAP_FIXED_NOREPLACE) | (fixed ? MAP_FIXED : 0));
    if (typeof got !== "bigint") return got;
    this.remove(got, got + len);
    const shared = (flags & MAP_TYPE) === MAP_PRIVATE ? undefined : `anon:${++sharedAnonymous}`;
    this.insert({ start: got, end: got + len, prot, flags, name, offset: 0n, ...(shared === undefined ? {} : { shared }), ...(file === undefined ? {} : { file }) });
    return got;
  }

  /**
   * mmap(2) of host file `hostFd` (a file's mappableFd) at `offset`: the platform maps the file
   * itself, so MAP_SHARED mappings share its pages. `addr` is a hint unless MAP_FIXED.
   */
  mmapFile(addr: bigint, length: bigint, prot: number, flags: number, hostFd: number, offset: bigint, name: string, file?: FileIdentity): bigint | LinuxError {
    const checked = this.checkMapping(addr, length, prot, flags);
    if (isLinuxError(checked)) return checked;
    const { len, fixed } = checked;
    const hostFlags = (flags & ~(MAP_FIXED_NOREPLACE | MAP_SHARED_VALIDATE)) | (fixed ? MAP_FIXED : 0) | ((flags & MAP_TYPE) === MAP_PRIVATE ? MAP_PRIVATE : MAP_SHARED);
    const got = this.as.mapFile(fixed ? addr : pageDown(addr), len, prot, hostFlags, hostFd, offset);
    if (typeof got !== "bigint") return got;
    this.remove(got, got + len);
    const isPrivate = (flags & MAP_TYPE) === MAP_PRIVATE;
    const vma: Vma = { start: got, end: got + len, prot, flags: isPrivate ? MAP_PRIVATE : MAP_SHARED, name, offset, ...(file === undefined ? {} : { file }) };
    if (isPrivate && (prot & PROT_WRITE) !== 0) vma.cow = true;
    if (!isPrivate) vma.shared = fileIdentity(hostFd);
    this.insert(vma);
    return got;
  }

  /**
   * mremap(2): grows, shrinks or moves the mapping at [oldAddr, oldAddr + oldLength), which must
   * lie in one mapping. The host moves the pages; the map follows.
   */
  mremap(oldAddr: bigint, oldLength: bigint, newLength: bigint, flags: number, newAddr: bigint): bigint | LinuxError {
    if (oldAddr % PAGE_SIZE !== 0n) return EINVAL;
    if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0) return EINVAL;
    if ((flags & MREMAP_FIXED) !== 0 && (flags & MREMAP_MAYMOVE) === 0) return EINVAL;
    if ((flags & MREMAP_DONTUNMAP) !== 0 && (flags & MREMAP_MAYMOVE) === 0) return EINVAL;
    const oldLen = pageUp(oldLength);
    const newLen = pageUp(newLength);
    if (newLen === 0n || newLen > TASK_SIZE) return EINVAL;
    if ((flags & MREMAP_FIXED) !== 0 && (newAddr % PAGE_SIZE !== 0n || newAddr + newLen > TASK_SIZE)) return EINVAL;
    // oldLength 0 duplicates a shared mapping; we do not support it.
    if (oldLen === 0n) return EINVAL;
    const vma = this.vmas.find((v) => v.start <= oldAddr && oldAddr < v.end);
    if (vma === undefined || oldAddr + oldLen > vma.end) return EFAULT;
    if ((flags & MREMAP_DONTUNMAP) !== 0 && (vma.flags & MAP_ANONYMOUS) === 0) return EINVAL;
    const got = this.as.mremap(oldAddr, oldLen, newLen, flags, newAddr);
    if (typeof got !== "bigint") return got;
    const moved: Vma = { ...vma, start: got, end: got + newLen, offset: vma.offset + (oldAddr - vma.start) };
    if (got !== oldAddr && (flags & MREMAP_DONTUNMAP) === 0) this.remove(oldAddr, oldAddr + oldLen);
    else if (got === oldAddr && newLen < oldLen) this.remove(oldAddr + newLen, oldAddr + oldLen);
    this.remove(got, got + newLen);
    this.insert(moved);
    this.merge();
    return got;
  }

  /**
   * The futex key of the word at `addr`: shared when the word is in a shared mapping and the
   * caller did not say FUTEX_PRIVATE_FLAG, else this memory manager's own.
   */
  futexKey(addr: bigint, isPrivate: boolean): FutexKey {
    if (!isPrivate) {
      const v = this.vmas.find((m) => m.start <= addr && addr < m.end);
      if (v?.shared !== undefined) return { space: v.shared, offset: v.offset + (addr - v.start) };
    }
    return { space: this, offset: addr };
  }

  munmap(addr: bigint, length: bigint): void | LinuxError {
    if (addr % PAGE_SIZE !== 0n || length === 0n) return EINVAL;
    const end = addr + pageUp(length);
    if (end > TASK_SIZE || end < addr) return EINVAL;
    const r = this.as.munmap(addr, end - addr);
    if (r !== undefined) return r;
    this.remove(addr, end);
  }

  mprotect(addr: bigint, length: bigint, prot: number): void | LinuxError {
    if (addr % PAGE_SIZE !== 0n) return EINVAL;
    if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) return EINVAL;
    const end = addr + pageUp(length);
    if (end < addr || end > TASK_SIZE) return ENOMEM;
    if (length === 0n) return;
    if (!this.covered(addr, end)) return ENOMEM;
    const r = this.as.mprotect(addr, end - addr, prot);
    if (r !== undefined) return r;
    for (const v of this.split(addr, end)) {
      v.prot = prot;
      if ((prot & PROT_WRITE) !== 0 && (v.flags & (MAP_ANONYMOUS | MAP_SHARED)) === 0) v.cow = true;
    }
    this.merge();
  }

  /**
   * brk(2): moves the program break. Returns the new break, or the old one when the request
   * cannot be met (Linux's brk never fails with an errno).
   */
  setBrk(want: bigint): bigint {
    if (this.brkStart === 0n || want < this.brkStart) return this.brk;
    const oldTop = pageUp(this.brk);
    const newTop = pageUp(want);
    if (newTop > oldTop) {
      if (this.overlaps(oldTop, newTop)) return this.brk;
      const got = this.as.mmap(oldTop, newTop - oldTop, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
      if (typeof got !== "bigint") return this.brk;
      this.insert({ start: oldTop, end: newTop, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS, name: "[heap]", offset: 0n });
      this.merge();
    } else if (newTop < oldTop) {
      if (this.as.munmap(newTop, oldTop - newTop) === undefined) this.remove(newTop, oldTop);
    }
    this.brk = want;
    return want;
  }

  /** MADV_DONTNEED: private anonymous memory in [addr, addr+len) reads as zeroes afterwards. */
  discard(addr: bigint, len: bigint): void | LinuxError {
    return this.as.madvise(addr, len, MADV_DONTNEED);
  }

  /** Records a mapping the loader made directly through the address space. */
  record(v: Vma): void {
    this.remove(v.start, v.end);
    this.insert({ ...v });
    this.merge();
  }

  // ---- copy in / out ------------------------------------------------------------------------------

  /** Reads `len` bytes at `addr`; EFAULT if any byte is unreadable. */
  copyIn(addr: bigint, len: number): Uint8Array | LinuxError {
    const buf = new Uint8Array(len);
    if (len === 0) return buf;
    if (!this.readable(addr, BigInt(len))) return EFAULT;
    return this.as.read(addr, buf) === len ? buf : EFAULT;
  }

  /** Writes `data` at `addr`; EFAULT if any byte is unwritable. */
  copyOut(addr: bigint, data: Uint8Array): void | LinuxError {
    if (data.length === 0) return;
    if (!this.writable(addr, BigInt(data.length))) return EFAULT;
    if (this.as.write(addr, data) !== data.length) return EFAULT;
  }

  /** Reads a NUL-terminated string of at most `max` bytes (without the NUL). */
  copyInString(addr: bigint, max: number): Uint8Array | LinuxError {
    const out: number[] = [];
    let a = addr;
    const chunk = new Uint8Array(256);
    while (out.length < max) {
      // Never cross into a page we have not checked.
      const pageLeft = Number(PAGE_SIZE - (a % PAGE_SIZE));
      const n = Math.min(chunk.length, pageLeft, max - out.length);
      if (!this.readable(a, BigInt(n))) return EFAULT;
      if (this.as.read(a, chunk.subarray(0, n)) !== n) return EFAULT;
      const nul = chunk.subarray(0, n).indexOf(0);
      if (nul >= 0) {
        for (let i = 0; i < nul; i++) out.push(chunk[i] as number);
        return Uint8Array.from(out);
      }
      for (let i = 0; i < n; i++) out.push(chunk[i] as number);
      a += BigInt(n);
    }
    return ENAMETOOLONG;
  }

  /** Whether every page of [addr, addr + len) is mapped, whatever its protection. */
  mapped(addr: bigint, len: bigint): boolean {
    const end = addr + len;
    return end >= addr && end <= TASK_SIZE && this.covered(addr, end);
  }

  readable(addr: bigint, len: bigint): boolean {
    return this.accessible(addr, len, PROT_READ);
  }

  writable(addr: bigint, len: bigint): boolean {
    return this.accessible(addr, len, PROT_WRITE);
  }

  // ---- VMA bookkeeping ----------------------------------------------------------------------------

  private accessible(addr: bigint, len: bigint, prot: number): boolean {
    const end = addr + len;
    if (end < addr || end > TASK_SIZE) return false;
    let a = addr;
    for (const v of this.vmas) {
      if (v.end <= a) continue;
      if (v.start > a) return false;
      if ((v.prot & prot) !== prot) return false;
      a = v.end;
      if (a >= end) return true;
    }
    return a >= end;
  }

  private overlaps(start: bigint, end: bigint): boolean {
    return this.vmas.some((v) => v.start < end && v.end > start);
  }

  private covered(start: bigint, end: bigint): boolean {
    let a = start;
    for (const v of this.vmas) {
      if (v.end <= a) continue;
      if (v.start > a) return false;
      a = v.end;
      if (a >= end) return true;
    }
    return a >= end;
  }

  private insert(v: Vma): void {
    let i = 0;
    while (i < this.vmas.length && (this.vmas[i] as Vma).start < v.start) i++;
    this.vmas.splice(i, 0, v);
  }

  /** Cuts [start, end) out of every mapping. */
  private remove(start: bigint, end: bigint): void {
    const out: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      if (v.start < start) out.push({ ...v, end: start });
      if (v.end > end) out.push({ ...v, start: end, offset: v.offset + (end - v.start) });
    }
    this.vmas = out;
  }

  /** Splits mappings at start and end, returning the pieces inside [start, end). */
  private split(start: bigint, end: bigint): Vma[] {
    const out: Vma[] = [];
    const inside: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      if (v.start < start) out.push({ ...v, end: start });
      const mid = { ...v, start: v.start < start ? start : v.start, end: v.end > end ? end : v.end };
      mid.offset = v.offset + (mid.start - v.start);
      out.push(mid);
      inside.push(mid);
      if (v.end > end) out.push({ ...v, start: end, offset: v.offset + (end - v.start) });
    }
    this.vmas = out;
    return inside;
  }

  /** Joins neighbours that are the same kind of mapping. */
  private merge(): void {
    const out: Vma[] = [];
    for (const v of this.vmas) {
      const prev = out[out.length - 1];
      if (
        prev !== undefined &&
        prev.end === v.start &&
        prev.prot === v.prot &&
        prev.flags === v.flags &&
        prev.name === v.name &&
        prev.shared === v.shared &&
        prev.cow === v.cow &&
        ((prev.flags & MAP_ANONYMOUS) !== 0 || prev.offset + (prev.end - prev.start) === v.offset)
      ) {
        prev.end = v.end;
      } else {
        out.push(v);
      }
    }
    this.vmas = out;
  }
}
