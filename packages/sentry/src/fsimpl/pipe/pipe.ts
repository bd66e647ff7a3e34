/**
 * Pipes and FIFOs (Linux's fs/pipe.c semantics over a byte ring).
 *
 * A `Pipe` is a bounded byte buffer (64 KiB by default, F_SETPIPE_SZ-adjustable) with reader
 * and writer counts and one wait queue:
 *   - read: copies what is there (never blocks with data available); with the buffer empty it
 *     returns 0 (EOF) when no writer remains, else EAGAIN ("would block");
 *   - write: EPIPE when no reader remains (delivering SIGPIPE is the syscall layer's job);
 *     a write of at most PIPE_BUF bytes is atomic: it goes in whole or waits (EAGAIN); a
 *     larger one writes what fits and reports the partial count;
 *   - the wait queue is notified EPOLLIN on new data, EPOLLOUT on freed space, EPOLLHUP when
 *     the last writer leaves and EPOLLERR when the last reader leaves.
 * Blocking is done by FileDescription with `blockOn` over this queue, so O_NONBLOCK is simply
 * the absence of waiting.
 *
 * FIFO opens follow fifo_open: O_RDONLY waits for a writer (unless O_NONBLOCK), O_WRONLY
 * waits for a reader (O_NONBLOCK without a reader is ENXIO), O_RDWR never waits.
 *
 * Ownership: all state is touched only on the kernel thread; no method awaits except the
 * FIFO open wait.
 */
import {
  EAGAIN,
  EBUSY,
  EINVAL,
  ENXIO,
  EPERM,
  EPIPE,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDNORM,
  EPOLLWRNORM,
  O_ACCMODE,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PIPE_BUF,
  type LinuxError,
} from "@runsc-ts/abi";
import { WaitQueue, blockOn, type EventMask, type Interrupter } from "../../kernel/waiter.js";
import type { FileDescriptionImpl } from "../../vfs/file-description.js";

/** Linux's default pipe capacity (16 pages). */
export const DEFAULT_PIPE_SIZE = 65536;
/** /proc/sys/fs/pipe-max-size default: the largest F_SETPIPE_SZ an unprivileged task may ask for. */
export const MAX_PIPE_SIZE = 1 << 20;
const PAGE_SIZE = 4096;

export class Pipe {
  private chunks: Uint8Array[] = [];
  private head = 0; // read position within chunks[0]
  private used = 0;
  private cap: number;
  private readers = 0;
  private writers = 0;
  /** How many times a reader / writer has opened: FIFO opens wait for these to move. */
  private readerOpens = 0;
  private writerOpens = 0;
  /** Readiness changes: EPOLLIN / EPOLLOUT / EPOLLHUP / EPOLLERR. */
  readonly queue = new WaitQueue();
  /** FIFO open rendezvous. */
  private readonly openQueue = new WaitQueue();
  /** Whether a writer ever existed (a FIFO reader sees no EPOLLHUP before the first writer). */
  private hadWriter = false;

  constructor(capacity = DEFAULT_PIPE_SIZE) {
    this.cap = capacity;
  }

  get capacity(): number {
    return this.cap;
  }

  /** Bytes waiting to be read (FIONREAD). */
  get size(): number {
    return this.used;
  }

  get readerCount(): number {
    return this.readers;
  }

  get writerCount(): number {
    return this.writers;
  }

  /**
   * F_SETPIPE_SZ: rounds up to a power-of-two number of pages; EINVAL beyond what is possible,
   * EPERM above MAX_PIPE_SIZE without CAP_SYS_RESOURCE, EBUSY if the data would not fit.
   */
  setCapacity(size: number, privileged: boolean): number | LinuxError {
    if (!Number.isInteger(size) || size < 0 || size > 0x80000000) return EINVAL;
    let pages = Math.max(1, Math.ceil(size / PAGE_SIZE));
    pages = 2 ** Math.ceil(Math.log2(pages));
    const bytes = pages * PAGE_SIZE;
    if (bytes > MAX_PIPE_SIZE && !privileged) return EPERM;
    if (bytes < this.used) return EBUSY;
    this.cap = bytes;
    this.queue.notify(EPOLLOUT | EPOLLWRNORM);
    return bytes;
  }

  /** Reads up to dst.length bytes: the count, 0 at EOF, or EAGAIN when empty with writers. */
  read(dst: Uint8Array): number | LinuxError {
    if (dst.length === 0) return 0;
    if (this.used === 0) return this.writers === 0 ? 0 : EAGAIN;
    let n = 0;
    while (n < dst.length && this.chunks.length > 0) {
      const c = this.chunks[0] as Uint8Array;
      const take = Math.min(c.length - this.head, dst.length - n);
      dst.set(c.subarray(this.head, this.head + take), n);
      n += take;
      this.head += take;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.used -= n;
    this.queue.notify(EPOLLOUT | EPOLLWRNORM);
    return n;
  }

  /** Writes what the PIPE_BUF rule allows: the count, EAGAIN when it must wait, EPIPE without readers. */
  write(src: Uint8Array): number | LinuxError {
    if (this.readers === 0) return EPIPE;
    if (src.length === 0) return 0;
    const space = this.cap - this.used;
    let n: number;
    if (src.length <= PIPE_BUF) {
      if (space < src.length) return EAGAIN;
      n = src.length;
    } else {
      if (space === 0) return EAGAIN;
      n = Math.min(space, src.length);
    }
    this.chunks.push(src.slice(0, n));
    this.used += n;
    this.queue.notify(EPOLLIN | EPOLLRDNORM);
    return n;
  }

  /** The ready events of one end. */
  readiness(mask: EventMask, readable: boolean, writable: boolean): EventMask {
    let ready = 0;
    if (readable) {
      if (this.used > 0) ready |= EPOLLIN | EPOLLRDNORM;
      if (this.writers === 0 && this.hadWriter) ready |= EPOLLHUP;
    }
    if (writable) {
      if (this.cap - this.used >= PIPE_BUF || this.cap - this.used === this.cap) ready |= EPOLLOUT | EPOLLWRNORM;
      if (this.readers === 0) ready |= EPOLLERR;
    }
    return ready & (mask | EPOLLHUP | EPOLLERR);
  }

  /** Adds an end with the given access and returns its file implementation. */
  openEnd(readable: boolean, writable: boolean): FileDescriptionImpl {
    if (readable) {
      this.readers++;
      this.readerOpens++;
    }
    if (writable) {
      this.writers++;
      this.writerOpens++;
      this.hadWriter = true;
    }
    this.openQueue.notify(1);
    return new PipeEnd(this, readable, writable);
  }

  /** Called when an end's last reference goes. */
  closeEnd(readable: boolean, writable: boolean): void {
    let events = 0;
    if (readable && --this.readers === 0) events |= EPOLLERR | EPOLLOUT;
    if (writable && --this.writers === 0) events |= EPOLLHUP | EPOLLIN;
    if (events !== 0) this.queue.notify(events);
  }

  /**
   * fifo_open: opens one end of a named pipe, waiting for the peer as Linux does. An anonymous
   * pipe reopened through /proc/[pid]/fd (`anonymous`) never waits: it had both ends once.
   */
  async openFifo(flags: number, interrupter?: Interrupter, anonymous = false): Promise<FileDescriptionImpl | LinuxError> {
    const acc = flags & O_ACCMODE;
    const nonblock = (flags & O_NONBLOCK) !== 0;
    if (anonymous && (acc === O_RDONLY || acc === O_WRONLY)) return this.openEnd(acc === O_RDONLY, acc === O_WRONLY);
    if (acc === O_RDONLY) {
      const seen = this.writerOpens;
      const end = this.openEnd(true, false);
      if (this.writers === 0 && !nonblock) {
        const r = await blockOn(this.openQueue, 1, () => (this.writerOpens !== seen ? true : EAGAIN), interrupter);
        if (r !== true) {
          end.release?.();
          return r as LinuxError;
        }
      }
      return end;
    }
    if (acc === O_WRONLY) {
      if (nonblock && this.readers === 0) return ENXIO;
      const seen = this.readerOpens;
      const end = this.openEnd(false, true);
      if (this.readers === 0) {
        const r = await blockOn(this.openQueue, 1, () => (this.readerOpens !== seen ? true : EAGAIN), interrupter);
        if (r !== true) {
          end.release?.();
          return r as LinuxError;
        }
      }
      return end;
    }
    if (acc === O_RDWR) return this.openEnd(true, true);
    return EINVAL;
  }
}

/** One open end of a pipe (the FileDescriptionImpl of a pipe fd). */
export class PipeEnd implements FileDescriptionImpl {
  readonly seekable = false;
  private released = false;

  constructor(
    readonly pipe: Pipe,
    readonly readable: boolean,
    readonly writable: boolean,
  ) {}

  get waitQueue(): WaitQueue {
    return this.pipe.queue;
  }

  read(dst: Uint8Array): Promise<number | LinuxError> {
    return Promise.resolve(this.pipe.read(dst));
  }

  write(src: Uint8Array): Promise<number | LinuxError> {
    return Promise.resolve(this.pipe.write(src));
  }

  readiness(mask: EventMask): EventMask {
    return this.pipe.readiness(mask, this.readable, this.writable);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.pipe.closeEnd(this.readable, this.writable);
  }
}
