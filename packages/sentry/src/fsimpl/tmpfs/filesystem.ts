/**
 * tmpfs: a filesystem whose files live in sentry memory. Every dentry of a tmpfs stays cached
 * (the dentry tree is a view of the directory tree), so `cacheIsAuthoritative` is true.
 */
import { S_IFDIR, S_ISVTX, type LinuxError } from "@runsc-ts/abi";
import { realtimeClock, type Clock } from "../../kernel/time.js";
import { TMPFS_MAGIC } from "../../vfs/constants.js";
import { Dentry } from "../../vfs/dentry.js";
import { DeviceRegistry } from "../../vfs/device.js";
import { allocAnonDev, type Filesystem, type Statfs } from "../../vfs/filesystem.js";
import { TmpDirectory } from "./directory.js";
import { PAGE_SIZE } from "./regular-file.js";

export interface TmpfsOptions {
  readonly clock?: Clock;
  /** Where opening a character device node is dispatched; a private empty registry by default. */
  readonly devices?: DeviceRegistry;
  /** Permission bits of the root directory (default 01777, like a fresh tmpfs mount). */
  readonly rootMode?: number;
  readonly rootUid?: number;
  readonly rootGid?: number;
  /** The size= mount option in bytes: file data beyond it is ENOSPC. Unlimited by default. */
  readonly maxBytes?: number;
}

export class TmpFilesystem implements Filesystem {
  readonly type = "tmpfs";
  readonly devMajor: number;
  readonly devMinor: number;
  readonly root: Dentry;
  readonly cacheIsAuthoritative = true;
  readonly clock: Clock;
  readonly devices: DeviceRegistry;
  private nextIno = 1;
  private usedPages = 0;
  private readonly maxPages: number;

  constructor(opts: TmpfsOptions = {}) {
    const dev = allocAnonDev();
    this.devMajor = dev.major;
    this.devMinor = dev.minor;
    this.clock = opts.clock ?? realtimeClock;
    this.devices = opts.devices ?? new DeviceRegistry();
    this.maxPages = opts.maxBytes === undefined ? Infinity : Math.floor(opts.maxBytes / PAGE_SIZE);
    const rootInode = new TmpDirectory(this, { mode: S_IFDIR | ((opts.rootMode ?? (0o777 | S_ISVTX)) & 0o7777), uid: opts.rootUid ?? 0, gid: opts.rootGid ?? 0 }, null);
    this.root = new Dentry(this, rootInode, "", null);
  }

  /** The root directory's inode. */
  get rootDir(): TmpDirectory {
    return this.root.inode as TmpDirectory;
  }

  allocIno(): number {
    return this.nextIno++;
  }

  /** Accounts `n` new data pages; false if the size limit would be exceeded. */
  reservePages(n: number): boolean {
    if (this.usedPages + n > this.maxPages) return false;
    this.usedPages += n;
    return true;
  }

  releasePages(n: number): void {
    this.usedPages -= n;
  }

  statfs(): Promise<Statfs | LinuxError> {
    const total = Number.isFinite(this.maxPages) ? this.maxPages : 0;
    const free = Number.isFinite(this.maxPages) ? this.maxPages - this.usedPages : 0;
    return Promise.resolve({
      type: TMPFS_MAGIC,
      blockSize: PAGE_SIZE,
      blocks: total,
      blocksFree: free,
      blocksAvailable: free,
      files: 0,
      filesFree: 0,
      nameLength: 255,
      flags: 0,
    });
  }
}
