/**
 * Values the VFS needs that @runsc-ts/abi does not generate yet.
 *
 * - Kernel-internal values (never part of the user ABI): `MAY_*`, `MAXSYMLINKS`.
 * - User ABI values whose headers are not yet in tools/gen-abi's spec: linux/close_range.h,
 *   linux/magic.h and the `DT_*`/`ST_*` groups. They are listed here, each with its header, until
 *   the abi generator learns those groups (then this file re-exports abi's names). Everything
 *   that can be derived from generated constants is derived instead (DT_* from S_IF*).
 */
import { S_IFMT } from "@runsc-ts/abi";

/** Permission bits asked of generic_permission (include/linux/fs.h, kernel-internal). */
export const MAY_EXEC = 0x1;
export const MAY_WRITE = 0x2;
export const MAY_READ = 0x4;

/** Symlinks followed during one path resolution before ELOOP (include/linux/namei.h). */
export const MAXSYMLINKS = 40;

/** linux/close_range.h (not yet generated into abi). */
export const CLOSE_RANGE_UNSHARE = 1 << 1;
export const CLOSE_RANGE_CLOEXEC = 1 << 2;

/** linux/magic.h f_type values (not yet generated into abi). */
export const TMPFS_MAGIC = 0x01021994;
export const PROC_SUPER_MAGIC = 0x9fa0;
export const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
export const PIPEFS_MAGIC = 0x50495045;

/** statfs f_flags (ST_RDONLY etc., linux/statfs.h is kernel-internal; glibc's sys/statvfs.h). */
export const ST_RDONLY = 0x0001;
export const ST_NOSUID = 0x0002;
export const ST_NODEV = 0x0004;
export const ST_NOEXEC = 0x0008;

/** d_type for a file mode: Linux's IFTODT, `(mode & S_IFMT) >> 12` (DT_REG = 8, DT_DIR = 4, ...). */
export function modeToDirentType(mode: number): number {
  return (mode & S_IFMT) >>> 12;
}

/** Linux's new_encode_dev / MKDEV for the 32-bit dev_t user space sees. */
export function makeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

export function devMajor(dev: number): number {
  return (dev >>> 8) & 0xfff;
}

export function devMinor(dev: number): number {
  return ((dev & 0xff) | ((dev >>> 12) & 0xfff00)) >>> 0;
}

/** O_ASYNC (asm-generic/fcntl.h calls it FASYNC; not yet generated into abi). */
export const FASYNC = 0o20000;
