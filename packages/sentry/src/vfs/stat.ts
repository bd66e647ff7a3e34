/**
 * File attributes as the VFS passes them around: `Statx` (what stat/statx report) and
 * `SetStat` (what chmod/chown/truncate/utimensat change), plus conversions to the ABI structs.
 */
import {
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type StructInput,
  type statx as statxLayout,
  type stat as statLayout,
} from "@runsc-ts/abi";
import type { Timespec } from "../kernel/time.js";

export type { Timespec } from "../kernel/time.js";

/** The attributes of a file, as statx(2) reports them. `size`/`blocks` are byte and 512-byte counts. */
export interface Statx {
  /** STATX_* bits for the fields that are filled in. */
  mask: number;
  blksize: number;
  nlink: number;
  uid: number;
  gid: number;
  /** File type and permission bits. */
  mode: number;
  ino: number;
  size: number;
  blocks: number;
  atime: Timespec;
  btime: Timespec;
  ctime: Timespec;
  mtime: Timespec;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
  mntId: number;
  /** STATX_ATTR_* bits. */
  attributes: number;
}

/** A requested time: an explicit value, or the current time (UTIME_NOW). Absent = UTIME_OMIT. */
export type TimeSetting = Timespec | "now";

/** The attributes setattr changes; absent fields are left alone. */
export interface SetStat {
  /** Permission bits (07777); the file type never changes. */
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: TimeSetting;
  mtime?: TimeSetting;
}

export function isDir(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}

export function isReg(mode: number): boolean {
  return (mode & S_IFMT) === S_IFREG;
}

export function isSymlink(mode: number): boolean {
  return (mode & S_IFMT) === S_IFLNK;
}

export function fileType(mode: number): number {
  return mode & S_IFMT;
}

function ts(t: Timespec): { tv_sec: number; tv_nsec: number } {
  return { tv_sec: t.sec, tv_nsec: t.nsec };
}

/** The struct statx record for `s` (writeStruct(statx, buf, toStatxStruct(s))). */
export function toStatxStruct(s: Statx): StructInput<typeof statxLayout> {
  return {
    stx_mask: s.mask,
    stx_blksize: s.blksize,
    stx_attributes: s.attributes,
    stx_nlink: s.nlink,
    stx_uid: s.uid,
    stx_gid: s.gid,
    stx_mode: s.mode,
    stx_ino: s.ino,
    stx_size: s.size,
    stx_blocks: s.blocks,
    stx_atime: ts(s.atime),
    stx_btime: ts(s.btime),
    stx_ctime: ts(s.ctime),
    stx_mtime: ts(s.mtime),
    stx_rdev_major: s.rdevMajor,
    stx_rdev_minor: s.rdevMinor,
    stx_dev_major: s.devMajor,
    stx_dev_minor: s.devMinor,
    stx_mnt_id: s.mntId,
  };
}

/** The x86-64 struct stat record for `s`. */
export function toStatStruct(s: Statx): StructInput<typeof statLayout> {
  const dev = (major: number, minor: number): bigint =>
    (BigInt(minor & 0xff) | (BigInt(major & 0xfff) << 8n) | (BigInt(minor & ~0xff) << 12n) | (BigInt(major & ~0xfff) << 32n));
  return {
    st_dev: dev(s.devMajor, s.devMinor),
    st_ino: s.ino,
    st_nlink: s.nlink,
    st_mode: s.mode,
    st_uid: s.uid,
    st_gid: s.gid,
    st_rdev: dev(s.rdevMajor, s.rdevMinor),
    st_size: s.size,
    st_blksize: s.blksize,
    st_blocks: s.blocks,
    st_atime: s.atime.sec,
    st_atime_nsec: s.atime.nsec,
    st_mtime: s.mtime.sec,
    st_mtime_nsec: s.mtime.nsec,
    st_ctime: s.ctime.sec,
    st_ctime_nsec: s.ctime.nsec,
  };
}
