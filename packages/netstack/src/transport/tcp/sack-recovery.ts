/**
 * SACK in both directions.
 *
 * Receiver (RFC 2018 §4): while out-of-order data is held, every ACK carries SACK blocks,
 * the first one containing the most recently received out-of-order segment.
 *
 * Sender (RFC 6675 §5): loss recovery driven by the scoreboard. On entry, RecoveryPoint =
 * SND.MAX (HighData) and the congestion controller halves the window; then, on every ACK,
 * while cwnd - pipe >= SMSS, NextSeg() picks what to send: (1) the lowest lost, not yet
 * retransmitted hole; (2) new data; (3) the lowest unSACKed hole below the highest SACKed
 * byte. Recovery ends when the cumulative ACK reaches RecoveryPoint. (Rule 4, the rescue
 * retransmission, is not implemented.)
 */
import type { SackBlock } from "../../header/tcp.js";
import { seqAdd, seqDiff, seqGE, seqGT, seqLE, seqLT, seqMax, type Seq } from "../../seqnum/seqnum.js";
import type { TcpEndpoint } from "./endpoint.js";
import { dataEnd, output, sendRange } from "./output.js";
import type { RackVerdict } from "./rack.js";

/** The SACK blocks for an outgoing ACK, most recent first; undefined if none apply. */
export function sackBlocksToSend(ep: TcpEndpoint): SackBlock[] | undefined {
  if (!ep.sackPermitted || !ep.rcvBuffer.hasOutOfOrder) return undefined;
  const blocks = ep.rcvBuffer.outOfOrderBlocks();
  const recent = ep.lastOooStart;
  const first = blocks.findIndex((b) => recent !== undefined && seqGE(recent, b.start) && seqLT(recent, b.end));
  const ordered = first >= 0 ? [blocks[first] as { start: Seq; end: Seq }, ...blocks.filter((_, i) => i !== first).reverse()] : blocks.reverse();
  return ordered.slice(0, 4).map((b) => ({ start: b.start, end: b.end }));
}

/** Enters SACK-based loss recovery (RFC 6675 §5 steps 4.1-4.4). */
export function enterSackRecovery(ep: TcpEndpoint): void {
  const stack = ep.proto.stack;
  ep.cc.onCongestionEvent(seqDiff(ep.sndMax, ep.sndUna), stack.clock.nowMs());
  ep.inRecovery = true;
  ep.recover = ep.sndMax;
  ep.highRxt = ep.sndUna;
  ep.inflation = 0;
  stack.stats.tcp.fastRetransmits++;
  // Step 4.4: the segment at HighACK+1 goes first, whatever the loss boundary says.
  const hole = ep.scoreboard.nextHole(ep.sndUna, ep.sndMax);
  if (hole !== undefined) {
    const sent = sendRange(ep, hole.start, Math.min(ep.sndMss, seqDiff(hole.end, hole.start)));
    ep.highRxt = seqAdd(hole.start, sent);
  }
  ep.rtoTimer.arm(ep.rtt.rtoMs);
  sackRecoverySend(ep);
}

/** Sends while the congestion window allows, choosing segments by NextSeg (RFC 6675 §4). */
export function sackRecoverySend(ep: TcpEndpoint): void {
  const mss = ep.sndMss;
  for (let guard = 0; guard < 4096; guard++) {
    const pipe = ep.scoreboard.pipe(ep.sndUna, ep.sndMax, ep.highRxt, mss, ep.rackLostBelow);
    if (ep.cc.cwnd - pipe < mss) return;
    if (!sendNextSeg(ep, mss)) return;
  }
}

function sendNextSeg(ep: TcpEndpoint, mss: number): boolean {
  const sb = ep.scoreboard;
  const from = seqMax(ep.highRxt, ep.sndUna);
  // A SACK-permitted peer that sends no blocks leaves nothing to judge by: fall back to
  // NewReno's rule and resend the segment at SND.UNA after each partial ACK.
  if (sb.isEmpty && seqLE(ep.highRxt, ep.sndUna) && seqLT(ep.sndUna, ep.sndMax)) return retransmit(ep, ep.sndUna, ep.sndMax, mss);
  // Rule 1: a lost hole above HighRxt (lost by the scoreboard's DupThresh rule or by RACK).
  const own = sb.lossBoundary(mss);
  const rack = ep.rackLostBelow;
  const lost = own === undefined ? rack : rack === undefined ? own : seqMax(own, rack);
  if (lost !== undefined && seqLT(from, lost)) {
    const hole = sb.nextHole(from, lost);
    if (hole !== undefined) return retransmit(ep, hole.start, hole.end, mss);
  }
  // Rule 2: new data, if the receive window allows.
  const end = dataEnd(ep);
  const unsent = seqDiff(end, ep.sndMax);
  const room = ep.sndWnd - seqDiff(ep.sndMax, ep.sndUna);
  if (unsent > 0 && room > 0) {
    const sent = sendRange(ep, ep.sndMax, Math.min(mss, unsent, room));
    ep.sndMax = seqAdd(ep.sndMax, sent);
    ep.sndNxt = ep.sndMax;
    return sent > 0;
  }
  // Rule 3: an unSACKed hole below the highest SACKed byte.
  const high = sb.highestSacked();
  if (high !== undefined && seqLT(from, high)) {
    const hole = sb.nextHole(from, high);
    if (hole !== undefined) return retransmit(ep, hole.start, hole.end, mss);
  }
  return false;
}

function retransmit(ep: TcpEndpoint, start: Seq, holeEnd: Seq, mss: number): boolean {
  const sent = sendRange(ep, start, Math.min(mss, seqDiff(holeEnd, start)));
  if (sent === 0) return false;
  const e = seqAdd(start, sent);
  if (seqGT(e, ep.highRxt)) ep.highRxt = e;
  return true;
}

/** True when RACK-TLP runs on this connection (it needs SACK). */
export function rackEnabled(ep: TcpEndpoint): boolean {
  return ep.sackPermitted && ep.proto.stack.config.tcp.rack;
}

/** Acts on RACK's verdict: widen the loss boundary, re-arm the reorder timer, enter recovery. */
export function applyRackVerdict(ep: TcpEndpoint, v: RackVerdict): void {
  if (v.lostBelow !== undefined && seqGT(v.lostBelow, ep.sndUna)) {
    ep.proto.stack.stats.tcp.rackLosses++;
    ep.rackLostBelow = ep.rackLostBelow === undefined ? v.lostBelow : seqMax(ep.rackLostBelow, v.lostBelow);
    // A lost retransmission must be sent again: move HighRxt back to it.
    if (v.lostRetransmission !== undefined && seqLT(v.lostRetransmission, ep.highRxt)) ep.highRxt = seqMax(v.lostRetransmission, ep.sndUna);
    if (!ep.inRecovery && (ep.recover === undefined || seqGE(ep.sndUna, ep.recover))) enterSackRecovery(ep);
  }
  if (v.timeoutMs > 0) ep.reorderTimer.arm(v.timeoutMs);
  else ep.reorderTimer.disarm();
}

/** The reordering timer fired (RFC 8985 §6.3): check the log again and send. */
export function onReorderTimeout(ep: TcpEndpoint): void {
  if (!rackEnabled(ep)) return;
  applyRackVerdict(ep, ep.rack.detectLoss(ep.proto.stack.clock.nowMs(), ep.rtt.srtt ?? 0));
  output(ep);
}

/**
 * Arms the tail loss probe (RFC 8985 §7.2): PTO = 2*SRTT (plus the worst-case delayed-ACK
 * time when one segment is in flight), only when it would fire before the RTO.
 */
export function maybeArmTlp(ep: TcpEndpoint): void {
  const srtt = ep.rtt.srtt;
  if (!rackEnabled(ep) || ep.inRecovery || ep.tlpOutstanding || ep.sndUna === ep.sndMax || srtt === undefined) {
    if (ep.sndUna === ep.sndMax) ep.tlpTimer.disarm();
    return;
  }
  let pto = Math.max(2 * srtt, 10);
  if (seqDiff(ep.sndMax, ep.sndUna) <= ep.sndMss) pto += 200;
  const now = ep.proto.stack.clock.nowMs();
  const rtoDue = ep.rtoTimer.due;
  if (rtoDue !== undefined && now + pto >= rtoDue) return;
  if (ep.tlpTimer.armed) return;
  ep.tlpTimer.arm(pto);
}

/** The probe timer fired (RFC 8985 §7.3): send one new segment, or resend the last one. */
export function onTlpTimeout(ep: TcpEndpoint): void {
  if (!rackEnabled(ep) || ep.inRecovery || ep.sndUna === ep.sndMax) return;
  const end = dataEnd(ep);
  const unsent = seqDiff(end, ep.sndMax);
  const room = ep.sndWnd - seqDiff(ep.sndMax, ep.sndUna);
  let sent = 0;
  if (unsent > 0 && room > 0) {
    sent = sendRange(ep, ep.sndMax, Math.min(ep.sndMss, unsent, room));
    ep.sndMax = seqAdd(ep.sndMax, sent);
    ep.sndNxt = ep.sndMax;
  }
  if (sent === 0) {
    const len = Math.min(ep.sndMss, seqDiff(ep.sndMax, ep.sndUna));
    const dataLen = ep.finQueued && seqGT(ep.sndMax, end) ? Math.max(0, len - 1) : len;
    sendRange(ep, seqAdd(end, -dataLen), dataLen);
  }
  ep.proto.stack.stats.tcp.tlpProbes++;
  ep.tlpOutstanding = true;
  ep.rtoTimer.arm(ep.rtt.rtoMs);
}
