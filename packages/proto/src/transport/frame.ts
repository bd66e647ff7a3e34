/**
 * Framing of RPC messages on a byte stream, with FDs travelling out of band.
 *
 * A frame is an 8-byte header followed by one Cap'n Proto message in the standard stream
 * encoding (segment table, then segments):
 *
 *     u32 LE  length of the Cap'n Proto message in bytes (a multiple of 8)
 *     u16 LE  number of FDs this frame carries
 *     u16 LE  reserved, must be 0
 *
 * The FDs of a frame are sent (SCM_RIGHTS) with the first byte of the frame, so by the time the
 * decoder has a whole header it holds at least as many FDs as every frame up to it announced.
 * FDs that no frame announces are a protocol error: a peer cannot make us hold FDs we did not
 * ask for.
 *
 * The decoder checks every length against hard limits before allocating anything, so a hostile
 * length prefix or segment table costs nothing but the error.
 */

/** Size of the frame header in bytes. */
export const FRAME_HEADER_BYTES = 8;

/** Limits a decoder enforces. */
export interface FrameLimits {
  /** Largest Cap'n Proto message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** Most segments one message may have. */
  readonly maxSegments: number;
  /** Most FDs one frame may carry (the kernel's SCM_MAX_FD is 253). */
  readonly maxFds: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = {
  maxMessageBytes: 64 << 20,
  maxSegments: 512,
  maxFds: 253,
};

/** A malformed frame: the connection cannot continue. */
export class FrameError extends Error {
  override readonly name = "FrameError";
}

/** One decoded frame: the segments of a Cap'n Proto message and the FDs that came with it. */
export interface Frame {
  /** Each segment in its own ArrayBuffer (what capnp-es wants). */
  readonly segments: ArrayBuffer[];
  /** Ownership passes to whoever takes the frame. */
  readonly fds: number[];
}

/**
 * Encodes the header and segment table of a frame for a message with the given segment sizes.
 * The caller sends the returned bytes followed by the segments themselves (a gather write, so
 * segments are never copied).
 */
export function encodeFrameHeader(segmentBytes: readonly number[], fdCount: number): Uint8Array {
  const nseg = segmentBytes.length;
  if (nseg === 0) throw new RangeError("a Cap'n Proto message has at least one segment");
  if (fdCount < 0 || fdCount > 0xffff) throw new RangeError(`bad FD count ${fdCount}`);
  // Segment table: u32 (count-1), u32 size in words per segment, padded to 8 bytes.
  const tableBytes = (4 + 4 * nseg + 7) & ~7;
  let messageBytes = tableBytes;
  for (const b of segmentBytes) {
    if ((b & 7) !== 0) throw new RangeError(`segment size ${b} is not word aligned`);
    messageBytes += b;
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + tableBytes);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, messageBytes, true);
  dv.setUint16(4, fdCount, true);
  dv.setUint32(8, nseg - 1, true);
  for (let i = 0; i < nseg; i++) dv.setUint32(12 + 4 * i, (segmentBytes[i] ?? 0) / 8, true);
  return out;
}

/**
 * Reassembles frames from stream chunks. Not thread-safe (there is one per connection, fed by
 * its stream's data callback).
 */
export class FrameDecoder {
  private readonly limits: FrameLimits;
  /** Bytes of an incomplete frame. */
  private pending: Uint8Array = new Uint8Array(0);
  private pendingLength = 0;
  /** FDs received and not yet claimed by a frame, in arrival order. */
  private fds: number[] = [];
  private failed = false;

  constructor(limits: Partial<FrameLimits> = {}) {
    this.limits = { ...DEFAULT_FRAME_LIMITS, ...limits };
  }

  /**
   * Feeds received bytes and FDs (taking ownership of the FDs), and returns the frames now
   * complete. Throws FrameError on malformed input; the decoder is then unusable, and the
   * caller must close every FD it still holds (see drainFds).
   */
  push(bytes: Uint8Array, fds: readonly number[]): Frame[] {
    if (this.failed) throw new FrameError("the frame decoder already failed");
    for (const fd of fds) this.fds.push(fd);
    const frames: Frame[] = [];
    try {
      let input = bytes;
      if (this.pendingLength > 0) {
        input = this.appendPending(bytes);
      }
      let off = 0;
      for (;;) {
        const avail = input.length - off;
        if (avail < FRAME_HEADER_BYTES) break;
        const dv = new DataView(input.buffer, input.byteOffset + off, avail);
        const messageBytes = dv.getUint32(0, true);
        const fdCount = dv.getUint16(4, true);
        this.checkHeader(messageBytes, fdCount, dv.getUint16(6, true));
        if (fdCount > this.fds.length) {
          throw new FrameError(`frame announces ${fdCount} FDs but only ${this.fds.length} arrived with it`);
        }
        const total = FRAME_HEADER_BYTES + messageBytes;
        if (avail < total) break;
        const segments = this.splitSegments(input, off + FRAME_HEADER_BYTES, messageBytes);
        frames.push({ segments, fds: this.fds.splice(0, fdCount) });
        off += total;
      }
      this.keepPending(input, off);
      if (this.pendingLength === 0 && this.fds.length > 0) {
        throw new FrameError(`${this.fds.length} FDs arrived that no frame announced`);
      }
    } catch (e) {
      this.failed = true;
      for (const f of frames) for (const fd of f.fds) this.fds.push(fd);
      throw e;
    }
    return frames;
  }

  /** Bytes buffered of an incomplete frame (0 at a frame boundary). */
  get bufferedBytes(): number {
    return this.pendingLength;
  }

  /** Takes every FD the decoder still owns (to close them). */
  drainFds(): number[] {
    const fds = this.fds;
    this.fds = [];
    return fds;
  }

  private checkHeader(messageBytes: number, fdCount: number, reserved: number): void {
    if (reserved !== 0) throw new FrameError(`bad frame header (reserved field ${reserved})`);
    if (messageBytes > this.limits.maxMessageBytes) {
      throw new FrameError(`frame of ${messageBytes} bytes exceeds the limit of ${this.limits.maxMessageBytes}`);
    }
    if (messageBytes < 8 || (messageBytes & 7) !== 0) {
      throw new FrameError(`bad frame length ${messageBytes}`);
    }
    if (fdCount > this.limits.maxFds) {
      throw new FrameError(`frame carries ${fdCount} FDs, more than the limit of ${this.limits.maxFds}`);
    }
  }

  /** Validates the segment table of a complete message and copies each segment out. */
  private splitSegments(buf: Uint8Array, start: number, messageBytes: number): ArrayBuffer[] {
    const dv = new DataView(buf.buffer, buf.byteOffset + start, messageBytes);
    const nseg = dv.getUint32(0, true) + 1;
    if (nseg > this.limits.maxSegments) {
      throw new FrameError(`message has ${nseg} segments, more than the limit of ${this.limits.maxSegments}`);
    }
    const tableBytes = (4 + 4 * nseg + 7) & ~7;
    if (tableBytes > messageBytes) throw new FrameError("segment table overruns the frame");
    let sum = tableBytes;
    for (let i = 0; i < nseg; i++) sum += dv.getUint32(4 + 4 * i, true) * 8;
    if (sum !== messageBytes) {
      throw new FrameError(`segment table describes ${sum} bytes but the frame holds ${messageBytes}`);
    }
    const segments: ArrayBuffer[] = [];
    let off = buf.byteOffset + start + tableBytes;
    for (let i = 0; i < nseg; i++) {
      const len = dv.getUint32(4 + 4 * i, true) * 8;
      if (len === 0 && i === 0) throw new FrameError("first segment is empty");
      segments.push(buf.buffer.slice(off, off + len) as ArrayBuffer);
      off += len;
    }
    return segments;
  }

  private appendPending(bytes: Uint8Array): Uint8Array {
    const need = this.pendingLength + bytes.length;
    if (need > this.pending.length) {
      const grown = new Uint8Array(Math.max(need, this.pending.length * 2, 4096));
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    this.pending.set(bytes, this.pendingLength);
    this.pendingLength = need;
    return this.pending.subarray(0, need);
  }

  /** Keeps input[off:] for the next push. `input` may alias `pending` or the caller's buffer. */
  private keepPending(input: Uint8Array, off: number): void {
    const rest = input.length - off;
    if (rest === 0) {
      this.pendingLength = 0;
      if (this.pending.length > 1 << 20) this.pending = new Uint8Array(0);
      return;
    }
    if (input.buffer === this.pending.buffer) {
      this.pending.copyWithin(0, input.byteOffset + off - this.pending.byteOffset, input.byteOffset + input.length - this.pending.byteOffset);
    } else {
      if (rest > this.pending.length) this.pending = new Uint8Array(Math.max(rest, 4096));
      this.pending.set(input.subarray(off));
    }
    this.pendingLength = rest;
  }
}
