/**
 * tmpfs regular files: data in 4 KiB pages allocated on first write, so a file truncated up to
 * a large size, or written at a large offset, costs only the pages actually written (holes
 * read as zeros). st_blocks counts allocated pages.
 *
 * A file an application maps (mmap) moves its data into a host memfd, once: the memfd is then
 * mapped into the application's address space, so shared mappings see every write() and each
 * other, as on Linux. Files never mapped keep no host descriptor (a tmpfs may hold far more files
 * than a process may have FDs).
 */
import * as nfs from "node:fs";
import {
  EBUSY,
  EFBIG,
  EINVAL,
  EIO,
  ENOSPC,
  EPERM,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  type LinuxError,
  linuxErrorFromName,
} from "@runsc-ts/abi";
import { native } from "@runsc-ts/platform";
import type { FileDescriptionImpl, Sealable } from "../../vfs/file-description.js";
import { MAX_OFFSET } from "../../vfs/file-description.js";
import type { CreateAttrs, OpenOptions } from "../../vfs/filesystem.js";
import type { Statx } from "../../vfs/stat.js";
import type { TmpFilesystem } from "./filesystem.js";
import { TmpInode } from "./inode.js";

export const PAGE_SIZE = 4096;

/** A failed host call on the memfd as the errno the application sees. */
function hostError(e: unknown): LinuxError {
  const code = (e as NodeJS.ErrnoException).code;
  return (code === undefined ? undefined : linuxErrorFromName(code)) ?? EIO;
}

export class TmpRegularFile extends TmpInode implements Sealable {
  private readonly pages = new Map<number, Uint8Array>();
  /** The host memfd holding the data once the file has been mapped (then `pages` is empty). */
  private memfd: number | undefined;
  size = 0;
  /**
   * File seals (fcntl F_ADD_SEALS). A tmpfs file starts sealed against sealing; memfd_create
   * with MFD_ALLOW_SEALING clears that.
   */
  seals = F_SEAL_SEAL;
  /** A writable shared mapping was made: F_SEAL_WRITE is refused (EBUSY) from then on. */
  private mappedWritable = false;

  constructor(fs: TmpFilesystem, attrs: CreateAttrs) {
    super(fs, attrs);
  }

  /** F_ADD_SEALS. */
  addSeals(add: number): void | LinuxError {
    const known = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
    if ((add & ~known) !== 0) return EINVAL;
    if ((this.seals & F_SEAL_SEAL) !== 0) return EPERM;
    if ((add & F_SEAL_WRITE) !== 0 && this.mappedWritable) return EBUSY;
    this.seals |= add;
  }

  /** Whether a shared mapping with write access may be made (and remembers that one was). */
  mayMapShared(writable: boolean): boolean {
    if (!writable) return true;
    if ((this.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0) return false;
    this.mappedWritable = true;
    return true;
  }

  /** EPERM if the seals forbid a write of [offset, end). */
  private sealedAgainstWrite(end: number): LinuxError | undefined {
    if ((this.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0) return EPERM;
    if ((this.seals & F_SEAL_GROW) !== 0 && end > this.size) return EPERM;
    return undefined;
  }

  /** Pages the file is charged for (the whole size once its data lives in a memfd). */
  private get chargedPages(): number {
    return this.memfd === undefined ? this.pages.size : Math.ceil(this.size / PAGE_SIZE);
  }

  protected override fillStat(s: Statx): void {
    s.size = this.size;
    s.blocks = this.chargedPages * (PAGE_SIZE / 512);
  }

  /** Copies up to dst.length bytes from `offset`; 0 at or past the end. */
  read(dst: Uint8Array, offset: number): number | LinuxError {
    if (offset >= this.size || dst.length === 0) return 0;
    const n = Math.min(dst.length, this.size - offset);
    if (this.memfd !== undefined) {
      try {
        return nfs.readSync(this.memfd, dst, 0, n, offset);
      } catch (e) {
        return hostError(e);
      }
    }
    let done = 0;
    while (done < n) {
      const pos = offset + done;
      const idx = Math.floor(pos / PAGE_SIZE);
      const within = pos - idx * PAGE_SIZE;
      const take = Math.min(PAGE_SIZE - within, n - done);
      const page = this.pages.get(idx);
      if (page === undefined) dst.fill(0, done, done + take);
      else dst.set(page.subarray(within, within + take), done);
      done += take;
    }
    return n;
  }

  /** Writes all of `src` at `offset`, growing the file. EFBIG past the largest offset, ENOSPC past the size limit. */
  write(src: Uint8Array, offset: number): number | LinuxError {
    if (src.length === 0) return 0;
    if (offset + src.length > MAX_OFFSET) return EFBIG;
    const sealed = this.sealedAgainstWrite(offset + src.length);
    if (sealed !== undefined) return sealed;
    if (this.memfd !== undefined) return this.writeMemfd(this.memfd, src, offset);
    // Count the pages this write would add before touching anything.
    const first = Math.floor(offset / PAGE_SIZE);
    const last = Math.floor((offset + src.length - 1) / PAGE_SIZE);
    let fresh = 0;
    for (let i = first; i <= last; i++) if (!this.pages.has(i)) fresh++;
    if (!this.fs.reservePages(fresh)) return ENOSPC;
    let done = 0;
    while (done < src.length) {
      const pos = offset + done;
      const idx = Math.floor(pos / PAGE_SIZE);
      const within = pos - idx * PAGE_SIZE;
      const take = Math.min(PAGE_SIZE - within, src.length - done);
      let page = this.pages.get(idx);
      if (page === undefined) this.pages.set(idx, (page = new Uint8Array(PAGE_SIZE)));
      page.set(src.subarray(done, done + take), within);
      done += take;
    }
    if (offset + src.length > this.size) this.size = offset + src.length;
    this.attrs.touchModify();
    return src.length;
  }

  private writeMemfd(fd: number, src: Uint8Array, offset: number): number | LinuxError {
    const end = offset + src.length;
    const grow = Math.max(0, Math.ceil(end / PAGE_SIZE) - this.chargedPages);
    if (!this.fs.reservePages(grow)) return ENOSPC;
    try {
      nfs.writeSync(fd, src, 0, src.length, offset);
    } catch (e) {
      this.fs.releasePages(grow);
      return hostError(e);
    }
    if (end > this.size) this.size = end;
    this.attrs.touchModify();
    return src.length;
  }

  protected override truncate(size: number): void | LinuxError {
    if (size > MAX_OFFSET) return EFBIG;
    if ((this.seals & F_SEAL_SHRINK) !== 0 && size < this.size) return EPERM;
    if ((this.seals & F_SEAL_GROW) !== 0 && size > this.size) return EPERM;
    if (this.memfd !== undefined) {
      const delta = Math.ceil(size / PAGE_SIZE) - this.chargedPages;
      if (delta > 0 && !this.fs.reservePages(delta)) return ENOSPC;
      try {
        nfs.ftruncateSync(this.memfd, size);
      } catch (e) {
        if (delta > 0) this.fs.releasePages(delta);
        return hostError(e);
      }
      if (delta < 0) this.fs.releasePages(-delta);
    } else if (size < this.size) {
      const keep = Math.ceil(size / PAGE_SIZE);
      for (const idx of [...this.pages.keys()]) {
        if (idx >= keep) {
          this.pages.delete(idx);
          this.fs.releasePages(1);
        }
      }
      const tail = size % PAGE_SIZE;
      if (tail !== 0) this.pages.get(Math.floor(size / PAGE_SIZE))?.fill(0, tail);
    }
    if (size !== this.size) {
      this.size = size;
      this.attrs.touchModify();
    }
  }

  /**
   * The host memfd with the file's data, made on the first mapping: the pages move into it and
   * the file is charged for its whole size from then on (mapped pages can be touched anywhere).
   */
  mappableFd(): number | LinuxError {
    if (this.memfd !== undefined) return this.memfd;
    const whole = Math.ceil(this.size / PAGE_SIZE);
    if (!this.fs.reservePages(whole - this.pages.size)) return ENOSPC;
    let fd: number;
    try {
      fd = native.memfdCreate(`tmpfs:${this.ino}`);
      nfs.ftruncateSync(fd, this.size);
      for (const [idx, page] of this.pages) {
        const len = Math.min(PAGE_SIZE, this.size - idx * PAGE_SIZE);
        if (len > 0) nfs.writeSync(fd, page, 0, len, idx * PAGE_SIZE);
      }
    } catch (e) {
      this.fs.releasePages(whole - this.pages.size);
      return hostError(e);
    }
    this.pages.clear();
    this.memfd = fd;
    return fd;
  }

  /** Open descriptions of this file. */
  openCount = 0;

  /** Frees the data once the last link and the last open description are gone. */
  override maybeEvict(): void {
    if (this.attrs.nlink > 0 || this.openCount > 0) return;
    this.fs.releasePages(this.chargedPages);
    this.pages.clear();
    if (this.memfd !== undefined) native.close(this.memfd);
    this.memfd = undefined;
    this.size = 0;
  }

  open(_opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    this.openCount++;
    return Promise.resolve(new RegularFileImpl(this));
  }
}

class RegularFileImpl implements FileDescriptionImpl {
  readonly seekable = true;
  constructor(private readonly file: TmpRegularFile) {}

  read(dst: Uint8Array, offset: number): Promise<number | LinuxError> {
    return Promise.resolve(this.file.read(dst, offset));
  }

  write(src: Uint8Array, offset: number): Promise<number | LinuxError> {
    return Promise.resolve(this.file.write(src, offset));
  }

  append(src: Uint8Array): Promise<{ n: number; end: number } | LinuxError> {
    const at = this.file.size;
    const n = this.file.write(src, at);
    return Promise.resolve(typeof n === "number" ? { n, end: at + n } : n);
  }

  size(): Promise<number | LinuxError> {
    return Promise.resolve(this.file.size);
  }

  mappableFd(): number | LinuxError {
    return this.file.mappableFd();
  }

  sealable(): Sealable {
    return this.file;
  }

  release(): void {
    this.file.openCount--;
    this.file.maybeEvict();
  }
}
