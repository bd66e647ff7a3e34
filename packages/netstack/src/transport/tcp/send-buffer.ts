/**
 * The send buffer: a byte ring holding data from SND.UNA onward (sent-but-unacknowledged,
 * then not-yet-sent). Sequence mapping lives with the caller; this is offsets only.
 */
export class SendBuffer {
  private ring: Uint8Array;
  private head = 0;
  private len = 0;

  constructor(readonly capacity: number) {
    this.ring = new Uint8Array(capacity);
  }

  get length(): number {
    return this.len;
  }

  get free(): number {
    return this.capacity - this.len;
  }

  /** Appends as much of `data` as fits; returns the number of bytes taken. */
  append(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    let tail = (this.head + this.len) % this.capacity;
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, this.capacity - tail);
      this.ring.set(data.subarray(done, done + chunk), tail);
      done += chunk;
      tail = (tail + chunk) % this.capacity;
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
    let pos = (this.head + offset) % this.capacity;
    if (pos + n <= this.capacity) return this.ring.subarray(pos, pos + n);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, this.capacity - pos);
      out.set(this.ring.subarray(pos, pos + chunk), done);
      done += chunk;
      pos = (pos + chunk) % this.capacity;
    }
    return out;
  }

  /** Drops `n` acknowledged bytes from the head. */
  consume(n: number): void {
    const k = Math.min(n, this.len);
    this.head = (this.head + k) % this.capacity;
    this.len -= k;
  }
}
