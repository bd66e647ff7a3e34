/** Overlay inodes: lookup across layers, copy-up, whiteouts and opaque directories. */
import {
  EEXIST,
  EINVAL,
  ENOENT,
  ENOTEMPTY,
  EPERM,
  EXDEV,
  O_ACCMODE,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  isLinuxError,
  type LinuxError,
} from "@runsc-ts/abi";
import { Credentials } from "../../kernel/auth/credentials.js";
import { makeDev } from "../../vfs/constants.js";
import type { Dirent, FileDescriptionImpl } from "../../vfs/file-description.js";
import type { Caller, CreateAttrs, Inode, OpenOptions } from "../../vfs/filesystem.js";
import { isDir, type SetStat, type Statx } from "../../vfs/stat.js";
import type { OverlayFilesystem } from "./filesystem.js";

export const OPAQUE_XATTR = "trusted.overlay.opaque";
const COPY_CHUNK = 1 << 16;
/** Credentials the overlay uses for its own opens of layer inodes (the mounter's: root). */
const MOUNTER = Credentials.root();

/** Whether `inode` (an upper-layer inode) is a whiteout: a character device 0/0. */
async function isWhiteout(inode: Inode): Promise<boolean> {
  if ((inode.mode & S_IFMT) !== S_IFCHR) return false;
  const st = await inode.stat();
  return !isLinuxError(st) && st.rdevMajor === 0 && st.rdevMinor === 0;
}

async function isOpaque(dir: Inode): Promise<boolean> {
  if (dir.getxattr === undefined) return false;
  const v = await dir.getxattr(OPAQUE_XATTR);
  return !isLinuxError(v) && v.length === 1 && v[0] === 0x79; // "y"
}

/** Every entry of a layer directory except "." and "..". */
async function listLayer(dir: Inode): Promise<Dirent[] | LinuxError> {
  const impl = await dir.open({ flags: O_RDONLY, creds: MOUNTER });
  if (isLinuxError(impl)) return impl;
  try {
    if (impl.iterDirents === undefined) return EINVAL;
    const out: Dirent[] = [];
    const r = await impl.iterDirents(0, (d) => {
      if (d.name !== "." && d.name !== "..") out.push(d);
      return true;
    });
    return isLinuxError(r) ? r : out;
  } finally {
    impl.release?.();
  }
}

/** A merged directory entry. */
interface MergedEntry {
  readonly name: string;
  readonly type: number;
  readonly ino: number;
}

export class OverlayInode implements Inode {
  private copying: Promise<void | LinuxError> | undefined;

  constructor(
    readonly fs: OverlayFilesystem,
    /** The overlay directory this inode was found in (null for the root). */
    public parent: OverlayInode | null,
    /** Its name there (the name copy-up recreates it under). */
    public name: string,
    public upper: Inode | undefined,
    public lower: Inode | undefined,
  ) {}

  /** The inode whose attributes and data are visible. */
  private get top(): Inode {
    const t = this.upper ?? this.lower;
    if (t === undefined) throw new Error("overlay inode with no layer");
    return t;
  }

  get ino(): number {
    return this.fs.inoFor(this.upper, this.lower);
  }
  get mode(): number { return this.top.mode; }
  get uid(): number { return this.top.uid; }
  get gid(): number { return this.top.gid; }
  get nlink(): number { return this.top.nlink; }

  async stat(): Promise<Statx | LinuxError> {
    let s = await this.top.stat();
    if (isLinuxError(s)) return s;
    if (this.parent === null && this.lower !== undefined) {
      const pristine = await this.fs.pristineRootCtime;
      if (pristine !== undefined && s.ctime.sec === pristine.sec && s.ctime.nsec === pristine.nsec) {
        const low = await this.lower.stat();
        if (!isLinuxError(low)) s = low;
      }
    }
    return { ...s, ino: this.ino, devMajor: this.fs.devMajor, devMinor: this.fs.devMinor };
  }

  /**
   * The overlay's dentry for this inode was evicted or is gone: the layers may drop what they
   * hold for the name (the gofer lower layer releases its handle). A lower inode is always the
   * lower directory's child under this same name (directories with a lower layer are never
   * renamed; a renamed file drops its lower inode).
   */
  evicted(dir: Inode, name: string): void {
    if (!(dir instanceof OverlayInode)) return;
    if (this.lower !== undefined && dir.lower !== undefined) this.lower.evicted?.(dir.lower, name);
    if (this.upper !== undefined && dir.upper !== undefined) this.upper.evicted?.(dir.upper, name);
  }

  async setStat(attrs: SetStat): Promise<void | LinuxError> {
    const e = await this.copyUp();
    if (e !== undefined) return e;
    return (this.upper as Inode).setStat(attrs);
  }

  async open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    if (isDir(this.mode)) return new MergedDirImpl(this);
    const acc = opts.flags & O_ACCMODE;
    const writes = acc !== O_RDONLY || (opts.flags & O_TRUNC) !== 0;
    if (writes && (this.mode & S_IFMT) === S_IFREG) {
      const e = await this.copyUp();
      if (e !== undefined) return e;
    }
    return this.top.open(opts);
  }

  readlink(caller?: Caller): Promise<string | LinuxError> {
    const t = this.top;
    return t.readlink === undefined ? Promise.resolve(EINVAL) : t.readlink(caller);
  }

  // ---------------------------------------------------------------- copy-up

  /** Copies this file (and its ancestors) into the upper layer if it is not there yet. */
  copyUp(): Promise<void | LinuxError> {
    if (this.upper !== undefined) return Promise.resolve();
    this.copying ??= this.doCopyUp().finally(() => {
      this.copying = undefined;
    });
    return this.copying;
  }

  private async doCopyUp(): Promise<void | LinuxError> {
    const lower = this.lower;
    const parent = this.parent;
    if (lower === undefined || parent === null) throw new Error("overlay copy-up without a lower inode or parent");
    const pe = await parent.copyUp();
    if (pe !== undefined) return pe;
    const dir = parent.upper as Inode;
    const st = await lower.stat();
    if (isLinuxError(st)) return st;
    const attrs: CreateAttrs = { mode: st.mode, uid: st.uid, gid: st.gid };
    let made: Inode | LinuxError;
    switch (st.mode & S_IFMT) {
      case S_IFDIR:
        made = dir.mkdir === undefined ? EPERM : await dir.mkdir(this.name, attrs);
        break;
      case S_IFREG:
        made = dir.create === undefined ? EPERM : await dir.create(this.name, attrs);
        if (!isLinuxError(made)) {
          const e = await copyData(lower, made);
          if (e !== undefined) return e;
        }
        break;
      case S_IFLNK: {
        const target = lower.readlink === undefined ? EINVAL : await lower.readlink();
        if (isLinuxError(target)) return target;
        made = dir.symlink === undefined ? EPERM : await dir.symlink(this.name, target, attrs);
        break;
      }
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
      case S_IFSOCK:
        made = dir.mknod === undefined ? EPERM : await dir.mknod(this.name, attrs, makeDev(st.rdevMajor, st.rdevMinor));
        break;
      default:
        return EINVAL;
    }
    if (isLinuxError(made)) return made;
    const te = await made.setStat({ atime: st.atime, mtime: st.mtime });
    if (te !== undefined) return te;
    this.fs.noteCopyUp(made, lower);
    this.upper = made;
  }

  // ---------------------------------------------------------------- directory operations

  /** The upper directory's child `name`, unless it is a whiteout (then `whiteout` is set). */
  private async upperChild(name: string): Promise<{ inode?: Inode; whiteout: boolean }> {
    const up = this.upper;
    if (up?.lookup === undefined) return { whiteout: false };
    const c = await up.lookup(name);
    if (isLinuxError(c)) return { whiteout: false };
    if (await isWhiteout(c)) return { whiteout: true };
    return { inode: c, whiteout: false };
  }

  private async lowerVisible(): Promise<boolean> {
    if (this.lower === undefined) return false;
    return this.upper === undefined || !(await isOpaque(this.upper));
  }

  /**
   * The lower directory's child `name`; undefined when there is none (ENOENT, or the lower
   * directory is hidden). Any other failure (EIO, EMFILE from a gofer) is returned, never
   * mistaken for absence.
   */
  private async lowerChild(name: string): Promise<Inode | undefined | LinuxError> {
    if (!(await this.lowerVisible())) return undefined;
    const low = this.lower;
    if (low?.lookup === undefined) return undefined;
    const c = await low.lookup(name);
    return c === ENOENT ? undefined : c;
  }

  /** Whether the lower directory has `name` (or why that cannot be known). */
  private async lowerHas(name: string): Promise<boolean | LinuxError> {
    const c = await this.lowerChild(name);
    return isLinuxError(c) ? c : c !== undefined;
  }

  async lookup(name: string): Promise<Inode | LinuxError> {
    const up = await this.upperChild(name);
    if (up.whiteout) return ENOENT;
    if (up.inode !== undefined && !isDir(up.inode.mode)) return new OverlayInode(this.fs, this, name, up.inode, undefined);
    const low = await this.lowerChild(name);
    if (isLinuxError(low)) return low;
    if (up.inode !== undefined) {
      const merge = low !== undefined && isDir(low.mode) && !(await isOpaque(up.inode));
      return new OverlayInode(this.fs, this, name, up.inode, merge ? low : undefined);
    }
    if (low === undefined) return ENOENT;
    return new OverlayInode(this.fs, this, name, undefined, low);
  }

  /**
   * Prepares the upper directory for a new entry `name`: copies this directory up and removes
   * a whiteout there. Returns whether a whiteout was replaced (a new directory must be opaque).
   */
  private async prepareNew(name: string): Promise<{ dir: Inode; replacedWhiteout: boolean } | LinuxError> {
    const e = await this.copyUp();
    if (e !== undefined) return e;
    const dir = this.upper as Inode;
    const up = await this.upperChild(name);
    if (up.inode !== undefined) return EEXIST;
    if (up.whiteout) {
      const wo = dir.lookup === undefined ? ENOENT : await dir.lookup(name);
      if (isLinuxError(wo)) return wo;
      const r = dir.unlink === undefined ? EPERM : await dir.unlink(name, wo);
      if (r !== undefined) return r;
    }
    const lowerHas = up.whiteout || (await this.lowerHas(name));
    if (isLinuxError(lowerHas)) return lowerHas;
    return { dir, replacedWhiteout: lowerHas };
  }

  private async addChild(name: string, make: (dir: Inode) => Promise<Inode | LinuxError>, opaque = false): Promise<Inode | LinuxError> {
    const p = await this.prepareNew(name);
    if (isLinuxError(p)) return p;
    const child = await make(p.dir);
    if (isLinuxError(child)) return child;
    if (opaque && p.replacedWhiteout && child.setxattr !== undefined) {
      const r = await child.setxattr(OPAQUE_XATTR, new Uint8Array([0x79]), 0);
      if (r !== undefined) return r;
    }
    return new OverlayInode(this.fs, this, name, child, undefined);
  }

  create(name: string, attrs: CreateAttrs): Promise<Inode | LinuxError> {
    return this.addChild(name, (d) => (d.create === undefined ? Promise.resolve(EPERM) : d.create(name, attrs)));
  }

  mkdir(name: string, attrs: CreateAttrs): Promise<Inode | LinuxError> {
    return this.addChild(name, (d) => (d.mkdir === undefined ? Promise.resolve(EPERM) : d.mkdir(name, attrs)), true);
  }

  mknod(name: string, attrs: CreateAttrs, rdev: number): Promise<Inode | LinuxError> {
    return this.addChild(name, (d) => (d.mknod === undefined ? Promise.resolve(EPERM) : d.mknod(name, attrs, rdev)));
  }

  symlink(name: string, target: string, attrs: CreateAttrs): Promise<Inode | LinuxError> {
    return this.addChild(name, (d) => (d.symlink === undefined ? Promise.resolve(EPERM) : d.symlink(name, target, attrs)));
  }

  async link(name: string, target: Inode): Promise<void | LinuxError> {
    if (!(target instanceof OverlayInode) || target.fs !== this.fs) return EXDEV;
    const e = await target.copyUp();
    if (e !== undefined) return e;
    const p = await this.prepareNew(name);
    if (isLinuxError(p)) return p;
    if (p.dir.link === undefined) return EPERM;
    return p.dir.link(name, target.upper as Inode);
  }

  /** Leaves a whiteout for `name` in the upper directory (which must exist). */
  private async whiteout(name: string): Promise<void | LinuxError> {
    const dir = this.upper as Inode;
    if (dir.mknod === undefined) return EPERM;
    const r = await dir.mknod(name, { mode: S_IFCHR, uid: 0, gid: 0 }, 0);
    return isLinuxError(r) ? r : undefined;
  }

  /** Removes `child`'s upper entry (if any) and hides a lower one with a whiteout. */
  private async removeEntry(name: string, child: OverlayInode, rmdir: boolean): Promise<void | LinuxError> {
    const e = await this.copyUp();
    if (e !== undefined) return e;
    const dir = this.upper as Inode;
    const lowerHas = await this.lowerHas(name);
    if (isLinuxError(lowerHas)) return lowerHas;
    if (child.upper !== undefined) {
      let r: void | LinuxError;
      if (rmdir) {
        const c = await child.clearWhiteouts();
        if (c !== undefined) return c;
        r = dir.rmdir === undefined ? EPERM : await dir.rmdir(name, child.upper);
      } else {
        r = dir.unlink === undefined ? EPERM : await dir.unlink(name, child.upper);
      }
      if (r !== undefined) return r;
    }
    if (lowerHas) return this.whiteout(name);
  }

  unlink(name: string, child: Inode): Promise<void | LinuxError> {
    if (!(child instanceof OverlayInode)) return Promise.resolve(EINVAL);
    return this.removeEntry(name, child, false);
  }

  async rmdir(name: string, child: Inode): Promise<void | LinuxError> {
    if (!(child instanceof OverlayInode)) return EINVAL;
    const entries = await child.merged();
    if (isLinuxError(entries)) return entries;
    if (entries.length > 0) return ENOTEMPTY;
    return this.removeEntry(name, child, true);
  }

  /** Deletes the whiteouts in this (upper) directory, so that the upper rmdir can succeed. */
  private async clearWhiteouts(): Promise<void | LinuxError> {
    const up = this.upper;
    if (up === undefined) return;
    const list = await listLayer(up);
    if (isLinuxError(list)) return list;
    for (const d of list) {
      const c = up.lookup === undefined ? ENOENT : await up.lookup(d.name);
      if (isLinuxError(c)) return c;
      if (!(await isWhiteout(c))) return ENOTEMPTY;
      const r = up.unlink === undefined ? EPERM : await up.unlink(d.name, c);
      if (r !== undefined) return r;
    }
  }

  async rename(name: string, child: Inode, newDir: Inode, newName: string, replaced: Inode | undefined, exchange: boolean): Promise<void | LinuxError> {
    if (!(child instanceof OverlayInode) || !(newDir instanceof OverlayInode)) return EINVAL;
    if (replaced !== undefined && !(replaced instanceof OverlayInode)) return EINVAL;
    if (exchange) return EXDEV;
    const childIsDir = isDir(child.mode);
    if (childIsDir && child.lower !== undefined) return EXDEV;
    if (replaced !== undefined && isDir(replaced.mode)) {
      const entries = await replaced.merged();
      if (isLinuxError(entries)) return entries;
      if (entries.length > 0) return ENOTEMPTY;
    }
    let e = await child.copyUp();
    if (e === undefined) e = await this.copyUp();
    if (e === undefined) e = await newDir.copyUp();
    if (e !== undefined) return e;
    const oldUpper = this.upper as Inode;
    const newUpper = newDir.upper as Inode;
    const oldLowerHas = await this.lowerHas(name);
    if (isLinuxError(oldLowerHas)) return oldLowerHas;
    const newLowerHas = await newDir.lowerHas(newName);
    if (isLinuxError(newLowerHas)) return newLowerHas;
    // What the upper layer has at the destination (a file, a directory, or a whiteout).
    let upperTarget: Inode | undefined;
    if (newUpper.lookup !== undefined) {
      const t = await newUpper.lookup(newName);
      if (!isLinuxError(t)) upperTarget = t;
    }
    if (replaced?.upper !== undefined && isDir(replaced.mode)) {
      const c = await replaced.clearWhiteouts();
      if (c !== undefined) return c;
    }
    if (oldUpper.rename === undefined) return EPERM;
    const r = await oldUpper.rename(name, child.upper as Inode, newUpper, newName, upperTarget, false);
    if (r !== undefined) return r;
    if (oldLowerHas) {
      const w = await this.whiteout(name);
      if (w !== undefined) return w;
    }
    if (childIsDir && newLowerHas && child.upper?.setxattr !== undefined) {
      const o = await child.upper.setxattr(OPAQUE_XATTR, new Uint8Array([0x79]), 0);
      if (o !== undefined) return o;
    }
    child.parent = newDir;
    child.name = newName;
    // A lower file now hidden under the new name must not be merged back in (and the lower
    // layer may drop what it holds for the old name).
    if (!childIsDir) {
      if (child.lower !== undefined && this.lower !== undefined) child.lower.evicted?.(this.lower, name);
      child.lower = undefined;
    }
  }

  // ---------------------------------------------------------------- merged listing

  /** The merged entries of this directory (no ".", ".."). */
  async merged(): Promise<MergedEntry[] | LinuxError> {
    const out: MergedEntry[] = [];
    const seen = new Set<string>();
    const up = this.upper;
    if (up !== undefined) {
      const list = await listLayer(up);
      if (isLinuxError(list)) return list;
      for (const d of list) {
        seen.add(d.name);
        const c = up.lookup === undefined ? undefined : await up.lookup(d.name);
        if (c === undefined || isLinuxError(c) || (await isWhiteout(c))) continue;
        let lowerIno: Inode | undefined;
        if (isDir(c.mode) && !(await isOpaque(c))) {
          const l = await this.lowerChild(d.name);
          if (isLinuxError(l)) return l;
          if (l !== undefined && isDir(l.mode)) lowerIno = l;
        }
        out.push({ name: d.name, type: d.type, ino: this.fs.inoFor(c, lowerIno) });
      }
    }
    if (await this.lowerVisible()) {
      const low = this.lower as Inode;
      const list = await listLayer(low);
      if (isLinuxError(list)) return list;
      for (const d of list) {
        if (seen.has(d.name)) continue;
        const c = low.lookup === undefined ? undefined : await low.lookup(d.name);
        if (c === undefined || isLinuxError(c)) continue;
        out.push({ name: d.name, type: d.type, ino: this.fs.inoFor(undefined, c) });
      }
    }
    return out;
  }
}

/** Copies a regular file's data from `src` to `dst` (both layer inodes). */
async function copyData(src: Inode, dst: Inode): Promise<void | LinuxError> {
  const r = await src.open({ flags: O_RDONLY, creds: MOUNTER });
  if (isLinuxError(r)) return r;
  const w = await dst.open({ flags: O_WRONLY, creds: MOUNTER });
  if (isLinuxError(w)) {
    r.release?.();
    return w;
  }
  try {
    if (r.read === undefined || w.write === undefined) return EINVAL;
    const buf = new Uint8Array(COPY_CHUNK);
    for (let off = 0; ; ) {
      const n = await r.read(buf, off);
      if (isLinuxError(n)) return n;
      if (n === 0) break;
      for (let done = 0; done < n; ) {
        const m = await w.write(buf.subarray(done, n), off + done);
        if (isLinuxError(m)) return m;
        done += m;
      }
      off += n;
    }
  } finally {
    r.release?.();
    w.release?.();
  }
}

/** An open overlay directory: the merged listing, snapshotted when reading starts at 0. */
class MergedDirImpl implements FileDescriptionImpl {
  readonly seekable = true;
  private snapshot: MergedEntry[] | undefined;

  constructor(private readonly dir: OverlayInode) {}

  async iterDirents(cookie: number, emit: (d: Dirent) => boolean): Promise<number | LinuxError> {
    if (cookie === 0 || this.snapshot === undefined) {
      const m = await this.dir.merged();
      if (isLinuxError(m)) return m;
      this.snapshot = m;
    }
    let pos = cookie;
    const dir = this.dir;
    if (pos < 1) {
      if (!emit({ ino: dir.ino, off: 1, type: 4, name: "." })) return pos;
      pos = 1;
    }
    if (pos < 2) {
      const parent = dir.parent ?? dir;
      if (!emit({ ino: parent.ino, off: 2, type: 4, name: ".." })) return pos;
      pos = 2;
    }
    for (let i = pos - 2; i < this.snapshot.length; i++) {
      const e = this.snapshot[i] as MergedEntry;
      if (!emit({ ino: e.ino, off: i + 3, type: e.type, name: e.name })) break;
      pos = i + 3;
    }
    return pos;
  }

  seek(offset: number, whence: number, current: number): Promise<number | LinuxError> {
    const r = whence === 0 ? offset : whence === 1 ? current + offset : -1;
    return Promise.resolve(r < 0 ? EINVAL : r);
  }
}
