import { describe, expect, it } from "vitest";
import { FRAME_HEADER_BYTES, FrameDecoder, FrameError, encodeFrameHeader } from "./frame.js";

/** A whole frame: header + segment table + segments filled with a recognisable byte. */
function frame(segmentBytes: number[], fdCount = 0): Uint8Array {
  const head = encodeFrameHeader(segmentBytes, fdCount);
  const total = head.length + segmentBytes.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(total);
  out.set(head);
  let off = head.length;
  segmentBytes.forEach((n, i) => {
    out.fill(i + 1, off, off + n);
    off += n;
  });
  return out;
}

function header(messageBytes: number, fdCount: number, reserved = 0): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER_BYTES);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, messageBytes, true);
  dv.setUint16(4, fdCount, true);
  dv.setUint16(6, reserved, true);
  return h;
}

describe("FrameDecoder", () => {
  it("decodes a single-segment frame and copies the segment out", () => {
    const d = new FrameDecoder();
    const bytes = frame([16]);
    const [f, ...rest] = d.push(bytes, []);
    expect(rest).toEqual([]);
    expect(f?.segments.map((s) => new Uint8Array(s))).toEqual([new Uint8Array(16).fill(1)]);
    bytes.fill(0);
    expect(new Uint8Array(f?.segments[0] ?? new ArrayBuffer(0))[0]).toBe(1);
    expect(d.bufferedBytes).toBe(0);
  });

  it("decodes multi-segment frames", () => {
    const d = new FrameDecoder();
    const [f] = d.push(frame([8, 24, 16]), []);
    expect(f?.segments.map((s) => s.byteLength)).toEqual([8, 24, 16]);
    expect(new Uint8Array(f?.segments[2] ?? new ArrayBuffer(0))).toEqual(new Uint8Array(16).fill(3));
  });

  it("reassembles frames delivered one byte at a time, with FDs on the first byte", () => {
    const d = new FrameDecoder();
    const bytes = new Uint8Array([...frame([8], 2), ...frame([32], 0), ...frame([16], 1)]);
    const got: Array<{ sizes: number[]; fds: number[] }> = [];
    const fdsAt = new Map([
      [0, [100, 101]],
      [bytes.length - frame([16], 1).length, [102]],
    ]);
    for (let i = 0; i < bytes.length; i++) {
      for (const f of d.push(bytes.subarray(i, i + 1), fdsAt.get(i) ?? [])) {
        got.push({ sizes: f.segments.map((s) => s.byteLength), fds: f.fds });
      }
    }
    expect(got).toEqual([
      { sizes: [8], fds: [100, 101] },
      { sizes: [32], fds: [] },
      { sizes: [16], fds: [102] },
    ]);
  });

  it("decodes many frames from one chunk", () => {
    const d = new FrameDecoder();
    const one = frame([8]);
    const many = new Uint8Array(one.length * 100);
    for (let i = 0; i < 100; i++) many.set(one, i * one.length);
    expect(d.push(many, [])).toHaveLength(100);
  });

  it("rejects a 4 GiB length prefix before allocating", () => {
    const d = new FrameDecoder();
    expect(() => d.push(header(0xffff_fff8, 0), [])).toThrow(/exceeds the limit/);
  });

  it("rejects lengths that are not whole words", () => {
    expect(() => new FrameDecoder().push(header(12, 0), [])).toThrow(FrameError);
    expect(() => new FrameDecoder().push(header(0, 0), [])).toThrow(/bad frame length/);
  });

  it("rejects a nonzero reserved field", () => {
    expect(() => new FrameDecoder().push(header(16, 0, 7), [])).toThrow(/reserved/);
  });

  it("rejects a segment count beyond the limit without allocating for it", () => {
    const bytes = new Uint8Array(FRAME_HEADER_BYTES + 16);
    bytes.set(header(16, 0));
    new DataView(bytes.buffer).setUint32(FRAME_HEADER_BYTES, 0xffff_fffe, true);
    expect(() => new FrameDecoder().push(bytes, [])).toThrow(/segments, more than the limit/);
  });

  it("rejects a segment table that disagrees with the frame length", () => {
    const bytes = frame([16]);
    new DataView(bytes.buffer).setUint32(FRAME_HEADER_BYTES + 4, 7, true);
    expect(() => new FrameDecoder().push(bytes, [])).toThrow(/segment table describes/);
  });

  it("rejects a frame that announces FDs that did not arrive", () => {
    expect(() => new FrameDecoder().push(frame([8], 1), [])).toThrow(/announces 1 FDs but only 0 arrived/);
  });

  it("rejects FDs that no frame announced, and hands them back for closing", () => {
    const d = new FrameDecoder();
    expect(() => d.push(frame([8], 0), [55])).toThrow(/no frame announced/);
    expect(d.drainFds()).toEqual([55]);
  });

  it("rejects more FDs per frame than the limit", () => {
    const fds = Array.from({ length: 10 }, (_, i) => i + 100);
    const d = new FrameDecoder({ maxFds: 4 });
    expect(() => d.push(frame([8], 10), fds)).toThrow(/more than the limit of 4/);
    expect(d.drainFds().sort()).toEqual(fds);
  });

  it("keeps FDs of completed frames out of drainFds after a later failure", () => {
    const d = new FrameDecoder();
    const good = frame([8], 1);
    const bad = header(12, 0);
    expect(() => d.push(new Uint8Array([...good, ...bad]), [9])).toThrow(FrameError);
    // The good frame was never handed out, so its FD is still the decoder's to give back.
    expect(d.drainFds()).toEqual([9]);
  });

  it("refuses further input after a failure", () => {
    const d = new FrameDecoder();
    expect(() => d.push(header(12, 0), [])).toThrow(FrameError);
    expect(() => d.push(frame([8]), [])).toThrow(/already failed/);
  });

  it("reports buffered bytes of an incomplete frame", () => {
    const d = new FrameDecoder();
    const f = frame([64]);
    expect(d.push(f.subarray(0, 20), [])).toEqual([]);
    expect(d.bufferedBytes).toBe(20);
    expect(d.push(f.subarray(20), [])).toHaveLength(1);
    expect(d.bufferedBytes).toBe(0);
  });
});

describe("encodeFrameHeader", () => {
  it("pads the segment table to a whole word", () => {
    expect(encodeFrameHeader([8], 0).length).toBe(FRAME_HEADER_BYTES + 8);
    expect(encodeFrameHeader([8, 8], 0).length).toBe(FRAME_HEADER_BYTES + 16);
  });
  it("rejects unaligned segments, empty messages and absurd FD counts", () => {
    expect(() => encodeFrameHeader([12], 0)).toThrow(RangeError);
    expect(() => encodeFrameHeader([], 0)).toThrow(RangeError);
    expect(() => encodeFrameHeader([8], 70000)).toThrow(RangeError);
  });
});
