/**
 * Segment output: building and emitting segments, the send loop with MSS segmentation,
 * Nagle (RFC 9293 §3.7.4, RFC 896) and sender-side SWS avoidance (RFC 9293 §3.8.6.2.1),
 * retransmission of the first unacknowledged segment, delayed ACKs (RFC 9293 §3.8.6.3),
 * and the zero-window persist probe (RFC 9293 §3.8.6.1).
 *
 * Preconditions: all functions run on the stack's single thread with `ep` in a state that
 * has a route (SYN-SENT or later).
 */
import { buildTcp, encodeTcpOptions, TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_PSH, TCP_FLAG_RST, TCP_FLAG_SYN, type TcpOptions } from "../../header/tcp.js";
import { IP_PROTOCOL_TCP } from "../../header/ipv4.js";
import { NETWORK_HEADROOM } from "../../network/ipv4/ipv4.js";
import { seqAdd, seqDiff, seqGT, seqLT, type Seq } from "../../seqnum/seqnum.js";
import type { TcpEndpoint } from "./endpoint.js";
import { segmentTimestamp, synOptions } from "./options.js";
import { maybeArmTlp, rackEnabled, sackBlocksToSend, sackRecoverySend } from "./sack-recovery.js";
import { canTransmit, TcpState } from "./state.js";

const EMPTY = new Uint8Array(0);
/** TCP and IP headers without options: the MSS we advertise is the MTU less this. */
export function tcpOverhead(version: 4 | 6): number {
  return version === 4 ? 40 : 60;
}

/** The receive window to advertise now, with receiver-side SWS avoidance (RFC 9293 §3.8.6.2.2). */
export function receiveWindow(ep: TcpEndpoint): number {
  const free = Math.min(ep.rcvBuffer.free, 0xffff * 2 ** ep.rcvWndShift);
  const current = Math.max(0, seqDiff(ep.rcvAdv, ep.rcvNxt));
  const threshold = Math.min(ep.rcvBuffer.capacity / 2, ep.rcvMss);
  if (free - current >= threshold || free === ep.rcvBuffer.capacity) return free;
  return current;
}

/**
 * Builds and sends one segment. A segment with ACK clears any pending delayed ACK. With
 * `gsoMss`, the segment is a GSO burst the link cuts into segments of that many bytes.
 */
export function emit(ep: TcpEndpoint, seqNo: Seq, flags: number, payload: Uint8Array = EMPTY, options?: TcpOptions, gsoMss?: number): void {
  const route = ep.route;
  if (route === undefined) return;
  const withAck = (flags & TCP_FLAG_ACK) !== 0;
  const syn = (flags & TCP_FLAG_SYN) !== 0;
  // Windows in SYNs are never scaled (RFC 7323 §2.2). Rounding up keeps the right edge from
  // moving left; it can over-offer by under 2^shift bytes, which the buffer absorbs.
  const shift = syn ? 0 : ep.rcvWndShift;
  const bytes = flags & TCP_FLAG_RST ? 0 : receiveWindow(ep);
  const window = Math.min(0xffff, Math.ceil(bytes / 2 ** shift));
  if (withAck || syn) {
    const edge = seqAdd(ep.rcvNxt, window * 2 ** shift);
    if (seqGT(edge, ep.rcvAdv)) ep.rcvAdv = edge;
  }
  let opts = options;
  if (!syn && (flags & TCP_FLAG_RST) === 0) {
    const ts = segmentTimestamp(ep);
    if (ts !== undefined) opts = { ...opts, timestamp: ts };
    if (withAck) {
      const sacks = sackBlocksToSend(ep);
      if (sacks !== undefined) opts = { ...opts, sackBlocks: sacks };
    }
  }
  const segment = buildTcp(
    {
      sourcePort: ep.localPort,
      destinationPort: ep.remotePort,
      seq: seqNo,
      ack: withAck ? ep.rcvNxt : 0,
      flags,
      window,
      ...(opts !== undefined ? { options: encodeTcpOptions(opts) } : {}),
    },
    payload,
    route.localAddress,
    route.remoteAddress,
    NETWORK_HEADROOM,
    // Partial checksum: for a GSO burst the kernel finishes it; through lo nobody checks it.
    gsoMss !== undefined || (route.local && ep.proto.stack.localDelivery !== undefined),
  );
  const stack = ep.proto.stack;
  stack.stats.tcp.sent += gsoMss === undefined ? 1 : Math.ceil(payload.length / gsoMss);
  if (flags & TCP_FLAG_RST) stack.stats.tcp.resetsSent++;
  if (withAck) {
    ep.lastAckSent = ep.rcvNxt;
    ep.unackedSegments = 0;
    ep.ackNow = false;
    ep.delackTimer.disarm();
  }
  stack.sendIp(route, IP_PROTOCOL_TCP, segment, gsoMss === undefined ? { ...ep.ipOptions, headroom: true } : { ...ep.ipOptions, headroom: true, gsoMss });
}

export function sendAck(ep: TcpEndpoint): void {
  emit(ep, ep.sndNxt, TCP_FLAG_ACK);
}

/** Sends our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) with the MSS option. */
export function sendSyn(ep: TcpEndpoint): void {
  const synAck = ep.state === TcpState.SynReceived;
  emit(ep, ep.iss, synAck ? TCP_FLAG_SYN | TCP_FLAG_ACK : TCP_FLAG_SYN, EMPTY, synOptions(ep, synAck));
  if (!ep.rtoTimer.armed) ep.rtoTimer.arm(ep.rtt.rtoMs);
}

/**
 * Requests an ACK for received data: immediately, or after every second segment / the
 * delayed-ACK timeout (RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2).
 */
export function scheduleAck(ep: TcpEndpoint, immediate: boolean): void {
  const delay = ep.proto.stack.config.tcp.delayedAckMs;
  if (immediate || delay <= 0 || ++ep.unackedSegments >= 2) {
    ep.ackNow = true;
    return;
  }
  if (!ep.delackTimer.armed) ep.delackTimer.arm(delay);
}

/** Sequence number just past the queued data (where our FIN goes). */
export function dataEnd(ep: TcpEndpoint): Seq {
  return seqAdd(ep.sndBufSeq, ep.sendBuffer.length);
}

/** Sends what the send and congestion windows allow; arms the RTO or persist timer. */
export function output(ep: TcpEndpoint): void {
  if (!canTransmit(ep.state)) return;
  if (ep.inRecovery && ep.sackPermitted) {
    sackRecoverySend(ep);
    return;
  }
  outputNormal(ep);
  maybeArmTlp(ep);
}

function outputNormal(ep: TcpEndpoint): void {
  const tcpStack = ep.proto.stack;
  const now = tcpStack.clock.nowMs();
  const end = dataEnd(ep);
  const route = ep.route;
  const gsoMax = route === undefined || route.local ? 0 : route.nic.gsoMaxBytes(route.nextHop);
  for (;;) {
    // Resending after an RTO: skip what the receiver has SACKed (RFC 6675 §5.1).
    if (seqLT(ep.sndNxt, ep.sndMax) && !ep.scoreboard.isEmpty) {
      const hole = ep.scoreboard.nextHole(ep.sndNxt, ep.sndMax);
      ep.sndNxt = hole === undefined ? ep.sndMax : hole.start;
    }
    const flight = seqDiff(ep.sndNxt, ep.sndUna);
    const wnd = Math.min(ep.sndWnd, ep.cc.cwnd + ep.inflation);
    const usable = wnd - flight;
    const unsent = seqDiff(end, ep.sndNxt);
    if (unsent > 0) {
      if (usable <= 0) break;
      const len = Math.min(unsent, ep.sndMss, usable);
      const full = len === ep.sndMss;
      const allQueued = len === unsent;
      // Nagle (Minshall's variant, as Linux): hold a runt only while another runt is unacked.
      const pushing = ep.finQueued || ep.noDelay || flight === 0 || !seqGT(ep.lastSmallEnd, ep.sndUna);
      // Plus sender SWS avoidance: send a full segment, or everything queued when Nagle
      // allows, or at least half the largest window the peer has offered.
      if (!full && !(allQueued && pushing) && len < ep.maxSndWnd / 2) break;
      if (full && gsoMax > 0 && !seqLT(ep.sndNxt, ep.sndMax) && sendBurst(ep, gsoMax, usable, unsent, now)) continue;
      const offset = seqDiff(ep.sndNxt, ep.sndBufSeq);
      const payload = ep.sendBuffer.slice(offset, len);
      const segEnd = seqAdd(ep.sndNxt, len);
      const withFin = ep.finQueued && segEnd === end;
      let flags = TCP_FLAG_ACK;
      if (allQueued) flags |= TCP_FLAG_PSH;
      if (withFin) flags |= TCP_FLAG_FIN;
      transmitted(ep, ep.sndNxt, seqAdd(segEnd, withFin ? 1 : 0), now);
      emit(ep, ep.sndNxt, flags, payload);
      if (!full) ep.lastSmallEnd = segEnd;
      ep.sndNxt = seqAdd(segEnd, withFin ? 1 : 0);
      if (seqGT(ep.sndNxt, ep.sndMax)) ep.sndMax = ep.sndNxt;
      continue;
    }
    if (ep.finQueued && ep.sndNxt === end) {
      // A bare FIN needs no window space.
      transmitted(ep, end, seqAdd(end, 1), now);
      emit(ep, end, TCP_FLAG_FIN | TCP_FLAG_ACK);
      ep.sndNxt = seqAdd(end, 1);
      if (seqGT(ep.sndNxt, ep.sndMax)) ep.sndMax = ep.sndNxt;
    }
    break;
  }
  // Data waits with nothing in flight: either the window is zero (probe it) or too small
  // for SWS avoidance to send (RFC 9293 §3.8.6.2.1's override timeout). The persist timer
  // covers both, since no ACK will come to restart the sender otherwise.
  const unsentNow = seqDiff(end, ep.sndNxt);
  if (unsentNow > 0 && ep.sndNxt === ep.sndUna && !ep.rtoTimer.armed) {
    if (!ep.persistTimer.armed) ep.persistTimer.arm(persistInterval(ep));
  } else {
    ep.persistTimer.disarm();
    ep.persistBackoff = 0;
  }
}

/**
 * GSO: new, full-sized segments that the windows allow go out as one burst the link cuts up
 * (at most `gsoMax` bytes), logged segment by segment exactly as if sent one by one (RACK's
 * transmission times, the RTT sample, the RTO), so loss recovery and retransmission never
 * see the difference; they resend MSS-sized segments. The FIN never rides in a burst.
 * Returns false (nothing sent) when fewer than two segments fit.
 */
function sendBurst(ep: TcpEndpoint, gsoMax: number, usable: number, unsent: number, now: number): boolean {
  const mss = ep.sndMss;
  let count = Math.floor(Math.min(unsent, usable, gsoMax) / mss);
  if (ep.finQueued && count * mss >= unsent) count = Math.floor((unsent - 1) / mss);
  if (count < 2) return false;
  const len = count * mss;
  const start = ep.sndNxt;
  for (let i = 0; i < count; i++) transmitted(ep, seqAdd(start, i * mss), seqAdd(start, (i + 1) * mss), now);
  const payload = ep.sendBuffer.slice(seqDiff(start, ep.sndBufSeq), len);
  emit(ep, start, TCP_FLAG_ACK | (len === unsent ? TCP_FLAG_PSH : 0), payload, undefined, mss);
  ep.sndNxt = seqAdd(start, len);
  if (seqGT(ep.sndNxt, ep.sndMax)) ep.sndMax = ep.sndNxt;
  return true;
}

/** Bookkeeping for a segment covering [start, end): RTT timing (Karn) and the RTO timer. */
export function transmitted(ep: TcpEndpoint, start: Seq, end: Seq, now: number): void {
  if (rackEnabled(ep)) ep.rack.onTransmit(start, end, now, seqLT(start, ep.sndMax));
  if (seqLT(start, ep.sndMax)) {
    ep.proto.stack.stats.tcp.retransmits++;
    // Karn: a retransmission invalidates a measurement in progress over these bytes.
    if (ep.rttSample !== undefined && seqLT(start, ep.rttSample.end)) ep.rttSample = undefined;
  } else if (ep.rttSample === undefined) {
    ep.rttSample = { end, at: now };
  }
  if (!ep.rtoTimer.armed) ep.rtoTimer.arm(ep.rtt.rtoMs);
}

/**
 * Sends (or resends) up to `maxLen` bytes of queued data starting at `start`, plus our FIN
 * if the range reaches the end of the data and the FIN was already sent once or is due.
 * Returns the sequence space covered (0 if there was nothing to send).
 */
export function sendRange(ep: TcpEndpoint, start: Seq, maxLen: number): number {
  const end = dataEnd(ep);
  const avail = Math.max(0, seqDiff(end, start));
  const len = Math.min(avail, maxLen);
  const segEnd = seqAdd(start, len);
  const withFin = ep.finQueued && segEnd === end;
  if (len === 0 && !withFin) return 0;
  const now = ep.proto.stack.clock.nowMs();
  let flags = TCP_FLAG_ACK;
  if (len > 0 && len === avail) flags |= TCP_FLAG_PSH;
  if (withFin) flags |= TCP_FLAG_FIN;
  const covered = len + (withFin ? 1 : 0);
  transmitted(ep, start, seqAdd(start, covered), now);
  emit(ep, start, flags, len > 0 ? ep.sendBuffer.slice(seqDiff(start, ep.sndBufSeq), len) : EMPTY);
  return covered;
}

/** Retransmits the first unacknowledged segment (fast retransmit, NewReno partial ACK). */
export function retransmitFirst(ep: TcpEndpoint): void {
  if (seqGT(ep.sndMax, ep.sndUna)) sendRange(ep, ep.sndUna, Math.min(ep.sndMss, seqDiff(ep.sndMax, ep.sndUna)));
}

/** A zero-window probe: an old sequence number elicits an ACK carrying the current window. */
export function sendWindowProbe(ep: TcpEndpoint): void {
  emit(ep, seqAdd(ep.sndUna, -1), TCP_FLAG_ACK);
}

export function persistInterval(ep: TcpEndpoint): number {
  const cfg = ep.proto.stack.config.tcp;
  return Math.min(ep.rtt.rtoMs * 2 ** ep.persistBackoff, cfg.maxPersistMs);
}
