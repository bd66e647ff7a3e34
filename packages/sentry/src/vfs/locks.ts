/**
 * Advisory file locks: flock(2) whole-file locks, and fcntl(2) byte-range locks in both their
 * flavours — POSIX record locks, owned by a process's FD table and dropped when that table
 * closes any descriptor of the file, and open-file-description (OFD) locks, owned by the
 * description. The three never conflict with each other's owners' own locks; flock locks and
 * fcntl locks are separate namespaces, as on Linux.
 *
 * The locks of a file hang off its inode object. Waiters (F_SETLKW, blocking flock) sleep on the
 * file's wait queue and are interruptible (ERESTARTSYS).
 */
import { EAGAIN, ERESTARTSYS, EWOULDBLOCK, type LinuxError } from "@runsc-ts/abi";
import { type Interrupter, WaitQueue, waitForEvent } from "../kernel/waiter.js";

export type LockType = "read" | "write";

/** The end of a lock that runs to the end of the file (and beyond). */
export const TO_EOF = 2n ** 63n;

/** One byte-range lock: [start, end). */
export interface RangeLock {
  readonly owner: object;
  /** The locking process (F_GETLK's l_pid), or -1 for an OFD lock. */
  readonly pid: number;
  readonly type: LockType;
  readonly start: bigint;
  readonly end: bigint;
}

const conflicts = (a: LockType, b: LockType): boolean => a === "write" || b === "write";

class FileLocks {
  ranges: RangeLock[] = [];
  readonly flocks = new Map<object, LockType>();
  readonly queue = new WaitQueue();

  /** The first lock of another owner that `type` over [start, end) would conflict with. */
  conflict(owner: object, type: LockType, start: bigint, end: bigint): RangeLock | undefined {
    return this.ranges.find((l) => l.owner !== owner && l.start < end && start < l.end && conflicts(l.type, type));
  }

  /** Replaces `owner`'s locks over [start, end) with `type` (or nothing), merging neighbours. */
  set(owner: object, pid: number, type: LockType | undefined, start: bigint, end: bigint): void {
    const kept: RangeLock[] = [];
    for (const l of this.ranges) {
      if (l.owner !== owner || l.end <= start || l.start >= end) {
        kept.push(l);
        continue;
      }
      if (l.start < start) kept.push({ ...l, end: start });
      if (l.end > end) kept.push({ ...l, start: end });
    }
    if (type !== undefined) {
      let lock: RangeLock = { owner, pid, type, start, end };
      // Merge with touching locks of the same owner and type.
      for (let i = kept.length - 1; i >= 0; i--) {
        const l = kept[i] as RangeLock;
        if (l.owner === owner && l.type === type && l.start <= lock.end && lock.start <= l.end) {
          lock = { ...lock, start: l.start < lock.start ? l.start : lock.start, end: l.end > lock.end ? l.end : lock.end };
          kept.splice(i, 1);
        }
      }
      kept.push(lock);
    }
    this.ranges = kept;
    this.queue.notify(1);
  }

  releaseOwner(owner: object): void {
    const before = this.ranges.length;
    this.ranges = this.ranges.filter((l) => l.owner !== owner);
    const hadFlock = this.flocks.delete(owner);
    if (hadFlock || this.ranges.length !== before) this.queue.notify(1);
  }
}

const byInode = new WeakMap<object, FileLocks>();

function locksOf(inode: object): FileLocks {
  let l = byInode.get(inode);
  if (l === undefined) byInode.set(inode, (l = new FileLocks()));
  return l;
}

/** F_GETLK: the lock that would stop `type` over [start, end), if any. */
export function testLock(inode: object, owner: object, type: LockType, start: bigint, end: bigint): RangeLock | undefined {
  return byInode.get(inode)?.conflict(owner, type, start, end);
}

/**
 * F_SETLK(W) and their OFD forms: `type` undefined unlocks. Without `wait`, a conflict is EAGAIN;
 * with it, the caller sleeps until the range is free or `interrupter` fires (ERESTARTSYS).
 */
export async function setLock(
  inode: object,
  owner: object,
  pid: number,
  type: LockType | undefined,
  start: bigint,
  end: bigint,
  wait: Interrupter | undefined,
): Promise<0 | LinuxError> {
  const locks = locksOf(inode);
  for (;;) {
    if (type === undefined || locks.conflict(owner, type, start, end) === undefined) {
      locks.set(owner, pid, type, start, end);
      return 0;
    }
    if (wait === undefined) return EAGAIN;
    if ((await waitForEvent(locks.queue, 1, wait)) === "interrupted") return ERESTARTSYS;
  }
}

/** flock(2): whole-file locks owned by an open file description; `type` undefined unlocks. */
export async function flockFile(inode: object, owner: object, type: LockType | undefined, wait: Interrupter | undefined): Promise<0 | LinuxError> {
  const locks = locksOf(inode);
  if (type === undefined) {
    locks.flocks.delete(owner);
    locks.queue.notify(1);
    return 0;
  }
  // Converting a lock drops the old one first (flock(2): not atomic).
  if (locks.flocks.has(owner)) {
    locks.flocks.delete(owner);
    locks.queue.notify(1);
  }
  for (;;) {
    const busy = [...locks.flocks].some(([o, t]) => o !== owner && conflicts(t, type));
    if (!busy) {
      locks.flocks.set(owner, type);
      return 0;
    }
    if (wait === undefined) return EWOULDBLOCK;
    if ((await waitForEvent(locks.queue, 1, wait)) === "interrupted") return ERESTARTSYS;
  }
}

/** Drops every lock `owner` holds on the file (a closed description, or a POSIX owner's close). */
export function releaseLocks(inode: object, owner: object): void {
  byInode.get(inode)?.releaseOwner(owner);
}
