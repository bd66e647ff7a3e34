/**
 * The receive buffer (RFC 9293 §3.8.6.2, §3.10.7.4 "seventh, process the segment text"):
 * in-order bytes waiting for the application, plus out-of-order segments held until the
 * gap before them fills. Out-of-order data is stored without overlap (a byte is kept once,
 * first copy wins), so memory is bounded by the window the caller admits.
 */
import { seqAdd, seqDiff, seqLT, type Seq } from "../../seqnum/seqnum.js";

interface OooBlock {
  start: Seq;
  data: Uint8Array;
}

export class ReceiveBuffer {
  private chunks: Uint8Array[] = [];
  private readableBytes = 0;
  /** Disjoint, sorted by sequence. */
  private ooo: OooBlock[] = [];
  private oooBytesHeld = 0;

  constructor(readonly capacity: number) {}

  get readable(): number {
    return this.readableBytes;
  }

  get outOfOrderBytes(): number {
    return this.oooBytesHeld;
  }

  get hasOutOfOrder(): boolean {
    return this.ooo.length > 0;
  }

  /** Bytes of space not taken by readable or out-of-order data. */
  get free(): number {
    return Math.max(0, this.capacity - this.readableBytes - this.oooBytesHeld);
  }

  /** The out-of-order blocks as [start, end) pairs, lowest first (for SACK later). */
  outOfOrderBlocks(): { start: Seq; end: Seq }[] {
    return this.ooo.map((b) => ({ start: b.start, end: seqAdd(b.start, b.data.length) }));
  }

  /**
   * Stores `data` that begins at `start`, where `rcvNxt` is the next expected byte and
   * `start` >= `rcvNxt` (the caller trims old bytes). Returns how many bytes became readable
   * (the amount RCV.NXT advances), including any out-of-order data the segment connected.
   */
  insert(start: Seq, data: Uint8Array, rcvNxt: Seq): number {
    if (data.length === 0) return 0;
    if (start === rcvNxt) {
      let advanced = this.pushReadable(data);
      let next = seqAdd(rcvNxt, data.length);
      // Drain out-of-order blocks now contiguous (or overlapping the new edge).
      while (this.ooo.length > 0) {
        const b = this.ooo[0] as OooBlock;
        if (seqLT(next, b.start)) break;
        this.ooo.shift();
        this.oooBytesHeld -= b.data.length;
        const skip = seqDiff(next, b.start);
        if (skip < b.data.length) {
          const tail = b.data.subarray(skip);
          advanced += this.pushReadable(tail);
          next = seqAdd(next, tail.length);
        }
      }
      return advanced;
    }
    this.storeOutOfOrder(start, data);
    return 0;
  }

  /** Takes up to `max` readable bytes. */
  read(max: number): Uint8Array {
    const n = Math.min(max, this.readableBytes);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const c = this.chunks[0] as Uint8Array;
      const take = Math.min(c.length, n - done);
      out.set(c.subarray(0, take), done);
      done += take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    this.readableBytes -= n;
    return out;
  }

  /** Copies up to `max` readable bytes without consuming them (MSG_PEEK). */
  peek(max: number): Uint8Array {
    const n = Math.min(max, this.readableBytes);
    const out = new Uint8Array(n);
    let done = 0;
    for (const c of this.chunks) {
      if (done === n) break;
      const take = Math.min(c.length, n - done);
      out.set(c.subarray(0, take), done);
      done += take;
    }
    return out;
  }

  private pushReadable(data: Uint8Array): number {
    this.chunks.push(Uint8Array.from(data));
    this.readableBytes += data.length;
    return data.length;
  }

  private storeOutOfOrder(start: Seq, data: Uint8Array): void {
    // Cut the new range into pieces not already held, then insert them in order.
    let pieces: OooBlock[] = [{ start, data }];
    for (const b of this.ooo) {
      const bEnd = seqAdd(b.start, b.data.length);
      const next: OooBlock[] = [];
      for (const p of pieces) {
        const pEnd = seqAdd(p.start, p.data.length);
        if (!seqLT(p.start, bEnd) || !seqLT(b.start, pEnd)) {
          next.push(p);
          continue;
        }
        if (seqLT(p.start, b.start)) next.push({ start: p.start, data: p.data.subarray(0, seqDiff(b.start, p.start)) });
        if (seqLT(bEnd, pEnd)) next.push({ start: bEnd, data: p.data.subarray(seqDiff(bEnd, p.start)) });
      }
      pieces = next;
    }
    for (const p of pieces) {
      if (p.data.length === 0) continue;
      const copy = { start: p.start, data: Uint8Array.from(p.data) };
      let i = 0;
      while (i < this.ooo.length && seqLT((this.ooo[i] as OooBlock).start, p.start)) i++;
      this.ooo.splice(i, 0, copy);
      this.oooBytesHeld += p.data.length;
    }
  }
}
