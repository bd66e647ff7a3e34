/**
 * Attributes, directory reading, sync, statfs and extended attributes of one handle.
 *
 * The handle is an O_PATH descriptor. What Linux allows on it directly is used directly:
 * fchownat/utimensat/fchmodat2 with AT_EMPTY_PATH, fstatfs. What needs a real open file
 * (ftruncate, fsync, getdents64, the f*xattr calls) re-opens it (node.ts: a directory through
 * ".", anything else through parent + name with an identity check), uses the new descriptor and
 * closes it.
 *
 * Extended attributes: only the "user." namespace is served (gofer.capnp allows restricting
 * it; trusted./security./system. would let a compromised sentry set host-meaningful labels and
 * ACLs). Linux allows user.* only on regular files and directories, so only those are ever
 * re-opened for xattrs; for any other type the gofer answers what Linux answers for user.*
 * there (ENODATA to read, EPERM to change, an empty list) without opening it — opening a FIFO or
 * a device just to ask would have side effects.
 */
import {
  AT_EMPTY_PATH,
  E2BIG,
  EINVAL,
  EISDIR,
  ENODATA,
  ENOSYS,
  ENOTDIR,
  EOPNOTSUPP,
  EPERM,
  ERANGE,
  EROFS,
  O_DIRECTORY,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  SEEK_SET,
  STATX_ATIME,
  STATX_GID,
  STATX_MODE,
  STATX_MTIME,
  STATX_SIZE,
  STATX_UID,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  UTIME_OMIT,
  XATTR_CREATE,
  XATTR_NAME_MAX,
  XATTR_REPLACE,
  XATTR_SIZE_MAX,
} from "@runsc-ts/abi";
import { native } from "@runsc-ts/platform";
import type { common } from "@runsc-ts/proto";

import { type OpResult, errnoOf, fail, isErrno } from "./errno.js";
import type { HostNode } from "./node.js";
import { type HostDirent, fillStatfs, parseDirents } from "./stat.js";

// ---- setStat ------------------------------------------------------------------------------------

export interface Timespec {
  readonly sec: bigint;
  readonly nsec: number;
}

export interface SetStatRequest {
  readonly mask: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: bigint;
  readonly atime: Timespec;
  readonly mtime: Timespec;
}

const SETSTAT_SUPPORTED = STATX_MODE | STATX_UID | STATX_GID | STATX_SIZE | STATX_ATIME | STATX_MTIME;
const NO_ID = 0xffff_ffff;
const INT64_MAX = (1n << 63n) - 1n;

/**
 * gofer.capnp setStat: size, mode, owner, times in that order, stopping at the first failure.
 * Returns the errno and the selected bits not applied.
 */
export function setStat(node: HostNode, readOnly: boolean, req: SetStatRequest): { errno: number; failedMask: number } {
  const mask = req.mask;
  if (mask === 0) return { errno: 0, failedMask: 0 };
  if ((mask & ~SETSTAT_SUPPORTED) !== 0) return { errno: EINVAL.errno, failedMask: mask };
  if (readOnly) return { errno: EROFS.errno, failedMask: mask };
  const steps: Array<[number, () => OpResult]> = [
    [STATX_SIZE, () => truncate(node, req.size)],
    [STATX_MODE, () => chmod(node, req.mode)],
    [
      STATX_UID | STATX_GID,
      () => {
        const uid = (mask & STATX_UID) !== 0 ? req.uid : NO_ID;
        const gid = (mask & STATX_GID) !== 0 ? req.gid : NO_ID;
        native.fchownat(node.fd, "", uid, gid, AT_EMPTY_PATH);
        return undefined;
      },
    ],
    [
      STATX_ATIME | STATX_MTIME,
      () => {
        const a = (mask & STATX_ATIME) !== 0 ? req.atime : { sec: 0n, nsec: UTIME_OMIT };
        const m = (mask & STATX_MTIME) !== 0 ? req.mtime : { sec: 0n, nsec: UTIME_OMIT };
        native.utimensat(node.fd, "", a.sec, a.nsec, m.sec, m.nsec, AT_EMPTY_PATH);
        return undefined;
      },
    ],
  ];
  let remaining = mask;
  for (const [bits, step] of steps) {
    if ((mask & bits) === 0) continue;
    const errno = errnoOf(step);
    if (errno !== 0) return { errno, failedMask: remaining };
    remaining &= ~bits;
  }
  return { errno: 0, failedMask: 0 };
}

function truncate(node: HostNode, size: bigint): OpResult {
  if (node.type === S_IFDIR) return EISDIR;
  if (node.type !== S_IFREG || size > INT64_MAX) return EINVAL;
  node.withReopened(O_WRONLY, (fd) => native.ftruncate(fd, size));
  return undefined;
}

let haveFchmodat2 = true;

/** chmod of the handle itself (fchmodat2 with AT_EMPTY_PATH; see the file comment). */
export function chmod(node: HostNode, mode: number): OpResult {
  if (node.type === S_IFLNK) return EOPNOTSUPP; // fchmodat(AT_SYMLINK_NOFOLLOW) on a symlink
  const bits = mode & 0o7777;
  if (haveFchmodat2) {
    try {
      native.fchmodat(node.fd, "", bits, AT_EMPTY_PATH);
      return undefined;
    } catch (e) {
      if (!isErrno(e, ENOSYS)) throw e;
      haveFchmodat2 = false;
    }
  }
  // Kernels before 6.6: only what can be re-opened.
  if (node.type !== S_IFREG && node.type !== S_IFDIR) return EOPNOTSUPP;
  node.withReopened(O_RDONLY | O_NONBLOCK, (fd) => native.fchmod(fd, bits));
  return undefined;
}

// ---- directories, sync, statfs ------------------------------------------------------------------

/** The largest getdents64 buffer one call uses. */
const MAX_DIRENT_BYTES = 64 * 1024;
const DOT = 0x2e;

function isDotOrDotDot(name: Uint8Array): boolean {
  return name[0] === DOT && (name.length === 1 || (name.length === 2 && name[1] === DOT));
}

/**
 * gofer.capnp getdents64: entries after `cookie`, at most `count` bytes of records, without
 * "." and "..". Stateless: a fresh directory descriptor per call, sought to the cookie.
 */
export function getdents(node: HostNode, cookie: bigint, count: number): HostDirent[] {
  if (!node.isDirectory) fail(ENOTDIR);
  if (count === 0) fail(EINVAL);
  const buf = new Uint8Array(Math.min(count, MAX_DIRENT_BYTES));
  return node.withReopened(O_RDONLY | O_DIRECTORY, (fd) => {
    native.lseek(fd, BigInt.asIntN(64, cookie), SEEK_SET);
    for (;;) {
      const n = native.getdents64(fd, buf);
      if (n === 0) return [];
      const entries = parseDirents(buf, n).filter((d) => !isDotOrDotDot(d.name));
      // A buffer that held only "." and ".." is not the end of the directory: read on.
      if (entries.length > 0) return entries;
    }
  });
}

/** gofer.capnp fsync: regular files and directories; anything else is EINVAL like fsync(2) on it. */
export function fsync(node: HostNode, dataOnly: boolean): OpResult {
  if (node.type !== S_IFREG && node.type !== S_IFDIR) return EINVAL;
  node.withReopened(O_RDONLY | O_NONBLOCK, (fd) => (dataOnly ? native.fdatasync(fd) : native.fsync(fd)));
  return undefined;
}

export function statfs(node: HostNode, out: common.Statfs): OpResult {
  fillStatfs(out, node.fd);
  return undefined;
}

// ---- extended attributes ------------------------------------------------------------------------

const USER_PREFIX = new TextEncoder().encode("user.");

function hasUserPrefix(name: Uint8Array): boolean {
  if (name.length < USER_PREFIX.length) return false;
  for (let i = 0; i < USER_PREFIX.length; i++) if (name[i] !== USER_PREFIX[i]) return false;
  return true;
}

/** Checks an xattr name: ERANGE for an empty or too long one (as Linux), EOPNOTSUPP outside user.*. */
function checkXattrName(name: Uint8Array): void {
  if (name.length === 0 || name.length > XATTR_NAME_MAX) fail(ERANGE);
  if (name.includes(0)) fail(EINVAL);
  if (!hasUserPrefix(name)) fail(EOPNOTSUPP);
}

/** Whether Linux allows user.* xattrs on this type at all. */
function userXattrsAllowed(node: HostNode): boolean {
  return node.type === S_IFREG || node.type === S_IFDIR;
}

function withXattrFd<T>(node: HostNode, use: (fd: number) => T): T {
  return node.withReopened(O_RDONLY | O_NONBLOCK, use);
}

/** gofer.capnp getXattr: the value; ERANGE if longer than a non-zero `size`. */
export function getXattr(node: HostNode, name: Uint8Array, size: number): Uint8Array {
  checkXattrName(name);
  if (!userXattrsAllowed(node)) fail(ENODATA);
  const buf = new Uint8Array(XATTR_SIZE_MAX);
  const n = withXattrFd(node, (fd) => native.fgetxattr(fd, name, buf));
  if (size !== 0 && n > size) fail(ERANGE);
  return buf.slice(0, n);
}

/** gofer.capnp setXattr. */
export function setXattr(node: HostNode, readOnly: boolean, name: Uint8Array, value: Uint8Array, flags: number): OpResult {
  if (readOnly) return EROFS;
  checkXattrName(name);
  if (flags !== 0 && flags !== XATTR_CREATE && flags !== XATTR_REPLACE) return EINVAL;
  if (value.length > XATTR_SIZE_MAX) return E2BIG;
  if (!userXattrsAllowed(node)) return EPERM;
  withXattrFd(node, (fd) => native.fsetxattr(fd, name, value, flags));
  return undefined;
}

/** gofer.capnp listXattr: the user.* names; ERANGE if they (NUL-terminated) exceed a non-zero `size`. */
export function listXattr(node: HostNode, size: number): Uint8Array[] {
  if (!userXattrsAllowed(node)) return [];
  const buf = new Uint8Array(XATTR_SIZE_MAX);
  const n = withXattrFd(node, (fd) => native.flistxattr(fd, buf));
  const names: Uint8Array[] = [];
  let total = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end < n && buf[end] !== 0) end++;
    const name = buf.slice(start, end);
    if (name.length > 0 && hasUserPrefix(name)) {
      names.push(name);
      total += name.length + 1;
    }
    start = end + 1;
  }
  if (size !== 0 && total > size) fail(ERANGE);
  return names;
}

/** gofer.capnp removeXattr. */
export function removeXattr(node: HostNode, readOnly: boolean, name: Uint8Array): OpResult {
  if (readOnly) return EROFS;
  checkXattrName(name);
  if (!userXattrsAllowed(node)) return EPERM;
  withXattrFd(node, (fd) => native.fremovexattr(fd, name));
  return undefined;
}
