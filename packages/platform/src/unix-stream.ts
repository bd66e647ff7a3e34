/**
 * UnixFdStream: proto's {@link FdStream} over a connected, non-blocking `SOCK_STREAM` Unix
 * socket, with descriptors passed out of band (SCM_RIGHTS). It is under every RPC, so the hot
 * paths are written for it: a write whose bytes the socket takes at once costs one sendmsg and
 * no allocation; a readable socket is drained into one reused 64 KiB buffer.
 *
 * Writes. write() tries sendmsg at once when nothing is queued. What the socket does not take
 * is queued (the caller's byte arrays are kept, not copied; a partly sent chunk becomes a
 * subarray) and sent in order when the socket becomes writable. A write's descriptors travel
 * with its first byte: a sendmsg never carries the descriptors of a write that does not start
 * it, so they arrive with the read that holds that byte. Once sent (or dropped), the stream
 * closes them, because it owns them.
 *
 * Reads. On readable, recvmsg into the buffer and hand (bytes, fds) to the handler, repeating
 * until the socket is drained, at most 64 times per wakeup so that one busy peer cannot starve
 * the loop (polling is level-triggered: the rest is reported on the next turn). A short read
 * with no descriptors is taken as drained, which saves the recvmsg that would return EAGAIN.
 *
 * End. The stream ends once: at end of stream (handler.end()), on a socket error
 * (handler.end(error)), or on close() (handler.end()). Ending closes the socket, every queued
 * descriptor and stops watching. An error found inside write() is delivered from a microtask,
 * never re-entrantly from within write(); the others are delivered synchronously. When the peer
 * stops reading (EPIPE), queued writes are dropped, later writes are ignored (their descriptors
 * closed), and the end is reported by the read side once the peer's last bytes have been read.
 *
 * States: open → ended (socket closed; end delivered, or pending until start()).
 *
 * Concurrency: every method and callback runs on the event loop of the thread that created the
 * stream; the handler may call write() and close() from its callbacks.
 */
import type { FdStream, FdStreamHandler } from "@runsc-ts/proto";

import { isSystemError, native, systemErrorFromErrno, type FdWatcher } from "./native.js";

const { IOV_MAX, SCM_MAX_FD, POLL_READABLE, POLL_WRITABLE, SOCK_STREAM, SOCK_CLOEXEC, SOCK_NONBLOCK } =
  native.constants;

/** The reused receive buffer of each stream. */
const READ_BUFFER_BYTES = 64 * 1024;
/** recvmsg calls per readable event before yielding to the event loop. */
const MAX_READS_PER_WAKEUP = 64;

const NO_FDS: readonly number[] = Object.freeze([]);

/** A write the socket has not fully taken yet. */
interface PendingWrite {
  /** Unsent chunks are chunks[next..]; none is empty; chunks[next] may be a partly sent tail. */
  readonly chunks: Uint8Array[];
  next: number;
  /** Sent with this write's first byte; NO_FDS once sent. */
  fds: readonly number[];
}

export class UnixFdStream implements FdStream {
  /** The socket; -1 once the stream has ended. */
  #fd: number;
  #started = false;
  #handler: FdStreamHandler | undefined;
  /** Whether end has been delivered (or, before start(), would be at once). */
  #endDelivered = false;
  /** The error the stream ended with, if any. */
  #endError: Error | undefined;

  #watcher: FdWatcher | undefined;
  /** The POLL_* mask the watcher runs with (0: stopped). */
  #events = 0;
  #refed = true;

  #readBuffer: Uint8Array | undefined;
  /** recvmsg's descriptor output; emptied into each data() call. */
  readonly #fdsIn: number[] = [];

  /** Pending writes are queue[queueHead..]. */
  #queue: PendingWrite[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  /** The peer no longer reads (EPIPE): writes are dropped. */
  #writeShut = false;
  /** Scratch iovec list for #flush. */
  readonly #batch: Uint8Array[] = [];

  /**
   * Takes ownership of `fd`, a connected non-blocking SOCK_STREAM Unix socket (see
   * {@link fromFd} for one whose flags are unknown).
   */
  constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`UnixFdStream: bad fd ${fd}`);
    this.#fd = fd;
  }

  /** Whether the stream has ended (closed, end of stream, or error). */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Bytes queued because the socket did not take them yet. */
  get bufferedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Queues `chunks` (and `fds`, with the first byte) for sending; sends at once what the socket
   * takes. Takes ownership of `fds`. After the stream has ended, or once the peer has stopped
   * reading, the write is dropped and `fds` are closed.
   *
   * Throws RangeError (after closing `fds`) if `fds` has more than SCM_MAX_FD (253) entries or
   * `chunks` holds no byte for them to travel with. A chunk that is not a Uint8Array throws
   * TypeError when sent at once, and ends the stream with that error when sent from the queue.
   * A socket error never throws: it ends the stream.
   */
  write(chunks: readonly Uint8Array[], fds: readonly number[] = NO_FDS): void {
    if (this.#fd < 0 || this.#writeShut) {
      closeFds(fds);
      return;
    }
    let total = 0;
    for (const chunk of chunks) total += chunk.byteLength;
    if (fds.length > 0 && (fds.length > SCM_MAX_FD || total === 0)) {
      closeFds(fds);
      throw new RangeError(
        fds.length > SCM_MAX_FD
          ? `UnixFdStream.write: ${fds.length} fds, at most ${SCM_MAX_FD} per write`
          : "UnixFdStream.write: fds need at least one byte to travel with",
      );
    }
    if (total === 0) return;

    let sent = 0;
    if (this.#queueHead === this.#queue.length) {
      // Hot path: nothing queued, so this write may go out now.
      try {
        sent = native.sendmsg(this.#fd, chunks, fds);
      } catch (e) {
        closeFds(fds);
        if (!isSystemError(e)) throw e; // a bad argument: the caller's bug
        this.#writeFailed(e, true);
        return;
      }
      if (sent === total) {
        if (fds.length > 0) closeFds(fds);
        return;
      }
      if (sent > 0 && fds.length > 0) {
        closeFds(fds);
        fds = NO_FDS;
      }
    }
    this.#enqueue(chunks, Math.max(sent, 0), fds, total - Math.max(sent, 0));
    this.#updateWatch();
  }

  /** Starts delivering data to `handler`. Throws if already started. */
  start(handler: FdStreamHandler): void {
    if (this.#started) throw new Error("UnixFdStream: already started");
    this.#started = true;
    if (this.#fd < 0) {
      this.#deliverEnd(handler);
      return;
    }
    this.#handler = handler;
    this.#readBuffer = new Uint8Array(READ_BUFFER_BYTES);
    this.#updateWatch();
  }

  /** Closes the socket and every queued descriptor; ends the stream (end() without error). */
  close(): void {
    this.#end(undefined, false);
  }

  /** While the stream is watching its socket, it keeps the event loop alive (the default). */
  ref(): void {
    this.#refed = true;
    this.#watcher?.ref();
  }

  /** The stream no longer keeps the event loop alive. */
  unref(): void {
    this.#refed = false;
    this.#watcher?.unref();
  }

  // ---- writing ----

  /** Queues chunks[..] from byte `skip` on (the part sendmsg did not take). */
  #enqueue(chunks: readonly Uint8Array[], skip: number, fds: readonly number[], bytes: number): void {
    const rest: Uint8Array[] = [];
    for (const chunk of chunks) {
      if (skip >= chunk.byteLength) {
        skip -= chunk.byteLength;
        continue;
      }
      rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
      skip = 0;
    }
    this.#queue.push({ chunks: rest, next: 0, fds });
    this.#queuedBytes += bytes;
  }

  /** Sends queued writes while the socket takes them. */
  #flush(): void {
    const batch = this.#batch;
    while (this.#queueHead < this.#queue.length) {
      // One sendmsg: the head write's unsent chunks, then following writes that carry no
      // descriptors, up to IOV_MAX chunks. Only the head's descriptors can be in it.
      const queue = this.#queue;
      const fds = queue[this.#queueHead]!.fds;
      let bytes = 0;
      for (let w = this.#queueHead; w < queue.length && batch.length < IOV_MAX; w++) {
        const pending = queue[w]!;
        if (w !== this.#queueHead && pending.fds.length > 0) break;
        for (let i = pending.next; i < pending.chunks.length && batch.length < IOV_MAX; i++) {
          const chunk = pending.chunks[i]!;
          batch.push(chunk);
          bytes += chunk.byteLength;
        }
      }
      let sent: number;
      try {
        sent = native.sendmsg(this.#fd, batch, fds);
      } catch (e) {
        batch.length = 0;
        this.#writeFailed(e, false);
        return;
      }
      batch.length = 0;
      if (sent < 0) break;
      this.#consume(sent);
      if (sent < bytes) break; // the socket is full: wait for the next writable event
    }
    this.#updateWatch();
  }

  /** Drops `n` > 0 sent bytes from the head of the queue, closing the descriptors that went. */
  #consume(n: number): void {
    const queue = this.#queue;
    this.#queuedBytes -= n;
    const first = queue[this.#queueHead]!;
    if (first.fds.length > 0) {
      closeFds(first.fds);
      first.fds = NO_FDS;
    }
    while (n > 0) {
      const pending = queue[this.#queueHead]!;
      const chunk = pending.chunks[pending.next]!;
      if (n < chunk.byteLength) {
        pending.chunks[pending.next] = chunk.subarray(n);
        break;
      }
      n -= chunk.byteLength;
      pending.next++;
      if (pending.next === pending.chunks.length) this.#queueHead++;
    }
    if (this.#queueHead === queue.length) {
      queue.length = 0;
      this.#queueHead = 0;
    } else if (this.#queueHead >= 1024 && this.#queueHead * 2 >= queue.length) {
      queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /** Closes the descriptors of every queued write and forgets the writes. */
  #dropQueue(): void {
    for (let w = this.#queueHead; w < this.#queue.length; w++) closeFds(this.#queue[w]!.fds);
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
  }

  /** A sendmsg threw. `inWrite`: we are inside write(), so the end is delivered later. */
  #writeFailed(e: unknown, inWrite: boolean): void {
    if (isSystemError(e) && (e.code === "EPIPE" || e.code === "ECONNRESET")) {
      // The peer stopped reading. What it sent before may still wait in our receive queue:
      // let the read side deliver it and report the end.
      this.#writeShut = true;
      this.#dropQueue();
      if (this.#started) {
        this.#updateWatch();
        return;
      }
    }
    this.#end(toError(e), inWrite);
  }

  // ---- reading ----

  /**
   * Reads what the socket holds and hands it to the handler. `toTheEnd`: do not take a short
   * read as drained (an error wakeup wants the socket's pending error). Returns whether any
   * byte was read.
   */
  #onReadable(toTheEnd: boolean): boolean {
    const handler = this.#handler!;
    const buf = this.#readBuffer!;
    const fdsIn = this.#fdsIn;
    let progressed = false;
    for (let i = 0; i < MAX_READS_PER_WAKEUP; i++) {
      let n: number;
      try {
        n = native.recvmsg(this.#fd, buf, fdsIn);
      } catch (e) {
        this.#end(toError(e), false);
        return progressed;
      }
      if (n < 0) return progressed;
      if (n === 0) {
        this.#end(undefined, false);
        return progressed;
      }
      progressed = true;
      const fds = fdsIn.length === 0 ? [] : fdsIn.splice(0, fdsIn.length);
      handler.data(buf.subarray(0, n), fds);
      if (this.#fd < 0) return progressed; // the handler closed the stream
      if (n < buf.length && fds.length === 0 && !toTheEnd) return progressed;
    }
    return progressed;
  }

  // ---- watching ----

  /** Starts, changes or stops the watcher to match what the stream waits for. */
  #updateWatch(): void {
    if (this.#fd < 0) return;
    let events = 0;
    if (this.#handler !== undefined) events |= POLL_READABLE;
    if (this.#queueHead < this.#queue.length) events |= POLL_WRITABLE;
    if (events === this.#events) return;
    this.#events = events;
    if (events === 0) {
      this.#watcher?.stop();
      return;
    }
    if (this.#watcher === undefined) {
      this.#watcher = new native.FdWatcher(this.#fd, (status, ready) => this.#onPoll(status, ready));
      if (!this.#refed) this.#watcher.unref();
    }
    this.#watcher.start(events);
  }

  #onPoll(status: number, events: number): void {
    if (this.#fd < 0) return;
    if (status < 0) {
      this.#onPollError(status);
      return;
    }
    if ((events & POLL_READABLE) !== 0 && this.#handler !== undefined) {
      this.#onReadable(false);
      if (this.#fd < 0) return;
    }
    if ((events & POLL_WRITABLE) !== 0) this.#flush();
  }

  /**
   * libuv stopped the watcher on an error condition (EPOLLERR), reported as EBADF. The socket's
   * own error (ECONNRESET, say) is what recvmsg or sendmsg returns once the bytes before it
   * are read: read and write as far as possible, and keep watching while that makes progress.
   */
  #onPollError(status: number): void {
    this.#events = 0; // the watcher is stopped
    let progressed = false;
    if (this.#handler !== undefined) progressed = this.#onReadable(true);
    if (this.#fd < 0) return;
    if (this.#queueHead < this.#queue.length) {
      const before = this.#queuedBytes;
      this.#flush();
      if (this.#fd < 0) return;
      progressed ||= this.#queuedBytes < before;
    }
    if (!progressed) {
      // Nothing explains the condition; never spin on it.
      const error = systemErrorFromErrno(status, "epoll_wait");
      error.message += " (error condition on the socket with no pending error)";
      this.#end(error, false);
      return;
    }
    this.#updateWatch();
  }

  // ---- ending ----

  /**
   * Ends the stream once: stops watching, closes the socket and every descriptor it still owns,
   * then delivers the end to a started handler (now, or from a microtask when `later`).
   */
  #end(error: Error | undefined, later: boolean): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#endError = error;
    // The watcher first: closing it unregisters the descriptor number from the loop.
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#events = 0;
    tryClose(fd);
    this.#dropQueue();
    closeFds(this.#fdsIn.splice(0, this.#fdsIn.length));
    this.#readBuffer = undefined;
    const handler = this.#handler;
    this.#handler = undefined;
    if (handler === undefined) return; // delivered by start()
    if (later) queueMicrotask(() => this.#deliverEnd(handler));
    else this.#deliverEnd(handler);
  }

  #deliverEnd(handler: FdStreamHandler): void {
    if (this.#endDelivered) return;
    this.#endDelivered = true;
    if (this.#endError === undefined) handler.end();
    else handler.end(this.#endError);
  }
}

/**
 * A stream over `fd`, a connected SOCK_STREAM Unix socket whose flags are unknown (inherited
 * from a parent, say): sets O_NONBLOCK (on the open file description, shared with every other
 * holder) and FD_CLOEXEC. Takes ownership of `fd`, also when it throws.
 */
export function fromFd(fd: number): UnixFdStream {
  try {
    native.setNonblock(fd, true);
    native.setCloexec(fd, true);
  } catch (e) {
    tryClose(fd);
    throw e;
  }
  return new UnixFdStream(fd);
}

/** Two connected streams over a fresh socketpair (non-blocking, close-on-exec). */
export function socketPair(): [UnixFdStream, UnixFdStream] {
  const [a, b] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK);
  return [new UnixFdStream(a), new UnixFdStream(b)];
}

/** Closes descriptors the stream owns; a failure (a descriptor already gone) is not reported. */
function closeFds(fds: readonly number[]): void {
  for (const fd of fds) tryClose(fd);
}

function tryClose(fd: number): void {
  try {
    native.close(fd);
  } catch {
    // EBADF: nothing left to release.
  }
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
