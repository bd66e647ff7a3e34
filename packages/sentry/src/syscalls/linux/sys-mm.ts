/** Memory: brk, mmap (anonymous and file mappings), mremap, munmap, mprotect. */
import {
  EACCES,
  EBADF,
  EINVAL,
  ENODEV,
  ENOMEM,
  EPERM,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  PROT_READ,
  MREMAP_DONTUNMAP,
  PROT_WRITE,
  RLIMIT_AS,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import { type FileIdentity, PAGE_SIZE, pageUp } from "../../mm/memory-manager.js";
import type { FileDescription } from "../../vfs/file-description.js";
import { isReg } from "../../vfs/stat.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

/**
 * Linux's may_expand_vm: whether the address space may grow by `growth` bytes under the
 * calling process's RLIMIT_AS (the caller's limit, even in a memory map another process shares).
 */
function mayExpand(t: Task, growth: bigint): boolean {
  return growth <= 0n || t.mm.vmBytes() + growth <= BigInt(t.tg.limits.cur(RLIMIT_AS));
}

/** brk(2): returns the (possibly unchanged) break; never an errno. */
export function sysBrk(t: Task, a: SyscallArgs): SyscallValue {
  const want = a.pointer(0);
  if (!mayExpand(t, pageUp(want) - pageUp(t.mm.brk))) return t.mm.brk;
  return t.mm.setBrk(want);
}

/**
 * mmap(2). A file that has a host FD for its data (gofer files, tmpfs files) is mapped directly,
 * shared or private, as Linux maps it. Other files (synthetic and device files) get a private
 * copy: the range is mapped anonymous and filled from the file, MAP_PRIVATE's contract until
 * someone writes the file afterwards; shared writable mappings of them answer ENODEV.
 */
export async function sysMmap(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const addr = a.pointer(0);
  const length = a.ulong(1);
  const prot = a.int(2);
  const flags = a.int(3);
  const type = flags & MAP_TYPE;
  if (type !== MAP_PRIVATE && type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE) return EINVAL;
  // A fixed mapping replaces what it covers; a hint may land anywhere.
  const span = pageUp(length);
  const fixedAt = (flags & MAP_FIXED) !== 0 && addr % PAGE_SIZE === 0n && addr + span >= addr;
  if (!mayExpand(t, span - (fixedAt ? t.mm.mappedBytesIn(addr, addr + span) : 0n))) return ENOMEM;
  if ((flags & MAP_ANONYMOUS) !== 0) return t.mm.mmap(addr, length, prot, flags);
  const offset = a.ulong(5);
  if (offset % PAGE_SIZE !== 0n) return EINVAL;
  const file = t.fdTable.get(a.int(4));
  if (file === undefined) return EBADF;
  if (!file.readable) return EACCES;
  const sharedWrite = type !== MAP_PRIVATE && (prot & PROT_WRITE) !== 0;
  if (sharedWrite && !file.writable) return EACCES;
  if (!isReg(file.inode.mode)) return ENODEV;
  const len = pageUp(length);
  if (len === 0n) return EINVAL;
  const name = t.kernel.vfs.describe(t.fs.root, file.vd);
  if (type !== MAP_PRIVATE && file.impl.sealable?.().mayMapShared(sharedWrite) === false) return EPERM;
  const st = await t.kernel.vfs.statFd(file);
  const identity = isLinuxError(st) ? undefined : { devMajor: st.devMajor, devMinor: st.devMinor, ino: st.ino };
  const hostFd = file.impl.mappableFd?.();
  if (typeof hostFd === "number") return t.mm.mmapFile(addr, len, prot, flags, hostFd, offset, name, identity);
  if (hostFd !== undefined) return hostFd;
  if (sharedWrite) return ENODEV;
  return mapCopy(t, file, addr, len, prot, flags, offset, name, identity);
}

/** A private copy of the file's bytes (past its end the mapping stays zero; Linux would SIGBUS). */
async function mapCopy(t: Task, file: FileDescription, addr: bigint, len: bigint, prot: number, flags: number, offset: bigint, name: string, identity: FileIdentity | undefined): Promise<SyscallValue> {
  const flagsAnon = (flags & ~MAP_SHARED & ~MAP_TYPE) | MAP_PRIVATE | MAP_ANONYMOUS;
  const at = t.mm.mmap(addr, len, PROT_READ | PROT_WRITE, flagsAnon, name, identity);
  if (isLinuxError(at)) return at;
  const chunk = 1 << 20;
  for (let done = 0n; done < len; ) {
    const n = Number(len - done < BigInt(chunk) ? len - done : BigInt(chunk));
    const buf = new Uint8Array(n);
    const got = await file.pread(buf, Number(offset + done));
    if (isLinuxError(got)) {
      t.mm.munmap(at, len);
      return got;
    }
    if (got === 0) break;
    const w = t.mm.copyOut(at + done, buf.subarray(0, got));
    if (w !== undefined) {
      t.mm.munmap(at, len);
      return w;
    }
    done += BigInt(got);
    if (got < n) break;
  }
  if (prot !== (PROT_READ | PROT_WRITE)) {
    const p = t.mm.mprotect(at, len, prot);
    if (p !== undefined) {
      t.mm.munmap(at, len);
      return p;
    }
  }
  return at;
}

/** mremap(2). */
export function sysMremap(t: Task, a: SyscallArgs): SyscallValue {
  const [oldLength, newLength, flags] = [a.ulong(1), a.ulong(2), a.int(3)];
  // MREMAP_DONTUNMAP keeps the old range mapped: all of the new one is growth.
  const growth = pageUp(newLength) - ((flags & MREMAP_DONTUNMAP) !== 0 ? 0n : pageUp(oldLength));
  if (!mayExpand(t, growth)) return ENOMEM;
  return t.mm.mremap(a.pointer(0), oldLength, newLength, flags, a.pointer(4));
}

export function sysMunmap(t: Task, a: SyscallArgs): SyscallValue {
  return t.mm.munmap(a.pointer(0), a.ulong(1)) ?? 0;
}

export function sysMprotect(t: Task, a: SyscallArgs): SyscallValue {
  return t.mm.mprotect(a.pointer(0), a.ulong(1), a.int(2)) ?? 0;
}

/**
 * mlock(2), munlock(2), mlock2(2): the range must be mapped; the pages are the host's, which
 * keeps them as it likes (nothing is pinned).
 */
export function sysMlock(t: Task, a: SyscallArgs): SyscallValue {
  const addr = a.pointer(0) & ~(PAGE_SIZE - 1n);
  const len = pageUp(a.ulong(1) + (a.pointer(0) - addr));
  if (len === 0n) return 0;
  return t.mm.mapped(addr, len) ? 0 : ENOMEM;
}

export function sysMlock2(t: Task, a: SyscallArgs): SyscallValue {
  if ((a.uint(2) & ~1) !== 0) return EINVAL; // MLOCK_ONFAULT only
  return sysMlock(t, a);
}

/** mlockall(2)/munlockall(2): MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT; nothing is pinned. */
export function sysMlockall(_t: Task, a: SyscallArgs): SyscallValue {
  const flags = a.int(0);
  if (flags === 0 || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) !== 0 || flags === MCL_ONFAULT) return EINVAL;
  return 0;
}

export const sysMunlockall = (): SyscallValue => 0;
