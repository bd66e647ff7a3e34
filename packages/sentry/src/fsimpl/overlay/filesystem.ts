/**
 * overlay: a read-only lower filesystem under a writable upper one (a tmpfs by default) —
 * the root filesystem of `runsc-ts do`, where the host directory is the lower layer and
 * nothing the container writes reaches it.
 *
 * Model (Linux's overlayfs, simplified to one lower layer):
 *   - An `OverlayInode` pairs the upper and the lower inode found under the same name. A
 *     non-directory is whichever is topmost; a directory merges both unless the upper one is
 *     opaque.
 *   - Copy-up: the first change to a lower-only file (open for writing, truncate, chmod,
 *     chown, utimes, link, rename, creating a child in a lower directory) first copies it —
 *     and, recursively, its parent directories — into the upper layer, with its data, mode,
 *     owner and times.
 *   - Whiteouts: removing a name that exists in the lower layer leaves a character device
 *     0/0 of the same name in the upper layer, which hides it. A directory created where a
 *     whiteout was is marked opaque (xattr trusted.overlay.opaque = "y"), hiding the lower
 *     directory's old entries.
 *   - getdents merges: upper entries minus whiteouts, then lower entries not shadowed
 *     (unless opaque), snapshotted when a listing starts at offset 0.
 *   - Renaming a directory that has lower content is EXDEV (overlayfs without redirect_dir
 *     does the same; mv falls back to copying); RENAME_EXCHANGE is EXDEV too.
 *   - Eviction: when a layer evicts (a gofer lower layer), the overlay's own dentries are
 *     cached under the same bound, and evicting one tells the layers (`OverlayInode.evicted`),
 *     so the lower mount releases its gofer handle; the upper tmpfs keeps its files in its
 *     inodes, so a re-lookup finds the same upper file.
 *   - Inode numbers are stable across copy-up: 2·ino+1 of the lower inode when there is one,
 *     2·ino of the upper inode otherwise, reported identically by stat and getdents.
 *
 * The overlay calls the layers' inode operations directly (not through the VFS): the lower
 * layer is never written, and permission checks happen once, in the VFS, against the
 * overlay inode's attributes (which are those of the topmost inode).
 */
import type { Timespec } from "../../kernel/time.js";
import { S_IFDIR, isLinuxError, type LinuxError } from "@runsc-ts/abi";
import { OVERLAYFS_SUPER_MAGIC } from "../../vfs/constants.js";
import { Dentry } from "../../vfs/dentry.js";
import { DentryCache } from "../../vfs/dentry-cache.js";
import { allocAnonDev, type Filesystem, type Inode, type Statfs } from "../../vfs/filesystem.js";
import { TmpFilesystem } from "../tmpfs/filesystem.js";
import { OverlayInode } from "./inode.js";

export interface OverlayOptions {
  /** The read-only lower layer. */
  readonly lower: Filesystem;
  /** The writable upper layer; a fresh tmpfs by default. It must support xattrs and mknod. */
  readonly upper?: Filesystem;
  /**
   * Unused overlay dentries kept (vfs/dentry.ts) when a layer evicts: an overlay dentry holds
   * the layers' inodes, so the overlay must evict for the lower gofer mount to release its
   * handles. Default: the lower layer's bound (the upper's if only it evicts); no eviction
   * when neither layer evicts (tmpfs over tmpfs).
   */
  readonly maxCachedDentries?: number;
}

export class OverlayFilesystem implements Filesystem {
  readonly type = "overlay";
  readonly devMajor: number;
  readonly devMinor: number;
  readonly root: Dentry;
  readonly cacheIsAuthoritative: boolean;
  readonly dentryCache?: DentryCache;
  readonly lower: Filesystem;
  readonly upper: Filesystem;
  /** Inode numbers of upper inodes created by copy-up (they keep their lower number). */
  private readonly copiedUp = new WeakMap<Inode, number>();

  /** The upper root's ctime when the overlay was made (see the constructor). */
  readonly pristineRootCtime: Promise<Timespec | undefined>;

  constructor(opts: OverlayOptions) {
    const dev = allocAnonDev();
    this.devMajor = dev.major;
    this.devMinor = dev.minor;
    this.lower = opts.lower;
    // A fresh upper layer's root takes the lower root's permissions and owner (as a copy-up
    // would), so the merged root is not the world-writable root of an empty tmpfs.
    const lr = opts.lower.root.inode;
    this.upper = opts.upper ?? new TmpFilesystem({ rootMode: lr.mode & 0o7777, rootUid: lr.uid, rootGid: lr.gid });
    // Until something changes it, the merged root shows the lower root's attributes (size,
    // link count, times): an untouched root looks exactly like the host's.
    this.pristineRootCtime = this.upper.root.inode.stat().then((st) => (isLinuxError(st) ? undefined : st.ctime));
    this.cacheIsAuthoritative = this.lower.cacheIsAuthoritative && this.upper.cacheIsAuthoritative;
    const max = opts.maxCachedDentries ?? this.lower.dentryCache?.max ?? this.upper.dentryCache?.max;
    if (max !== undefined) this.dentryCache = new DentryCache(max);
    const upperRoot = this.upper.root.inode;
    const lowerRoot = this.lower.root.inode;
    if ((upperRoot.mode & S_IFDIR) === 0 || (lowerRoot.mode & S_IFDIR) === 0) throw new Error("overlay layers must have directory roots");
    this.root = new Dentry(this, new OverlayInode(this, null, "", upperRoot, lowerRoot), "", null);
  }

  /** The overlay inode number for a (upper, lower) pair: see the module comment. */
  inoFor(upper: Inode | undefined, lower: Inode | undefined): number {
    if (lower !== undefined) return lower.ino * 2 + 1;
    if (upper === undefined) throw new Error("overlay inode with no layer");
    return this.copiedUp.get(upper) ?? upper.ino * 2;
  }

  /** Records that `upper` was copied up from `lower`, so it keeps the lower-derived number. */
  noteCopyUp(upper: Inode, lower: Inode): void {
    this.copiedUp.set(upper, lower.ino * 2 + 1);
  }

  /**
   * Linux's overlayfs reports its upper layer. An upper layer without a size (the in-memory one
   * over a read-only root) reports no blocks, which `df` shows as an empty filesystem; then the
   * lower layer's sizes are reported instead, as a container's overlay on the host's disk shows
   * that disk. The flags are always the upper layer's (the overlay is writable).
   */
  async statfs(): Promise<Statfs | LinuxError> {
    const up = await this.upper.statfs();
    if (isLinuxError(up)) return up;
    if (up.blocks === 0) {
      const low = await this.lower.statfs();
      if (!isLinuxError(low)) return { ...low, type: OVERLAYFS_SUPER_MAGIC, flags: up.flags };
    }
    return { ...up, type: OVERLAYFS_SUPER_MAGIC };
  }
}
