/**
 * tmpfs directories.
 *
 * getdents cookies are stable: every entry gets the next value of a per-directory counter
 * when it is added (".", ".." are 1 and 2), entries are kept in cookie order, and a reader
 * resumes at the first entry whose cookie is greater than its offset. Unlinking entries
 * (including the one just returned) therefore never makes a concurrent reader skip or repeat
 * a surviving entry; an entry added during a listing appears at its end. A renamed entry gets
 * a new cookie, as if removed and added.
 */
import { EEXIST, EINVAL, ENOENT, ENOTEMPTY, S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT, S_IFSOCK, SEEK_CUR, SEEK_SET, type LinuxError } from "@runsc-ts/abi";
import { modeToDirentType } from "../../vfs/constants.js";
import type { Dirent, FileDescriptionImpl } from "../../vfs/file-description.js";
import type { CreateAttrs, Inode, OpenOptions } from "../../vfs/filesystem.js";
import type { TmpFilesystem } from "./filesystem.js";
import { TmpInode } from "./inode.js";
import { TmpRegularFile } from "./regular-file.js";
import { TmpDevice, TmpFifo, TmpSocket, TmpSymlink } from "./special.js";

interface DirEntry {
  readonly name: string;
  inode: TmpInode;
  readonly cookie: number;
}

const FIRST_COOKIE = 3;

export class TmpDirectory extends TmpInode {
  private readonly entries = new Map<string, DirEntry>();
  /** Entries in cookie order (append-only apart from removals). */
  private readonly ordered: DirEntry[] = [];
  private nextCookie = FIRST_COOKIE;
  /** The directory's parent, for ".." in getdents; null for the root. */
  parent: TmpDirectory | null;

  constructor(fs: TmpFilesystem, attrs: CreateAttrs, parent: TmpDirectory | null) {
    super(fs, attrs, 2);
    this.parent = parent;
  }

  get size(): number {
    return this.entries.size;
  }

  protected override fillStat(s: import("../../vfs/stat.js").Statx): void {
    // Linux tmpfs reports (entries + 2) * BOGO_DIRENT_SIZE (20).
    s.size = (this.entries.size + 2) * 20;
  }

  private own(inode: Inode): TmpInode | undefined {
    return inode instanceof TmpInode && inode.fs === this.fs ? inode : undefined;
  }

  private insert(name: string, inode: TmpInode): void {
    const e: DirEntry = { name, inode, cookie: this.nextCookie++ };
    this.entries.set(name, e);
    this.ordered.push(e);
    this.attrs.touchModify();
  }

  private remove(name: string): DirEntry | undefined {
    const e = this.entries.get(name);
    if (e === undefined) return undefined;
    this.entries.delete(name);
    const i = this.indexAfter(e.cookie - 1);
    if (this.ordered[i] === e) this.ordered.splice(i, 1);
    this.attrs.touchModify();
    return e;
  }

  /** Index of the first entry with cookie > `cookie` (binary search). */
  private indexAfter(cookie: number): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ordered[mid] as DirEntry).cookie <= cookie) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  lookup(name: string): Promise<Inode | LinuxError> {
    const e = this.entries.get(name);
    return Promise.resolve(e === undefined ? ENOENT : e.inode);
  }

  private add<T extends TmpInode>(name: string, make: () => T): Promise<T | LinuxError> {
    if (this.entries.has(name)) return Promise.resolve(EEXIST);
    if (this.attrs.nlink === 0) return Promise.resolve(ENOENT);
    const inode = make();
    this.insert(name, inode);
    return Promise.resolve(inode);
  }

  create(name: string, attrs: CreateAttrs): Promise<Inode | LinuxError> {
    return this.add(name, () => new TmpRegularFile(this.fs, attrs));
  }

  async mkdir(name: string, attrs: CreateAttrs): Promise<Inode | LinuxError> {
    const r = await this.add(name, () => new TmpDirectory(this.fs, attrs, this));
    if (r instanceof TmpDirectory) this.attrs.nlink++;
    return r;
  }

  mknod(name: string, attrs: CreateAttrs, rdev: number): Promise<Inode | LinuxError> {
    switch (attrs.mode & S_IFMT) {
      case S_IFCHR:
      case S_IFBLK:
        return this.add(name, () => new TmpDevice(this.fs, attrs, rdev));
      case S_IFIFO:
        return this.add(name, () => new TmpFifo(this.fs, attrs));
      case S_IFSOCK:
        return this.add(name, () => new TmpSocket(this.fs, attrs));
      default:
        return Promise.resolve(EINVAL);
    }
  }

  symlink(name: string, target: string, attrs: CreateAttrs): Promise<Inode | LinuxError> {
    return this.add(name, () => new TmpSymlink(this.fs, attrs, target));
  }

  link(name: string, target: Inode): Promise<void | LinuxError> {
    const t = this.own(target);
    if (t === undefined) return Promise.resolve(EINVAL);
    if (this.entries.has(name)) return Promise.resolve(EEXIST);
    if (this.attrs.nlink === 0) return Promise.resolve(ENOENT);
    t.attrs.nlink++;
    t.attrs.touchChange();
    this.insert(name, t);
    return Promise.resolve();
  }

  unlink(name: string, child: Inode): Promise<void | LinuxError> {
    const e = this.entries.get(name);
    if (e === undefined || e.inode !== child) return Promise.resolve(ENOENT);
    this.remove(name);
    e.inode.attrs.nlink--;
    e.inode.attrs.touchChange();
    e.inode.maybeEvict();
    return Promise.resolve();
  }

  rmdir(name: string, child: Inode): Promise<void | LinuxError> {
    const e = this.entries.get(name);
    if (e === undefined || e.inode !== child || !(child instanceof TmpDirectory)) return Promise.resolve(ENOENT);
    if (child.entries.size > 0) return Promise.resolve(ENOTEMPTY);
    this.remove(name);
    this.attrs.nlink--;
    child.attrs.nlink = 0;
    child.attrs.touchChange();
    return Promise.resolve();
  }

  rename(name: string, child: Inode, newDir: Inode, newName: string, replaced: Inode | undefined, exchange: boolean): Promise<void | LinuxError> {
    const e = this.entries.get(name);
    if (e === undefined || e.inode !== child) return Promise.resolve(ENOENT);
    if (!(newDir instanceof TmpDirectory) || newDir.fs !== this.fs) return Promise.resolve(EINVAL);
    const target = newDir.entries.get(newName);
    if ((target?.inode ?? undefined) !== replaced) return Promise.resolve(ENOENT);
    if (newDir.attrs.nlink === 0) return Promise.resolve(ENOENT);
    const moved = e.inode;
    const childIsDir = moved instanceof TmpDirectory;

    if (exchange) {
      if (target === undefined) return Promise.resolve(ENOENT);
      const other = target.inode;
      const otherIsDir = other instanceof TmpDirectory;
      e.inode = other;
      target.inode = moved;
      if (this !== newDir && childIsDir !== otherIsDir) {
        if (childIsDir) { this.attrs.nlink--; newDir.attrs.nlink++; } else { this.attrs.nlink++; newDir.attrs.nlink--; }
      }
      if (moved instanceof TmpDirectory) moved.parent = newDir;
      if (other instanceof TmpDirectory) other.parent = this;
      moved.attrs.touchChange();
      other.attrs.touchChange();
      this.attrs.touchModify();
      newDir.attrs.touchModify();
      return Promise.resolve();
    }

    if (target !== undefined) {
      const victim = target.inode;
      if (victim instanceof TmpDirectory) {
        if (victim.entries.size > 0) return Promise.resolve(ENOTEMPTY);
        newDir.attrs.nlink--;
        victim.attrs.nlink = 0;
      } else {
        victim.attrs.nlink--;
      }
      victim.attrs.touchChange();
      newDir.remove(newName);
      victim.maybeEvict();
    }
    this.remove(name);
    newDir.insert(newName, moved);
    if (childIsDir && this !== newDir) {
      this.attrs.nlink--;
      newDir.attrs.nlink++;
      (moved as TmpDirectory).parent = newDir;
    }
    moved.attrs.touchChange();
    return Promise.resolve();
  }

  open(_opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    return Promise.resolve(new DirectoryImpl(this));
  }

  /** Emits ".", ".." and the entries after `cookie`. */
  iterDirents(cookie: number, emit: (d: Dirent) => boolean): number {
    let pos = cookie;
    if (pos < 1) {
      if (!emit({ ino: this.ino, off: 1, type: modeToDirentType(this.mode), name: "." })) return pos;
      pos = 1;
    }
    if (pos < 2) {
      const parent = this.parent ?? this;
      if (!emit({ ino: parent.ino, off: 2, type: modeToDirentType(parent.mode), name: ".." })) return pos;
      pos = 2;
    }
    for (let i = this.indexAfter(pos); i < this.ordered.length; i++) {
      const e = this.ordered[i] as DirEntry;
      if (!emit({ ino: e.inode.ino, off: e.cookie, type: modeToDirentType(e.inode.mode), name: e.name })) break;
      pos = e.cookie;
    }
    return pos;
  }

  /** Whether `name` is an entry (for tests and overlay). */
  has(name: string): boolean {
    return this.entries.has(name);
  }
}

class DirectoryImpl implements FileDescriptionImpl {
  readonly seekable = true;
  constructor(private readonly dir: TmpDirectory) {}

  iterDirents(cookie: number, emit: (d: Dirent) => boolean): Promise<number | LinuxError> {
    return Promise.resolve(this.dir.iterDirents(cookie, emit));
  }

  /** dcache_dir_lseek: SEEK_SET and SEEK_CUR to a non-negative cookie. */
  seek(offset: number, whence: number, current: number): Promise<number | LinuxError> {
    let r: number;
    if (whence === SEEK_SET) r = offset;
    else if (whence === SEEK_CUR) r = current + offset;
    else return Promise.resolve(EINVAL);
    return Promise.resolve(r < 0 ? EINVAL : r);
  }
}

