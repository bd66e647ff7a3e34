/**
 * The rest of the single-process syscalls: vectored positional I/O, sendfile, close_range,
 * utimensat, flock, and the memory advice calls.
 */
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  EBADF,
  EFAULT,
  EINVAL,
  EISDIR,
  ENOMEM,
  ESPIPE,
  LOCK_EX,
  LOCK_MAND,
  LOCK_NB,
  LOCK_SH,
  LOCK_UN,
  type LinuxError,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DODUMP,
  O_APPEND,
  UTIME_NOW,
  UTIME_OMIT,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import { PAGE_SIZE, pageUp } from "../../mm/memory-manager.js";
import type { FileDescription } from "../../vfs/file-description.js";
import { flockFile, releaseLocks } from "../../vfs/locks.js";
import { type SetStat, type TimeSetting, isDir, isReg } from "../../vfs/stat.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { copyInPath } from "./sys-file.js";
import { iovecs, raiseSigpipe, transferVectored } from "./sys-read-write.js";

/** preadv/pwritev and their v2 forms (flags must be 0; offset -1 means the file offset). */
async function vectored(t: Task, a: SyscallArgs, write: boolean, v2: boolean): Promise<SyscallValue> {
  const file = t.fdTable.get(a.int(0));
  if (file === undefined) return EBADF;
  const iov = iovecs(t, a.pointer(1), a.int(2));
  if (isLinuxError(iov)) return iov;
  const off = a.long(3);
  if (v2 && a.int(5) !== 0) return EINVAL; // RWF_* flags: none supported yet
  const useFileOffset = v2 && off === -1n;
  if (!useFileOffset && off < 0n) return EINVAL;
  return transferVectored(t, file, iov, write, useFileOffset ? undefined : Number(off));
}

export const sysPreadv = (t: Task, a: SyscallArgs) => vectored(t, a, false, false);
export const sysPwritev = (t: Task, a: SyscallArgs) => vectored(t, a, true, false);
export const sysPreadv2 = (t: Task, a: SyscallArgs) => vectored(t, a, false, true);
export const sysPwritev2 = async (t: Task, a: SyscallArgs) => raiseSigpipe(t, await vectored(t, a, true, true));

/** Reads an optional loff_t argument: undefined for a null pointer. */
function readOffset(t: Task, addr: bigint): bigint | undefined | LinuxError {
  if (addr === 0n) return undefined;
  const b = t.mm.copyIn(addr, 8);
  if (isLinuxError(b)) return EFAULT;
  const o = new DataView(b.buffer).getBigInt64(0, true);
  return o < 0n ? EINVAL : o;
}

/**
 * copy_file_range(2) between regular files, through the sentry in 1 MiB steps. Each offset
 * pointer, when given, is used and advanced instead of the file's offset.
 */
export async function sysCopyFileRange(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const inp = t.fdTable.get(a.int(0));
  const out = t.fdTable.get(a.int(2));
  if (inp === undefined || out === undefined) return EBADF;
  if (a.uint(5) !== 0) return EINVAL;
  if (!inp.readable || !out.writable || (out.statusFlags & O_APPEND) !== 0) return EBADF;
  if (!isReg(inp.inode.mode) || !isReg(out.inode.mode)) return isDir(inp.inode.mode) || isDir(out.inode.mode) ? EISDIR : EINVAL;
  const inOff = readOffset(t, a.pointer(1));
  const outOff = readOffset(t, a.pointer(3));
  if (isLinuxError(inOff)) return inOff;
  if (isLinuxError(outOff)) return outOff;
  const count = Math.min(a.sizeT(4), 0x7fff_f000);
  let done = 0;
  while (done < count) {
    const buf = new Uint8Array(Math.min(1 << 20, count - done));
    const n = inOff === undefined ? await inp.read(buf) : await inp.pread(buf, Number(inOff) + done);
    if (typeof n !== "number") return done > 0 ? done : n;
    if (n === 0) break;
    const w = outOff === undefined ? await out.write(buf.subarray(0, n)) : await out.pwrite(buf.subarray(0, n), Number(outOff) + done);
    if (typeof w !== "number") return done > 0 ? done : w;
    done += w;
    if (w < n) break;
  }
  for (const [addr, base] of [[a.pointer(1), inOff], [a.pointer(3), outOff]] as const) {
    if (base === undefined) continue;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, base + BigInt(done), true);
    if (t.mm.copyOut(addr, b) !== undefined) return EFAULT;
  }
  return done;
}

/** utimes(2) and futimesat(2): utimensat with microsecond timevals. */
async function utimes(t: Task, dirfd: number, pathAddr: bigint, timesAddr: bigint): Promise<SyscallValue> {
  const attrs: SetStat = {};
  if (timesAddr === 0n) {
    attrs.atime = "now";
    attrs.mtime = "now";
  } else {
    const b = t.mm.copyIn(timesAddr, 32);
    if (isLinuxError(b)) return EFAULT;
    const dv = new DataView(b.buffer);
    for (const [i, key] of [[0, "atime"], [1, "mtime"]] as const) {
      const sec = dv.getBigInt64(16 * i, true);
      const usec = dv.getBigInt64(16 * i + 8, true);
      if (usec < 0n || usec >= 1_000_000n) return EINVAL;
      attrs[key] = { sec: Number(sec), nsec: Number(usec * 1000n) };
    }
  }
  const path = copyInPath(t, pathAddr);
  if (isLinuxError(path)) return path;
  return (await t.kernel.vfs.setStatAt(t, dirfd, path, 0, attrs)) ?? 0;
}

export const sysUtimes = (t: Task, a: SyscallArgs): Promise<SyscallValue> => utimes(t, AT_FDCWD, a.pointer(0), a.pointer(1));
export const sysFutimesat = (t: Task, a: SyscallArgs): Promise<SyscallValue> => utimes(t, a.int(0), a.pointer(1), a.pointer(2));

/** utime(2): a struct utimbuf of whole seconds. */
export async function sysUtime(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const attrs: SetStat = {};
  if (a.pointer(1) === 0n) {
    attrs.atime = "now";
    attrs.mtime = "now";
  } else {
    const b = t.mm.copyIn(a.pointer(1), 16);
    if (isLinuxError(b)) return EFAULT;
    const dv = new DataView(b.buffer);
    attrs.atime = { sec: Number(dv.getBigInt64(0, true)), nsec: 0 };
    attrs.mtime = { sec: Number(dv.getBigInt64(8, true)), nsec: 0 };
  }
  const path = copyInPath(t, a.pointer(0));
  if (isLinuxError(path)) return path;
  return (await t.kernel.vfs.setStatAt(t, AT_FDCWD, path, 0, attrs)) ?? 0;
}

/** sendfile(2): copies through the sentry, at most 1 MiB per step. */
export async function sysSendfile(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  return raiseSigpipe(t, await sendfile(t, a));
}

async function sendfile(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const out = t.fdTable.get(a.int(0));
  const inp = t.fdTable.get(a.int(1));
  if (out === undefined || inp === undefined) return EBADF;
  const offAddr = a.pointer(2);
  let offset: number | undefined;
  if (offAddr !== 0n) {
    const b = t.mm.copyIn(offAddr, 8);
    if (isLinuxError(b)) return EFAULT;
    const o = new DataView(b.buffer).getBigInt64(0, true);
    if (o < 0n) return EINVAL;
    if (!inp.impl.seekable) return ESPIPE;
    offset = Number(o);
  }
  const count = Math.min(a.sizeT(3), 0x7fff_f000);
  let done = 0;
  while (done < count) {
    const buf = new Uint8Array(Math.min(1 << 20, count - done));
    const n = offset === undefined ? await inp.read(buf, t.interrupter) : await inp.pread(buf, offset + done, t.interrupter);
    if (typeof n !== "number") return done > 0 ? done : n;
    if (n === 0) break;
    const w = await out.write(buf.subarray(0, n), t.interrupter);
    if (typeof w !== "number") return done > 0 ? done : w;
    done += w;
    if (w < n || n < buf.length) break;
  }
  if (offset !== undefined) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(offset + done), true);
    if (t.mm.copyOut(offAddr, b) !== undefined) return EFAULT;
  }
  return done;
}

/** close_range(2). */
export function sysCloseRange(t: Task, a: SyscallArgs): SyscallValue {
  return t.fdTable.closeRange(a.uint(0), a.uint(1), a.uint(2)) ?? 0;
}

/** utimensat(2): UTIME_NOW and UTIME_OMIT as Linux defines them. */
export async function sysUtimensat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const dirfd = a.int(0);
  const flags = a.int(3);
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return EINVAL;
  const attrs: SetStat = {};
  if (a.pointer(2) === 0n) {
    attrs.atime = "now";
    attrs.mtime = "now";
  } else {
    const b = t.mm.copyIn(a.pointer(2), 32);
    if (isLinuxError(b)) return EFAULT;
    const dv = new DataView(b.buffer);
    const one = (i: number): TimeSetting | undefined | LinuxError => {
      const sec = dv.getBigInt64(16 * i, true);
      const nsec = dv.getBigInt64(16 * i + 8, true);
      if (nsec === BigInt(UTIME_NOW)) return "now";
      if (nsec === BigInt(UTIME_OMIT)) return undefined;
      if (nsec < 0n || nsec >= 1_000_000_000n) return EINVAL;
      return { sec: Number(sec), nsec: Number(nsec) };
    };
    const at = one(0);
    const mt = one(1);
    if (isLinuxError(at)) return at;
    if (isLinuxError(mt)) return mt;
    if (at !== undefined) attrs.atime = at;
    if (mt !== undefined) attrs.mtime = mt;
    if (at === undefined && mt === undefined) return 0;
  }
  if (a.pointer(1) === 0n) {
    // utimensat(fd, NULL, ...): the file behind dirfd (glibc's futimens).
    const f = t.fdTable.get(dirfd);
    if (f === undefined) return EBADF;
    return (await t.kernel.vfs.setStatFd(t, f, attrs)) ?? 0;
  }
  const path = copyInPath(t, a.pointer(1), (flags & AT_EMPTY_PATH) !== 0);
  if (isLinuxError(path)) return path;
  return (await t.kernel.vfs.setStatAt(t, dirfd === AT_FDCWD ? AT_FDCWD : dirfd, path, flags, attrs)) ?? 0;
}

/** Descriptions whose flock locks are already dropped with them. */
const releasesFlocks = new WeakSet<FileDescription>();

/** flock(2): a whole-file lock owned by the open file description (shared across fork and dup). */
export async function sysFlock(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const f = t.fdTable.get(a.int(0));
  if (f === undefined) return EBADF;
  // LOCK_MAND (Samba's share modes) is obsolete: Linux warns and succeeds without locking.
  if ((a.int(1) & LOCK_MAND) !== 0) return 0;
  const op = a.int(1) & ~LOCK_NB;
  const type = op === LOCK_SH ? "read" : op === LOCK_EX ? "write" : op === LOCK_UN ? undefined : null;
  if (type === null) return EINVAL;
  if (!releasesFlocks.has(f)) {
    releasesFlocks.add(f);
    f.onRelease(() => releaseLocks(f.inode, f));
  }
  return flockFile(f.inode, f, type, (a.int(1) & LOCK_NB) !== 0 ? undefined : t.interrupter);
}

const KNOWN_ADVICE = new Set([
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DODUMP,
]);

/**
 * madvise(2): MADV_DONTNEED zeroes anonymous private memory, as Linux does; the other hints are
 * accepted (MADV_FREE may keep the contents, which Linux allows).
 */
export function sysMadvise(t: Task, a: SyscallArgs): SyscallValue {
  const addr = a.pointer(0);
  if (addr % PAGE_SIZE !== 0n) return EINVAL;
  if (!KNOWN_ADVICE.has(a.int(2))) return EINVAL;
  const len = pageUp(a.ulong(1));
  if (len === 0n) return 0;
  if (!t.mm.mapped(addr, len)) return ENOMEM;
  return a.int(2) === MADV_DONTNEED ? (t.mm.discard(addr, len) ?? 0) : 0;
}

/**
 * msync(2): file mappings are the host file's own pages (or private copies), so what a mapping
 * writes is already what read(2) sees; the host writes it back to disk in its own time.
 */
export function sysMsync(t: Task, a: SyscallArgs): SyscallValue {
  if (a.pointer(0) % PAGE_SIZE !== 0n) return EINVAL;
  if ((a.int(2) & ~7) !== 0) return EINVAL;
  return 0;
}

/** mincore(2): every mapped page is resident (the host owns the memory). */
export function sysMincore(t: Task, a: SyscallArgs): SyscallValue {
  const addr = a.pointer(0);
  if (addr % PAGE_SIZE !== 0n) return EINVAL;
  const pages = Number(pageUp(a.ulong(1)) / PAGE_SIZE);
  if (pages > 1 << 20) return ENOMEM;
  if (!t.mm.mapped(addr, BigInt(pages) * PAGE_SIZE)) return ENOMEM;
  return t.mm.copyOut(a.pointer(2), new Uint8Array(pages).fill(1)) ?? 0;
}

/** personality(2): Linux personality only; 0xffffffff queries. */
export function sysPersonality(_t: Task, a: SyscallArgs): SyscallValue {
  const p = a.uint(0);
  if (p === 0xffff_ffff || p === 0) return 0;
  return EINVAL;
}
