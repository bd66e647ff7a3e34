/**
 * The VFS API the syscall layer calls: one method per file operation, taking the calling
 * task's context, dirfds and path strings as the syscalls receive them, and returning a
 * value or a `LinuxError`. Nothing here throws for an errno.
 *
 * Each method follows the order of checks of the Linux function it mirrors (named in its doc
 * comment), because programs and test suites observe which error wins.
 *
 * Paths are byte strings: one UTF-16 code unit per byte (latin1), as read from guest memory.
 */
import {
  AT_EACCESS,
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_NO_AUTOMOUNT,
  AT_REMOVEDIR,
  AT_STATX_SYNC_TYPE,
  AT_SYMLINK_FOLLOW,
  AT_SYMLINK_NOFOLLOW,
  CAP_DAC_READ_SEARCH,
  CAP_MKNOD,
  EBADF,
  EBUSY,
  EEXIST,
  EFBIG,
  EINVAL,
  EISDIR,
  ENOENT,
  ENOTDIR,
  ENXIO,
  EOPNOTSUPP,
  EPERM,
  EROFS,
  EXDEV,
  ENAMETOOLONG,
  EACCES,
  isLinuxError,
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOATIME,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
  PATH_MAX,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  RENAME_WHITEOUT,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  S_ISGID,
  S_ISUID,
  S_ISVTX,
  S_IXGRP,
  STATX_MNT_ID,
  UTIME_NOW,
  UTIME_OMIT,
  ELOOP,
  ENOTEMPTY,
  type LinuxError,
} from "@runsc-ts/abi";
import { MAY_EXEC, MAY_READ, MAY_WRITE, ST_NODEV, ST_NOEXEC, ST_NOSUID, ST_RDONLY, makeDev } from "./constants.js";
import type { VfsContext } from "./context.js";
import type { Dentry } from "./dentry.js";
import { FileDescription, MAX_OFFSET, type FileDescriptionImpl } from "./file-description.js";
import type { CreateAttrs, Filesystem, Inode, Statfs } from "./filesystem.js";
import { Mount, MountNamespace, type MountFlags, type VirtualDentry } from "./mount.js";
import { checkChmod, checkChown, checkUtimes, genericPermission, isOwnerOrCapable, mayDelete, privilegeBitsToClear } from "./permissions.js";
import { followMounts, lookupChild, resolve, resolveExisting, resolveParent, validatePath, type ParentResolution } from "./resolve.js";
import { fileType, isDir, isReg, isSymlink, type SetStat, type Statx, type TimeSetting } from "./stat.js";

/** The flags open(2) gives meaning to with O_PATH; the rest are ignored. */
const O_PATH_FLAGS = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

/** The impl of an O_PATH description: no I/O at all. */
const PATH_IMPL: FileDescriptionImpl = Object.freeze({ seekable: false });

function sameVd(a: VirtualDentry, b: VirtualDentry): boolean {
  return a.mount === b.mount && a.dentry === b.dentry;
}

/** Whether writing to files of `mode` on a read-only mount is EROFS (devices and FIFOs are exempt). */
function roApplies(mode: number): boolean {
  const t = fileType(mode);
  return t === S_IFREG || t === S_IFDIR || t === S_IFLNK;
}

function validTime(t: TimeSetting | undefined): boolean {
  return t === undefined || t === "now" || (Number.isInteger(t.sec) && Number.isInteger(t.nsec) && t.nsec >= 0 && t.nsec < 1e9);
}

export class VirtualFilesystem {
  // ------------------------------------------------------------------ mounts

  /** A new mount namespace whose root is `fs`. */
  newMountNamespace(fs: Filesystem, flags: Partial<MountFlags> = {}): MountNamespace {
    return new MountNamespace(new Mount(fs, fs.root, flags));
  }

  /**
   * mount(2) of a new filesystem instance at `path`: on a directory, or, for a filesystem whose
   * root is not a directory (a file bind mount's gofer), on a non-directory.
   */
  async mount(ctx: VfsContext, fs: Filesystem, path: string, flags: Partial<MountFlags> = {}): Promise<Mount | LinuxError> {
    const vd = await this.lookupAt(ctx, AT_FDCWD, path, true, false);
    if (isLinuxError(vd)) return vd;
    // A directory goes on a directory, anything else (a file bind mount's root) on a non-directory.
    if (isDir(fs.root.inode.mode) !== isDir(vd.dentry.inode.mode)) return isDir(fs.root.inode.mode) ? ENOTDIR : EISDIR;
    return this.attach(new Mount(fs, fs.root, flags), vd);
  }

  /** mount(2) with MS_BIND: makes `source` (any file) appear at `target` too. */
  async bindMount(ctx: VfsContext, source: string, target: string, flags: Partial<MountFlags> = {}): Promise<Mount | LinuxError> {
    const src = await this.lookupAt(ctx, AT_FDCWD, source, true, false);
    if (isLinuxError(src)) return src;
    const dst = await this.lookupAt(ctx, AT_FDCWD, target, true, false);
    if (isLinuxError(dst)) return dst;
    if (isDir(src.dentry.inode.mode) !== isDir(dst.dentry.inode.mode)) return isDir(src.dentry.inode.mode) ? ENOTDIR : EISDIR;
    return this.attach(new Mount(src.mount.fs, src.dentry, flags), dst);
  }

  private attach(m: Mount, at: VirtualDentry): Mount | LinuxError {
    const ns = at.mount.namespace;
    if (ns === null) return EINVAL;
    ns.attach(m, at);
    return m;
  }

  /**
   * The directory chdir(2), chroot(2) (path) and fchdir(2) (`path` "" with `emptyPath`) move
   * to: it must be a directory (ENOTDIR) the caller may search (EACCES). The caller checks
   * CAP_SYS_CHROOT for chroot.
   */
  async directoryAt(ctx: VfsContext, dirfd: number, path: string, emptyPath = false): Promise<VirtualDentry | LinuxError> {
    const vd = await this.lookupAt(ctx, dirfd, path, true, emptyPath);
    if (isLinuxError(vd)) return vd;
    if (!isDir(vd.dentry.inode.mode)) return ENOTDIR;
    const e = genericPermission(ctx.creds, vd.dentry.inode, MAY_EXEC);
    return e ?? vd;
  }

  /** umount(2) (without MNT_DETACH): `path` must be the root of a mount. */
  async umount(ctx: VfsContext, path: string): Promise<void | LinuxError> {
    const vd = await this.lookupAt(ctx, AT_FDCWD, path, true, false);
    if (isLinuxError(vd)) return vd;
    if (vd.dentry !== vd.mount.root) return EINVAL;
    const ns = vd.mount.namespace;
    if (ns === null) return EINVAL;
    if (sameVd(vd, ctx.root) || sameVd(vd, ctx.cwd)) return EBUSY;
    return ns.detach(vd.mount);
  }

  // ------------------------------------------------------------------ starting points

  /** The directory a relative `path` starts from: cwd for AT_FDCWD, else the dirfd's file. */
  private startAt(ctx: VfsContext, dirfd: number, path: string): VirtualDentry | LinuxError {
    if (path.startsWith("/")) return ctx.root;
    if (dirfd === AT_FDCWD) return ctx.cwd;
    const file = ctx.fdTable.get(dirfd);
    if (file === undefined) return EBADF;
    if (!isDir(file.inode.mode)) return ENOTDIR;
    return file.vd;
  }

  /** Resolves an existing file for the *at(2) calls, with AT_EMPTY_PATH meaning "dirfd itself". */
  async lookupAt(ctx: VfsContext, dirfd: number, path: string, follow: boolean, emptyPath: boolean): Promise<VirtualDentry | LinuxError> {
    if (path.length === 0 && emptyPath) {
      if (dirfd === AT_FDCWD) return ctx.cwd;
      const file = ctx.fdTable.get(dirfd);
      if (file === undefined) return EBADF;
      return file.vd;
    }
    const bad = validatePath(path);
    if (bad !== undefined) return bad;
    if (path.length === 0) return ENOENT;
    const start = this.startAt(ctx, dirfd, path);
    if (isLinuxError(start)) return start;
    return resolveExisting(ctx, start, path, follow);
  }

  private async parentAt(ctx: VfsContext, dirfd: number, path: string): Promise<ParentResolution | LinuxError> {
    const bad = validatePath(path);
    if (bad !== undefined) return bad;
    if (path.length === 0) return ENOENT;
    const start = this.startAt(ctx, dirfd, path);
    if (isLinuxError(start)) return start;
    return resolveParent(ctx, start, path);
  }

  /** The owner and mode of a new file in `parent` (fsuid; fsgid or the setgid parent's group). */
  private newAttrs(ctx: VfsContext, parent: Inode, type: number, perm: number): CreateAttrs {
    const setgidParent = (parent.mode & S_ISGID) !== 0;
    let mode = type | (perm & 0o7777);
    if (type === S_IFDIR && setgidParent) mode |= S_ISGID;
    return { mode, uid: ctx.creds.fsuid, gid: setgidParent ? parent.gid : ctx.creds.fsgid };
  }

  /**
   * filename_create + may_create: resolves where a new file named by `path` goes. EEXIST if
   * the name exists (symlinks are not followed) or is ".", ".." or "/"; ENOENT for a trailing
   * slash unless making a directory; EROFS; ENOENT in a removed directory; EACCES without write
   * and search permission on the parent.
   */
  private async prepareCreate(ctx: VfsContext, dirfd: number, path: string, wantDir: boolean): Promise<{ parent: VirtualDentry; name: string } | LinuxError> {
    const pr = await this.parentAt(ctx, dirfd, path);
    if (isLinuxError(pr)) return pr;
    if (pr.type !== "norm") return EEXIST;
    const existing = await lookupChild(pr.parent.dentry, pr.name);
    if (!isLinuxError(existing)) return EEXIST;
    if (existing !== ENOENT) return existing;
    if (pr.trailingSlash && !wantDir) return ENOENT;
    if (pr.parent.mount.readOnly) return EROFS;
    if (pr.parent.dentry.dead) return ENOENT;
    const perm = genericPermission(ctx.creds, pr.parent.dentry.inode, MAY_WRITE | MAY_EXEC);
    if (perm !== undefined) return perm;
    return { parent: pr.parent, name: pr.name };
  }

  // ------------------------------------------------------------------ open

  /**
   * openat(2) (do_filp_open). Returns a new description holding one reference (the caller
   * installs it in an fd table with `fdTable.newFd(file, cloexec)` and then drops its own
   * reference with `decRef()`).
   */
  async openAt(ctx: VfsContext, dirfd: number, path: string, flags: number, mode = 0): Promise<FileDescription | LinuxError> {
    if (!Number.isInteger(flags)) return EINVAL;
    if ((flags & O_PATH) !== 0) flags &= O_PATH_FLAGS;
    if ((flags & O_TMPFILE & ~O_DIRECTORY) !== 0) {
      const acc = flags & O_ACCMODE;
      if ((flags & O_CREAT) !== 0 || (acc !== O_WRONLY && acc !== O_RDWR)) return EINVAL;
      return EOPNOTSUPP;
    }
    const creat = (flags & O_CREAT) !== 0;
    const follow = (flags & O_NOFOLLOW) === 0 && !(creat && (flags & O_EXCL) !== 0);

    let vd: VirtualDentry;
    let created = false;
    if (creat) {
      const pr = await this.parentAt(ctx, dirfd, path);
      if (isLinuxError(pr)) return pr;
      if (pr.type !== "norm" || pr.trailingSlash) return EISDIR;
      // A shared filesystem may report EEXIST for a name that was missing a moment ago (someone
      // else created it): without O_EXCL, resolve again and open what is there, as Linux does.
      for (let attempt = 0; ; attempt++) {
        const c = await this.openCreate(ctx, pr.parent, pr.name, flags, mode, follow);
        if (c === EEXIST && (flags & O_EXCL) === 0 && attempt < 3) continue;
        if (isLinuxError(c)) return c;
        vd = c.vd;
        created = c.created;
        break;
      }
    } else {
      const start = path.length === 0 ? ENOENT : this.startAt(ctx, dirfd, path);
      const bad = validatePath(path);
      if (bad !== undefined) return bad;
      if (isLinuxError(start)) return start;
      const r = await resolveExisting(ctx, start, path, follow);
      if (isLinuxError(r)) return r;
      vd = r;
    }
    return this.openResolved(ctx, vd, flags, created);
  }

  /** The O_CREAT half of openat: the existing file (following a final symlink unless told not to) or a new one. */
  private async openCreate(ctx: VfsContext, dir: VirtualDentry, name: string, flags: number, mode: number, follow: boolean): Promise<{ vd: VirtualDentry; created: boolean } | LinuxError> {
    const r = await resolve(ctx, dir, name, { followFinal: follow, allowMissing: true });
    if (isLinuxError(r)) return r;
    if (r.found) {
      if ((flags & O_EXCL) !== 0) return EEXIST;
      if (isDir(r.vd.dentry.inode.mode)) return EISDIR;
      return { vd: r.vd, created: false };
    }
    if (r.trailingSlash) return EISDIR;
    const parent = r.parent;
    if (parent.mount.readOnly) return EROFS;
    if (parent.dentry.dead) return ENOENT;
    const perm = genericPermission(ctx.creds, parent.dentry.inode, MAY_WRITE | MAY_EXEC);
    if (perm !== undefined) return perm;
    const dirInode = parent.dentry.inode;
    if (dirInode.create === undefined) return EPERM;
    const inode = await dirInode.create(r.name, this.newAttrs(ctx, dirInode, S_IFREG, mode & ~ctx.umask));
    if (isLinuxError(inode)) return inode;
    return { vd: { mount: parent.mount, dentry: parent.dentry.addChild(r.name, inode) }, created: true };
  }

  /** may_open + vfs_open + handle_truncate for a resolved file. */
  private async openResolved(ctx: VfsContext, vd: VirtualDentry, flags: number, created: boolean): Promise<FileDescription | LinuxError> {
    const inode = vd.dentry.inode;
    const type = fileType(inode.mode);
    const isPath = (flags & O_PATH) !== 0;
    if ((flags & O_DIRECTORY) !== 0 && type !== S_IFDIR) return ENOTDIR;
    if (type === S_IFLNK && !isPath) return ELOOP;
    if (isPath) return new FileDescription(vd, inode, PATH_IMPL, flags, ctx.creds);

    const acc = flags & O_ACCMODE;
    let want = 0;
    if (acc === O_RDONLY || acc === O_RDWR || acc === O_ACCMODE) want |= MAY_READ;
    if (acc === O_WRONLY || acc === O_RDWR || acc === O_ACCMODE || (flags & O_TRUNC) !== 0) want |= MAY_WRITE;
    if (type === S_IFDIR && (want & MAY_WRITE) !== 0) return EISDIR;
    if ((type === S_IFCHR || type === S_IFBLK) && vd.mount.flags.noDev) return EACCES;
    if (!created) {
      if ((want & MAY_WRITE) !== 0 && vd.mount.readOnly && roApplies(inode.mode)) return EROFS;
      const perm = genericPermission(ctx.creds, inode, want);
      if (perm !== undefined) return perm;
    }
    if (type === S_IFSOCK) return ENXIO;
    if ((flags & O_NOATIME) !== 0 && !isOwnerOrCapable(ctx.creds, inode)) return EPERM;

    const opts = ctx.interrupter === undefined ? { flags, vd, creds: ctx.creds } : { flags, vd, creds: ctx.creds, interrupter: ctx.interrupter };
    // The dentry is pinned while open waits (a FIFO's open blocks until its peer comes, and an
    // evicted FIFO dentry would bring that peer to a new inode and a new pipe).
    // The description takes its own reference before this one goes.
    let file: FileDescription;
    vd.dentry.incRef();
    try {
      const impl = await inode.open(opts);
      if (isLinuxError(impl)) return impl;
      file = new FileDescription(vd, inode, impl, flags, ctx.creds);
    } finally {
      vd.dentry.decRef();
    }
    if ((flags & O_TRUNC) !== 0 && type === S_IFREG && !created) {
      const r = await inode.setStat({ size: 0 });
      if (isLinuxError(r)) {
        file.decRef();
        return r;
      }
    }
    return file;
  }

  // ------------------------------------------------------------------ creating names

  /** mkdirat(2). */
  async mkdirAt(ctx: VfsContext, dirfd: number, path: string, mode: number): Promise<void | LinuxError> {
    const p = await this.prepareCreate(ctx, dirfd, path, true);
    if (isLinuxError(p)) return p;
    const dir = p.parent.dentry.inode;
    if (dir.mkdir === undefined) return EPERM;
    const inode = await dir.mkdir(p.name, this.newAttrs(ctx, dir, S_IFDIR, mode & (0o777 | S_ISVTX) & ~ctx.umask));
    if (isLinuxError(inode)) return inode;
    p.parent.dentry.addChild(p.name, inode);
  }

  /** mknodat(2): regular files, FIFOs, sockets, and (with CAP_MKNOD) device nodes. */
  async mknodAt(ctx: VfsContext, dirfd: number, path: string, mode: number, dev: number): Promise<void | LinuxError> {
    let type = mode & S_IFMT;
    if (type === 0) type = S_IFREG;
    if (type === S_IFDIR) return EPERM;
    if (type !== S_IFREG && type !== S_IFCHR && type !== S_IFBLK && type !== S_IFIFO && type !== S_IFSOCK) return EINVAL;
    const p = await this.prepareCreate(ctx, dirfd, path, false);
    if (isLinuxError(p)) return p;
    if ((type === S_IFCHR || type === S_IFBLK) && !ctx.creds.hasCapability(CAP_MKNOD)) return EPERM;
    const dir = p.parent.dentry.inode;
    const attrs = this.newAttrs(ctx, dir, type, mode & 0o7777 & ~ctx.umask);
    let inode: Inode | LinuxError;
    if (type === S_IFREG) {
      if (dir.create === undefined) return EPERM;
      inode = await dir.create(p.name, attrs);
    } else {
      if (dir.mknod === undefined) return EPERM;
      inode = await dir.mknod(p.name, attrs, type === S_IFCHR || type === S_IFBLK ? dev : 0);
    }
    if (isLinuxError(inode)) return inode;
    p.parent.dentry.addChild(p.name, inode);
  }

  /** symlinkat(2). */
  async symlinkAt(ctx: VfsContext, target: string, dirfd: number, path: string): Promise<void | LinuxError> {
    if (target.length === 0) return ENOENT;
    if (target.length >= PATH_MAX) return ENAMETOOLONG;
    const bad = validatePath(target);
    if (bad !== undefined) return bad;
    const p = await this.prepareCreate(ctx, dirfd, path, false);
    if (isLinuxError(p)) return p;
    const dir = p.parent.dentry.inode;
    if (dir.symlink === undefined) return EPERM;
    const inode = await dir.symlink(p.name, target, this.newAttrs(ctx, dir, S_IFLNK, 0o777));
    if (isLinuxError(inode)) return inode;
    p.parent.dentry.addChild(p.name, inode);
  }

  /** linkat(2). */
  async linkAt(ctx: VfsContext, oldDirfd: number, oldPath: string, newDirfd: number, newPath: string, flags: number): Promise<void | LinuxError> {
    if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) !== 0) return EINVAL;
    if ((flags & AT_EMPTY_PATH) !== 0 && oldPath.length === 0 && !ctx.creds.hasCapability(CAP_DAC_READ_SEARCH)) return ENOENT;
    const old = await this.lookupAt(ctx, oldDirfd, oldPath, (flags & AT_SYMLINK_FOLLOW) !== 0, (flags & AT_EMPTY_PATH) !== 0);
    if (isLinuxError(old)) return old;
    const p = await this.prepareCreate(ctx, newDirfd, newPath, false);
    if (isLinuxError(p)) return p;
    if (old.mount !== p.parent.mount) return EXDEV;
    const inode = old.dentry.inode;
    if (isDir(inode.mode)) return EPERM;
    if (inode.nlink === 0) return ENOENT;
    const dir = p.parent.dentry.inode;
    if (dir.link === undefined) return EPERM;
    const r = await dir.link(p.name, inode);
    if (isLinuxError(r)) return r;
    p.parent.dentry.addChild(p.name, inode);
  }

  // ------------------------------------------------------------------ removing names

  /** unlinkat(2): unlink, or rmdir with AT_REMOVEDIR. */
  async unlinkAt(ctx: VfsContext, dirfd: number, path: string, flags = 0): Promise<void | LinuxError> {
    if ((flags & ~AT_REMOVEDIR) !== 0) return EINVAL;
    if ((flags & AT_REMOVEDIR) !== 0) return this.rmdirAt(ctx, dirfd, path);
    const pr = await this.parentAt(ctx, dirfd, path);
    if (isLinuxError(pr)) return pr;
    if (pr.type !== "norm") return EISDIR;
    if (pr.parent.mount.readOnly) return EROFS;
    const child = await lookupChild(pr.parent.dentry, pr.name);
    if (isLinuxError(child)) return child;
    if (pr.trailingSlash) return isDir(child.inode.mode) ? EISDIR : ENOTDIR;
    const perm = mayDelete(ctx.creds, pr.parent.dentry.inode, child.inode);
    if (perm !== undefined) return perm;
    if (isDir(child.inode.mode)) return EISDIR;
    if (child.mountCount > 0) return EBUSY;
    const dir = pr.parent.dentry.inode;
    if (dir.unlink === undefined) return EPERM;
    const r = await dir.unlink(pr.name, child.inode);
    if (isLinuxError(r)) return r;
    pr.parent.dentry.removeChild(pr.name);
  }

  /** rmdir(2) (do_rmdir). */
  async rmdirAt(ctx: VfsContext, dirfd: number, path: string): Promise<void | LinuxError> {
    const pr = await this.parentAt(ctx, dirfd, path);
    if (isLinuxError(pr)) return pr;
    if (pr.type === "dot") return EINVAL;
    if (pr.type === "dotdot") return ENOTEMPTY;
    if (pr.type === "root") return EBUSY;
    if (pr.parent.mount.readOnly) return EROFS;
    const child = await lookupChild(pr.parent.dentry, pr.name);
    if (isLinuxError(child)) return child;
    const perm = mayDelete(ctx.creds, pr.parent.dentry.inode, child.inode);
    if (perm !== undefined) return perm;
    if (!isDir(child.inode.mode)) return ENOTDIR;
    if (child.mountCount > 0) return EBUSY;
    const dir = pr.parent.dentry.inode;
    if (dir.rmdir === undefined) return EPERM;
    const r = await dir.rmdir(pr.name, child.inode);
    if (isLinuxError(r)) return r;
    pr.parent.dentry.removeChild(pr.name);
  }

  /** renameat2(2) (do_renameat2 + vfs_rename). */
  async renameAt(ctx: VfsContext, oldDirfd: number, oldPath: string, newDirfd: number, newPath: string, flags = 0): Promise<void | LinuxError> {
    if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) !== 0) return EINVAL;
    if ((flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) !== 0 && (flags & RENAME_EXCHANGE) !== 0) return EINVAL;
    if ((flags & RENAME_WHITEOUT) !== 0) return EINVAL; // not supported yet (see README)
    const exchange = (flags & RENAME_EXCHANGE) !== 0;
    const noReplace = (flags & RENAME_NOREPLACE) !== 0;

    const op = await this.parentAt(ctx, oldDirfd, oldPath);
    if (isLinuxError(op)) return op;
    const np = await this.parentAt(ctx, newDirfd, newPath);
    if (isLinuxError(np)) return np;
    if (op.parent.mount !== np.parent.mount) return EXDEV;
    if (op.type !== "norm") return EBUSY;
    if (np.type !== "norm") return noReplace ? EEXIST : EBUSY;
    if (op.parent.mount.readOnly) return EROFS;

    const oldDir = op.parent.dentry;
    const newDir = np.parent.dentry;
    const oldChild = await lookupChild(oldDir, op.name);
    if (isLinuxError(oldChild)) return oldChild;
    const nc = await lookupChild(newDir, np.name);
    if (isLinuxError(nc) && nc !== ENOENT) return nc;
    const newChild = isLinuxError(nc) ? undefined : nc;
    if (noReplace && newChild !== undefined) return EEXIST;
    if (exchange) {
      if (newChild === undefined) return ENOENT;
      if (!isDir(newChild.inode.mode) && np.trailingSlash) return ENOTDIR;
    }
    const oldIsDir = isDir(oldChild.inode.mode);
    if (!oldIsDir) {
      if (op.trailingSlash) return ENOTDIR;
      if (!exchange && np.trailingSlash) return ENOTDIR;
    }
    // Topology: a directory cannot move under itself; the target cannot be an ancestor of the source.
    if (newDir.isDescendantOf(oldChild)) return EINVAL;
    if (newChild !== undefined && oldDir.isDescendantOf(newChild)) return exchange ? EINVAL : ENOTEMPTY;

    if (newChild !== undefined && newChild.inode === oldChild.inode) return;
    const creds = ctx.creds;
    let e = mayDelete(creds, oldDir.inode, oldChild.inode);
    if (e !== undefined) return e;
    let newIsDir = false;
    if (newChild === undefined) {
      if (newDir.dead) return ENOENT;
      e = genericPermission(creds, newDir.inode, MAY_WRITE | MAY_EXEC);
      if (e !== undefined) return e;
    } else {
      newIsDir = isDir(newChild.inode.mode);
      e = mayDelete(creds, newDir.inode, newChild.inode);
      if (e !== undefined) return e;
      const asDir = exchange ? newIsDir : oldIsDir;
      if (asDir && !newIsDir) return ENOTDIR;
      if (!asDir && newIsDir) return EISDIR;
    }
    if (oldDir !== newDir) {
      if (oldIsDir && !exchange) {
        e = genericPermission(creds, oldChild.inode, MAY_WRITE);
        if (e !== undefined) return e;
      }
      if (newIsDir && exchange && newChild !== undefined) {
        e = genericPermission(creds, newChild.inode, MAY_WRITE);
        if (e !== undefined) return e;
      }
    }
    if (oldChild.mountCount > 0 || (newChild?.mountCount ?? 0) > 0) return EBUSY;

    const dirInode = oldDir.inode;
    if (dirInode.rename === undefined) return EPERM;
    const r = await dirInode.rename(op.name, oldChild.inode, newDir.inode, np.name, newChild?.inode, exchange);
    if (isLinuxError(r)) return r;
    this.moveInCache(oldDir, op.name, oldChild, newDir, np.name, newChild, exchange);
  }

  private moveInCache(oldDir: Dentry, oldName: string, oldChild: Dentry, newDir: Dentry, newName: string, newChild: Dentry | undefined, exchange: boolean): void {
    // Re-file oldDir only at the end: emptied half-way through, it could otherwise be evicted
    // before the move completes. Attaching over newName kills a replaced newChild.
    oldDir.detachChild(oldName, false);
    if (exchange && newChild !== undefined) {
      newDir.detachChild(newName, false);
      oldDir.attachChild(oldName, newChild);
    }
    newDir.attachChild(newName, oldChild);
    oldDir.refile();
  }

  // ------------------------------------------------------------------ reading names and attributes

  /** readlinkat(2): the target; EINVAL for a non-symlink. An empty path reads the dirfd itself. */
  async readlinkAt(ctx: VfsContext, dirfd: number, path: string): Promise<string | LinuxError> {
    const vd = await this.lookupAt(ctx, dirfd, path, false, true);
    if (isLinuxError(vd)) return vd;
    const inode = vd.dentry.inode;
    if (!isSymlink(inode.mode) || inode.readlink === undefined) return EINVAL;
    return inode.readlink(ctx);
  }

  /** statx(2) / newfstatat(2): AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_NO_AUTOMOUNT, AT_STATX_*. */
  async statAt(ctx: VfsContext, dirfd: number, path: string, flags = 0): Promise<Statx | LinuxError> {
    if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) !== 0) return EINVAL;
    if ((flags & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) return EINVAL;
    const vd = await this.lookupAt(ctx, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) === 0, (flags & AT_EMPTY_PATH) !== 0);
    if (isLinuxError(vd)) return vd;
    return this.statVd(vd);
  }

  /** fstat(2). */
  statFd(file: FileDescription): Promise<Statx | LinuxError> {
    return this.statVd(file.vd, file.inode);
  }

  private async statVd(vd: VirtualDentry, inode: Inode = vd.dentry.inode): Promise<Statx | LinuxError> {
    const s = await inode.stat();
    if (isLinuxError(s)) return s;
    return { ...s, mntId: vd.mount.id, mask: s.mask | STATX_MNT_ID };
  }

  /** faccessat2(2): F_OK or R_OK|W_OK|X_OK with the real ids unless AT_EACCESS. */
  async accessAt(ctx: VfsContext, dirfd: number, path: string, mode: number, flags = 0): Promise<void | LinuxError> {
    if ((mode & ~7) !== 0) return EINVAL;
    if ((flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return EINVAL;
    let creds = ctx.creds;
    if ((flags & AT_EACCESS) === 0) {
      creds = creds.with({ fsuid: creds.uid, fsgid: creds.gid, effective: creds.uid === 0 ? creds.permitted : 0n });
    }
    const rctx: VfsContext = { ...ctx, creds };
    const vd = await this.lookupAt(rctx, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) === 0, (flags & AT_EMPTY_PATH) !== 0);
    if (isLinuxError(vd)) return vd;
    if (mode === 0) return;
    const inode = vd.dentry.inode;
    if ((mode & 2) !== 0 && vd.mount.readOnly && roApplies(inode.mode)) return EROFS;
    // R_OK = 4 = MAY_READ, W_OK = 2 = MAY_WRITE, X_OK = 1 = MAY_EXEC.
    return genericPermission(creds, inode, mode);
  }

  // ------------------------------------------------------------------ changing attributes

  /**
   * The setattr family by path (fchmodat, fchownat, truncate, utimensat): flags
   * AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH.
   */
  async setStatAt(ctx: VfsContext, dirfd: number, path: string, flags: number, attrs: SetStat): Promise<void | LinuxError> {
    if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return EINVAL;
    const vd = await this.lookupAt(ctx, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) === 0, (flags & AT_EMPTY_PATH) !== 0);
    if (isLinuxError(vd)) return vd;
    if (attrs.size !== undefined) {
      if (isDir(vd.dentry.inode.mode)) return EISDIR;
      if (!isReg(vd.dentry.inode.mode)) return EINVAL;
    }
    return this.setStatVd(ctx, vd, vd.dentry.inode, attrs, true);
  }

  /**
   * The setattr family by fd (fchmod, fchown, ftruncate, futimens). EBADF for O_PATH
   * descriptions; ftruncate needs a regular file open for writing (EINVAL).
   */
  async setStatFd(ctx: VfsContext, file: FileDescription, attrs: SetStat): Promise<void | LinuxError> {
    if (file.isPath) return EBADF;
    if (attrs.size !== undefined && (!isReg(file.inode.mode) || !file.writable)) return EINVAL;
    return this.setStatVd(ctx, file.vd, file.inode, attrs, false);
  }

  private async setStatVd(ctx: VfsContext, vd: VirtualDentry, inode: Inode, attrs: SetStat, byPath: boolean): Promise<void | LinuxError> {
    const creds = ctx.creds;
    if (attrs.size !== undefined) {
      if (!Number.isInteger(attrs.size) || attrs.size < 0) return EINVAL;
      if (attrs.size > MAX_OFFSET) return EFBIG;
    }
    if (!validTime(attrs.atime) || !validTime(attrs.mtime)) return EINVAL;
    if (vd.mount.readOnly) return EROFS;
    const out: SetStat = {};
    if (attrs.size !== undefined) {
      if (byPath) {
        const e = genericPermission(creds, inode, MAY_WRITE);
        if (e !== undefined) return e;
      }
      out.size = attrs.size;
      // Truncation clears set-id bits like a write does.
      const kill = privilegeBitsToClear(creds, inode.mode);
      if (kill !== 0) out.mode = inode.mode & 0o7777 & ~kill;
    }
    if (attrs.uid !== undefined || attrs.gid !== undefined) {
      const e = checkChown(creds, inode, attrs.uid, attrs.gid);
      if (e !== undefined) return e;
      if (attrs.uid !== undefined) out.uid = attrs.uid;
      if (attrs.gid !== undefined) out.gid = attrs.gid;
      if (!isDir(inode.mode)) {
        // chown clears set-user-ID, and set-group-ID when group-executable.
        let m = inode.mode & 0o7777;
        m &= ~S_ISUID;
        if ((m & S_IXGRP) !== 0) m &= ~S_ISGID;
        if (m !== (inode.mode & 0o7777)) out.mode = m;
      }
    }
    if (attrs.mode !== undefined) {
      const m = checkChmod(creds, inode, attrs.mode);
      if (isLinuxError(m)) return m;
      out.mode = m;
    }
    if (attrs.atime !== undefined || attrs.mtime !== undefined) {
      const explicit = (attrs.atime !== undefined && attrs.atime !== "now") || (attrs.mtime !== undefined && attrs.mtime !== "now");
      const e = checkUtimes(creds, inode, explicit);
      if (e !== undefined) return e;
      if (attrs.atime !== undefined) out.atime = attrs.atime;
      if (attrs.mtime !== undefined) out.mtime = attrs.mtime;
    }
    return inode.setStat(out);
  }

  /** Converts utimensat's timespec pair (with UTIME_NOW / UTIME_OMIT) to SetStat fields. */
  static utimesFromTimespecs(times: readonly [{ sec: number; nsec: number }, { sec: number; nsec: number }] | null): SetStat {
    if (times === null) return { atime: "now", mtime: "now" };
    const conv = (t: { sec: number; nsec: number }): TimeSetting | undefined =>
      t.nsec === UTIME_NOW ? "now" : t.nsec === UTIME_OMIT ? undefined : { sec: t.sec, nsec: t.nsec };
    const out: SetStat = {};
    const a = conv(times[0]);
    const m = conv(times[1]);
    if (a !== undefined) out.atime = a;
    if (m !== undefined) out.mtime = m;
    return out;
  }

  // ------------------------------------------------------------------ directories and filesystems

  /** getdents64(2) on an open directory. */
  getdents64(file: FileDescription, size: number): Promise<Uint8Array | LinuxError> {
    return file.getdents64(size);
  }

  /** statfs(2). */
  async statfsAt(ctx: VfsContext, path: string): Promise<Statfs | LinuxError> {
    const vd = await this.lookupAt(ctx, AT_FDCWD, path, true, false);
    if (isLinuxError(vd)) return vd;
    return this.statfsVd(vd);
  }

  /** fstatfs(2). */
  statfsFd(file: FileDescription): Promise<Statfs | LinuxError> {
    return this.statfsVd(file.vd);
  }

  private async statfsVd(vd: VirtualDentry): Promise<Statfs | LinuxError> {
    const s = await vd.mount.fs.statfs();
    if (isLinuxError(s)) return s;
    const f = vd.mount.flags;
    const flags = s.flags | (f.readOnly ? ST_RDONLY : 0) | (f.noSuid ? ST_NOSUID : 0) | (f.noDev ? ST_NODEV : 0) | (f.noExec ? ST_NOEXEC : 0);
    return { ...s, flags };
  }

  /** The absolute path of `vd` as seen from `root` (getcwd, /proc/self/fd); undefined if unreachable. */
  pathOf(root: VirtualDentry, vd: VirtualDentry): string | undefined {
    const parts: string[] = [];
    let cur = vd;
    for (;;) {
      if (sameVd(cur, root)) break;
      if (cur.dentry === cur.mount.root) {
        const parent = cur.mount.parent;
        const mp = cur.mount.mountpoint;
        if (parent === null || mp === null) return undefined;
        cur = { mount: parent, dentry: mp };
        continue;
      }
      const p = cur.dentry.parent;
      if (p === null) return undefined;
      parts.push(cur.dentry.name);
      cur = { mount: cur.mount, dentry: p };
    }
    return "/" + parts.reverse().join("/");
  }

  /**
   * How /proc/[pid]/fd/N names `vd` (Linux's d_path): an anonymous file's
   * own name; else its path from `root`, or its path inside its own mount when that mount is
   * out of sight (memfd's internal tmpfs); " (deleted)" once its name is gone.
   */
  describe(root: VirtualDentry, vd: VirtualDentry): string {
    const dname = vd.dentry.fs.dname?.(vd.dentry);
    if (dname !== undefined) return dname;
    const path = this.pathOf(root, vd) ?? this.pathOf({ mount: vd.mount, dentry: vd.mount.root }, vd) ?? vd.dentry.name;
    return vd.dentry.dead ? `${path} (deleted)` : path;
  }

  /** Follows `vd` down through mounts (a freshly mounted directory shows its new root). */
  followMounts(vd: VirtualDentry): VirtualDentry {
    return followMounts(vd);
  }

  /** The device number of `fs` as st_dev encodes it. */
  static devOf(fs: Filesystem): number {
    return makeDev(fs.devMajor, fs.devMinor);
  }
}
