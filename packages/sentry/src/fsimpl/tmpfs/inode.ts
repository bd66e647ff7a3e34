/**
 * The common half of every tmpfs inode: attributes, extended attributes, stat, setStat.
 * Each file type adds its own data and operations (regular-file.ts, directory.ts, special.ts).
 */
import { EEXIST, EINVAL, ENODATA, ERANGE, XATTR_CREATE, XATTR_REPLACE, type LinuxError } from "@runsc-ts/abi";
import type { FileDescriptionImpl } from "../../vfs/file-description.js";
import type { CreateAttrs, Inode, OpenOptions } from "../../vfs/filesystem.js";
import { InodeAttrs } from "../../vfs/inode-attrs.js";
import type { SetStat, Statx } from "../../vfs/stat.js";
import type { TmpFilesystem } from "./filesystem.js";

/** Linux's XATTR_SIZE_MAX. */
const XATTR_SIZE_MAX = 65536;

export abstract class TmpInode implements Inode {
  readonly attrs: InodeAttrs;
  readonly ino: number;
  private xattrs: Map<string, Uint8Array> | undefined;

  constructor(readonly fs: TmpFilesystem, create: CreateAttrs, nlink = 1) {
    this.ino = fs.allocIno();
    this.attrs = new InodeAttrs(fs.clock, create.mode, create.uid, create.gid, nlink);
  }

  get mode(): number { return this.attrs.mode; }
  get uid(): number { return this.attrs.uid; }
  get gid(): number { return this.attrs.gid; }
  get nlink(): number { return this.attrs.nlink; }

  stat(): Promise<Statx | LinuxError> {
    const s = this.attrs.statx(this.ino, this.fs.devMajor, this.fs.devMinor);
    this.fillStat(s);
    return Promise.resolve(s);
  }

  /** Adds type-specific fields (size, blocks, rdev). */
  protected fillStat(_s: Statx): void {}

  setStat(attrs: SetStat): Promise<void | LinuxError> {
    if (attrs.size !== undefined) {
      const r = this.truncate(attrs.size);
      if (r !== undefined) return Promise.resolve(r);
    }
    const { size: _size, ...rest } = attrs;
    if (Object.keys(rest).length > 0 || attrs.size === undefined) this.attrs.apply(rest);
    return Promise.resolve();
  }

  /** Changes the size; only regular files have one. */
  protected truncate(_size: number): void | LinuxError {
    return EINVAL;
  }

  /** Called when the link count drops; regular files free their data at zero links and no opens. */
  maybeEvict(): void {}

  abstract open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError>;

  getxattr(name: string): Promise<Uint8Array | LinuxError> {
    const v = this.xattrs?.get(name);
    return Promise.resolve(v === undefined ? ENODATA : v.slice());
  }

  setxattr(name: string, value: Uint8Array, flags: number): Promise<void | LinuxError> {
    if (name.length === 0 || name.length > 255) return Promise.resolve(name.length === 0 ? EINVAL : ERANGE);
    if (value.length > XATTR_SIZE_MAX) return Promise.resolve(ERANGE);
    const has = this.xattrs?.has(name) === true;
    if ((flags & XATTR_CREATE) !== 0 && has) return Promise.resolve(EEXIST);
    if ((flags & XATTR_REPLACE) !== 0 && !has) return Promise.resolve(ENODATA);
    (this.xattrs ??= new Map()).set(name, value.slice());
    this.attrs.touchChange();
    return Promise.resolve();
  }

  listxattr(): Promise<string[] | LinuxError> {
    return Promise.resolve([...(this.xattrs?.keys() ?? [])]);
  }

  removexattr(name: string): Promise<void | LinuxError> {
    if (this.xattrs?.delete(name) !== true) return Promise.resolve(ENODATA);
    this.attrs.touchChange();
    return Promise.resolve();
  }
}
