/**
 * In-memory inode attributes for filesystems that own their metadata (tmpfs, devfs, pipefs,
 * procfs): mode, owner, link count, times, and the statx they produce. A filesystem's inode
 * class holds one `InodeAttrs` and delegates `stat`/`setStat` bookkeeping to it.
 */
import { S_IFMT, STATX_BASIC_STATS, STATX_BTIME } from "@runsc-ts/abi";
import type { Clock, Timespec } from "../kernel/time.js";
import type { Statx, SetStat, TimeSetting } from "./stat.js";

export class InodeAttrs {
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  readonly btime: Timespec;

  constructor(readonly clock: Clock, mode: number, uid: number, gid: number, nlink = 1) {
    this.mode = mode;
    this.uid = uid;
    this.gid = gid;
    this.nlink = nlink;
    const now = clock.now();
    this.atime = this.mtime = this.ctime = this.btime = now;
  }

  /** Marks a content change (write, truncate, directory entry added or removed). */
  touchModify(): void {
    this.mtime = this.ctime = this.clock.now();
  }

  /** Marks a metadata change (chmod, chown, link count). */
  touchChange(): void {
    this.ctime = this.clock.now();
  }

  /** Applies mode/owner/time changes (size is the filesystem's business). */
  apply(attrs: SetStat): void {
    const now = this.clock.now();
    const time = (t: TimeSetting): Timespec => (t === "now" ? now : t);
    if (attrs.mode !== undefined) this.mode = (this.mode & S_IFMT) | (attrs.mode & 0o7777);
    if (attrs.uid !== undefined) this.uid = attrs.uid;
    if (attrs.gid !== undefined) this.gid = attrs.gid;
    if (attrs.atime !== undefined) this.atime = time(attrs.atime);
    if (attrs.mtime !== undefined) this.mtime = time(attrs.mtime);
    this.ctime = now;
  }

  /** A statx of these attributes; the caller fills in size, blocks, rdev. */
  statx(ino: number, devMajor: number, devMinor: number): Statx {
    return {
      mask: STATX_BASIC_STATS | STATX_BTIME,
      blksize: 4096,
      nlink: this.nlink,
      uid: this.uid,
      gid: this.gid,
      mode: this.mode,
      ino,
      size: 0,
      blocks: 0,
      atime: this.atime,
      btime: this.btime,
      ctime: this.ctime,
      mtime: this.mtime,
      rdevMajor: 0,
      rdevMinor: 0,
      devMajor,
      devMinor,
      mntId: 0,
      attributes: 0,
    };
  }
}
