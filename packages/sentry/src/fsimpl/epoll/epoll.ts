/**
 * epoll(7): an interest list of (file description, fd) pairs and a ready list.
 *
 * Each interest registers a WaitEntry on its file's wait queue. A notification puts the
 * interest on the ready list; `collect` then asks the file for its readiness again, so a stale
 * notification reports nothing (Linux's ep_item_poll). Level-triggered interests go back on the
 * tail of the ready list after being reported, which both keeps them reported while they stay
 * ready and rotates among many ready files; EPOLLET interests are reported once per
 * notification; EPOLLONESHOT interests are disabled until EPOLL_CTL_MOD re-arms them.
 *
 * As on Linux, an interest names the file description, not the fd: closing one fd of a dup'd
 * description keeps the interest, and the interest goes away when the description is released
 * (a release hook on the description, so a closed file never lingers in the interest list).
 * The epoll file itself is pollable (EPOLLIN while something is ready), so epolls nest; adding
 * one would make a cycle is ELOOP.
 */
import {
  EEXIST,
  EINVAL,
  ELOOP,
  ENOENT,
  EPERM,
  EPOLLERR,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLLWAKEUP,
  type LinuxError,
} from "@runsc-ts/abi";
import { type EventMask, WaitEntry, WaitQueue } from "../../kernel/waiter.js";
import type { FileDescription, FileDescriptionImpl } from "../../vfs/file-description.js";

/** Flags that change how an interest is reported rather than which events it wants. */
const MODE_BITS = (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP) >>> 0;
/** Reported whether asked for or not. */
const ALWAYS = EPOLLERR | EPOLLHUP;
/** Linux's EP_MAX_NESTS: how deep epolls may watch epolls. */
const MAX_NESTS = 4;

export interface EpollEvent {
  events: number;
  data: bigint;
}

interface Interest {
  readonly file: FileDescription;
  readonly fd: number;
  /** The registered events, mode bits included; 0 events with EPOLLONESHOT set means disarmed. */
  events: number;
  data: bigint;
  readonly entry: WaitEntry;
  /** Unregisters the description's release hook. */
  unhook: () => void;
}

export class EventPoll implements FileDescriptionImpl {
  readonly seekable = false;
  readonly waitQueue = new WaitQueue();
  private readonly interests = new Map<FileDescription, Map<number, Interest>>();
  /** Interests that may be ready, in the order they became so. */
  private readonly ready = new Set<Interest>();

  /** EPOLL_CTL_ADD. `file` must stay referenced by the caller for the duration of the call. */
  add(fd: number, file: FileDescription, events: number, data: bigint): LinuxError | undefined {
    if (file.impl.waitQueue === undefined) return EPERM;
    if (file.impl instanceof EventPoll && file.impl.reaches(this, MAX_NESTS)) return ELOOP;
    let byFd = this.interests.get(file);
    if (byFd?.has(fd) === true) return EEXIST;
    if (byFd === undefined) this.interests.set(file, (byFd = new Map()));
    const it: Interest = { file, fd, events: events >>> 0, data, entry: new WaitEntry(() => this.wake(it)), unhook: () => {} };
    it.unhook = file.onRelease(() => this.drop(it));
    byFd.set(fd, it);
    file.impl.waitQueue.register(it.entry, this.wanted(it));
    this.wake(it);
    return undefined;
  }

  /** EPOLL_CTL_MOD: new events and data; re-arms a disabled EPOLLONESHOT interest. */
  modify(fd: number, file: FileDescription, events: number, data: bigint): LinuxError | undefined {
    const it = this.interests.get(file)?.get(fd);
    if (it === undefined) return ENOENT;
    if ((events & EPOLLEXCLUSIVE) !== 0 || (it.events & EPOLLEXCLUSIVE) !== 0) return EINVAL;
    it.events = events >>> 0;
    it.data = data;
    file.impl.waitQueue?.register(it.entry, this.wanted(it));
    this.wake(it);
    return undefined;
  }

  /** EPOLL_CTL_DEL. */
  remove(fd: number, file: FileDescription): LinuxError | undefined {
    const byFd = this.interests.get(file);
    const it = byFd?.get(fd);
    if (byFd === undefined || it === undefined) return ENOENT;
    this.drop(it);
    return undefined;
  }

  /**
   * Takes up to `max` ready events off the ready list. Level-triggered interests that were
   * reported go back on its tail.
   */
  collect(max: number): EpollEvent[] {
    const out: EpollEvent[] = [];
    const again: Interest[] = [];
    for (const it of [...this.ready]) {
      if (out.length >= max) break;
      this.ready.delete(it);
      const events = this.readyEvents(it);
      if (events === 0) continue;
      out.push({ events, data: it.data });
      if ((it.events & EPOLLONESHOT) !== 0) it.events &= MODE_BITS;
      else if ((it.events & EPOLLET) === 0) again.push(it);
    }
    for (const it of again) this.ready.add(it);
    return out;
  }

  readiness(mask: EventMask): EventMask {
    for (const it of this.ready) {
      if (this.readyEvents(it) !== 0) return mask & EPOLLIN;
    }
    return 0;
  }

  release(): void {
    for (const byFd of this.interests.values()) {
      for (const it of byFd.values()) {
        it.file.impl.waitQueue?.unregister(it.entry);
        it.unhook();
      }
    }
    this.interests.clear();
    this.ready.clear();
  }

  /** Number of interests (for tests and /proc/[pid]/fdinfo). */
  get interestCount(): number {
    let n = 0;
    for (const byFd of this.interests.values()) n += byFd.size;
    return n;
  }

  /** Whether `target` is this epoll or reachable from it through at most `depth` nested epolls. */
  private reaches(target: EventPoll, depth: number): boolean {
    if (this === target) return true;
    if (depth <= 0) return true; // too deep counts as a loop, as Linux's EP_MAX_NESTS check does
    for (const file of this.interests.keys()) {
      if (file.impl instanceof EventPoll && file.impl.reaches(target, depth - 1)) return true;
    }
    return false;
  }

  /** What the interest registers for on its file's queue: its events plus the always-on ones. */
  private wanted(it: Interest): EventMask {
    return (it.events & ~MODE_BITS) | ALWAYS;
  }

  /** The interest's events that are ready now; nothing while a one-shot interest is disarmed. */
  private readyEvents(it: Interest): EventMask {
    const want = it.events & ~MODE_BITS;
    if (want === 0 && (it.events & EPOLLONESHOT) !== 0) return 0;
    const mask = want | ALWAYS;
    return it.file.readiness(mask) & mask;
  }

  /** A notification (or a fresh registration): queue the interest and wake our own waiters. */
  private wake(it: Interest): void {
    if (this.readyEvents(it) === 0) return;
    this.ready.add(it);
    this.waitQueue.notify(EPOLLIN);
  }

  /** Removes an interest (EPOLL_CTL_DEL, or its description was released). */
  private drop(it: Interest): void {
    it.file.impl.waitQueue?.unregister(it.entry);
    it.unhook();
    this.ready.delete(it);
    const byFd = this.interests.get(it.file);
    byFd?.delete(it.fd);
    if (byFd?.size === 0) this.interests.delete(it.file);
  }
}
