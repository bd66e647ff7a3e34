/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum
 * of the data taken as big-endian 16-bit words, plus the pseudo-headers that TCP, UDP and
 * ICMPv6 fold in (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1).
 *
 * Partial sums are plain non-negative integers, folded only at the end; they stay exact
 * well past the largest IP packet (2^16 words of 0xffff < 2^53).
 */
import type { IPAddress } from "../address.js";

/**
 * Adds `buf[start, end)` to a running sum. An odd trailing byte is padded with zero, so
 * only the last chunk of a multi-part sum may have odd length.
 */
export function checksumAdd(sum: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let s = sum;
  let i = start;
  for (; i + 1 < end; i += 2) s += ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
  if (i < end) s += (buf[i] ?? 0) << 8;
  return s;
}

/** Folds a running sum into 16 bits with end-around carry. */
export function checksumFold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The final checksum field value: the complement of the folded sum. */
export function checksumFinish(sum: number): number {
  return ~checksumFold(sum) & 0xffff;
}

/** Computes the checksum of `buf` (with an optional initial partial sum). */
export function internetChecksum(buf: Uint8Array, initial = 0): number {
  return checksumFinish(checksumAdd(initial, buf));
}

/**
 * Partial sum of the pseudo-header for a transport checksum. IPv4 (RFC 9293 §3.1):
 * src, dst, zero, protocol, TCP/UDP length. IPv6 (RFC 8200 §8.1): src, dst, 32-bit upper-layer
 * length, three zero bytes, next header.
 */
export function pseudoHeaderSum(src: IPAddress, dst: IPAddress, protocol: number, length: number): number {
  const s = src.checksumWords() + dst.checksumWords();
  if (src.version === 4) return s + protocol + length;
  return s + Math.floor(length / 0x10000) + (length & 0xffff) + protocol;
}

/** True if `buf` (including its checksum field) sums to all ones, i.e. the checksum verifies. */
export function checksumVerifies(buf: Uint8Array, initial = 0): boolean {
  return checksumFold(checksumAdd(initial, buf)) === 0xffff;
}
