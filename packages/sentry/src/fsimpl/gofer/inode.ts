/** Inodes of a gofer mount: one `File` capability each, with a cached statx. */
import {
  AT_REMOVEDIR,
  EINVAL,
  ENOENT,
  ENOTDIR,
  ENXIO,
  EPERM,
  ESTALE,
  EXDEV,
  O_ACCMODE,
  O_APPEND,
  O_DIRECT,
  O_DSYNC,
  O_NOATIME,
  O_RDONLY,
  O_SYNC,
  RENAME_EXCHANGE,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFSOCK,
  STATX_ATIME,
  STATX_GID,
  STATX_MODE,
  STATX_MTIME,
  STATX_SIZE,
  STATX_UID,
  UTIME_NOW,
  UTIME_OMIT,
  isLinuxError,
  type LinuxError,
} from "@runsc-ts/abi";
import type { Timespec } from "../../kernel/time.js";
import type { Dirent, FileDescriptionImpl } from "../../vfs/file-description.js";
import type { CreateAttrs, Inode, OpenOptions } from "../../vfs/filesystem.js";
import type { SetStat, Statx, TimeSetting } from "../../vfs/stat.js";
import { Pipe } from "../pipe/pipe.js";
import type { GoferFile } from "./file.js";
import type { GoferFilesystem } from "./filesystem.js";
import { HostFileImpl } from "./host-file.js";

/** Open flags the gofer's openAt accepts (the VFS handles O_TRUNC through setStat). */
const OPEN_PASSED = O_ACCMODE | O_APPEND | O_DIRECT | O_DSYNC | O_SYNC | O_NOATIME;
/** Bytes of dirents asked per getdents64 RPC. */
const DIRENT_BATCH = 8192;

/**
 * A gofer handle and the name it was reached by (the gofer re-opens files by parent + name).
 * `file` is null once the handle was released because its dentry was evicted; the name stays,
 * so the inode can walk to itself again if an operation still uses it (`handle()`).
 */
interface Handle {
  file: GoferFile | null;
  dir: GoferInode | null;
  name: string;
}

export class GoferInode implements Inode {
  private attrs: Statx;
  /**
   * Handles on this file, one per name the sentry knows it by (hard links add more). The gofer
   * re-opens a non-directory through its parent and name, so a handle whose name was unlinked
   * cannot be opened any more; `file` is always a handle whose name is still alive, if any is.
   */
  private readonly handles: Handle[];
  /** The cached attributes may be out of date (after a write or a change of a neighbour). */
  private stale = false;
  /** Children found by lookup, so a repeated lookup of the same host file returns this object. */
  private readonly children = new Map<string, GoferInode>();
  private linkTarget: string | undefined;
  /** Named pipes are served inside the sentry: one pipe per inode. */
  private fifo: Pipe | undefined;

  constructor(
    readonly fs: GoferFilesystem,
    file: GoferFile,
    stat: Statx,
    /** The directory and name this file was found or made under (null for the mount root). */
    dir: GoferInode | null,
    name: string,
  ) {
    this.attrs = stat;
    this.handles = [{ file, dir, name }];
    fs.liveHandles++;
  }

  /**
   * The preferred handle (its name is alive if any of this file's names is). After eviction
   * released it, walks from the parent to the same name again and checks that it still names
   * this file (same inode number and type), else ESTALE. An evicted inode is only used by an
   * operation that was under way when its dentry went; a handle re-taken that way is released
   * with the inode (the RPC engine releases garbage-collected capabilities).
   */
  async handle(): Promise<GoferFile | LinuxError> {
    const h = this.handles[0] as Handle;
    if (h.file !== null) return h.file;
    if (h.dir === null) return ESTALE; // the root is never evicted
    const parent = await h.dir.handle();
    if (isLinuxError(parent)) return parent;
    const r = await parent.walk([h.name]);
    if (isLinuxError(r)) return r;
    const e = r.entries[0];
    if (e === undefined) return ESTALE;
    if (e.stat.ino !== this.attrs.ino || (e.stat.mode & S_IFMT) !== (this.mode & S_IFMT) || h.file !== null) {
      e.file.release();
      return h.file ?? ESTALE;
    }
    h.file = e.file;
    this.fs.liveHandles++;
    return e.file;
  }

  /** The name `name` in `dir` no longer refers to this file: forget its handle (keeping the last). */
  private dropName(dir: GoferInode, name: string): void {
    const i = this.handles.findIndex((h) => h.dir === dir && h.name === name);
    if (i < 0 || this.handles.length === 1) return;
    const [h] = this.handles.splice(i, 1);
    if (h !== undefined) this.releaseHandle(h);
  }

  private releaseHandle(h: Handle): void {
    if (h.file === null) return;
    h.file.release();
    h.file = null;
    this.fs.liveHandles--;
  }

  /**
   * The VFS no longer caches this file under `name` in `dir` (evicted, or unlinked and unused):
   * release that name's handle, so the gofer can close its host FD. The last handle keeps its
   * name for `handle()`. The directory stops mapping the name to this inode, so a later lookup
   * walks again and makes a new inode (with the same inode number).
   */
  evicted(dir: Inode, name: string): void {
    if (!(dir instanceof GoferInode)) return;
    if (dir.children.get(name) === this) dir.children.delete(name);
    const i = this.handles.findIndex((h) => h.dir === dir && h.name === name);
    if (i < 0) return;
    const h = this.handles[i] as Handle;
    this.releaseHandle(h);
    if (this.handles.length > 1) this.handles.splice(i, 1);
  }

  /** The name `name` in `dir` moved to `newName` in `newDir` (the gofer moves its handle too). */
  private moveName(dir: GoferInode, name: string, newDir: GoferInode, newName: string): void {
    const h = this.handles.find((x) => x.dir === dir && x.name === name);
    if (h === undefined) return;
    h.dir = newDir;
    h.name = newName;
  }

  get ino(): number { return this.attrs.ino; }
  get mode(): number { return this.attrs.mode; }
  get uid(): number { return this.attrs.uid; }
  get gid(): number { return this.attrs.gid; }
  get nlink(): number { return this.attrs.nlink; }

  /** Re-reads the attributes from the gofer. */
  async refresh(): Promise<void | LinuxError> {
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const s = await f.fstat();
    if (isLinuxError(s)) return s;
    this.attrs = s;
    this.stale = false;
  }

  noteWrite(): void {
    this.stale = true;
  }

  /** Replaces the cached attributes with fresher ones (from a walk). */
  private update(s: Statx): void {
    this.attrs = s;
    this.stale = false;
  }

  async stat(): Promise<Statx | LinuxError> {
    if (this.stale || !this.fs.cacheIsAuthoritative) {
      const e = await this.refresh();
      if (e !== undefined) return e;
    }
    return { ...this.attrs, devMajor: this.fs.devMajor, devMinor: this.fs.devMinor };
  }

  async setStat(attrs: SetStat): Promise<void | LinuxError> {
    let mask = 0;
    const wire = (t: TimeSetting | undefined): Timespec => (t === undefined ? { sec: 0, nsec: UTIME_OMIT } : t === "now" ? { sec: 0, nsec: UTIME_NOW } : t);
    if (attrs.mode !== undefined) mask |= STATX_MODE;
    if (attrs.uid !== undefined) mask |= STATX_UID;
    if (attrs.gid !== undefined) mask |= STATX_GID;
    if (attrs.size !== undefined) mask |= STATX_SIZE;
    if (attrs.atime !== undefined) mask |= STATX_ATIME;
    if (attrs.mtime !== undefined) mask |= STATX_MTIME;
    if (mask !== 0) {
      const f = await this.handle();
      if (isLinuxError(f)) return f;
      const r = await f.setStat({
        mask,
        mode: attrs.mode ?? 0,
        uid: attrs.uid ?? 0,
        gid: attrs.gid ?? 0,
        size: attrs.size ?? 0,
        atime: wire(attrs.atime),
        mtime: wire(attrs.mtime),
      });
      if (r !== undefined) return r;
    }
    // Permission checks read mode/uid/gid synchronously: refresh now, not lazily.
    return this.refresh();
  }

  async open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    switch (this.mode & S_IFMT) {
      case S_IFDIR:
        return new GoferDirImpl(this);
      case S_IFIFO:
        this.fifo ??= new Pipe();
        return this.fifo.openFifo(opts.flags, opts.interrupter);
      case S_IFSOCK:
      case S_IFCHR:
      case S_IFBLK:
        return ENXIO;
      case S_IFLNK:
        return EINVAL;
    }
    // Try each name the file is known by: one may have been removed behind the gofer's back.
    let fd: number | LinuxError = ENOENT;
    for (const h of this.handles) {
      // Only a sole handle is ever released (evicted while this open was under way).
      const f = h.file ?? (await this.handle());
      if (isLinuxError(f)) return f;
      fd = await f.openAt(opts.flags & OPEN_PASSED);
      if (fd !== ENOENT && fd !== ESTALE) break;
    }
    if (isLinuxError(fd)) return fd;
    return new HostFileImpl(this, fd);
  }

  async readlink(): Promise<string | LinuxError> {
    if (this.linkTarget !== undefined && this.fs.cacheIsAuthoritative) return this.linkTarget;
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const t = await f.readLinkAt();
    if (!isLinuxError(t)) this.linkTarget = t;
    return t;
  }

  // ---------------------------------------------------------------- directories

  async lookup(name: string): Promise<Inode | LinuxError> {
    if ((this.mode & S_IFMT) !== S_IFDIR) return ENOTDIR;
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const r = await f.walk([name]);
    if (isLinuxError(r)) return r;
    const e = r.entries[0];
    if (e === undefined) {
      this.children.delete(name);
      return ENOENT;
    }
    return this.adoptWalked(name, e);
  }

  /**
   * The inode for child `name` that a walk just found: the one already known under that name if
   * it is the same file (the new handle is then released), else a new one.
   */
  private adoptWalked(name: string, e: { file: GoferFile; stat: Statx }): GoferInode {
    const known = this.children.get(name);
    if (known !== undefined && known.attrs.ino === e.stat.ino && (known.mode & S_IFMT) === (e.stat.mode & S_IFMT)) {
      known.update(e.stat);
      e.file.release();
      return known;
    }
    const child = new GoferInode(this.fs, e.file, e.stat, this, name);
    this.children.set(name, child);
    return child;
  }

  /** One `walk` RPC for several levels (see Inode.lookupChain). */
  async lookupChain(names: readonly string[]): Promise<Inode[] | LinuxError> {
    if ((this.mode & S_IFMT) !== S_IFDIR) return ENOTDIR;
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const r = await f.walk(names);
    if (isLinuxError(r)) return r;
    const out: GoferInode[] = [];
    r.entries.forEach((e, k) => {
      const name = names[k] as string;
      const dir = out[k - 1] ?? this;
      out.push(dir.adoptWalked(name, e));
    });
    return out;
  }

  private adopt(name: string, made: { file: GoferFile; stat: Statx }): GoferInode {
    this.stale = true;
    const child = new GoferInode(this.fs, made.file, made.stat, this, name);
    this.children.set(name, child);
    return child;
  }

  async create(name: string, attrs: CreateAttrs): Promise<Inode | LinuxError> {
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const r = await f.openCreateAt(name, O_RDONLY, attrs.mode & 0o7777, attrs.uid, attrs.gid);
    if (isLinuxError(r)) return r;
    this.fs.closeFd(r.fd);
    return this.adopt(name, r);
  }

  async mkdir(name: string, attrs: CreateAttrs): Promise<Inode | LinuxError> {
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const r = await f.mkdirAt(name, attrs.mode & 0o7777, attrs.uid, attrs.gid);
    return isLinuxError(r) ? r : this.adopt(name, r);
  }

  async mknod(name: string, attrs: CreateAttrs, _rdev: number): Promise<Inode | LinuxError> {
    const type = attrs.mode & S_IFMT;
    // Device nodes are the sentry's business, never the host's (the gofer refuses them too).
    if (type === S_IFCHR || type === S_IFBLK) return EPERM;
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const r = await f.mknodAt(name, attrs.mode, 0, 0, attrs.uid, attrs.gid);
    return isLinuxError(r) ? r : this.adopt(name, r);
  }

  async symlink(name: string, target: string, attrs: CreateAttrs): Promise<Inode | LinuxError> {
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const r = await f.symlinkAt(name, target, attrs.uid, attrs.gid);
    return isLinuxError(r) ? r : this.adopt(name, r);
  }

  async link(name: string, target: Inode): Promise<void | LinuxError> {
    if (!(target instanceof GoferInode) || target.fs !== this.fs) return EXDEV;
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const tf = await target.handle();
    if (isLinuxError(tf)) return tf;
    const r = await f.linkAt(tf, name);
    if (isLinuxError(r)) return r;
    target.handles.push({ file: r.file, dir: this, name });
    this.fs.liveHandles++;
    this.stale = true;
    this.children.set(name, target);
    return target.refresh();
  }

  private async remove(name: string, child: Inode, flags: number): Promise<void | LinuxError> {
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const r = await f.unlinkAt(name, flags);
    if (r !== undefined) return r;
    this.children.delete(name);
    this.stale = true;
    if (child instanceof GoferInode) {
      child.stale = true;
      child.dropName(this, name);
    }
  }

  unlink(name: string, child: Inode): Promise<void | LinuxError> {
    return this.remove(name, child, 0);
  }

  rmdir(name: string, child: Inode): Promise<void | LinuxError> {
    return this.remove(name, child, AT_REMOVEDIR);
  }

  async rename(name: string, child: Inode, newDir: Inode, newName: string, replaced: Inode | undefined, exchange: boolean): Promise<void | LinuxError> {
    if (!(newDir instanceof GoferInode) || newDir.fs !== this.fs || !(child instanceof GoferInode)) return EXDEV;
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    const nf = await newDir.handle();
    if (isLinuxError(nf)) return nf;
    const r = await f.renameAt(name, nf, newName, exchange ? RENAME_EXCHANGE : 0);
    if (r !== undefined) return r;
    this.children.delete(name);
    newDir.children.set(newName, child);
    if (replaced instanceof GoferInode) {
      if (exchange) {
        this.children.set(name, replaced);
        replaced.moveName(newDir, newName, this, name);
      } else {
        replaced.dropName(newDir, newName);
      }
    }
    child.moveName(this, name, newDir, newName);
    for (const i of [this, newDir, child, replaced]) if (i instanceof GoferInode) i.stale = true;
  }

  // ---------------------------------------------------------------- listing

  /** One batch of the host directory's entries after gofer cookie `cookie`. */
  async dirents(cookie: bigint): ReturnType<GoferFile["getdents64"]> {
    const f = await this.handle();
    if (isLinuxError(f)) return f;
    return f.getdents64(cookie, DIRENT_BATCH);
  }
}

/**
 * An open directory. The gofer's cookies are host values (ext4's are 63-bit hashes), so the
 * description hands out small local cookies (1 ".", 2 "..", 3+k for the k-th entry read) and
 * remembers the gofer cookie behind each.
 */
class GoferDirImpl implements FileDescriptionImpl {
  readonly seekable = true;
  private readonly goferOffs: bigint[] = [];

  constructor(private readonly dir: GoferInode) {}

  async iterDirents(cookie: number, emit: (d: Dirent) => boolean): Promise<number | LinuxError> {
    let pos = cookie;
    const ino = this.dir.ino;
    if (pos < 1) {
      if (!emit({ ino, off: 1, type: 4, name: "." })) return pos;
      pos = 1;
    }
    if (pos < 2) {
      if (!emit({ ino, off: 2, type: 4, name: ".." })) return pos;
      pos = 2;
    }
    let gofer = pos === 2 ? 0n : this.goferOffs[pos - 3];
    if (gofer === undefined) return pos; // a cookie this description never handed out: end
    for (;;) {
      const batch = await this.dir.dirents(gofer);
      if (isLinuxError(batch)) return pos === cookie ? batch : pos;
      if (batch.length === 0) return pos;
      for (const e of batch) {
        const index = pos - 2;
        if (!emit({ ino: e.ino, off: index + 3, type: e.type, name: e.name })) return pos;
        this.goferOffs[index] = e.off;
        pos = index + 3;
        gofer = e.off;
      }
    }
  }

  seek(offset: number, whence: number, current: number): Promise<number | LinuxError> {
    const r = whence === 0 ? offset : whence === 1 ? current + offset : -1;
    return Promise.resolve(r < 0 ? EINVAL : r);
  }
}
