/**
 * Mounts and mount namespaces.
 *
 * A `Mount` attaches a filesystem (from one of its dentries: the filesystem root for a fresh
 * mount, any directory for a bind mount) on a mount point: a (parent mount, dentry) pair. A
 * `MountNamespace` is a tree of mounts under its root mount. Several mounts on the same mount
 * point stack; resolution sees the most recent.
 *
 * A position in the file tree is a `VirtualDentry` (mount + dentry): the same dentry is a
 * different place under two bind mounts (its `..` and its mount flags differ).
 */
import { EBUSY, EINVAL, type LinuxError } from "@runsc-ts/abi";
import type { Dentry } from "./dentry.js";
import type { Filesystem } from "./filesystem.js";

export interface VirtualDentry {
  readonly mount: Mount;
  readonly dentry: Dentry;
}

/** Per-mount flags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC as mount attributes). */
export interface MountFlags {
  readOnly: boolean;
  noSuid: boolean;
  noDev: boolean;
  noExec: boolean;
}

export const DEFAULT_MOUNT_FLAGS: Readonly<MountFlags> = Object.freeze({ readOnly: false, noSuid: false, noDev: false, noExec: false });

let nextMountId = 1;

export class Mount {
  /** The mount id (/proc/self/mountinfo, statx's stx_mnt_id). */
  readonly id = nextMountId++;
  /** The mount this one is attached under, and where; null for a namespace root. */
  parent: Mount | null = null;
  mountpoint: Dentry | null = null;
  readonly children = new Set<Mount>();
  readonly flags: MountFlags;
  namespace: MountNamespace | null = null;

  constructor(
    readonly fs: Filesystem,
    /** The dentry of `fs` that appears at the mount point. */
    readonly root: Dentry,
    flags: Partial<MountFlags> = {},
  ) {
    if (root.fs !== fs) throw new Error("mount root belongs to another filesystem");
    // A mount pins its root for as long as it exists (mounts are not reference counted yet, so
    // that is forever).
    root.incRef();
    this.flags = { ...DEFAULT_MOUNT_FLAGS, ...flags };
  }

  get readOnly(): boolean {
    return this.flags.readOnly;
  }

  /** The mount's root as a VirtualDentry. */
  rootVd(): VirtualDentry {
    return { mount: this, dentry: this.root };
  }
}

export class MountNamespace {
  readonly root: Mount;
  /** parent mount → mount point dentry → mounts stacked there (last is visible). */
  private readonly mountpoints = new Map<Mount, Map<Dentry, Mount[]>>();

  constructor(root: Mount) {
    if (root.namespace !== null) throw new Error("mount already in a namespace");
    this.root = root;
    root.namespace = this;
  }

  /** The root of the namespace's file tree. */
  rootVd(): VirtualDentry {
    return this.root.rootVd();
  }

  /** The mount visible at (`parent`, `dentry`), if `dentry` is a mount point under `parent`. */
  mountAt(parent: Mount, dentry: Dentry): Mount | undefined {
    if (dentry.mountCount === 0) return undefined;
    const stack = this.mountpoints.get(parent)?.get(dentry);
    return stack?.[stack.length - 1];
  }

  /** Attaches `child` at `at`, above anything already mounted there. */
  attach(child: Mount, at: VirtualDentry): void {
    if (child.namespace !== null) throw new Error("mount already attached");
    if (at.mount.namespace !== this) throw new Error("mount point is not in this namespace");
    child.parent = at.mount;
    child.mountpoint = at.dentry;
    child.namespace = this;
    at.mount.children.add(child);
    at.dentry.addMount(1);
    let byDentry = this.mountpoints.get(at.mount);
    if (byDentry === undefined) this.mountpoints.set(at.mount, (byDentry = new Map()));
    const stack = byDentry.get(at.dentry);
    if (stack === undefined) byDentry.set(at.dentry, [child]);
    else stack.push(child);
  }

  /** Detaches `m` (umount without MNT_DETACH): EBUSY if something is mounted under it, EINVAL for the root. */
  detach(m: Mount): void | LinuxError {
    if (m.namespace !== this) return EINVAL;
    if (m.parent === null || m.mountpoint === null) return EINVAL;
    if (m.children.size > 0) return EBUSY;
    const byDentry = this.mountpoints.get(m.parent);
    const stack = byDentry?.get(m.mountpoint);
    if (stack === undefined) throw new Error("mount table out of step");
    const i = stack.indexOf(m);
    stack.splice(i, 1);
    if (stack.length === 0) byDentry?.delete(m.mountpoint);
    m.mountpoint.addMount(-1);
    m.parent.children.delete(m);
    m.parent = null;
    m.mountpoint = null;
    m.namespace = null;
  }

  /** Every mount in the namespace, parents before children (the /proc/mounts order). */
  mounts(): Mount[] {
    const out: Mount[] = [];
    const visit = (m: Mount): void => {
      out.push(m);
      for (const c of m.children) visit(c);
    };
    visit(this.root);
    return out;
  }
}
