/**
 * File syscalls over the VFS: open, stat, lseek, getdents64, access, readlink, the directory
 * operations, attributes, and the FD-table calls (dup, fcntl).
 *
 * Paths are copied in as byte strings (one char per byte), the VFS's convention.
 */
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_FOLLOW,
  AT_SYMLINK_NOFOLLOW,
  CAP_SYS_CHROOT,
  EBADF,
  EFAULT,
  EFBIG,
  EINVAL,
  EISDIR,
  ENAMETOOLONG,
  ENODEV,
  ENOENT,
  ENOTDIR,
  EOPNOTSUPP,
  EPERM,
  ERANGE,
  ESPIPE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
  F_ADD_SEALS,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_GETLK,
  F_OFD_GETLK,
  F_OFD_SETLK,
  F_OFD_SETLKW,
  F_RDLCK,
  F_SETLK,
  F_SETLKW,
  F_UNLCK,
  F_WRLCK,
  F_GET_SEALS,
  F_SETFD,
  F_SETFL,
  type LinuxError,
  O_CLOEXEC,
  O_CREAT,
  O_TRUNC,
  O_WRONLY,
  PATH_MAX,
  RLIMIT_NOFILE,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
  S_IFIFO,
  S_IFMT,
  X_OK,
  flock,
  readStruct,
  encodeStruct,
  isLinuxError,
  stat,
  statfs,
  statx,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import { type FileDescription, MAX_OFFSET } from "../../vfs/file-description.js";
import { TO_EOF, releaseLocks, setLock, testLock } from "../../vfs/locks.js";
import type { VirtualDentry } from "../../vfs/mount.js";
import { genericPermission } from "../../vfs/permissions.js";
import { type SetStat, type Statx, isDir, isReg, toStatStruct, toStatxStruct } from "../../vfs/stat.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

/** Reads a path argument: ENOENT for "", ENAMETOOLONG past PATH_MAX, EFAULT for a bad pointer. */
export function copyInPath(t: Task, addr: bigint, allowEmpty = false): string | LinuxError {
  const b = t.mm.copyInString(addr, PATH_MAX);
  if (isLinuxError(b)) return b === ENAMETOOLONG ? ENAMETOOLONG : EFAULT;
  if (b.length === 0 && !allowEmpty) return ENOENT;
  return Buffer.from(b).toString("latin1");
}

function fileOf(t: Task, fd: number): FileDescription | LinuxError {
  return t.fdTable.get(fd) ?? EBADF;
}

/** Installs `file` in the lowest free fd (dropping our reference if that fails). */
function install(t: Task, file: FileDescription, cloexec: boolean): SyscallValue {
  const fd = t.fdTable.newFd(file, cloexec);
  file.decRef();
  return fd;
}

// ---- open ---------------------------------------------------------------------------------------

async function openAt(t: Task, dirfd: number, pathAddr: bigint, flags: number, mode: number): Promise<SyscallValue> {
  const path = copyInPath(t, pathAddr);
  if (isLinuxError(path)) return path;
  const f = await t.kernel.vfs.openAt(t, dirfd, path, flags, mode & 0o7777);
  if (isLinuxError(f)) return f;
  return install(t, f, (flags & O_CLOEXEC) !== 0);
}

export function sysOpen(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  return openAt(t, AT_FDCWD, a.pointer(0), a.int(1), a.uint(2));
}

export function sysOpenat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  return openAt(t, a.int(0), a.pointer(1), a.int(2), a.uint(3));
}

export function sysCreat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  return openAt(t, AT_FDCWD, a.pointer(0), O_CREAT | O_WRONLY | O_TRUNC, a.uint(1));
}

// ---- stat ---------------------------------------------------------------------------------------

async function statPath(t: Task, dirfd: number, pathAddr: bigint, flags: number): Promise<Statx | LinuxError> {
  if ((flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | 0x800 /* AT_NO_AUTOMOUNT */ | 0x6000 /* AT_STATX_SYNC_TYPE */)) !== 0) return EINVAL;
  const path = copyInPath(t, pathAddr, (flags & AT_EMPTY_PATH) !== 0);
  if (isLinuxError(path)) return path;
  if (path === "" && (flags & AT_EMPTY_PATH) !== 0) {
    if (dirfd === AT_FDCWD) return t.kernel.vfs.statAt(t, AT_FDCWD, ".", 0);
    const f = fileOf(t, dirfd);
    if (isLinuxError(f)) return f;
    return t.kernel.vfs.statFd(f);
  }
  return t.kernel.vfs.statAt(t, dirfd, path, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH));
}

function copyOutStat(t: Task, addr: bigint, s: Statx | LinuxError): SyscallValue {
  if (isLinuxError(s)) return s;
  return t.mm.copyOut(addr, encodeStruct(stat, toStatStruct(s))) ?? 0;
}

export async function sysStat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  return copyOutStat(t, a.pointer(1), await statPath(t, AT_FDCWD, a.pointer(0), 0));
}

export async function sysLstat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  return copyOutStat(t, a.pointer(1), await statPath(t, AT_FDCWD, a.pointer(0), AT_SYMLINK_NOFOLLOW));
}

export async function sysFstat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const f = fileOf(t, a.int(0));
  if (isLinuxError(f)) return f;
  return copyOutStat(t, a.pointer(1), await t.kernel.vfs.statFd(f));
}

export async function sysNewfstatat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  return copyOutStat(t, a.pointer(2), await statPath(t, a.int(0), a.pointer(1), a.int(3)));
}

/** statx(2): every basic field is filled whatever the mask asks, as Linux does for most filesystems. */
export async function sysStatx(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const mask = a.uint(3);
  if ((mask & 0x8000_0000) !== 0) return EINVAL; // STATX__RESERVED
  const s = await statPath(t, a.int(0), a.pointer(1), a.int(2));
  if (isLinuxError(s)) return s;
  return t.mm.copyOut(a.pointer(4), encodeStruct(statx, toStatxStruct(s))) ?? 0;
}

async function statfsOut(t: Task, addr: bigint, s: Awaited<ReturnType<Task["kernel"]["vfs"]["statfsAt"]>>): Promise<SyscallValue> {
  if (isLinuxError(s)) return s;
  return (
    t.mm.copyOut(
      addr,
      encodeStruct(statfs, {
        f_type: s.type,
        f_bsize: s.blockSize,
        f_blocks: s.blocks,
        f_bfree: s.blocksFree,
        f_bavail: s.blocksAvailable,
        f_files: s.files,
        f_ffree: s.filesFree,
        f_fsid: { val: [0, 0] },
        f_namelen: s.nameLength,
        f_frsize: s.blockSize,
        f_flags: s.flags,
        f_spare: [0, 0, 0, 0],
      }),
    ) ?? 0
  );
}

export async function sysStatfs(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const path = copyInPath(t, a.pointer(0));
  if (isLinuxError(path)) return path;
  return statfsOut(t, a.pointer(1), await t.kernel.vfs.statfsAt(t, path));
}

export async function sysFstatfs(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const f = fileOf(t, a.int(0));
  if (isLinuxError(f)) return f;
  return statfsOut(t, a.pointer(1), await t.kernel.vfs.statfsFd(f));
}

// ---- offsets and directories --------------------------------------------------------------------

export async function sysLseek(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const f = fileOf(t, a.int(0));
  if (isLinuxError(f)) return f;
  const off = a.long(1);
  if (off > BigInt(Number.MAX_SAFE_INTEGER) || off < -BigInt(Number.MAX_SAFE_INTEGER)) return EINVAL;
  return f.seek(Number(off), a.int(2));
}

export async function sysGetdents64(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const f = fileOf(t, a.int(0));
  if (isLinuxError(f)) return f;
  const size = Math.min(a.sizeT(2), 1 << 20);
  if (!t.mm.writable(a.pointer(1), BigInt(Math.max(1, Math.min(size, 4096))))) return EFAULT;
  const buf = await f.getdents64(size);
  if (isLinuxError(buf)) return buf;
  return t.mm.copyOut(a.pointer(1), buf) ?? buf.length;
}

// ---- access and links ---------------------------------------------------------------------------

async function accessAt(t: Task, dirfd: number, pathAddr: bigint, mode: number, flags: number): Promise<SyscallValue> {
  const path = copyInPath(t, pathAddr, (flags & AT_EMPTY_PATH) !== 0);
  if (isLinuxError(path)) return path;
  return (await t.kernel.vfs.accessAt(t, dirfd, path, mode, flags)) ?? 0;
}

export const sysAccess = (t: Task, a: SyscallArgs) => accessAt(t, AT_FDCWD, a.pointer(0), a.int(1), 0);
export const sysFaccessat = (t: Task, a: SyscallArgs) => accessAt(t, a.int(0), a.pointer(1), a.int(2), 0);
export const sysFaccessat2 = (t: Task, a: SyscallArgs) => accessAt(t, a.int(0), a.pointer(1), a.int(2), a.int(3));

async function readlinkAt(t: Task, dirfd: number, pathAddr: bigint, buf: bigint, size: number): Promise<SyscallValue> {
  if (size <= 0) return EINVAL;
  const path = copyInPath(t, pathAddr);
  if (isLinuxError(path)) return path;
  const target = await t.kernel.vfs.readlinkAt(t, dirfd, path);
  if (isLinuxError(target)) return target;
  const bytes = Buffer.from(target, "latin1").subarray(0, size);
  return t.mm.copyOut(buf, bytes) ?? bytes.length;
}

export const sysReadlink = (t: Task, a: SyscallArgs) => readlinkAt(t, AT_FDCWD, a.pointer(0), a.pointer(1), a.int(2));
export const sysReadlinkat = (t: Task, a: SyscallArgs) => readlinkAt(t, a.int(0), a.pointer(1), a.pointer(2), a.int(3));

// ---- the working directory ----------------------------------------------------------------------

export function sysGetcwd(t: Task, a: SyscallArgs): SyscallValue {
  const path = t.kernel.vfs.pathOf(t.fs.root, t.fs.cwd);
  // A cwd outside the root (after a chroot) reads as "(unreachable)..." on Linux.
  const text = path ?? "(unreachable)/";
  const bytes = Buffer.concat([Buffer.from(text, "latin1"), Buffer.from([0])]);
  if (a.sizeT(1) < bytes.length) return ERANGE;
  return t.mm.copyOut(a.pointer(0), bytes) ?? bytes.length;
}

/** The new working directory must be a directory the task may search. */
function enterable(t: Task, vd: VirtualDentry): VirtualDentry | LinuxError {
  const inode = vd.dentry.inode;
  if (!isDir(inode.mode)) return ENOTDIR;
  return genericPermission(t.creds, inode, X_OK) ?? vd;
}

export async function sysChdir(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const path = copyInPath(t, a.pointer(0));
  if (isLinuxError(path)) return path;
  const vd = await t.kernel.vfs.lookupAt(t, AT_FDCWD, path, true, false);
  if (isLinuxError(vd)) return vd;
  const ok = enterable(t, vd);
  if (isLinuxError(ok)) return ok;
  t.fs.setCwd(ok);
  return 0;
}

export function sysFchdir(t: Task, a: SyscallArgs): SyscallValue {
  const f = fileOf(t, a.int(0));
  if (isLinuxError(f)) return f;
  const ok = enterable(t, f.vd);
  if (isLinuxError(ok)) return ok;
  t.fs.setCwd(ok);
  return 0;
}

export function sysUmask(t: Task, a: SyscallArgs): SyscallValue {
  const old = t.fs.umask;
  t.fs.umask = a.int(0) & 0o777;
  return old;
}

// ---- creating and removing ----------------------------------------------------------------------

async function withPath(t: Task, addr: bigint, f: (path: string) => Promise<void | LinuxError>): Promise<SyscallValue> {
  const path = copyInPath(t, addr);
  if (isLinuxError(path)) return path;
  return (await f(path)) ?? 0;
}

export const sysMkdir = (t: Task, a: SyscallArgs) => withPath(t, a.pointer(0), (p) => t.kernel.vfs.mkdirAt(t, AT_FDCWD, p, a.uint(1)));
export const sysMkdirat = (t: Task, a: SyscallArgs) => withPath(t, a.pointer(1), (p) => t.kernel.vfs.mkdirAt(t, a.int(0), p, a.uint(2)));
export const sysRmdir = (t: Task, a: SyscallArgs) => withPath(t, a.pointer(0), (p) => t.kernel.vfs.rmdirAt(t, AT_FDCWD, p));
export const sysUnlink = (t: Task, a: SyscallArgs) => withPath(t, a.pointer(0), (p) => t.kernel.vfs.unlinkAt(t, AT_FDCWD, p));

export function sysUnlinkat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const flags = a.int(2);
  if ((flags & ~AT_REMOVEDIR) !== 0) return Promise.resolve(EINVAL);
  return withPath(t, a.pointer(1), (p) => ((flags & AT_REMOVEDIR) !== 0 ? t.kernel.vfs.rmdirAt(t, a.int(0), p) : t.kernel.vfs.unlinkAt(t, a.int(0), p)));
}

export const sysMknod = (t: Task, a: SyscallArgs) => withPath(t, a.pointer(0), (p) => t.kernel.vfs.mknodAt(t, AT_FDCWD, p, a.uint(1), a.uint(2)));
export const sysMknodat = (t: Task, a: SyscallArgs) => withPath(t, a.pointer(1), (p) => t.kernel.vfs.mknodAt(t, a.int(0), p, a.uint(2), a.uint(3)));

async function twoPaths(t: Task, a1: bigint, a2: bigint, f: (p1: string, p2: string) => Promise<void | LinuxError>): Promise<SyscallValue> {
  const p1 = copyInPath(t, a1);
  if (isLinuxError(p1)) return p1;
  const p2 = copyInPath(t, a2);
  if (isLinuxError(p2)) return p2;
  return (await f(p1, p2)) ?? 0;
}

export const sysSymlink = (t: Task, a: SyscallArgs) => twoPaths(t, a.pointer(0), a.pointer(1), (target, p) => t.kernel.vfs.symlinkAt(t, target, AT_FDCWD, p));
export const sysSymlinkat = (t: Task, a: SyscallArgs) => twoPaths(t, a.pointer(0), a.pointer(2), (target, p) => t.kernel.vfs.symlinkAt(t, target, a.int(1), p));
export const sysLink = (t: Task, a: SyscallArgs) => twoPaths(t, a.pointer(0), a.pointer(1), (o, n) => t.kernel.vfs.linkAt(t, AT_FDCWD, o, AT_FDCWD, n, 0));

export function sysLinkat(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const flags = a.int(4);
  if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) !== 0) return Promise.resolve(EINVAL);
  return twoPaths(t, a.pointer(1), a.pointer(3), (o, n) => t.kernel.vfs.linkAt(t, a.int(0), o, a.int(2), n, flags));
}

export const sysRename = (t: Task, a: SyscallArgs) => twoPaths(t, a.pointer(0), a.pointer(1), (o, n) => t.kernel.vfs.renameAt(t, AT_FDCWD, o, AT_FDCWD, n, 0));
export const sysRenameat = (t: Task, a: SyscallArgs) => twoPaths(t, a.pointer(1), a.pointer(3), (o, n) => t.kernel.vfs.renameAt(t, a.int(0), o, a.int(2), n, 0));
export const sysRenameat2 = (t: Task, a: SyscallArgs) => twoPaths(t, a.pointer(1), a.pointer(3), (o, n) => t.kernel.vfs.renameAt(t, a.int(0), o, a.int(2), n, a.uint(4)));

// ---- attributes ---------------------------------------------------------------------------------

async function setStatPath(t: Task, dirfd: number, addr: bigint, flags: number, attrs: SetStat): Promise<SyscallValue> {
  const path = copyInPath(t, addr, (flags & AT_EMPTY_PATH) !== 0);
  if (isLinuxError(path)) return path;
  return (await t.kernel.vfs.setStatAt(t, dirfd, path, flags, attrs)) ?? 0;
}

async function setStatFd(t: Task, fd: number, attrs: SetStat): Promise<SyscallValue> {
  const f = fileOf(t, fd);
  if (isLinuxError(f)) return f;
  return (await t.kernel.vfs.setStatFd(t, f, attrs)) ?? 0;
}

export const sysChmod = (t: Task, a: SyscallArgs) => setStatPath(t, AT_FDCWD, a.pointer(0), 0, { mode: a.uint(1) & 0o7777 });
export const sysFchmod = (t: Task, a: SyscallArgs) => setStatFd(t, a.int(0), { mode: a.uint(1) & 0o7777 });
export const sysFchmodat = (t: Task, a: SyscallArgs) => setStatPath(t, a.int(0), a.pointer(1), 0, { mode: a.uint(2) & 0o7777 });

/** chown's ids: -1 means "leave it". */
function ids(uid: number, gid: number): SetStat {
  return { ...(uid !== 0xffff_ffff ? { uid } : {}), ...(gid !== 0xffff_ffff ? { gid } : {}) };
}

export const sysChown = (t: Task, a: SyscallArgs) => setStatPath(t, AT_FDCWD, a.pointer(0), 0, ids(a.uint(1), a.uint(2)));
export const sysLchown = (t: Task, a: SyscallArgs) => setStatPath(t, AT_FDCWD, a.pointer(0), AT_SYMLINK_NOFOLLOW, ids(a.uint(1), a.uint(2)));
export const sysFchown = (t: Task, a: SyscallArgs) => setStatFd(t, a.int(0), ids(a.uint(1), a.uint(2)));
export const sysFchownat = (t: Task, a: SyscallArgs) => setStatPath(t, a.int(0), a.pointer(1), a.int(4), ids(a.uint(2), a.uint(3)));

export function sysTruncate(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const len = a.long(1);
  if (len < 0n) return Promise.resolve(EINVAL);
  return setStatPath(t, AT_FDCWD, a.pointer(0), 0, { size: Number(len) });
}

export function sysFtruncate(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const len = a.long(1);
  if (len < 0n) return Promise.resolve(EINVAL);
  return setStatFd(t, a.int(0), { size: Number(len) });
}

/**
 * fallocate(2) on any regular file, through its size and data: mode 0 grows the file to cover the
 * range, KEEP_SIZE alone reserves nothing (there is no block allocation to make), PUNCH_HOLE and
 * ZERO_RANGE write zeros over the part of the range inside the file (ZERO_RANGE without
 * KEEP_SIZE also grows it). Collapse, insert and unshare are EOPNOTSUPP.
 */
export async function sysFallocate(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const f = fileOf(t, a.int(0));
  if (isLinuxError(f)) return f;
  const mode = a.int(1);
  const offset = a.long(2);
  const len = a.long(3);
  if (offset < 0n || len <= 0n) return EINVAL;
  if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) !== 0) return EOPNOTSUPP;
  const punch = (mode & FALLOC_FL_PUNCH_HOLE) !== 0;
  const zero = (mode & FALLOC_FL_ZERO_RANGE) !== 0;
  if (punch && ((mode & FALLOC_FL_KEEP_SIZE) === 0 || zero)) return EOPNOTSUPP;
  if (!f.writable) return EBADF;
  if (isDir(f.inode.mode)) return EISDIR;
  if (!isReg(f.inode.mode)) return (f.inode.mode & S_IFMT) === S_IFIFO ? ESPIPE : ENODEV;
  const end = offset + len;
  if (end > BigInt(MAX_OFFSET)) return EFBIG;
  const st = await t.kernel.vfs.statFd(f);
  if (isLinuxError(st)) return st;
  const size = BigInt(st.size);
  if (punch || zero) {
    const stop = end < size ? end : size;
    const chunk = new Uint8Array(1 << 16);
    for (let at = offset; at < stop; ) {
      const n = Number(stop - at < BigInt(chunk.length) ? stop - at : BigInt(chunk.length));
      const w = await f.pwrite(chunk.subarray(0, n), Number(at));
      if (isLinuxError(w)) return w;
      at += BigInt(w);
    }
  }
  if ((mode & FALLOC_FL_KEEP_SIZE) === 0 && end > size) return (await t.kernel.vfs.setStatFd(t, f, { size: Number(end) })) ?? 0;
  return 0;
}

/**
 * sync(2), syncfs(2), sync_file_range(2), fadvise64(2), readahead(2): hints and flushes. Data
 * reaches the host through donated FDs as it is written (tmpfs has nothing to flush), so these
 * only check their arguments.
 */
export const sysSync = (): SyscallValue => 0;

export function sysSyncfs(t: Task, a: SyscallArgs): SyscallValue {
  return t.fdTable.get(a.int(0)) === undefined ? EBADF : 0;
}

export function sysSyncFileRange(t: Task, a: SyscallArgs): SyscallValue {
  const f = t.fdTable.get(a.int(0));
  if (f === undefined) return EBADF;
  if (a.long(1) < 0n || a.long(2) < 0n || (a.uint(3) & ~7) !== 0) return EINVAL;
  return isReg(f.inode.mode) || isDir(f.inode.mode) ? 0 : ESPIPE;
}

export function sysFadvise64(t: Task, a: SyscallArgs): SyscallValue {
  const f = t.fdTable.get(a.int(0));
  if (f === undefined) return EBADF;
  if ((f.inode.mode & S_IFMT) === S_IFIFO) return ESPIPE;
  const advice = a.int(3);
  if (advice < 0 || advice > 5 || a.long(2) < 0n) return EINVAL;
  return 0;
}

export function sysReadahead(t: Task, a: SyscallArgs): SyscallValue {
  const f = t.fdTable.get(a.int(0));
  if (f === undefined || !f.readable) return EBADF;
  return isReg(f.inode.mode) ? 0 : EINVAL;
}

/** chroot(2): needs CAP_SYS_CHROOT; the new root must be a searchable directory. */
export async function sysChroot(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const path = copyInPath(t, a.pointer(0));
  if (isLinuxError(path)) return path;
  const vd = await t.kernel.vfs.lookupAt(t, AT_FDCWD, path, true, false);
  if (isLinuxError(vd)) return vd;
  const ok = enterable(t, vd);
  if (isLinuxError(ok)) return ok;
  if (!t.creds.hasCapability(CAP_SYS_CHROOT)) return EPERM;
  t.fs.setRoot(ok);
  return 0;
}

/** fsync(2)/fdatasync(2): data reaches the host through donated FDs directly; nothing is buffered. */
export function sysFsync(t: Task, a: SyscallArgs): SyscallValue {
  return t.fdTable.get(a.int(0)) === undefined ? EBADF : 0;
}

// ---- the FD table -------------------------------------------------------------------------------

export function sysDup(t: Task, a: SyscallArgs): SyscallValue {
  return t.fdTable.dup(a.int(0));
}

export function sysDup2(t: Task, a: SyscallArgs): SyscallValue {
  const oldfd = a.int(0);
  const newfd = a.int(1);
  const f = fileOf(t, oldfd);
  if (isLinuxError(f)) return f;
  if (oldfd === newfd) return newfd;
  return t.fdTable.installAt(newfd, f, false) ?? newfd;
}

export function sysDup3(t: Task, a: SyscallArgs): SyscallValue {
  const oldfd = a.int(0);
  const newfd = a.int(1);
  const flags = a.int(2);
  if ((flags & ~O_CLOEXEC) !== 0 || oldfd === newfd) return EINVAL;
  const f = fileOf(t, oldfd);
  if (isLinuxError(f)) return f;
  return t.fdTable.installAt(newfd, f, (flags & O_CLOEXEC) !== 0) ?? newfd;
}

export function sysFcntl(t: Task, a: SyscallArgs): SyscallValue | Promise<SyscallValue> {
  const fd = a.int(0);
  const f = fileOf(t, fd);
  if (isLinuxError(f)) return f;
  switch (a.int(1)) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const min = a.int(2);
      if (min < 0 || min >= t.tg.limits.cur(RLIMIT_NOFILE)) return EINVAL;
      return t.fdTable.dupFd(fd, min, a.int(1) === F_DUPFD_CLOEXEC);
    }
    case F_GETFD:
      return t.fdTable.getFdFlags(fd);
    case F_SETFD:
      return t.fdTable.setFdFlags(fd, a.int(2)) ?? 0;
    case F_GETFL:
      return f.statusFlags;
    case F_SETFL:
      f.setStatusFlags(a.int(2));
      return 0;
    case F_ADD_SEALS: {
      const target = f.impl.sealable?.();
      if (target === undefined) return EINVAL;
      if (!f.writable) return EPERM;
      return target.addSeals(a.int(2)) ?? 0;
    }
    case F_GET_SEALS:
      return f.impl.sealable?.().seals ?? EINVAL;
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      return recordLock(t, f, a.int(1), a.pointer(2));
    default:
      return EINVAL;
  }
}

/** Descriptions whose OFD locks are already dropped with them. */
const releasesOfdLocks = new WeakSet<FileDescription>();

/**
 * fcntl's byte-range locks: POSIX locks are owned by the process's FD table (any close of the
 * file drops them), OFD locks by the open file description. F_GETLK answers with the first
 * conflicting lock, or F_UNLCK.
 */
async function recordLock(t: Task, f: FileDescription, cmd: number, addr: bigint): Promise<SyscallValue> {
  const raw = t.mm.copyIn(addr, flock.size);
  if (isLinuxError(raw)) return EFAULT;
  const req = readStruct(flock, raw);
  const ofd = cmd === F_OFD_GETLK || cmd === F_OFD_SETLK || cmd === F_OFD_SETLKW;
  if (ofd && req.l_pid !== 0) return EINVAL;
  let base: bigint;
  switch (req.l_whence) {
    case SEEK_SET:
      base = 0n;
      break;
    case SEEK_CUR:
      base = BigInt(f.offset);
      break;
    case SEEK_END: {
      const st = await t.kernel.vfs.statFd(f);
      if (isLinuxError(st)) return st;
      base = BigInt(st.size);
      break;
    }
    default:
      return EINVAL;
  }
  let start = base + req.l_start;
  let end = req.l_len === 0n ? TO_EOF : start + req.l_len;
  if (req.l_len < 0n) [start, end] = [end, start];
  if (start < 0n || end > TO_EOF) return EINVAL;
  const type = req.l_type === F_RDLCK ? "read" : req.l_type === F_WRLCK ? "write" : req.l_type === F_UNLCK ? undefined : null;
  if (type === null) return EINVAL;
  const owner: object = ofd ? f : t.fdTable;
  if (cmd === F_GETLK || cmd === F_OFD_GETLK) {
    if (type === undefined) return EINVAL;
    const held = testLock(f.inode, owner, type, start, end);
    const out = held === undefined
      ? { ...req, l_type: F_UNLCK }
      : { l_type: held.type === "read" ? F_RDLCK : F_WRLCK, l_whence: SEEK_SET, l_start: held.start, l_len: held.end === TO_EOF ? 0n : held.end - held.start, l_pid: held.pid };
    return t.mm.copyOut(addr, encodeStruct(flock, out)) ?? 0;
  }
  if (type === "read" && !f.readable) return EBADF;
  if (type === "write" && !f.writable) return EBADF;
  if (ofd && !releasesOfdLocks.has(f)) {
    releasesOfdLocks.add(f);
    f.onRelease(() => releaseLocks(f.inode, f));
  }
  const wait = cmd === F_SETLKW || cmd === F_OFD_SETLKW ? t.interrupter : undefined;
  return setLock(f.inode, owner, ofd ? -1 : t.tg.tgid, type, start, end, wait);
}

// ---- pipes ----------------------------------------------------------------------------------------

/** pipe2(2) (and pipe(2), flags 0): two FDs, read end first, written at `addr`. */
function makePipe(t: Task, addr: bigint, flags: number): SyscallValue {
  const ends = t.kernel.pipefs.newPipe(t.creds, flags);
  if (isLinuxError(ends)) return ends;
  const [r, w] = ends;
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const rfd = t.fdTable.newFd(r, cloexec);
  r.decRef();
  if (isLinuxError(rfd)) {
    w.decRef();
    return rfd;
  }
  const wfd = t.fdTable.newFd(w, cloexec);
  w.decRef();
  if (isLinuxError(wfd)) {
    t.fdTable.close(rfd);
    return wfd;
  }
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, rfd, true);
  dv.setInt32(4, wfd, true);
  const e = t.mm.copyOut(addr, out);
  if (e !== undefined) {
    t.fdTable.close(rfd);
    t.fdTable.close(wfd);
    return e;
  }
  return 0;
}

export const sysPipe2 = (t: Task, a: SyscallArgs): SyscallValue => makePipe(t, a.pointer(0), a.int(1));
export const sysPipe = (t: Task, a: SyscallArgs): SyscallValue => makePipe(t, a.pointer(0), 0);
