/**
 * Option negotiation on the handshake and per-segment timestamp handling:
 * MSS (RFC 9293 §3.7.1; payload excludes options, RFC 6691), window scaling (RFC 7323 §2),
 * timestamps with RTTM and PAWS (RFC 7323 §3-§5), and SACK-permitted (RFC 2018 §2).
 *
 * A feature is on only if both SYNs carried it. Window fields in SYN segments are never
 * scaled (RFC 7323 §2.2).
 */
import { TCP_MAX_WINDOW_SHIFT, type TcpOptions } from "../../header/tcp.js";
import type { TcpEndpoint } from "./endpoint.js";
import { TCP_MIN_MSS } from "./config.js";
import type { Segment } from "./segment.js";

/** Bytes the timestamp option takes in every segment (10, NOP-padded to 12). */
export const TIMESTAMP_OPTION_SPACE = 12;

/** The smallest shift that lets a 16-bit field express `bufferSize` (RFC 7323 §2.3). */
export function windowShiftFor(bufferSize: number): number {
  let s = 0;
  while (s < TCP_MAX_WINDOW_SHIFT && Math.floor(bufferSize / 2 ** s) > 0xffff) s++;
  return s;
}

/** The TSval clock (RFC 7323 §5.4): milliseconds plus a per-connection random offset. */
export function tsNow(ep: TcpEndpoint): number {
  return (Math.floor(ep.proto.stack.clock.nowMs()) + ep.tsOffset) >>> 0;
}

/** Timestamp comparison on the 2^32 circle (RFC 7323 §5.2). */
export function tsLT(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/**
 * Options for our SYN (active open) or SYN-ACK (passive: only what the peer offered).
 * Precondition: for a SYN-ACK, `applyPeerSyn` has run.
 */
export function synOptions(ep: TcpEndpoint, synAck: boolean): TcpOptions {
  const cfg = ep.proto.stack.config.tcp;
  const o: TcpOptions = { mss: ep.rcvMss };
  if (cfg.windowScaling && (!synAck || ep.wsEnabled)) o.windowScale = windowShiftFor(ep.rcvBuffer.capacity);
  if (cfg.sack && (!synAck || ep.sackPermitted)) o.sackPermitted = true;
  if (cfg.timestamps && (!synAck || ep.tsEnabled)) o.timestamp = { value: tsNow(ep), echo: synAck ? ep.tsRecent : 0 };
  return o;
}

/**
 * Records what the peer's SYN (or SYN-ACK) offered, given what we offered (`weOffered`
 * is the config for a passive open, where we answer in kind).
 */
export function applyPeerSyn(ep: TcpEndpoint, seg: Segment): void {
  const cfg = ep.proto.stack.config.tcp;
  const o = seg.options;
  const peerMss = o.mss ?? cfg.defaultMss;
  ep.wsEnabled = cfg.windowScaling && o.windowScale !== undefined;
  ep.sndWndShift = ep.wsEnabled ? (o.windowScale ?? 0) : 0;
  ep.rcvWndShift = ep.wsEnabled ? windowShiftFor(ep.rcvBuffer.capacity) : 0;
  ep.tsEnabled = cfg.timestamps && o.timestamp !== undefined;
  if (ep.tsEnabled && o.timestamp !== undefined) {
    ep.tsRecent = o.timestamp.value;
    ep.tsRecentSet = true;
  }
  ep.sackPermitted = cfg.sack && o.sackPermitted === true;
  const mss = Math.max(TCP_MIN_MSS, Math.min(peerMss, ep.rcvMss));
  ep.sndMss = ep.tsEnabled ? mss - TIMESTAMP_OPTION_SPACE : mss;
}

/** The timestamp option for a non-SYN segment, when negotiated. */
export function segmentTimestamp(ep: TcpEndpoint): TcpOptions["timestamp"] {
  return ep.tsEnabled ? { value: tsNow(ep), echo: ep.tsRecent } : undefined;
}
