/**
 * Dentries: the VFS's cache of names. A `Dentry` binds a name in a parent directory to an
 * `Inode`. Hard links give an inode several dentries; a bind mount reuses a filesystem's
 * dentries under another mount (so "where a file is" is a `VirtualDentry`: mount + dentry).
 *
 * Each filesystem has its own tree of dentries rooted at `fs.root`. The tree holds only
 * positive dentries. Children are filled in by lookups and kept in step by the VFS's
 * mutating operations (create, unlink, rename). Eviction of unused dentries is not
 * implemented: tmpfs-like filesystems need every dentry anyway; the gofer filesystem will add
 * an LRU of unreferenced leaves.
 *
 * Ownership: dentries belong to the VFS; only vfs.ts and resolve.ts mutate them, never across
 * an `await` without re-reading the state they depend on.
 */
import type { Filesystem, Inode } from "./filesystem.js";

export class Dentry {
  /** The cached children by name (positive dentries only). */
  readonly children = new Map<string, Dentry>();
  /** How many mounts have this dentry as their mount point (in any namespace). */
  mountCount = 0;
  /** Set when the name was unlinked or replaced; a dead dentry is never found by lookup again. */
  dead = false;

  constructor(
    readonly fs: Filesystem,
    public inode: Inode,
    public name: string,
    public parent: Dentry | null,
  ) {}

  /** Whether this is its filesystem's root. */
  get isRoot(): boolean {
    return this.parent === null;
  }

  /** Whether `this` is `other` or one of its descendants. */
  isDescendantOf(other: Dentry): boolean {
    if (this === other) return true;
    for (let d = this.parent; d !== null; d = d.parent) if (d === other) return true;
    return false;
  }

  /** A new child dentry in the cache (replacing any stale entry of the same name). */
  addChild(name: string, inode: Inode): Dentry {
    const old = this.children.get(name);
    if (old !== undefined) old.dead = true;
    const d = new Dentry(this.fs, inode, name, this);
    this.children.set(name, d);
    return d;
  }

  /** Drops `name` from the cache, marking its dentry dead. */
  removeChild(name: string): void {
    const d = this.children.get(name);
    if (d === undefined) return;
    d.dead = true;
    this.children.delete(name);
  }
}
