/**
 * Dentries: the VFS's cache of names. A `Dentry` binds a name in a parent directory to an
 * `Inode`. Hard links give an inode several dentries; a bind mount reuses a filesystem's
 * dentries under another mount (so "where a file is" is a `VirtualDentry`: mount + dentry).
 *
 * Each filesystem has its own tree of dentries rooted at `fs.root`. The tree holds only
 * positive dentries. Children are filled in by lookups and kept in step by the VFS's
 * mutating operations (create, unlink, rename).
 *
 * References and eviction (Linux's dcache, gVisor's gofer `cachedDentries`): a dentry is *in
 * use* while something holds it — `refs` counts open file descriptions, task roots and working
 * directories and mounts whose root it is — or while it is a mount point, or has cached
 * children (a child pins its parent), or is its filesystem's root. A filesystem with a
 * `dentryCache` (the gofer filesystem, and an overlay over one) keeps its dentries that are not
 * in use on that LRU; past the cache's bound the least recently used is evicted: dropped from
 * its parent and its inode told (`Inode.evicted`), which lets the gofer filesystem release the
 * gofer's handle (a host FD in the gofer). Its parent may then become unused in turn. A later
 * lookup of the name finds the file again. Filesystems without a cache (tmpfs, devfs, procfs)
 * never evict: for tmpfs the dentries are part of the data.
 *
 * A dentry that is dead (unlinked, replaced) or evicted is *detached*: it is never found by
 * lookup again, and when it stops being in use its inode is told at once instead of it being
 * cached.
 *
 * Ownership: dentries belong to the VFS; only vfs.ts, resolve.ts and mount.ts mutate them,
 * never across an `await` without re-reading the state they depend on.
 */
import type { DentryCache } from "./dentry-cache.js";
import type { Filesystem, Inode } from "./filesystem.js";

export class Dentry {
  /** The cached children by name (positive dentries only). Mutate only through the methods below. */
  readonly children = new Map<string, Dentry>();
  /** How many mounts have this dentry as their mount point (in any namespace). */
  private mounts = 0;
  /** Holders: open file descriptions, task roots and cwds, mounts rooted here. */
  private refs = 0;
  /** Set when the name was unlinked or replaced; a dead dentry is never found by lookup again. */
  dead = false;
  /** Set when the cache evicted this dentry (it left its parent's children). */
  evicted = false;

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

  get mountCount(): number {
    return this.mounts;
  }

  get refCount(): number {
    return this.refs;
  }

  /** Whether nothing uses this dentry (see the module comment). */
  get unused(): boolean {
    return this.refs === 0 && this.mounts === 0 && this.children.size === 0 && this.parent !== null;
  }

  private get cache(): DentryCache | undefined {
    return this.fs.dentryCache;
  }

  /** Takes a reference (an open file, a cwd or root, a mount's root). */
  incRef(): void {
    this.refs++;
    this.refile();
  }

  /** Drops a reference taken with `incRef`. */
  decRef(): void {
    if (this.refs <= 0) throw new Error("dentry decRef without a reference");
    this.refs--;
    this.refile();
  }

  /** One more (or, with -1, one fewer) mount has this dentry as its mount point. */
  addMount(delta: 1 | -1): void {
    this.mounts += delta;
    if (this.mounts < 0) throw new Error("dentry mount count below zero");
    this.refile();
  }

  /** Marks a use of the dentry (a lookup hit): it becomes the most recently used. */
  touch(): void {
    this.cache?.touch(this);
  }

  /**
   * Re-files the dentry after a change of its use (callers that batch changes call it once at
   * the end): an attached unused dentry goes on the
   * LRU; a detached one tells its inode it is gone.
   */
  refile(): void {
    const detached = this.dead || this.evicted; // (an eviction inside update() tells the inode itself)
    this.cache?.update(this);
    if (detached && this.unused) this.forget();
  }

  /** Tells the inode that this name's cached reference is gone (safe to call more than once). */
  forget(): void {
    const p = this.parent;
    if (p !== null) this.inode.evicted?.(p.inode, this.name);
  }

  /** Whether `this` is `other` or one of its descendants. */
  isDescendantOf(other: Dentry): boolean {
    if (this === other) return true;
    for (let d = this.parent; d !== null; d = d.parent) if (d === other) return true;
    return false;
  }

  /** A new child dentry in the cache (replacing any stale entry of the same name). */
  addChild(name: string, inode: Inode): Dentry {
    const d = new Dentry(this.fs, inode, name, this);
    this.attachChild(name, d);
    return d;
  }

  /** Puts `d` in the cache as child `name` (any previous entry there dies). */
  attachChild(name: string, d: Dentry): void {
    const old = this.children.get(name);
    this.children.set(name, d);
    d.name = name;
    d.parent = this;
    if (old !== undefined && old !== d) {
      old.dead = true;
      old.refile();
    }
    this.refile();
    d.refile();
  }

  /**
   * Takes child `name` out of the cache without killing it (rename moves it elsewhere). With
   * `refile` false the caller re-files this dentry itself once it is done.
   */
  detachChild(name: string, refile = true): Dentry | undefined {
    const d = this.children.get(name);
    if (d === undefined) return undefined;
    this.children.delete(name);
    if (refile) this.refile();
    return d;
  }

  /** Drops `name` from the cache, marking its dentry dead. */
  removeChild(name: string): void {
    const d = this.detachChild(name);
    if (d === undefined) return;
    d.dead = true;
    d.refile();
  }

  /**
   * Evicts this unused dentry (the cache calls this for its least recently used): it leaves
   * its parent, its inode is told, and the parent may become unused in turn.
   * Preconditions: `unused`, not detached.
   */
  evict(): void {
    const p = this.parent;
    if (p === null) return;
    this.evicted = true;
    this.cache?.update(this);
    if (p.children.get(this.name) === this) p.children.delete(this.name);
    this.forget();
    p.refile();
  }
}
