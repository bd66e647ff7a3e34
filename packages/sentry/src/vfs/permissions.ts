/**
 * Linux's discretionary access checks (fs/namei.c generic_permission, may_delete, and the
 * ownership rules of fs/attr.c setattr_prepare).
 */
import {
  CAP_CHOWN,
  CAP_DAC_OVERRIDE,
  CAP_DAC_READ_SEARCH,
  CAP_FOWNER,
  CAP_FSETID,
  EACCES,
  EPERM,
  S_ISGID,
  S_ISUID,
  S_ISVTX,
  S_IXGRP,
  S_IXOTH,
  S_IXUSR,
  type LinuxError,
} from "@runsc-ts/abi";
import type { Credentials } from "../kernel/auth/credentials.js";
import { MAY_EXEC, MAY_READ, MAY_WRITE } from "./constants.js";
import { isDir } from "./stat.js";

/** The attributes a permission check reads. */
export interface FileOwnership {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * generic_permission: whether `creds` may access a file with `attrs` for `want`
 * (MAY_READ | MAY_WRITE | MAY_EXEC). Owner bits if fsuid owns it, else group bits if in the
 * group, else other bits; then CAP_DAC_OVERRIDE (read/write anything; execute if any x bit is
 * set, search any directory) and CAP_DAC_READ_SEARCH (read anything, search directories).
 */
export function genericPermission(creds: Credentials, attrs: FileOwnership, want: number): void | LinuxError {
  const mode = attrs.mode;
  let bits: number;
  if (creds.fsuid === attrs.uid) bits = (mode >> 6) & 7;
  else if (creds.inGroup(attrs.gid)) bits = (mode >> 3) & 7;
  else bits = mode & 7;
  if ((want & ~bits & 7) === 0) return;

  const dir = isDir(mode);
  if (creds.hasCapability(CAP_DAC_OVERRIDE)) {
    if ((want & MAY_EXEC) === 0 || dir || (mode & (S_IXUSR | S_IXGRP | S_IXOTH)) !== 0) return;
  }
  if (creds.hasCapability(CAP_DAC_READ_SEARCH)) {
    const rest = want & ~MAY_READ & ~(dir ? MAY_EXEC : 0);
    if (rest === 0) return;
  }
  return EACCES;
}

/** Whether `creds` owns the file or has CAP_FOWNER (inode_owner_or_capable). */
export function isOwnerOrCapable(creds: Credentials, attrs: FileOwnership): boolean {
  return creds.fsuid === attrs.uid || creds.hasCapability(CAP_FOWNER);
}

/**
 * The sticky-directory rule of may_delete: in a directory with S_ISVTX, only the owner of the
 * victim, the owner of the directory, or a CAP_FOWNER holder may remove or rename it (EPERM).
 */
export function checkSticky(creds: Credentials, dir: FileOwnership, victim: FileOwnership): void | LinuxError {
  if ((dir.mode & S_ISVTX) === 0) return;
  if (creds.fsuid === victim.uid || creds.fsuid === dir.uid || creds.hasCapability(CAP_FOWNER)) return;
  return EPERM;
}

/** may_delete's permission part: write and search on the directory, then the sticky rule. */
export function mayDelete(creds: Credentials, dir: FileOwnership, victim: FileOwnership): void | LinuxError {
  const e = genericPermission(creds, dir, MAY_WRITE | MAY_EXEC);
  if (e !== undefined) return e;
  return checkSticky(creds, dir, victim);
}

/**
 * chmod's rule: only the owner or CAP_FOWNER (EPERM). Returns the mode to store: S_ISGID is
 * dropped when the caller is not in the file's group and lacks CAP_FSETID.
 */
export function checkChmod(creds: Credentials, attrs: FileOwnership, mode: number): number | LinuxError {
  if (!isOwnerOrCapable(creds, attrs)) return EPERM;
  let m = mode & 0o7777;
  if ((m & S_ISGID) !== 0 && !creds.inGroup(attrs.gid) && !creds.hasCapability(CAP_FSETID)) m &= ~S_ISGID;
  return m;
}

/**
 * chown's rule: changing the owner needs CAP_CHOWN; changing the group needs CAP_CHOWN, or
 * ownership of the file and membership of the new group. "No change" is always allowed to the
 * owner (and to CAP_CHOWN).
 */
export function checkChown(creds: Credentials, attrs: FileOwnership, uid: number | undefined, gid: number | undefined): void | LinuxError {
  const chown = creds.hasCapability(CAP_CHOWN);
  const owner = creds.fsuid === attrs.uid;
  if (uid !== undefined && !chown && !(owner && uid === attrs.uid)) return EPERM;
  if (gid !== undefined && !chown && !(owner && (gid === attrs.gid || creds.inGroup(gid)))) return EPERM;
}

/**
 * The set-id bits a write or truncate by `creds` must clear from a file (file_remove_privs):
 * S_ISUID, and S_ISGID when group-executable (without group-exec it marks mandatory locking),
 * unless the writer has CAP_FSETID. 0 when nothing needs clearing.
 */
export function privilegeBitsToClear(creds: Credentials, mode: number): number {
  let kill = mode & S_ISUID;
  if ((mode & S_ISGID) !== 0 && (mode & S_IXGRP) !== 0) kill |= S_ISGID;
  if (kill === 0 || creds.hasCapability(CAP_FSETID)) return 0;
  return kill;
}

/**
 * utimensat's rule: setting explicit times needs ownership or CAP_FOWNER (EPERM); setting
 * both to "now" also works with write permission (EACCES).
 */
export function checkUtimes(creds: Credentials, attrs: FileOwnership, explicit: boolean): void | LinuxError {
  if (isOwnerOrCapable(creds, attrs)) return;
  if (explicit) return EPERM;
  return genericPermission(creds, attrs, MAY_WRITE);
}
