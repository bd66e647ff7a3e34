/**
 * The LRU of a filesystem's unused dentries (see dentry.ts for what "unused" means), bounded
 * by `max`: gVisor's gofer `cachedDentries` / `maxCachedDentries`, Linux's per-superblock
 * dentry LRU with a fixed size instead of memory-pressure shrinking.
 *
 * A `Map` keeps insertion order, so re-inserting a key makes it the most recently used and the
 * first key is the least recently used. Everything here is synchronous: eviction happens inside
 * the VFS operation that pushed the cache past its bound, between awaits.
 */
import type { Dentry } from "./dentry.js";

/** Unused dentries a filesystem keeps by default (gVisor's default is 1000 too). */
export const DEFAULT_MAX_CACHED_DENTRIES = 1000;

export class DentryCache {
  private readonly lru = new Map<Dentry, true>();
  /** How many dentries this cache has evicted (for tests and statistics). */
  evictions = 0;

  /** @param max how many unused dentries to keep (0: evict as soon as unused). */
  constructor(readonly max: number = DEFAULT_MAX_CACHED_DENTRIES) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`dentry cache bound must be a non-negative integer, got ${max}`);
  }

  /** Unused dentries currently cached. */
  get size(): number {
    return this.lru.size;
  }

  /** Whether `d` is on the LRU. */
  has(d: Dentry): boolean {
    return this.lru.has(d);
  }

  /** Files `d` according to its state: on the LRU (most recent) when unused and attached, else off it. */
  update(d: Dentry): void {
    this.lru.delete(d);
    if (!d.unused || d.dead || d.evicted) return;
    this.lru.set(d, true);
    this.trim();
  }

  /** A use of `d`: if it is on the LRU, it becomes the most recently used. */
  touch(d: Dentry): void {
    if (this.lru.delete(d)) this.lru.set(d, true);
  }

  /** Evicts least recently used dentries until at most `max` remain. */
  private trim(): void {
    while (this.lru.size > this.max) {
      const oldest = this.lru.keys().next().value as Dentry;
      this.lru.delete(oldest);
      this.evictions++;
      oldest.evict();
    }
  }
}
