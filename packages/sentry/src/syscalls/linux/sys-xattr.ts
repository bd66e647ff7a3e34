/**
 * Extended attributes: getxattr/listxattr (and their l- and f- forms) read what the inode
 * keeps; setxattr/removexattr change it. Filesystems without xattrs answer EOPNOTSUPP, a missing
 * attribute ENODATA, a buffer too small ERANGE, as Linux does.
 */
import {
  AT_FDCWD,
  CAP_SYS_ADMIN,
  E2BIG,
  EBADF,
  EFAULT,
  EINVAL,
  ENODATA,
  EOPNOTSUPP,
  EPERM,
  ERANGE,
  type LinuxError,
  XATTR_CREATE,
  XATTR_REPLACE,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import type { Inode } from "../../vfs/filesystem.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { copyInPath } from "./sys-file.js";

/** Linux's XATTR_NAME_MAX and XATTR_SIZE_MAX. */
const NAME_MAX = 255;
const SIZE_MAX = 65536;

async function inodeOfPath(t: Task, addr: bigint, follow: boolean): Promise<Inode | LinuxError> {
  const path = copyInPath(t, addr);
  if (isLinuxError(path)) return path;
  const vd = await t.kernel.vfs.lookupAt(t, AT_FDCWD, path, follow, false);
  return isLinuxError(vd) ? vd : vd.dentry.inode;
}

function inodeOfFd(t: Task, fd: number): Inode | LinuxError {
  const f = t.fdTable.get(fd);
  return f === undefined ? EBADF : f.inode;
}

function nameOf(t: Task, addr: bigint): string | LinuxError {
  const b = t.mm.copyInString(addr, NAME_MAX + 1);
  if (isLinuxError(b)) return b === EFAULT ? EFAULT : ERANGE;
  if (b.length === 0 || b.length > NAME_MAX) return ERANGE;
  return Buffer.from(b).toString("latin1");
}

async function get(t: Task, inode: Inode | LinuxError, nameAddr: bigint, buf: bigint, size: number): Promise<SyscallValue> {
  if (isLinuxError(inode)) return inode;
  const name = nameOf(t, nameAddr);
  if (isLinuxError(name)) return name;
  if (inode.getxattr === undefined) return ENODATA;
  const v = await inode.getxattr(name);
  if (isLinuxError(v)) return v;
  if (size === 0) return v.length;
  if (size < v.length) return ERANGE;
  return t.mm.copyOut(buf, v) ?? v.length;
}

async function list(t: Task, inode: Inode | LinuxError, buf: bigint, size: number): Promise<SyscallValue> {
  if (isLinuxError(inode)) return inode;
  const names = inode.listxattr === undefined ? [] : await inode.listxattr();
  if (isLinuxError(names)) return names;
  const bytes = Buffer.concat(names.map((n) => Buffer.from(n + "\0", "latin1")));
  if (size === 0) return bytes.length;
  if (size < bytes.length) return ERANGE;
  return t.mm.copyOut(buf, bytes) ?? bytes.length;
}

async function set(t: Task, inode: Inode | LinuxError, nameAddr: bigint, valAddr: bigint, size: number, flags: number): Promise<SyscallValue> {
  if (isLinuxError(inode)) return inode;
  if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) !== 0) return EINVAL;
  const name = nameOf(t, nameAddr);
  if (isLinuxError(name)) return name;
  if (size > SIZE_MAX) return E2BIG;
  const value = t.mm.copyIn(valAddr, size);
  if (isLinuxError(value)) return value;
  if (inode.setxattr === undefined) return EOPNOTSUPP;
  if (!name.startsWith("user.") && !t.creds.hasCapability(CAP_SYS_ADMIN)) return EPERM;
  return (await inode.setxattr(name, value, flags)) ?? 0;
}

async function remove(t: Task, inode: Inode | LinuxError, nameAddr: bigint): Promise<SyscallValue> {
  if (isLinuxError(inode)) return inode;
  const name = nameOf(t, nameAddr);
  if (isLinuxError(name)) return name;
  if (inode.removexattr === undefined) return EOPNOTSUPP;
  return (await inode.removexattr(name)) ?? 0;
}

export const sysGetxattr = async (t: Task, a: SyscallArgs) => get(t, await inodeOfPath(t, a.pointer(0), true), a.pointer(1), a.pointer(2), a.sizeT(3));
export const sysLgetxattr = async (t: Task, a: SyscallArgs) => get(t, await inodeOfPath(t, a.pointer(0), false), a.pointer(1), a.pointer(2), a.sizeT(3));
export const sysFgetxattr = (t: Task, a: SyscallArgs) => get(t, inodeOfFd(t, a.int(0)), a.pointer(1), a.pointer(2), a.sizeT(3));
export const sysListxattr = async (t: Task, a: SyscallArgs) => list(t, await inodeOfPath(t, a.pointer(0), true), a.pointer(1), a.sizeT(2));
export const sysLlistxattr = async (t: Task, a: SyscallArgs) => list(t, await inodeOfPath(t, a.pointer(0), false), a.pointer(1), a.sizeT(2));
export const sysFlistxattr = (t: Task, a: SyscallArgs) => list(t, inodeOfFd(t, a.int(0)), a.pointer(1), a.sizeT(2));
export const sysSetxattr = async (t: Task, a: SyscallArgs) => set(t, await inodeOfPath(t, a.pointer(0), true), a.pointer(1), a.pointer(2), a.sizeT(3), a.int(4));
export const sysLsetxattr = async (t: Task, a: SyscallArgs) => set(t, await inodeOfPath(t, a.pointer(0), false), a.pointer(1), a.pointer(2), a.sizeT(3), a.int(4));
export const sysFsetxattr = (t: Task, a: SyscallArgs) => set(t, inodeOfFd(t, a.int(0)), a.pointer(1), a.pointer(2), a.sizeT(3), a.int(4));
export const sysRemovexattr = async (t: Task, a: SyscallArgs) => remove(t, await inodeOfPath(t, a.pointer(0), true), a.pointer(1));
export const sysLremovexattr = async (t: Task, a: SyscallArgs) => remove(t, await inodeOfPath(t, a.pointer(0), false), a.pointer(1));
export const sysFremovexattr = (t: Task, a: SyscallArgs) => remove(t, inodeOfFd(t, a.int(0)), a.pointer(1));
