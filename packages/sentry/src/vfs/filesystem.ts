/**
 * How a filesystem plugs into the VFS.
 *
 * Design (a departure from gVisor's VFS2, recorded in packages/sentry/README.md): the VFS owns
 * path resolution and the dentry cache; a filesystem implements *inode operations* on one
 * directory level at a time, as Linux's `inode_operations` do. Every filesystem therefore
 * shares exactly one implementation of Linux's path rules (symlinks, `..`, mounts, trailing
 * slashes), and the gofer protocol, which is already one-directory-level-at-a-time, maps onto
 * it directly.
 *
 * Division of labour for every mutating operation:
 *   - the VFS resolves the parent, validates the name, checks read-only mounts (EROFS),
 *     permissions (generic_permission, sticky directories), types (ENOTDIR/EISDIR), existence
 *     (EEXIST/ENOENT against the dentry cache), mount points (EBUSY) and rename topology
 *     (EINVAL/ENOTEMPTY for ancestors, EXDEV across mounts); it computes a new file's mode
 *     (umask applied) and owner (fsuid; fsgid or the setgid parent's group);
 *   - the filesystem performs the change and reports what only it can know (ENOTEMPTY for a
 *     non-empty directory, ENOSPC, EMLINK, EIO, a racing EEXIST on a shared filesystem).
 * The VFS then updates its dentry cache. Filesystems never see path strings, only names:
 * non-empty, at most NAME_MAX bytes, no '/' or NUL, never "." or "..".
 *
 * Every operation returns a value or a `LinuxError`; throwing is a sentry bug.
 * Operations are async because some filesystems (gofer) answer over RPC; an in-memory
 * filesystem answers synchronously inside the promise.
 */
import type { LinuxError } from "@runsc-ts/abi";
import type { Credentials } from "../kernel/auth/credentials.js";
import type { Dentry } from "./dentry.js";
import type { DentryCache } from "./dentry-cache.js";
import type { FileDescriptionImpl } from "./file-description.js";
import type { VirtualDentry } from "./mount.js";
import type { SetStat, Statx } from "./stat.js";

/** statfs(2) results. */
export interface Statfs {
  type: number;
  blockSize: number;
  blocks: number;
  blocksFree: number;
  blocksAvailable: number;
  files: number;
  filesFree: number;
  nameLength: number;
  /** ST_* bits of the filesystem itself (the VFS adds the mount's). */
  flags: number;
}

/** Who is performing an operation, for the few filesystems whose answers depend on it. */
export interface Caller {
  readonly creds: Credentials;
  /** The calling thread group's pid and thread's tid in its PID namespace, when there is a task. */
  readonly pid?: number;
  readonly tid?: number;
}

/** The owner and mode of a file being created, decided by the VFS. */
export interface CreateAttrs {
  /** File type and permission bits, umask already applied. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** Flags that reach `Inode.open` (O_ACCMODE, O_TRUNC is handled by the VFS through setStat). */
export interface OpenOptions {
  readonly flags: number;
  /**
   * Where the file was opened, for implementations that need their own path (procfs). Absent
   * when a filesystem opens another filesystem's inode internally (overlay copy-up).
   */
  readonly vd?: VirtualDentry;
  readonly creds: Credentials;
  /** Interrupts a blocking open (a FIFO waiting for its peer). */
  readonly interrupter?: import("../kernel/waiter.js").Interrupter;
}

/**
 * One file in a filesystem. `mode`, `uid`, `gid` and `nlink` are readable synchronously
 * because path resolution checks search permission on every directory it walks; a filesystem
 * whose attributes live elsewhere (gofer) keeps them cached under its coherence rules.
 *
 * Directory operations are optional: a missing one means the inode cannot do it (the VFS
 * answers ENOTDIR for a lookup on a non-directory, EPERM for an unsupported creation, ...).
 */
export interface Inode {
  readonly fs: Filesystem;
  readonly ino: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;

  stat(): Promise<Statx | LinuxError>;
  /** Applies `attrs` (permission and ownership rules already checked by the VFS). */
  setStat(attrs: SetStat): Promise<void | LinuxError>;
  /** Opens the file; the VFS has checked permissions and the access mode. */
  open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError>;

  /** The child named `name`, or ENOENT. */
  lookup?(name: string): Promise<Inode | LinuxError>;
  /**
   * Optional batch lookup: the inodes of `names[0]`, `names[0]/names[1]`, ... as far as they
   * exist, stopping after a symlink or a non-directory (the result may be shorter than `names`,
   * even empty). Path resolution uses it to fill the dentry cache of an authoritative
   * filesystem in one round trip.
   */
  lookupChain?(names: readonly string[]): Promise<Inode[] | LinuxError>;
  /** Creates a regular file. */
  create?(name: string, attrs: CreateAttrs): Promise<Inode | LinuxError>;
  mkdir?(name: string, attrs: CreateAttrs): Promise<Inode | LinuxError>;
  /** Creates a device node, FIFO or socket (`attrs.mode` carries the type); `rdev` for devices. */
  mknod?(name: string, attrs: CreateAttrs, rdev: number): Promise<Inode | LinuxError>;
  symlink?(name: string, target: string, attrs: CreateAttrs): Promise<Inode | LinuxError>;
  /** Adds `name` as another link to `target` (a non-directory of this filesystem). */
  link?(name: string, target: Inode): Promise<void | LinuxError>;
  /** Removes the non-directory `child` named `name`. */
  unlink?(name: string, child: Inode): Promise<void | LinuxError>;
  /** Removes the directory `child` named `name`; ENOTEMPTY unless it is empty. */
  rmdir?(name: string, child: Inode): Promise<void | LinuxError>;
  /**
   * Moves `child` from `name` in this directory to `newName` in `newDir` (same filesystem),
   * replacing `replaced` if given (the VFS has checked type compatibility; the filesystem
   * checks that a replaced directory is empty). With `exchange`, swaps the two instead.
   */
  rename?(name: string, child: Inode, newDir: Inode, newName: string, replaced: Inode | undefined, exchange: boolean): Promise<void | LinuxError>;
  /** The symlink's target. `caller` is who asks (procfs's /proc/self depends on it). */
  readlink?(caller?: Caller): Promise<string | LinuxError>;
  /**
   * For "magic links" (/proc/[pid]/fd/N, cwd, root, exe): where following the link lands,
   * directly, without parsing a path — it works for deleted files and anonymous files such as
   * pipes. Resolution prefers this over `readlink` when present.
   */
  followLink?(caller: Caller): Promise<VirtualDentry | LinuxError>;
  /**
   * The VFS dropped a cached name of this inode: its dentry `name` in directory `dir` was
   * evicted from the dentry cache, or was unlinked or replaced and is no longer used. A
   * filesystem that holds a resource per name (the gofer's handle) releases it here; the inode
   * must still work if an operation already under way uses it afterwards. Synchronous.
   */
  evicted?(dir: Inode, name: string): void;

  getxattr?(name: string): Promise<Uint8Array | LinuxError>;
  setxattr?(name: string, value: Uint8Array, flags: number): Promise<void | LinuxError>;
  listxattr?(): Promise<string[] | LinuxError>;
  removexattr?(name: string): Promise<void | LinuxError>;
}

/** A mounted filesystem instance (Linux's super_block). */
export interface Filesystem {
  /** The type name as /proc/mounts shows it ("tmpfs", "overlay", ...). */
  readonly type: string;
  readonly devMajor: number;
  readonly devMinor: number;
  /** The root dentry; created with the filesystem and never evicted. */
  readonly root: Dentry;
  /**
   * Where unused dentries wait to be evicted (dentry.ts); absent for filesystems that never
   * evict (tmpfs, devfs, procfs, pipes: their dentries are the only record of their files, or
   * cost nothing outside the sentry).
   */
  readonly dentryCache?: DentryCache;
  statfs(): Promise<Statfs | LinuxError>;
  /**
   * Whether path resolution may trust the dentry cache without asking the filesystem again.
   * True for filesystems that own their data (tmpfs, devfs, overlay over them); the gofer
   * filesystem revalidates according to its coherence rules.
   */
  readonly cacheIsAuthoritative: boolean;
  /**
   * The name of a file that has no path at all (Linux's d_dname): pipes, eventfds and other
   * anonymous files show it in /proc/[pid]/fd instead of a path.
   */
  dname?(dentry: Dentry): string;
}

let nextAnonMinor = 1;

/** A fresh (major 0, minor n) device number for a filesystem with no backing device (get_anon_bdev). */
export function allocAnonDev(): { major: number; minor: number } {
  return { major: 0, minor: nextAnonMinor++ };
}
