import { describe, expect, it } from "vitest";
import { AT_FDCWD, O_RDONLY } from "@runsc-ts/abi";
import { TmpFilesystem } from "../fsimpl/tmpfs/filesystem.js";
import { Dentry } from "./dentry.js";
import { DentryCache, DEFAULT_MAX_CACHED_DENTRIES } from "./dentry-cache.js";
import type { Filesystem, Inode } from "./filesystem.js";
import { makeEnv, ok } from "./test-env.js";

/** A tmpfs whose dentries are cached (and evicted) under `max`, recording what inodes are told. */
function evictingTmpfs(max: number): { fs: Filesystem; told: string[] } {
  const told: string[] = [];
  const tmp = new TmpFilesystem();
  const cache = new DentryCache(max);
  const fs = new Proxy(tmp, { get: (t, k) => (k === "dentryCache" ? cache : Reflect.get(t, k, t) as unknown) });
  const root = new Dentry(fs, tmp.root.inode, "", null);
  Object.defineProperty(fs, "root", { value: root });
  const wrap = (inode: Inode): void => {
    Object.defineProperty(inode, "evicted", { value: (_d: Inode, name: string) => told.push(name), configurable: true });
  };
  const origAdd = Dentry.prototype.addChild;
  Object.defineProperty(root, "addChild", {
    value(this: Dentry, name: string, inode: Inode) {
      wrap(inode);
      return origAdd.call(this, name, inode);
    },
  });
  return { fs, told };
}

describe("DentryCache", () => {
  it("refuses a bound that is not a non-negative integer", () => {
    expect(() => new DentryCache(-1)).toThrow(RangeError);
    expect(() => new DentryCache(1.5)).toThrow(RangeError);
    expect(new DentryCache().max).toBe(DEFAULT_MAX_CACHED_DENTRIES);
  });

  it("evicts the least recently used unused dentry first, and a lookup hit makes it recent", async () => {
    const { fs, told } = evictingTmpfs(2);
    const env = makeEnv({ fs });
    for (const n of ["a", "b"]) ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, `/${n}`, 0o100644, 0));
    ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/a", 0)); // a is now more recent than b
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/c", 0o100644, 0));
    expect(told).toEqual(["b"]);
    expect([...fs.root.children.keys()].sort()).toEqual(["a", "c"]);
  });

  it("does not evict a dentry in use, and caches it once its last reference goes", async () => {
    const { fs, told } = evictingTmpfs(1);
    const env = makeEnv({ fs });
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/kept", 0o100644, 0));
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/kept", O_RDONLY));
    expect(f.vd.dentry.refCount).toBe(1);
    expect(fs.dentryCache?.has(f.vd.dentry)).toBe(false);
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/other", 0o100644, 0));
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/third", 0o100644, 0));
    expect(told).toEqual(["other"]);
    expect(fs.root.children.get("kept")).toBe(f.vd.dentry);
    f.decRef(); // kept is now the most recently used unused dentry: third goes
    expect(told).toEqual(["other", "third"]);
    expect([...fs.root.children.keys()]).toEqual(["kept"]);
    expect(() => f.vd.dentry.decRef()).toThrow(/without a reference/);
  });
});
