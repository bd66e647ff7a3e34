/**
 * Linux path resolution (fs/namei.c), component by component over the dentry cache.
 *
 * Rules implemented (each has a test in resolve.test.ts):
 *   - absolute paths start at the task's root, relative ones at the start directory (cwd or a
 *     dirfd, chosen by the caller); empty components ("a//b") are skipped;
 *   - search permission (MAY_EXEC) on every directory a component is looked up in, including
 *     for "." and ".." (may_lookup);
 *   - ".." never leaves the task's root; at a mount's root it crosses to the mount point first,
 *     repeatedly; at the namespace root it stays; the result is followed down through mounts;
 *   - every looked-up dentry is followed down through the mounts stacked on it (topmost wins);
 *   - a symlink that is not the final component is always followed; the final one only when
 *     asked (no AT_SYMLINK_NOFOLLOW / O_NOFOLLOW) or when the path ends in '/'; at most
 *     MAXSYMLINKS (40) per resolution, then ELOOP; an empty target is ENOENT; an absolute
 *     target restarts at the root;
 *   - a non-directory with components after it is ENOTDIR, and so is a non-directory final
 *     component followed by '/';
 *   - a path of PATH_MAX (4096) bytes or more, or a component longer than NAME_MAX (255), is
 *     ENAMETOOLONG; an empty path is ENOENT (the caller handles AT_EMPTY_PATH first); a NUL
 *     byte or a character above U+00FF (paths are byte strings, one byte per UTF-16 unit) is
 *     EINVAL.
 *
 * Concurrency: resolution awaits filesystem lookups. Between awaits the tree may change; each
 * step re-reads the cache after its await and never holds a dentry's state across one.
 */
import {
  EINVAL,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  NAME_MAX,
  PATH_MAX,
  isLinuxError,
  type LinuxError,
} from "@runsc-ts/abi";
import type { Credentials } from "../kernel/auth/credentials.js";
import { MAXSYMLINKS, MAY_EXEC } from "./constants.js";
import type { Dentry } from "./dentry.js";
import type { Caller, Inode } from "./filesystem.js";
import type { VirtualDentry } from "./mount.js";
import { genericPermission } from "./permissions.js";
import { isDir, isSymlink } from "./stat.js";

export interface ResolveContext extends Caller {
  readonly creds: Credentials;
  /** The task's root directory (chroot). */
  readonly root: VirtualDentry;
}

/** How the last component of a path parsed (Linux's LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT). */
export type LastType = "norm" | "dot" | "dotdot" | "root";

export interface ParentResolution {
  /** The directory holding the last component. */
  readonly parent: VirtualDentry;
  /** The last component ("" for "/"). */
  readonly name: string;
  readonly type: LastType;
  /** Whether the path ends in '/'. */
  readonly trailingSlash: boolean;
}

export type Resolution =
  | { readonly found: true; readonly vd: VirtualDentry }
  /** The final component does not exist (only with allowMissing): where it would be created. */
  | { readonly found: false; readonly parent: VirtualDentry; readonly name: string; readonly trailingSlash: boolean };

export interface ResolveOptions {
  /** Follow a symlink in the final component. */
  readonly followFinal: boolean;
  /** Report a missing final component instead of ENOENT. */
  readonly allowMissing?: boolean;
}

interface Component {
  readonly name: string;
  /** Followed by '/': must resolve to a directory. */
  readonly slash: boolean;
  /** The final component of the whole resolution. */
  readonly last: boolean;
}

/** Checks a path string before resolution: NUL, non-byte characters, length. */
export function validatePath(path: string): void | LinuxError {
  if (path.length >= PATH_MAX) return ENAMETOOLONG;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0 || c > 0xff) return EINVAL;
  }
}

/** Checks one name for a filesystem operation: non-empty, ≤ NAME_MAX, no '/' or NUL. */
export function validateName(name: string): void | LinuxError {
  if (name.length > NAME_MAX) return ENAMETOOLONG;
  if (name.length === 0 || name === "." || name === "..") return EINVAL;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0 || c === 0x2f || c > 0xff) return EINVAL;
  }
}

/** Splits `path` into components; `last` marks the final one. */
function split(path: string, lastIsFinal: boolean): Component[] {
  const parts = path.split("/");
  const out: Component[] = [];
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i] as string;
    if (name === "") continue;
    out.push({ name, slash: i < parts.length - 1, last: false });
  }
  if (out.length > 0 && lastIsFinal) {
    const l = out[out.length - 1] as Component;
    out[out.length - 1] = { ...l, last: true };
  }
  return out;
}

/** Follows `vd` down through the mounts stacked on it. */
export function followMounts(vd: VirtualDentry): VirtualDentry {
  let cur = vd;
  for (;;) {
    const ns = cur.mount.namespace;
    if (ns === null || cur.dentry.mountCount === 0) return cur;
    const m = ns.mountAt(cur.mount, cur.dentry);
    if (m === undefined) return cur;
    cur = m.rootVd();
  }
}

function sameVd(a: VirtualDentry, b: VirtualDentry): boolean {
  return a.mount === b.mount && a.dentry === b.dentry;
}

/** The parent of `vd` for "..": bounded by the task root, crossing mount roots upwards. */
export function dotdot(root: VirtualDentry, vd: VirtualDentry): VirtualDentry {
  let cur = vd;
  for (;;) {
    if (sameVd(cur, root)) return cur;
    if (cur.dentry !== cur.mount.root) break;
    const parent = cur.mount.parent;
    const mp = cur.mount.mountpoint;
    if (parent === null || mp === null) return cur; // the namespace root
    cur = { mount: parent, dentry: mp };
  }
  const p = cur.dentry.parent;
  if (p === null) return cur;
  return followMounts({ mount: cur.mount, dentry: p });
}

/**
 * The cached or freshly looked-up child `name` of directory `dir` (no permission check, no
 * mount crossing). ENOENT if it does not exist.
 */
export async function lookupChild(dir: Dentry, name: string): Promise<Dentry | LinuxError> {
  if (name.length > NAME_MAX) return ENAMETOOLONG;
  const cached = dir.children.get(name);
  // A filesystem that does not own its data (procfs, gofer) is asked again on every lookup;
  // mount points are pinned regardless.
  if (cached !== undefined && (dir.fs.cacheIsAuthoritative || cached.mountCount > 0)) {
    cached.touch();
    return cached;
  }
  if (dir.dead) return ENOENT;
  const inode = dir.inode;
  if (inode.lookup === undefined) return ENOTDIR;
  const r = await inode.lookup(name);
  const again = dir.children.get(name); // the cache may have changed while we awaited
  if (isLinuxError(r)) {
    if (r === ENOENT && again !== undefined && again.mountCount === 0 && !dir.fs.cacheIsAuthoritative) dir.removeChild(name);
    return r;
  }
  if (again !== undefined && (again.inode === r || dir.fs.cacheIsAuthoritative || again.mountCount > 0)) {
    again.touch();
    return again;
  }
  if (dir.dead) return ENOENT;
  return dir.addChild(name, r);
}

/** Search permission on the directory `vd`. */
function maySearch(ctx: ResolveContext, d: Dentry): void | LinuxError {
  return genericPermission(ctx.creds, d.inode, MAY_EXEC);
}

/** Most names one prefetch asks for (the gofer protocol's limit per walk). */
const MAX_PREFETCH = 256;

class Walker {
  links = 0;
  constructor(readonly ctx: ResolveContext) {}

  /**
   * Fills the dentry cache for the run of plain names starting at `queue[from]`, in one call,
   * when the filesystem can look up several levels at once (`lookupChain`: one gofer `walk`
   * RPC instead of one per component) and its cache is authoritative. Only the cache is
   * touched; the caller still walks component by component with every check.
   */
  private async prefetch(dir: Dentry, queue: readonly Component[], from: number): Promise<void> {
    const fs = dir.fs;
    const first = queue[from];
    if (!fs.cacheIsAuthoritative || dir.inode.lookupChain === undefined || first === undefined) return;
    if (dir.children.has(first.name)) return;
    const names: string[] = [];
    for (let k = from; k < queue.length && names.length < MAX_PREFETCH; k++) {
      const n = (queue[k] as Component).name;
      if (n === "." || n === ".." || n.length > NAME_MAX) break;
      names.push(n);
    }
    if (names.length < 2) return; // a single name is an ordinary lookup
    const chain = await dir.inode.lookupChain(names);
    if (isLinuxError(chain)) return;
    let d = dir;
    let k = 0;
    for (; k < chain.length && !d.dead && !d.evicted; k++) {
      const name = names[k] as string;
      d = d.children.get(name) ?? d.addChild(name, chain[k] as Inode);
    }
    // Inodes the cache did not take (the chain was cut short) let go of what they hold.
    for (; k < chain.length; k++) chain[k]?.evicted?.(chain[k - 1] ?? dir.inode, names[k] as string);
  }

  /**
   * Walks `comps` from `start`. The final component is looked up and followed per `opts`.
   */
  async walk(start: VirtualDentry, comps: Component[], opts: ResolveOptions): Promise<Resolution | LinuxError> {
    let cur = start;
    const queue = comps;
    let i = 0;
    if (queue.length === 0) return { found: true, vd: cur };
    while (i < queue.length) {
      const c = queue[i++] as Component;
      if (!isDir(cur.dentry.inode.mode)) return ENOTDIR;
      const perm = maySearch(this.ctx, cur.dentry);
      if (perm !== undefined) return perm;
      if (c.name === ".") {
        // stays
      } else if (c.name === "..") {
        cur = dotdot(this.ctx.root, cur);
      } else {
        await this.prefetch(cur.dentry, queue, i - 1);
        const child = await lookupChild(cur.dentry, c.name);
        if (child === ENOENT && c.last && opts.allowMissing === true) {
          return { found: false, parent: cur, name: c.name, trailingSlash: c.slash };
        }
        if (isLinuxError(child)) return child;
        const next = followMounts({ mount: cur.mount, dentry: child });
        if (isSymlink(next.dentry.inode.mode) && (!c.last || c.slash || opts.followFinal)) {
          if (++this.links > MAXSYMLINKS) return ELOOP;
          const inode = next.dentry.inode;
          if (inode.followLink !== undefined) {
            const jump = await inode.followLink(this.ctx);
            if (isLinuxError(jump)) return jump;
            cur = jump;
            if (c.slash && !isDir(cur.dentry.inode.mode)) return ENOTDIR;
            continue;
          }
          if (inode.readlink === undefined) return EINVAL;
          const target = await inode.readlink(this.ctx);
          if (typeof target !== "string") return target;
          if (target.length === 0) return ENOENT;
          const tcomps = split(target, false);
          // The target's last component inherits this component's position and slash.
          if (tcomps.length > 0) {
            const tl = tcomps[tcomps.length - 1] as Component;
            tcomps[tcomps.length - 1] = { name: tl.name, slash: tl.slash || c.slash, last: c.last };
          }
          queue.splice(i, 0, ...tcomps);
          if (target.startsWith("/")) cur = this.ctx.root;
          if (tcomps.length === 0 && c.last) {
            // A link to "/" (or "//"): the root is the result.
            break;
          }
          continue;
        }
        cur = next;
      }
      if (c.slash && !isDir(cur.dentry.inode.mode)) return ENOTDIR;
    }
    return { found: true, vd: cur };
  }
}

/** Resolves `path` from `start` (used when `path` is relative). */
export async function resolve(ctx: ResolveContext, start: VirtualDentry, path: string, opts: ResolveOptions): Promise<Resolution | LinuxError> {
  const bad = validatePath(path);
  if (bad !== undefined) return bad;
  if (path.length === 0) return ENOENT;
  const from = path.startsWith("/") ? ctx.root : start;
  return new Walker(ctx).walk(from, split(path, true), opts);
}

/** Resolves `path` to an existing file. */
export async function resolveExisting(ctx: ResolveContext, start: VirtualDentry, path: string, followFinal: boolean): Promise<VirtualDentry | LinuxError> {
  const r = await resolve(ctx, start, path, { followFinal });
  if (isLinuxError(r)) return r;
  if (!r.found) return ENOENT;
  return r.vd;
}

/**
 * Resolves everything but the last component of `path` (following every symlink on the
 * way) and reports the last component unresolved, as Linux's filename_parentat does for
 * mkdir, unlink, rmdir, rename, link, symlink and mknod. Checks search permission on the parent.
 */
export async function resolveParent(ctx: ResolveContext, start: VirtualDentry, path: string): Promise<ParentResolution | LinuxError> {
  const bad = validatePath(path);
  if (bad !== undefined) return bad;
  if (path.length === 0) return ENOENT;
  const from = path.startsWith("/") ? ctx.root : start;
  const comps = split(path, false);
  const lastComp = comps.pop();
  if (lastComp === undefined) return { parent: from, name: "", type: "root", trailingSlash: path.length > 1 };
  // The prefix must name a directory: walk it as if it ended in '/'.
  const prefix = comps.map((c, i) => (i === comps.length - 1 ? { ...c, slash: true, last: true } : c));
  const w = new Walker(ctx);
  const r = await w.walk(from, prefix, { followFinal: true });
  if (isLinuxError(r)) return r;
  if (!r.found) return ENOENT;
  const parent = r.vd;
  if (!isDir(parent.dentry.inode.mode)) return ENOTDIR;
  const perm = maySearch(ctx, parent.dentry);
  if (perm !== undefined) return perm;
  const type: LastType = lastComp.name === "." ? "dot" : lastComp.name === ".." ? "dotdot" : "norm";
  if (type === "norm" && lastComp.name.length > NAME_MAX) return ENAMETOOLONG;
  return { parent, name: lastComp.name, type, trailingSlash: lastComp.slash };
}
