/**
 * Names and walks: the only place the gofer resolves anything, one component at a time.
 *
 * A name from the sentry is one path component as raw bytes. It is refused (EINVAL) when it is
 * empty, ".", "..", or contains "/" or NUL, and ENAMETOOLONG past NAME_MAX bytes: the sentry
 * resolves ".." itself (so ".." never leaves the mount root) and a name can never be a path.
 *
 * Each component is opened relative to the previous descriptor with
 * `openat2(O_PATH | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)`
 * (plain `openat(O_PATH | O_NOFOLLOW)` where the kernel lacks openat2): a symlink, magic or not,
 * is opened as the link itself and the walk stops *at* it; the sentry reads it and walks again.
 */
import {
  EINVAL,
  ENAMETOOLONG,
  ENOENT,
  ENOSYS,
  ENOTDIR,
  NAME_MAX,
  O_NOFOLLOW,
  O_PATH,
  RESOLVE_BENEATH,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  S_IFDIR,
  S_IFLNK,
  type LinuxError,
} from "@runsc-ts/abi";
import { native } from "@runsc-ts/platform";
import { gofer } from "@runsc-ts/proto";
import { fail, isErrno } from "./errno.js";
import { HostNode } from "./node.js";
import { type HostStat, statFd } from "./stat.js";

/** The most names one walk may carry (gofer.capnp: each costs the gofer a host FD). */
export const MAX_WALK_NAMES = 256;

const SLASH = 0x2f;
const DOT = 0x2e;

/** Why a name is refused, or undefined if it is one valid component. */
export function checkName(name: Uint8Array): LinuxError | undefined {
  const n = name.length;
  if (n === 0) return EINVAL;
  if (n > NAME_MAX) return ENAMETOOLONG;
  if (name[0] === DOT && (n === 1 || (n === 2 && name[1] === DOT))) return EINVAL;
  for (let i = 0; i < n; i++) {
    const b = name[i];
    if (b === 0 || b === SLASH) return EINVAL;
  }
  return undefined;
}

/** Throws the refusal of checkName. */
export function requireName(name: Uint8Array): void {
  const e = checkName(name);
  if (e !== undefined) fail(e);
}

const WALK_RESOLVE = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
let haveOpenat2 = true;

/**
 * Opens one component `name` (already checked) under directory `dirFd` as an O_PATH handle on
 * the file itself (a symlink is not followed). Throws the host's error (ENOENT, ENOTDIR, ...).
 */
export function openComponent(dirFd: number, name: Uint8Array): number {
  if (haveOpenat2) {
    try {
      return native.openat2(dirFd, name, O_PATH | O_NOFOLLOW, 0, WALK_RESOLVE);
    } catch (e) {
      if (!isErrno(e, ENOSYS)) throw e;
      haveOpenat2 = false;
    }
  }
  return native.openat(dirFd, name, O_PATH | O_NOFOLLOW, 0);
}

/** One step of a walk: an open handle and its stat. */
export interface WalkStep {
  readonly node: HostNode;
  readonly stat: HostStat;
}

export interface WalkResult {
  readonly status: gofer.WalkStatus;
  readonly steps: WalkStep[];
}

/** Reads and checks the names of a walk request. */
export function walkNames(list: { length: number; get(i: number): { toUint8Array(): Uint8Array } }, allowEmpty: boolean): Uint8Array[] {
  const n = list.length;
  if (n > MAX_WALK_NAMES || (n === 0 && !allowEmpty)) fail(EINVAL);
  const names: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const name = list.get(i).toUint8Array().slice();
    requireName(name);
    names.push(name);
  }
  return names;
}

/**
 * Walks `names` from `start` (a directory), creating a handle per component reached. On a host
 * failure other than a missing name, closes what it opened and throws.
 */
export function walk(start: HostNode, names: readonly Uint8Array[]): WalkResult {
  if (!start.isDirectory) fail(ENOTDIR);
  const steps: WalkStep[] = [];
  let status: gofer.WalkStatus = gofer.WalkStatus.COMPLETE;
  try {
    let dir = start;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as Uint8Array;
      let fd: number;
      try {
        fd = openComponent(dir.fd, name);
      } catch (e) {
        if (isErrno(e, ENOENT)) {
          status = gofer.WalkStatus.MISSING;
          break;
        }
        throw e;
      }
      let stat: HostStat;
      try {
        stat = statFd(fd);
      } catch (e) {
        native.close(fd);
        throw e;
      }
      const node = new HostNode(start.table, fd, stat, dir, name);
      steps.push({ node, stat });
      if (stat.type === S_IFLNK) {
        status = gofer.WalkStatus.SYMLINK;
        break;
      }
      if (stat.type !== S_IFDIR && i < names.length - 1) {
        status = gofer.WalkStatus.NOT_DIRECTORY;
        break;
      }
      dir = node;
    }
  } catch (e) {
    for (const s of steps.reverse()) s.node.unref();
    throw e;
  }
  return { status, steps };
}

/**
 * The same walk, keeping only stats: intermediate descriptors are closed before returning.
 */
export function walkStat(start: HostNode, names: readonly Uint8Array[]): { status: gofer.WalkStatus; stats: HostStat[] } {
  if (!start.isDirectory) fail(ENOTDIR);
  const stats: HostStat[] = [];
  const opened: number[] = [];
  let status: gofer.WalkStatus = gofer.WalkStatus.COMPLETE;
  try {
    let dirFd = start.fd;
    for (let i = 0; i < names.length; i++) {
      let fd: number;
      try {
        fd = openComponent(dirFd, names[i] as Uint8Array);
      } catch (e) {
        if (isErrno(e, ENOENT)) {
          status = gofer.WalkStatus.MISSING;
          break;
        }
        throw e;
      }
      opened.push(fd);
      const stat = statFd(fd);
      stats.push(stat);
      if (stat.type === S_IFLNK) {
        status = gofer.WalkStatus.SYMLINK;
        break;
      }
      if (stat.type !== S_IFDIR && i < names.length - 1) {
        status = gofer.WalkStatus.NOT_DIRECTORY;
        break;
      }
      dirFd = fd;
    }
  } finally {
    for (const fd of opened) native.close(fd);
  }
  return { status, stats };
}
