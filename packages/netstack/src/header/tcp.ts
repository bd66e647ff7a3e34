/**
 * TCP header (RFC 9293 §3.1) and options: MSS (RFC 9293 §3.7.1), window scale and timestamps
 * (RFC 7323 §2.2, §3.2), SACK-permitted and SACK blocks (RFC 2018 §2, §3), NOP and EOL.
 *
 * `parse` validates the data offset against the buffer; `parseTcpOptions` rejects a malformed
 * option list (a length byte below 2 or running past the end, a known option of the wrong
 * length) so the segment can be dropped and counted. Sequence-number fields are plain
 * unsigned 32-bit numbers here; compare them only through `seqnum`.
 */
import type { IPAddress } from "../address.js";
import { checksumAdd, checksumFinish, checksumFold, checksumVerifies, pseudoHeaderSum } from "./checksum.js";
import { IP_PROTOCOL_TCP } from "./ipv4.js";

export const TCP_MIN_HEADER_SIZE = 20;
export const TCP_MAX_OPTIONS_SIZE = 40;

export const TCP_FLAG_FIN = 0x01;
export const TCP_FLAG_SYN = 0x02;
export const TCP_FLAG_RST = 0x04;
export const TCP_FLAG_PSH = 0x08;
export const TCP_FLAG_ACK = 0x10;
export const TCP_FLAG_URG = 0x20;
export const TCP_FLAG_ECE = 0x40;
export const TCP_FLAG_CWR = 0x80;

export const TCP_OPT_EOL = 0;
export const TCP_OPT_NOP = 1;
export const TCP_OPT_MSS = 2;
export const TCP_OPT_WS = 3;
export const TCP_OPT_SACK_PERMITTED = 4;
export const TCP_OPT_SACK = 5;
export const TCP_OPT_TIMESTAMP = 8;

/** RFC 7323 §2.3: a shift above 14 is treated as 14. */
export const TCP_MAX_WINDOW_SHIFT = 14;

export interface SackBlock {
  /** First sequence number of the block (unsigned 32-bit). */
  start: number;
  /** Sequence number just past the block. */
  end: number;
}

export interface TcpOptions {
  mss?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  sackBlocks?: SackBlock[];
  timestamp?: { value: number; echo: number };
}

export class TcpView {
  private constructor(private readonly b: Uint8Array) {}

  /** Returns a view if 20 <= dataOffset*4 <= b.length. */
  static parse(b: Uint8Array): TcpView | undefined {
    if (b.length < TCP_MIN_HEADER_SIZE) return undefined;
    const off = ((b[12] ?? 0) >> 4) * 4;
    if (off < TCP_MIN_HEADER_SIZE || off > b.length) return undefined;
    return new TcpView(b);
  }

  get sourcePort(): number {
    return ((this.b[0] ?? 0) << 8) | (this.b[1] ?? 0);
  }
  get destinationPort(): number {
    return ((this.b[2] ?? 0) << 8) | (this.b[3] ?? 0);
  }
  get seq(): number {
    return u32(this.b, 4);
  }
  get ack(): number {
    return u32(this.b, 8);
  }
  get dataOffset(): number {
    return ((this.b[12] ?? 0) >> 4) * 4;
  }
  get flags(): number {
    return this.b[13] ?? 0;
  }
  get window(): number {
    return ((this.b[14] ?? 0) << 8) | (this.b[15] ?? 0);
  }
  get checksum(): number {
    return ((this.b[16] ?? 0) << 8) | (this.b[17] ?? 0);
  }
  get urgentPointer(): number {
    return ((this.b[18] ?? 0) << 8) | (this.b[19] ?? 0);
  }
  get rawOptions(): Uint8Array {
    return this.b.subarray(TCP_MIN_HEADER_SIZE, this.dataOffset);
  }
  get payload(): Uint8Array {
    return this.b.subarray(this.dataOffset);
  }
  has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }
  checksumValid(src: IPAddress, dst: IPAddress): boolean {
    return checksumVerifies(this.b, pseudoHeaderSum(src, dst, IP_PROTOCOL_TCP, this.b.length));
  }
}

function u32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Parses an option list. Returns undefined if it is malformed: a length byte < 2, an option
 * running past the end, a known option with the wrong length, more than 4 SACK blocks, or a
 * known option repeated. Unknown options with a sane length are skipped (RFC 9293 §3.1).
 */
export function parseTcpOptions(opts: Uint8Array): TcpOptions | undefined {
  const out: TcpOptions = {};
  const seen = new Set<number>();
  let i = 0;
  while (i < opts.length) {
    const kind = opts[i] ?? 0;
    if (kind === TCP_OPT_EOL) break;
    if (kind === TCP_OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= opts.length) return undefined;
    const len = opts[i + 1] ?? 0;
    if (len < 2 || i + len > opts.length) return undefined;
    if (kind !== TCP_OPT_SACK && kind <= TCP_OPT_TIMESTAMP && seen.has(kind)) return undefined;
    seen.add(kind);
    switch (kind) {
      case TCP_OPT_MSS:
        if (len !== 4) return undefined;
        out.mss = ((opts[i + 2] ?? 0) << 8) | (opts[i + 3] ?? 0);
        break;
      case TCP_OPT_WS:
        if (len !== 3) return undefined;
        out.windowScale = Math.min(opts[i + 2] ?? 0, TCP_MAX_WINDOW_SHIFT);
        break;
      case TCP_OPT_SACK_PERMITTED:
        if (len !== 2) return undefined;
        out.sackPermitted = true;
        break;
      case TCP_OPT_SACK: {
        const n = (len - 2) / 8;
        if (!Number.isInteger(n) || n < 1 || n > 4) return undefined;
        const blocks: SackBlock[] = [];
        for (let k = 0; k < n; k++) blocks.push({ start: u32(opts, i + 2 + 8 * k), end: u32(opts, i + 6 + 8 * k) });
        out.sackBlocks = blocks;
        break;
      }
      case TCP_OPT_TIMESTAMP:
        if (len !== 10) return undefined;
        out.timestamp = { value: u32(opts, i + 2), echo: u32(opts, i + 6) };
        break;
      default:
        break;
    }
    i += len;
  }
  return out;
}

/** Encodes options, NOP-aligning 32-bit fields as is conventional; result is a multiple of 4. */
export function encodeTcpOptions(o: TcpOptions): Uint8Array {
  const ts = o.timestamp;
  const sackOk = o.sackPermitted === true;
  let len = 0;
  if (o.mss !== undefined) len += 4;
  if (o.windowScale !== undefined) len += 4;
  if (sackOk || ts !== undefined) len += ts !== undefined ? 12 : 4;
  const room = TCP_MAX_OPTIONS_SIZE - len - 4;
  const blocks = o.sackBlocks === undefined || room < 8 ? [] : o.sackBlocks.slice(0, Math.floor(room / 8));
  if (blocks.length > 0) len += 4 + 8 * blocks.length;
  const b = new Uint8Array(len);
  let i = 0;
  if (o.mss !== undefined) {
    b[i++] = TCP_OPT_MSS;
    b[i++] = 4;
    b[i++] = (o.mss >> 8) & 0xff;
    b[i++] = o.mss & 0xff;
  }
  if (o.windowScale !== undefined) {
    b[i++] = TCP_OPT_NOP;
    b[i++] = TCP_OPT_WS;
    b[i++] = 3;
    b[i++] = o.windowScale & 0xff;
  }
  if (ts !== undefined) {
    if (sackOk) {
      b[i++] = TCP_OPT_SACK_PERMITTED;
      b[i++] = 2;
    } else {
      b[i++] = TCP_OPT_NOP;
      b[i++] = TCP_OPT_NOP;
    }
    b[i++] = TCP_OPT_TIMESTAMP;
    b[i++] = 10;
    put32(b, i, ts.value);
    put32(b, i + 4, ts.echo);
    i += 8;
  } else if (sackOk) {
    b[i++] = TCP_OPT_NOP;
    b[i++] = TCP_OPT_NOP;
    b[i++] = TCP_OPT_SACK_PERMITTED;
    b[i++] = 2;
  }
  if (blocks.length > 0) {
    b[i++] = TCP_OPT_NOP;
    b[i++] = TCP_OPT_NOP;
    b[i++] = TCP_OPT_SACK;
    b[i++] = 2 + 8 * blocks.length;
    for (const blk of blocks) {
      put32(b, i, blk.start);
      put32(b, i + 4, blk.end);
      i += 8;
    }
  }
  return b;
}

export interface TcpFields {
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgentPointer?: number;
  /** Encoded options (multiple of 4 bytes, at most 40). */
  options?: Uint8Array;
}

/**
 * Builds a segment with its checksum over the pseudo-header. With `headroom`, the segment is a
 * view that many bytes into a fresh buffer, so the network layer can put its header in front
 * without copying (SendOptions.headroom). With `partialChecksum` the checksum field holds only
 * the folded pseudo-header sum, for a device that finishes it (checksum offload, GSO).
 */
export function buildTcp(f: TcpFields, payload: Uint8Array, src: IPAddress, dst: IPAddress, headroom = 0, partialChecksum = false): Uint8Array {
  const opts = f.options ?? new Uint8Array(0);
  const hlen = TCP_MIN_HEADER_SIZE + opts.length;
  const out = new Uint8Array(headroom + hlen + payload.length).subarray(headroom);
  out[0] = f.sourcePort >> 8;
  out[1] = f.sourcePort & 0xff;
  out[2] = f.destinationPort >> 8;
  out[3] = f.destinationPort & 0xff;
  put32(out, 4, f.seq);
  put32(out, 8, f.ack);
  out[12] = (hlen / 4) << 4;
  out[13] = f.flags;
  out[14] = (f.window >> 8) & 0xff;
  out[15] = f.window & 0xff;
  out[18] = ((f.urgentPointer ?? 0) >> 8) & 0xff;
  out[19] = (f.urgentPointer ?? 0) & 0xff;
  out.set(opts, TCP_MIN_HEADER_SIZE);
  out.set(payload, hlen);
  const pseudo = pseudoHeaderSum(src, dst, IP_PROTOCOL_TCP, out.length);
  const c = partialChecksum ? checksumFold(pseudo) : checksumFinish(checksumAdd(pseudo, out));
  out[16] = c >> 8;
  out[17] = c & 0xff;
  return out;
}

/** Formats flags like tcpdump ("S.", "F.", "R", "P.") for test traces and logs. */
export function tcpFlagsString(flags: number): string {
  let s = "";
  if (flags & TCP_FLAG_SYN) s += "S";
  if (flags & TCP_FLAG_FIN) s += "F";
  if (flags & TCP_FLAG_RST) s += "R";
  if (flags & TCP_FLAG_PSH) s += "P";
  if (flags & TCP_FLAG_URG) s += "U";
  if (flags & TCP_FLAG_ACK) s += ".";
  return s === "" ? "none" : s;
}
