/**
 * TCP sequence-number arithmetic (RFC 9293 §3.4): numbers live on a 2^32 circle and are
 * compared only by the sign of their 32-bit difference. A bare `<` on a `Seq` is a bug.
 *
 * `Seq` is a branded unsigned 32-bit integer; `Size` is a plain byte count.
 */
declare const seqBrand: unique symbol;
export type Seq = number & { readonly [seqBrand]: true };

/** Converts a raw 32-bit wire value (or any integer) to a `Seq`. */
export function seq(n: number): Seq {
  return (n >>> 0) as Seq;
}

/** a + n (mod 2^32). */
export function seqAdd(a: Seq, n: number): Seq {
  return ((a + n) >>> 0) as Seq;
}

/** The signed distance a - b, in [-2^31, 2^31). */
export function seqDiff(a: Seq, b: Seq): number {
  return (a - b) | 0;
}

export function seqLT(a: Seq, b: Seq): boolean {
  return seqDiff(a, b) < 0;
}
export function seqLE(a: Seq, b: Seq): boolean {
  return seqDiff(a, b) <= 0;
}
export function seqGT(a: Seq, b: Seq): boolean {
  return seqDiff(a, b) > 0;
}
export function seqGE(a: Seq, b: Seq): boolean {
  return seqDiff(a, b) >= 0;
}
export function seqMax(a: Seq, b: Seq): Seq {
  return seqLT(a, b) ? b : a;
}
export function seqMin(a: Seq, b: Seq): Seq {
  return seqLT(a, b) ? a : b;
}

/** True if start <= a < end on the circle. */
export function seqInRange(a: Seq, start: Seq, end: Seq): boolean {
  return seqLE(start, a) && seqLT(a, end);
}

/** True if start <= a < start + size (RFC 9293 §3.10.7.4 acceptability). */
export function seqInWindow(a: Seq, start: Seq, size: number): boolean {
  return seqInRange(a, start, seqAdd(start, size));
}

/**
 * True if the segment [segStart, segStart + segLen) overlaps the window
 * [winStart, winStart + winSize) — RFC 9293 §3.10.7.4's four-case acceptability test.
 */
export function segmentAcceptable(segStart: Seq, segLen: number, winStart: Seq, winSize: number): boolean {
  if (segLen === 0) return winSize === 0 ? segStart === winStart : seqInWindow(segStart, winStart, winSize);
  if (winSize === 0) return false;
  return seqInWindow(segStart, winStart, winSize) || seqInWindow(seqAdd(segStart, segLen - 1), winStart, winSize);
}
