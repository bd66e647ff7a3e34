/**
 * Open file descriptions (Linux's `struct file`): what an fd refers to. Several fds, in one
 * or several fd tables, can share a description (dup, fork, SCM_RIGHTS); they then share its
 * offset and status flags. A description is reference counted: each fd-table slot holds one
 * reference, and an in-flight operation may take one to keep it alive across awaits.
 *
 * The filesystem-specific half is a `FileDescriptionImpl`. The generic half here owns:
 *   - the access mode (fixed at open) and the status flags (O_APPEND, O_NONBLOCK, O_DIRECT,
 *     O_NOATIME, O_ASYNC are changeable with F_SETFL);
 *   - the file offset, serialised per description like Linux's f_pos_lock so that concurrent
 *     read()s on one description never read the same bytes;
 *   - blocking: an impl answers EAGAIN when it would block; unless O_NONBLOCK, the description
 *     sleeps on the impl's wait queue (kernel/waiter.ts) and retries, or returns ERESTARTSYS
 *     when the task is interrupted;
 *   - lseek, and getdents64's record encoding.
 */
import {
  EAGAIN,
  EBADF,
  EINVAL,
  EISDIR,
  ENOTDIR,
  ENXIO,
  EOVERFLOW,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  ESPIPE,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECT,
  O_EXCL,
  O_LARGEFILE,
  O_NOATIME,
  O_NOCTTY,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  isLinuxError,
  type LinuxError,
} from "@runsc-ts/abi";
import type { Credentials } from "../kernel/auth/credentials.js";
import { blockOn, type EventMask, type Interrupter, type WaitQueue } from "../kernel/waiter.js";
import { privilegeBitsToClear } from "./permissions.js";
import { FASYNC } from "./constants.js";
import type { Inode } from "./filesystem.js";
import type { VirtualDentry } from "./mount.js";
import { isDir, isReg } from "./stat.js";

/** One directory entry as getdents64 reports it. */
export interface Dirent {
  readonly ino: number;
  /** The cookie that resumes reading after this entry (d_off). */
  readonly off: number;
  /** DT_* */
  readonly type: number;
  readonly name: string;
}

/** The calling task's memory, as an ioctl needs it (the task's MemoryManager). */
export interface UserMemory {
  copyIn(addr: bigint, len: number): Uint8Array | LinuxError;
  copyOut(addr: bigint, data: Uint8Array): void | LinuxError;
}

/** A file that takes seals (fcntl F_ADD_SEALS, F_GET_SEALS): tmpfs files and memfds. */
export interface Sealable {
  readonly seals: number;
  addSeals(add: number): void | LinuxError;
  /** Whether a shared mapping (writable or not) may be made under the seals. */
  mayMapShared(writable: boolean): boolean;
}

/** The filesystem-specific half of an open file. */
export interface FileDescriptionImpl {
  /** False for pipes, sockets, character devices that ignore offsets: lseek/pread/pwrite give ESPIPE. */
  readonly seekable: boolean;
  /** A terminal: the job-control ioctls (TIOCGPGRP, TIOCSPGRP, TIOCGSID) apply to it. */
  readonly terminal?: boolean;
  /**
   * A host FD holding the file's data, for mmap(2) to map directly (shared mappings see every
   * write, and each other). Absent: private mappings are copies and shared writable ones ENODEV.
   */
  mappableFd?(): number | LinuxError;
  /** The seals of the file, for files that take them. */
  sealable?(): Sealable;
  /** Reads at `offset` (ignored unless seekable). 0 = end of file; EAGAIN = would block. */
  read?(dst: Uint8Array, offset: number): Promise<number | LinuxError>;
  /** Writes at `offset` (ignored unless seekable). May write less than asked; EAGAIN = would block. */
  write?(src: Uint8Array, offset: number): Promise<number | LinuxError>;
  /** Writes at end of file atomically (O_APPEND); returns the count and the new end. */
  append?(src: Uint8Array): Promise<{ n: number; end: number } | LinuxError>;
  /** Size for SEEK_END, SEEK_DATA and SEEK_HOLE. */
  size?(): Promise<number | LinuxError>;
  /** Overrides the generic lseek (directories: SEEK_SET/SEEK_CUR to a cookie only). */
  seek?(offset: number, whence: number, current: number): Promise<number | LinuxError>;
  /**
   * Emits directory entries after `cookie` in order until `emit` returns false (no room: that
   * entry is not consumed). Returns the cookie to resume from.
   */
  iterDirents?(cookie: number, emit: (d: Dirent) => boolean): Promise<number | LinuxError>;
  /** The subset of `mask` that is ready now (poll/epoll). Absent: always readable and writable. */
  readiness?(mask: EventMask): EventMask;
  /** Where readiness changes are notified. Without one, the file never blocks. */
  readonly waitQueue?: WaitQueue;
  /**
   * Device-specific ioctl(2) requests (terminals); absent, or undefined for an unknown request,
   * means ENOTTY. `mem` reads and writes the caller's memory.
   */
  ioctl?(mem: UserMemory, request: number, arg: bigint): number | LinuxError | undefined;
  /** Called once, when the last reference to the description goes. */
  release?(): void;
}

/** Status flags F_SETFL may change. */
export const SETTABLE_STATUS_FLAGS = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | FASYNC;
/** Open flags that do not survive into the description's flags. */
const TRANSIENT_OPEN_FLAGS = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC;

/** Largest offset the VFS handles exactly (offsets are JS numbers). */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

export class FileDescription {
  private refs = 1;
  private releaseHooks: Set<() => void> | undefined;
  private flags: number;
  /** The file offset; meaningful when the impl is seekable. */
  offset = 0;
  private posLock: Promise<void> = Promise.resolve();
  readonly readable: boolean;
  readonly writable: boolean;

  /**
   * @param vd where the file was opened (anonymous files use a hidden mount)
   * @param flags the open(2) flags (access mode and status flags)
   */
  constructor(
    readonly vd: VirtualDentry,
    readonly inode: Inode,
    readonly impl: FileDescriptionImpl,
    flags: number,
    /**
     * Who opened the file. Writes through the description clear set-id bits unless the opener
     * has CAP_FSETID (Linux asks the writing task; descriptions rarely change hands between
     * differently privileged tasks, and the syscall layer may pass the writer instead).
     */
    readonly opener?: Credentials,
  ) {
    this.flags = (flags & ~TRANSIENT_OPEN_FLAGS) | O_LARGEFILE;
    const acc = flags & O_ACCMODE;
    const path = (flags & O_PATH) !== 0;
    this.readable = !path && (acc === O_RDONLY || acc === O_RDWR);
    this.writable = !path && (acc === O_WRONLY || acc === O_RDWR);
    vd.dentry.incRef(); // an open file pins its dentry (and so its ancestors) in the cache
  }

  /** F_GETFL: access mode and status flags. */
  get statusFlags(): number {
    return this.flags;
  }

  /** F_SETFL: changes the settable status flags, ignores the rest. */
  setStatusFlags(flags: number): void {
    this.flags = (this.flags & ~SETTABLE_STATUS_FLAGS) | (flags & SETTABLE_STATUS_FLAGS);
  }

  get isPath(): boolean {
    return (this.flags & O_PATH) !== 0;
  }

  get nonBlocking(): boolean {
    return (this.flags & O_NONBLOCK) !== 0;
  }

  get refCount(): number {
    return this.refs;
  }

  incRef(): void {
    if (this.refs <= 0) throw new Error("incRef on a released file description");
    this.refs++;
  }

  decRef(): void {
    if (this.refs <= 0) throw new Error("decRef on a released file description");
    if (--this.refs > 0) return;
    if (this.releaseHooks !== undefined) for (const hook of [...this.releaseHooks]) hook();
    this.impl.release?.();
    this.vd.dentry.decRef();
  }

  /**
   * Calls `hook` when the last reference goes, before the impl is released (epoll drops its
   * interests here, as Linux's eventpoll_release does in __fput). Returns the unregistration.
   */
  onRelease(hook: () => void): () => void {
    (this.releaseHooks ??= new Set()).add(hook);
    return () => this.releaseHooks?.delete(hook);
  }

  /** Runs `fn` holding the description's position lock (f_pos_lock). */
  private async withPos<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.impl.seekable) return fn();
    const prev = this.posLock;
    let unlock!: () => void;
    this.posLock = new Promise((r) => (unlock = r));
    await prev;
    try {
      return await fn();
    } finally {
      unlock();
    }
  }

  /** read(2): reads at the file offset and advances it. ERESTARTSYS if interrupted while blocked. */
  read(dst: Uint8Array, interrupter?: Interrupter): Promise<number | LinuxError> {
    return this.withPos(async () => {
      const r = await this.readAt(dst, this.offset, interrupter);
      if (typeof r === "number" && this.impl.seekable) this.offset += r;
      return r;
    });
  }

  /** pread(2). */
  async pread(dst: Uint8Array, offset: number, interrupter?: Interrupter): Promise<number | LinuxError> {
    if (!this.impl.seekable) return ESPIPE;
    if (!Number.isSafeInteger(offset) || offset < 0) return EINVAL;
    return this.readAt(dst, offset, interrupter);
  }

  private async readAt(dst: Uint8Array, offset: number, interrupter?: Interrupter): Promise<number | LinuxError> {
    if (!this.readable) return EBADF;
    const impl = this.impl;
    if (impl.read === undefined) return isDir(this.inode.mode) ? EISDIR : EINVAL;
    const read = impl.read.bind(impl);
    const r = await read(dst, offset);
    if (r !== EAGAIN || this.nonBlocking || impl.waitQueue === undefined) return r;
    return blockOn(impl.waitQueue, EPOLLIN | EPOLLHUP | EPOLLERR, () => read(dst, offset), interrupter);
  }

  /** write(2): at the offset (or at end of file with O_APPEND) and advances it. */
  write(src: Uint8Array, interrupter?: Interrupter): Promise<number | LinuxError> {
    return this.withPos(async () => {
      if (!this.writable) return EBADF;
      if ((this.flags & O_APPEND) !== 0 && this.impl.append !== undefined) {
        const r = await this.impl.append(src);
        if (isLinuxError(r)) return r;
        this.offset = r.end;
        await this.removePrivileges(r.n);
        return r.n;
      }
      const r = await this.writeAt(src, this.offset, interrupter);
      if (typeof r === "number" && this.impl.seekable) this.offset += r;
      if (typeof r === "number") await this.removePrivileges(r);
      return r;
    });
  }

  /** After `written` bytes went into a regular file: clears its set-id bits (file_remove_privs). */
  private async removePrivileges(written: number): Promise<void> {
    const creds = this.opener;
    if (creds === undefined || written <= 0 || !isReg(this.inode.mode)) return;
    const kill = privilegeBitsToClear(creds, this.inode.mode);
    if (kill !== 0) await this.inode.setStat({ mode: this.inode.mode & 0o7777 & ~kill });
  }

  /** pwrite(2). (Linux's pwrite ignores O_APPEND only when the file is not in append mode; with O_APPEND it appends.) */
  async pwrite(src: Uint8Array, offset: number, interrupter?: Interrupter): Promise<number | LinuxError> {
    if (!this.impl.seekable) return ESPIPE;
    if (!Number.isSafeInteger(offset) || offset < 0) return EINVAL;
    if (!this.writable) return EBADF;
    if ((this.flags & O_APPEND) !== 0 && this.impl.append !== undefined) {
      const r = await this.impl.append(src);
      if (isLinuxError(r)) return r;
      await this.removePrivileges(r.n);
      return r.n;
    }
    const r = await this.writeAt(src, offset, interrupter);
    if (typeof r === "number") await this.removePrivileges(r);
    return r;
  }

  private async writeAt(src: Uint8Array, offset: number, interrupter?: Interrupter): Promise<number | LinuxError> {
    if (!this.writable) return EBADF;
    const impl = this.impl;
    if (impl.write === undefined) return EINVAL;
    const write = impl.write.bind(impl);
    if (this.nonBlocking || impl.waitQueue === undefined) return write(src, offset);
    // Blocking: keep writing until everything is written; report partial progress on error.
    let done = 0;
    const r = await blockOn(impl.waitQueue, EPOLLOUT | EPOLLHUP | EPOLLERR, async () => {
      const n = await write(src.subarray(done), offset + done);
      if (typeof n !== "number") return n;
      done += n;
      return done < src.length ? EAGAIN : done;
    }, interrupter);
    if (typeof r === "number") return r;
    // Linux reports bytes already written rather than the error (EPIPE, ERESTARTSYS, ...).
    return done > 0 ? done : r;
  }

  /** lseek(2). */
  seek(offset: number, whence: number): Promise<number | LinuxError> {
    return this.withPos(async () => {
      if (!this.impl.seekable) return ESPIPE;
      if (!Number.isSafeInteger(offset)) return EINVAL;
      let r: number | LinuxError;
      if (this.impl.seek !== undefined) r = await this.impl.seek(offset, whence, this.offset);
      else r = await this.genericSeek(offset, whence);
      if (typeof r === "number") this.offset = r;
      return r;
    });
  }

  private async genericSeek(offset: number, whence: number): Promise<number | LinuxError> {
    let base: number;
    switch (whence) {
      case SEEK_SET: base = 0; break;
      case SEEK_CUR: base = this.offset; break;
      case SEEK_END:
      case SEEK_DATA:
      case SEEK_HOLE: {
        const size = this.impl.size !== undefined ? await this.impl.size() : isReg(this.inode.mode) ? EINVAL : 0;
        if (typeof size !== "number") return size;
        if (whence === SEEK_END) { base = size; break; }
        // No holes are reported: the whole file is data, with a virtual hole at the end.
        if (offset < 0 || offset >= size) return ENXIO;
        return whence === SEEK_DATA ? offset : size;
      }
      default: return EINVAL;
    }
    const r = base + offset;
    if (r < 0) return EINVAL;
    if (r > MAX_OFFSET) return EOVERFLOW;
    return r;
  }

  /**
   * getdents64(2): fills up to `size` bytes with struct linux_dirent64 records from the
   * offset on. EINVAL if even the first record does not fit; an empty result at the end.
   */
  getdents64(size: number): Promise<Uint8Array | LinuxError> {
    return this.withPos(async () => {
      if (this.isPath) return EBADF;
      if (this.impl.iterDirents === undefined) return ENOTDIR;
      if (!Number.isSafeInteger(size) || size < 0) return EINVAL;
      const buf = new Uint8Array(Math.min(size, 1 << 20));
      const view = new DataView(buf.buffer);
      let used = 0;
      let tooSmall = false;
      const next = await this.impl.iterDirents(this.offset, (d) => {
        const nameLen = Buffer.byteLength(d.name, "latin1");
        const reclen = (19 + nameLen + 1 + 7) & ~7;
        if (used + reclen > buf.length) {
          if (used === 0) tooSmall = true;
          return false;
        }
        view.setBigUint64(used, BigInt(d.ino), true);
        view.setBigInt64(used + 8, BigInt(d.off), true);
        view.setUint16(used + 16, reclen, true);
        view.setUint8(used + 18, d.type);
        buf.set(Buffer.from(d.name, "latin1"), used + 19);
        buf.fill(0, used + 19 + nameLen, used + reclen);
        used += reclen;
        return true;
      });
      if (typeof next !== "number") return next;
      if (tooSmall) return EINVAL;
      this.offset = next;
      return buf.subarray(0, used);
    });
  }

  /** The events in `mask` that are ready (regular files are always ready). */
  readiness(mask: EventMask): EventMask {
    if (this.impl.readiness !== undefined) return this.impl.readiness(mask);
    return mask & (EPOLLIN | EPOLLOUT);
  }
}

/** Decodes a getdents64 buffer (for tests and strace). */
export function parseDirents64(buf: Uint8Array): Dirent[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Dirent[] = [];
  for (let p = 0; p < buf.length;) {
    const reclen = view.getUint16(p + 16, true);
    let end = p + 19;
    while (buf[end] !== 0) end++;
    out.push({
      ino: Number(view.getBigUint64(p, true)),
      off: Number(view.getBigInt64(p + 8, true)),
      type: view.getUint8(p + 18),
      name: Buffer.from(buf.subarray(p + 19, end)).toString("latin1"),
    });
    p += reclen;
  }
  return out;
}
