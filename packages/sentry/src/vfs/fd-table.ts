/**
 * File descriptor tables (Linux's files_struct): fd → (file description, FD_CLOEXEC).
 *
 * Every slot holds one reference on its description; replacing or closing a slot drops it.
 * New fds are the lowest free number at or above a minimum, below the RLIMIT_NOFILE soft
 * limit (EMFILE), read through `limit()` at each allocation so that setrlimit takes effect
 * immediately. Sharing a table between threads (CLONE_FILES) is sharing the object;
 * `fork()` makes the copy a non-CLONE_FILES clone or unshare(CLONE_FILES) needs.
 *
 * Ownership: a table is touched only from task run loops on the kernel thread; no method awaits.
 */
import { EBADF, EINVAL, EMFILE, FD_CLOEXEC, O_CLOEXEC, type LinuxError } from "@runsc-ts/abi";
import { CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE } from "./constants.js";
import type { FileDescription } from "./file-description.js";
import { releaseLocks } from "./locks.js";

/** Linux's default RLIMIT_NOFILE soft limit. */
export const DEFAULT_NOFILE_LIMIT = 1024;
/** fs.nr_open: the largest RLIMIT_NOFILE Linux accepts by default. */
export const NR_OPEN = 1 << 20;

export interface FdEntry {
  readonly file: FileDescription;
  cloexec: boolean;
}

export class FdTable {
  private readonly slots: (FdEntry | undefined)[] = [];
  private used = 0;
  private refs = 1;

  /** @param limit the current RLIMIT_NOFILE soft limit */
  constructor(readonly limit: () => number = () => DEFAULT_NOFILE_LIMIT) {}

  /** Number of open fds. */
  get size(): number {
    return this.used;
  }

  /** The description at `fd`, or undefined (the caller answers EBADF). */
  get(fd: number): FileDescription | undefined {
    return this.entry(fd)?.file;
  }

  entry(fd: number): FdEntry | undefined {
    if (!Number.isInteger(fd) || fd < 0) return undefined;
    return this.slots[fd];
  }

  /** Every open fd in increasing order. */
  fds(): number[] {
    const out: number[] = [];
    this.slots.forEach((e, fd) => {
      if (e !== undefined) out.push(fd);
    });
    return out;
  }

  /**
   * Installs `file` at the lowest free fd ≥ `minFd` and takes a reference on it.
   * EMFILE when no fd below the limit is free.
   */
  newFd(file: FileDescription, cloexec: boolean, minFd = 0): number | LinuxError {
    const limit = Math.min(this.limit(), NR_OPEN);
    let fd = minFd;
    while (fd < limit && this.slots[fd] !== undefined) fd++;
    if (fd >= limit) return EMFILE;
    file.incRef();
    this.put(fd, { file, cloexec });
    return fd;
  }

  /** F_GETFD. */
  getFdFlags(fd: number): number | LinuxError {
    const e = this.entry(fd);
    if (e === undefined) return EBADF;
    return e.cloexec ? FD_CLOEXEC : 0;
  }

  /** F_SETFD: only FD_CLOEXEC means anything; other bits are ignored, as in Linux. */
  setFdFlags(fd: number, flags: number): void | LinuxError {
    const e = this.entry(fd);
    if (e === undefined) return EBADF;
    e.cloexec = (flags & FD_CLOEXEC) !== 0;
  }

  /** dup(2): the lowest free fd, without FD_CLOEXEC. */
  dup(fd: number): number | LinuxError {
    const file = this.get(fd);
    if (file === undefined) return EBADF;
    return this.newFd(file, false);
  }

  /** fcntl(F_DUPFD / F_DUPFD_CLOEXEC): the lowest free fd ≥ `minFd`; EINVAL if `minFd` is out of range. */
  dupFd(fd: number, minFd: number, cloexec: boolean): number | LinuxError {
    const file = this.get(fd);
    if (file === undefined) return EBADF;
    if (!Number.isInteger(minFd) || minFd < 0 || minFd >= Math.min(this.limit(), NR_OPEN)) return EINVAL;
    return this.newFd(file, cloexec, minFd);
  }

  /** dup2(2): `newFd` refers to `oldFd`'s description; the same fd is a no-op that checks `oldFd`. */
  dup2(oldFd: number, newFd: number): number | LinuxError {
    if (this.get(oldFd) === undefined) return EBADF;
    if (oldFd === newFd) return newFd;
    return this.replace(oldFd, newFd, false);
  }

  /** dup3(2): as dup2, but EINVAL for equal fds and for flags other than O_CLOEXEC. */
  dup3(oldFd: number, newFd: number, flags: number): number | LinuxError {
    if ((flags & ~O_CLOEXEC) !== 0) return EINVAL;
    if (oldFd === newFd) return EINVAL;
    if (this.get(oldFd) === undefined) return EBADF;
    return this.replace(oldFd, newFd, (flags & O_CLOEXEC) !== 0);
  }

  private replace(oldFd: number, newFd: number, cloexec: boolean): number | LinuxError {
    if (!Number.isInteger(newFd) || newFd < 0 || newFd >= Math.min(this.limit(), NR_OPEN)) return EBADF;
    const file = this.get(oldFd);
    if (file === undefined) return EBADF;
    file.incRef();
    const old = this.slots[newFd];
    this.put(newFd, { file, cloexec });
    if (old !== undefined) releaseLocks(old.file.inode, this);
    old?.file.decRef();
    return newFd;
  }

  /** Installs `file` at exactly `fd` (taking a reference), closing what was there. For boot and tests. */
  installAt(fd: number, file: FileDescription, cloexec: boolean): void | LinuxError {
    if (!Number.isInteger(fd) || fd < 0 || fd >= Math.min(this.limit(), NR_OPEN)) return EBADF;
    file.incRef();
    const old = this.slots[fd];
    this.put(fd, { file, cloexec });
    if (old !== undefined) releaseLocks(old.file.inode, this);
    old?.file.decRef();
  }

  /** close(2). */
  close(fd: number): void | LinuxError {
    const e = this.take(fd);
    if (e === undefined) return EBADF;
    e.file.decRef();
  }

  /**
   * Removes `fd` and returns its entry without dropping the reference (the caller owns it). As
   * any close does, it drops this table's POSIX record locks on the file.
   */
  take(fd: number): FdEntry | undefined {
    const e = this.entry(fd);
    if (e === undefined) return undefined;
    this.slots[fd] = undefined;
    this.used--;
    releaseLocks(e.file.inode, this);
    return e;
  }

  /**
   * close_range(2) over [first, last] (last may be ~0U as a number). CLOSE_RANGE_CLOEXEC marks
   * instead of closing. CLOSE_RANGE_UNSHARE is accepted: unsharing the table is the caller's
   * job (it passes the unshared table).
   */
  closeRange(first: number, last: number, flags: number): void | LinuxError {
    if ((flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) !== 0) return EINVAL;
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || first > last) return EINVAL;
    const end = Math.min(last, this.slots.length - 1);
    for (let fd = first; fd <= end; fd++) {
      const e = this.slots[fd];
      if (e === undefined) continue;
      if ((flags & CLOSE_RANGE_CLOEXEC) !== 0) e.cloexec = true;
      else this.close(fd);
    }
  }

  /** execve: closes every FD_CLOEXEC fd. */
  closeOnExec(): void {
    this.slots.forEach((e, fd) => {
      if (e?.cloexec === true) this.close(fd);
    });
  }

  /** A copy sharing the descriptions (fork without CLONE_FILES), under the new process's limit. */
  fork(limit: () => number = this.limit): FdTable {
    const t = new FdTable(limit);
    this.slots.forEach((e, fd) => {
      if (e === undefined) return;
      e.file.incRef();
      t.put(fd, { file: e.file, cloexec: e.cloexec });
    });
    return t;
  }

  /** Shares the table (clone with CLONE_FILES). */
  incRef(): void {
    this.refs++;
  }

  /** A sharer has gone (exit, or execve unsharing); the last one closes everything. */
  decRef(): void {
    if (--this.refs === 0) this.closeAll();
  }

  /** Whether another process shares this table. */
  get shared(): boolean {
    return this.refs > 1;
  }

  /** Closes everything (the last sharer's exit). */
  closeAll(): void {
    this.slots.forEach((e, fd) => {
      if (e !== undefined) this.close(fd);
    });
  }

  private put(fd: number, e: FdEntry): void {
    if (this.slots[fd] === undefined) this.used++;
    while (this.slots.length < fd) this.slots.push(undefined);
    this.slots[fd] = e;
  }
}
