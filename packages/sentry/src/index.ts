/**
 * @runsc-ts/sentry: the user-space Linux kernel. The VFS part so far: credentials, wait
 * queues, the VFS (mounts, path resolution, file descriptions, fd tables, permissions) and
 * tmpfs, pipes, devfs, overlay, a procfs skeleton and the gofer client. See the package README
 * for the model.
 */
export { ALL_CAPABILITIES, Credentials, OVERFLOW_ID, capabilityBit, type CredentialFields } from "./kernel/auth/credentials.js";
export { Interrupter, WaitEntry, WaitQueue, blockOn, waitForEvent, type EventMask } from "./kernel/waiter.js";
export { ManualClock, realtimeClock, type Clock, type Timespec } from "./kernel/time.js";

export * from "./vfs/constants.js";
export type { VfsContext } from "./vfs/context.js";
export { Dentry } from "./vfs/dentry.js";
export { DentryCache, DEFAULT_MAX_CACHED_DENTRIES } from "./vfs/dentry-cache.js";
export { DeviceRegistry, type CharDevice } from "./vfs/device.js";
export { DEFAULT_NOFILE_LIMIT, FdTable, NR_OPEN, type FdEntry } from "./vfs/fd-table.js";
export { FileDescription, MAX_OFFSET, SETTABLE_STATUS_FLAGS, parseDirents64, type Dirent, type FileDescriptionImpl } from "./vfs/file-description.js";
export { allocAnonDev, type Caller, type CreateAttrs, type Filesystem, type Inode, type OpenOptions, type Statfs } from "./vfs/filesystem.js";
export { InodeAttrs } from "./vfs/inode-attrs.js";
export { DEFAULT_MOUNT_FLAGS, Mount, MountNamespace, type MountFlags, type VirtualDentry } from "./vfs/mount.js";
export {
  checkChmod,
  checkChown,
  checkSticky,
  checkUtimes,
  genericPermission,
  isOwnerOrCapable,
  mayDelete,
  privilegeBitsToClear,
  type FileOwnership,
} from "./vfs/permissions.js";
export {
  dotdot,
  followMounts,
  lookupChild,
  resolve,
  resolveExisting,
  resolveParent,
  validateName,
  validatePath,
  type LastType,
  type ParentResolution,
  type Resolution,
  type ResolveContext,
  type ResolveOptions,
} from "./vfs/resolve.js";
export { fileType, isDir, isReg, isSymlink, toStatStruct, toStatxStruct, type SetStat, type Statx, type TimeSetting } from "./vfs/stat.js";
export { VirtualFilesystem } from "./vfs/vfs.js";

export { DEFAULT_PIPE_SIZE, MAX_PIPE_SIZE, Pipe, PipeEnd } from "./fsimpl/pipe/pipe.js";
export { PipeFilesystem } from "./fsimpl/pipe/pipefs.js";
export { TmpFilesystem, type TmpfsOptions } from "./fsimpl/tmpfs/filesystem.js";
export { TmpDirectory } from "./fsimpl/tmpfs/directory.js";
export { TmpRegularFile } from "./fsimpl/tmpfs/regular-file.js";
export { createDevfs, type DevfsOptions } from "./fsimpl/devfs/devfs.js";
export { FULL_MINOR, MEM_MAJOR, NULL_MINOR, RANDOM_MINOR, URANDOM_MINOR, ZERO_MINOR, registerMemDevices } from "./fsimpl/devfs/mem.js";
export { OverlayFilesystem, type OverlayOptions } from "./fsimpl/overlay/filesystem.js";
export { OPAQUE_XATTR, OverlayInode } from "./fsimpl/overlay/inode.js";
export { ProcFilesystem, type ProcKernel, type ProcTask } from "./fsimpl/proc/procfs.js";
export { SyntheticDir, SyntheticFile, SyntheticFilesystem, SyntheticInode, SyntheticSymlink } from "./fsimpl/proc/synthetic.js";
export { GoferFilesystem, type Coherence, type GoferOptions } from "./fsimpl/gofer/filesystem.js";
export { GoferInode } from "./fsimpl/gofer/inode.js";
export { GoferFile, statxFromWire, type CloseHostFd, type GoferDirent, type GoferSetStat, type WalkStatus } from "./fsimpl/gofer/file.js";

// The kernel core, the loader, the syscall table and boot.
export { Kernel, SentryBug, type KernelOptions, type NewProcessOptions } from "./kernel/kernel.js";
export { Task, type FsContext } from "./kernel/task.js";
export { ThreadGroup, exitedStatus, shellExitCode, signaledStatus } from "./kernel/thread-group.js";
export { Limits, RLIMIT_NAMES, type Rlimit } from "./kernel/limits.js";
export { MemoryManager, type Vma } from "./mm/memory-manager.js";
export { SyscallArgs } from "./syscalls/args.js";
export { SyscallTable, formatReport, partial, supported, unimplemented, type SupportLevel, type SyscallEntry, type SyscallValue } from "./syscalls/table.js";
export { linuxSyscalls } from "./syscalls/linux/table.js";
export { parseElf, type ElfImage, type ExecFile } from "./loader/elf.js";
export { loadExecutable, type ExecRequest, type LoadedProgram } from "./loader/load.js";
export { HostFilesystem } from "./fsimpl/host/hostfs.js";
export { OCI_VERSION, SpecError, defaultSpecJson, parseSpec, type Spec } from "./oci/spec.js";
export { StartError, boot, credentialsOf, limitsOf, type BootOptions, type Sandbox } from "./boot/loader.js";
export { Controller } from "./control/controller.js";
