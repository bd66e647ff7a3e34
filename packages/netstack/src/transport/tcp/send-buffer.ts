/**
 * The send buffer: a byte ring holding data from SND.UNA onward (sent-but-unacknowledged,
 * then not-yet-sent). Sequence mapping lives with the caller; this is offsets only.
 *
 * Memory follows use, not capacity: the ring starts empty, doubles as data is queued (up to
 * `capacity`), and is given back when everything has been acknowledged. So an idle or
 * lightly used connection holds almost nothing, and thousands of sockets cost what their
 * queued bytes cost (a socket's SO_SNDBUF is a limit, as in Linux, not an allocation).
 */
const MIN_RING = 4096;
/** A ring at least this large is released once empty. */
const KEEP_RING = 64 * 1024;

export class SendBuffer {
  private ring = new Uint8Array(0);
  private head = 0;
  private len = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.len;
  }

  get free(): number {
    return this.capacity - this.len;
  }

  /** Bytes allocated for the ring now (for tests and accounting). */
  get allocated(): number {
    return this.ring.length;
  }

  /** Appends as much of `data` as fits; returns the number of bytes taken. */
  append(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    if (n === 0) return 0;
    this.reserve(this.len + n);
    const size = this.ring.length;
    let tail = (this.head + this.len) % size;
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, size - tail);
      this.ring.set(data.subarray(done, done + chunk), tail);
      done += chunk;
      tail = (tail + chunk) % size;
    }
    this.len += n;
    return n;
  }

  /**
   * `length` bytes starting `offset` bytes after the head: a view of the ring when they are
   * contiguous (valid only until the next append or consume: the caller copies it at once),
   * else a fresh copy.
   */
  slice(offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.len - offset));
    if (n === 0) return new Uint8Array(0);
    const size = this.ring.length;
    let pos = (this.head + offset) % size;
    if (pos + n <= size) return this.ring.subarray(pos, pos + n);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, size - pos);
      out.set(this.ring.subarray(pos, pos + chunk), done);
      done += chunk;
      pos = (pos + chunk) % size;
    }
    return out;
  }

  /** Drops `n` acknowledged bytes from the head. */
  consume(n: number): void {
    const k = Math.min(n, this.len);
    if (k === 0) return;
    this.len -= k;
    if (this.len === 0) {
      this.head = 0;
      if (this.ring.length >= KEEP_RING) this.ring = new Uint8Array(0);
      return;
    }
    this.head = (this.head + k) % this.ring.length;
  }

  /** Grows the ring to hold `need` bytes (doubling, at most `capacity`), keeping the order. */
  private reserve(need: number): void {
    const size = this.ring.length;
    if (need <= size) return;
    let next = Math.max(size * 2, MIN_RING);
    while (next < need) next *= 2;
    next = Math.min(next, this.capacity);
    const grown = new Uint8Array(next);
    if (this.len > 0) {
      const first = Math.min(this.len, size - this.head);
      grown.set(this.ring.subarray(this.head, this.head + first), 0);
      if (first < this.len) grown.set(this.ring.subarray(0, this.len - first), first);
    }
    this.ring = grown;
    this.head = 0;
  }
}
