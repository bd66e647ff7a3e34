/**
 * An in-memory FdStream pair for tests: what one end writes, the other receives on a later turn
 * of the event loop, optionally cut into arbitrary pieces. FD numbers move from writer to reader
 * unchanged (as if the kernel had dup'ed them and the writer had closed its copies).
 */
import type { FdStream, FdStreamHandler } from "./fd-stream.js";

export interface MemoryStreamOptions {
  /** Cuts every write into pieces of at most this many bytes (FDs ride on the first piece). */
  readonly maxChunk?: number;
}

class MemoryFdStream implements FdStream {
  peer: MemoryFdStream | undefined;
  private handler: FdStreamHandler | undefined;
  private readonly inbox: Array<{ bytes: Uint8Array; fds: number[] } | null> = [];
  private scheduled = false;
  private closed = false;
  private ended = false;

  constructor(private readonly maxChunk: number) {}

  write(chunks: readonly Uint8Array[], fds: readonly number[] = []): void {
    if (this.closed) throw new Error("write on a closed stream");
    const peer = this.peer;
    if (peer === undefined || peer.closed) return;
    let total = 0;
    for (const c of chunks) total += c.length;
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.length;
    }
    let first = true;
    for (let i = 0; i < all.length || first; i += this.maxChunk) {
      peer.deliver({ bytes: all.subarray(i, Math.min(all.length, i + this.maxChunk)), fds: first ? [...fds] : [] });
      first = false;
    }
  }

  /** Injects raw bytes as if the peer had written them (for malformed-input tests). */
  inject(bytes: Uint8Array, fds: number[] = []): void {
    this.deliver({ bytes, fds });
  }

  start(handler: FdStreamHandler): void {
    this.handler = handler;
    this.schedule();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.peer?.deliver(null);
    this.finish(undefined);
  }

  private deliver(item: { bytes: Uint8Array; fds: number[] } | null): void {
    if (this.closed) return;
    this.inbox.push(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.handler === undefined) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (let item = this.inbox.shift(); item !== undefined; item = this.inbox.shift()) {
        if (this.ended) return;
        if (item === null) {
          this.finish(undefined);
          return;
        }
        this.handler?.data(item.bytes, item.fds);
      }
    });
  }

  private finish(err: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.closed = true;
    this.handler?.end(err);
  }
}

export type { MemoryFdStream };

/** Two connected in-memory streams. */
export function memoryStreamPair(options: MemoryStreamOptions = {}): [MemoryFdStream, MemoryFdStream] {
  const max = options.maxChunk ?? Number.MAX_SAFE_INTEGER;
  const a = new MemoryFdStream(max);
  const b = new MemoryFdStream(max);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
