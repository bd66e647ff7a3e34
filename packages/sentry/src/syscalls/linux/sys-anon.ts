/** Files without a path: eventfd(2), eventfd2(2) and memfd_create(2). */
import {
  EFAULT,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EFD_SEMAPHORE,
  EINVAL,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  O_LARGEFILE,
  O_NONBLOCK,
  O_RDWR,
  S_IFREG,
  isLinuxError,
} from "@runsc-ts/abi";
import { EventFd } from "../../fsimpl/eventfd/eventfd.js";
import type { TmpDirectory } from "../../fsimpl/tmpfs/directory.js";
import type { TmpRegularFile } from "../../fsimpl/tmpfs/regular-file.js";
import type { Task } from "../../kernel/task.js";
import { Dentry } from "../../vfs/dentry.js";
import { FileDescription } from "../../vfs/file-description.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

function eventfd(t: Task, initval: number, flags: number): SyscallValue {
  if ((flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) !== 0) return EINVAL;
  const impl = new EventFd(BigInt(initval), (flags & EFD_SEMAPHORE) !== 0);
  const f = t.kernel.anonfs.anonymous("anon_inode:[eventfd]", S_IFREG | 0o600, impl, O_RDWR | (flags & EFD_NONBLOCK ? O_NONBLOCK : 0), t.creds);
  const fd = t.fdTable.newFd(f, (flags & EFD_CLOEXEC) !== 0);
  f.decRef();
  return fd;
}

export const sysEventfd = (t: Task, a: SyscallArgs): SyscallValue => eventfd(t, a.uint(0), 0);
export const sysEventfd2 = (t: Task, a: SyscallArgs): SyscallValue => eventfd(t, a.uint(0), a.int(1));

/** Linux's MFD_NAME_MAX_LEN: 255 less the "memfd:" prefix. */
const MFD_NAME_MAX = 249;
let nextMemfd = 1;

/**
 * memfd_create(2): a regular file in the kernel's private tmpfs, unlinked at once so only its
 * descriptors reach it. Seals (MFD_ALLOW_SEALING) are accepted but not enforced yet.
 */
export async function sysMemfdCreate(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const flags = a.uint(1);
  if ((flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING)) !== 0) return EINVAL;
  const raw = t.mm.copyInString(a.pointer(0), MFD_NAME_MAX + 1);
  if (isLinuxError(raw)) return raw === EFAULT ? EFAULT : EINVAL;
  if (raw.length > MFD_NAME_MAX) return EINVAL;
  const name = `memfd:${Buffer.from(raw).toString("latin1")}`;
  const dir = t.kernel.memfs.rootDir as TmpDirectory;
  const key = `${name}#${nextMemfd++}`;
  const inode = await dir.create(key, { mode: S_IFREG | 0o777, uid: t.creds.fsuid, gid: t.creds.fsgid });
  if (isLinuxError(inode)) return inode;
  const vd = { mount: t.kernel.memMount, dentry: new Dentry(t.kernel.memfs, inode, name, t.kernel.memfs.root) };
  if ((flags & MFD_ALLOW_SEALING) !== 0) (inode as TmpRegularFile).seals = 0;
  const impl = await inode.open({ flags: O_RDWR, vd, creds: t.creds });
  await dir.unlink(key, inode);
  vd.dentry.dead = true; // /proc/[pid]/fd shows "/memfd:NAME (deleted)", as on Linux
  if (isLinuxError(impl)) return impl;
  const f = new FileDescription(vd, inode, impl, O_RDWR | O_LARGEFILE);
  const fd = t.fdTable.newFd(f, (flags & MFD_CLOEXEC) !== 0);
  f.decRef();
  return fd;
}
