/**
 * Segment arrival, RFC 9293 §3.10.7 ("SEGMENT ARRIVES"), step by step, with the RFC 5961
 * hardening of RST (§3), SYN (§4) and ACK (§5) processing, cumulative ACK handling with
 * RFC 6298 timer management, and NewReno fast retransmit / fast recovery (RFC 5681 §3.2,
 * RFC 6582 §3.2).
 *
 * Preconditions: `seg` passed header, checksum and option validation in the protocol.
 */
import { ErrConnectionRefused, ErrConnectionReset } from "../../errors.js";
import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_SYN } from "../../header/tcp.js";
import { segmentAcceptable, seqAdd, seqDiff, seqGE, seqGT, seqLE, seqLT, seqMax, type Seq } from "../../seqnum/seqnum.js";
import { EVENT_IN, EVENT_OUT, EVENT_RDHUP } from "../../waiter.js";
import type { TcpEndpoint } from "./endpoint.js";
import { dataEnd, emit, output, retransmitFirst, scheduleAck, sendAck, sendSyn } from "./output.js";
import { applyPeerSyn, tsLT, tsNow } from "./options.js";
import { applyRackVerdict, enterSackRecovery, rackEnabled } from "./sack-recovery.js";
import { hasFlag, type Segment } from "./segment.js";
import { acceptsData, TcpState } from "./state.js";

/** Entry point: one validated segment for `ep`. */
export function segmentArrives(ep: TcpEndpoint, seg: Segment): void {
  switch (ep.state) {
    case TcpState.Closed:
      return;
    case TcpState.Listen:
      listenInput(ep, seg);
      return;
    case TcpState.SynSent:
      synSentInput(ep, seg);
      break;
    default:
      ep.lastReceiveMs = ep.proto.stack.clock.nowMs();
      ep.keepaliveProbesSent = 0;
      synchronizedInput(ep, seg);
      break;
  }
  // The handlers above may have closed the endpoint (TS cannot see that through the calls).
  if ((ep.state as TcpState) !== TcpState.Closed) {
    output(ep);
    if (ep.ackNow) sendAck(ep);
  }
}

function listenInput(ep: TcpEndpoint, seg: Segment): void {
  // RFC 9293 §3.10.7.2: first check for a RST, then an ACK, then a SYN.
  if (hasFlag(seg, TCP_FLAG_RST)) return;
  if (hasFlag(seg, TCP_FLAG_ACK)) {
    if (!ep.proto.acceptCookie(ep, seg)) ep.proto.replyReset(ep, seg);
    return;
  }
  if (!hasFlag(seg, TCP_FLAG_SYN)) return;
  ep.proto.acceptSyn(ep, seg);
}

function synSentInput(ep: TcpEndpoint, seg: Segment): void {
  // RFC 9293 §3.10.7.3.
  const ack = hasFlag(seg, TCP_FLAG_ACK);
  if (ack && (seqLE(seg.ack, ep.iss) || seqGT(seg.ack, ep.sndNxt))) {
    if (!hasFlag(seg, TCP_FLAG_RST)) emit(ep, seg.ack, TCP_FLAG_RST);
    return;
  }
  if (hasFlag(seg, TCP_FLAG_RST)) {
    // RFC 5961 §3: only a RST acknowledging our SYN counts.
    if (ack) ep.fail(ErrConnectionRefused);
    return;
  }
  if (!hasFlag(seg, TCP_FLAG_SYN)) return;
  ep.irs = seg.seq;
  ep.rcvNxt = seqAdd(seg.seq, 1);
  ep.rcvAdv = ep.rcvNxt;
  applyPeerSyn(ep, seg);
  if (ack) {
    ep.sndUna = seg.ack;
    ep.sndBufSeq = seg.ack;
    takeRttSample(ep, seg.ack, seg);
    ep.rtoTimer.disarm();
    ep.retries = 0;
    updateWindow(ep, seg, true);
    ep.state = TcpState.Established;
    ep.onEstablished();
    ep.ackNow = true;
    return;
  }
  // Simultaneous open: SYN-RECEIVED, answer with SYN-ACK from the same ISS.
  ep.state = TcpState.SynReceived;
  ep.sndWnd = seg.window;
  ep.sndWl1 = seg.seq;
  ep.rtoTimer.disarm();
  sendSyn(ep);
}

function synchronizedInput(ep: TcpEndpoint, input: Segment): void {
  let seg = input;
  const stats = ep.proto.stack.stats.tcp;
  // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost; send it again.
  if (ep.state === TcpState.SynReceived && hasFlag(seg, TCP_FLAG_SYN) && !hasFlag(seg, TCP_FLAG_ACK) && seg.seq === ep.irs) {
    sendSyn(ep);
    return;
  }

  // PAWS (RFC 7323 §5.3 R1): a timestamp older than TS.Recent marks an old duplicate.
  const ts = ep.tsEnabled ? seg.options.timestamp : undefined;
  if (ts !== undefined && ep.tsRecentSet && !hasFlag(seg, TCP_FLAG_RST) && tsLT(ts.value, ep.tsRecent)) {
    stats.pawsRejected++;
    if (ep.proto.allowChallengeAck()) sendAck(ep);
    return;
  }

  // RFC 6191-style TIME-WAIT reuse: a new SYN beyond the old connection's sequence space
  // (or with a newer timestamp) ends TIME-WAIT and goes to the listener, if any.
  if (ep.state === TcpState.TimeWait && hasFlag(seg, TCP_FLAG_SYN) && !hasFlag(seg, TCP_FLAG_ACK) && !hasFlag(seg, TCP_FLAG_RST)) {
    const newerTs = ts !== undefined && ep.tsRecentSet && tsLT(ep.tsRecent, ts.value);
    if (seqGT(seg.seq, ep.rcvNxt) || newerTs) {
      ep.finish(undefined);
      ep.proto.redispatch(seg);
      return;
    }
  }

  // First: sequence number acceptability (§3.10.7.4).
  const wnd = Math.max(0, seqDiff(ep.rcvAdv, ep.rcvNxt));
  if (!segmentAcceptable(seg.seq, seg.len, ep.rcvNxt, wnd)) {
    // With a zero window, a segment at RCV.NXT still has its ACK (and window) processed;
    // only its text and FIN are dropped (§3.10.7.4, "special allowance").
    const zeroWindowAck = wnd === 0 && seg.seq === ep.rcvNxt && hasFlag(seg, TCP_FLAG_ACK) && !hasFlag(seg, TCP_FLAG_RST) && !hasFlag(seg, TCP_FLAG_SYN);
    stats.outOfWindow++;
    if (!zeroWindowAck) {
      if (!hasFlag(seg, TCP_FLAG_RST) && ep.proto.allowChallengeAck()) sendAck(ep);
      if (ep.state === TcpState.TimeWait && hasFlag(seg, TCP_FLAG_FIN)) ep.closeTimer.arm(ep.proto.stack.config.tcp.timeWaitMs);
      return;
    }
    seg = { ...seg, payload: seg.payload.subarray(0, 0), flags: seg.flags & ~TCP_FLAG_FIN, len: 0 };
    ep.ackNow = true;
  }

  // RFC 7323 §4.3: remember the timestamp of a segment that covers Last.ACK.sent.
  if (ts !== undefined && seqLE(seg.seq, ep.lastAckSent) && !tsLT(ts.value, ep.tsRecent)) {
    ep.tsRecent = ts.value;
    ep.tsRecentSet = true;
  }

  // Second: RST (RFC 5961 §3.2: exact match resets, otherwise a challenge ACK).
  if (hasFlag(seg, TCP_FLAG_RST)) {
    stats.resetsReceived++;
    if (seg.seq !== ep.rcvNxt) {
      challengeAck(ep);
      return;
    }
    switch (ep.state) {
      case TcpState.SynReceived:
        if (ep.listener !== undefined) ep.finish(undefined);
        else ep.fail(ErrConnectionRefused);
        return;
      case TcpState.Established:
      case TcpState.FinWait1:
      case TcpState.FinWait2:
      case TcpState.CloseWait:
        ep.fail(ErrConnectionReset);
        return;
      default:
        ep.finish(undefined);
        return;
    }
  }

  // Fourth: SYN in a synchronized state (RFC 5961 §4): challenge ACK, drop.
  if (hasFlag(seg, TCP_FLAG_SYN)) {
    challengeAck(ep);
    return;
  }

  // Fifth: the ACK field.
  if (!hasFlag(seg, TCP_FLAG_ACK)) return;
  if (ep.state === TcpState.SynReceived) {
    if (!(seqLT(ep.sndUna, seg.ack) && seqLE(seg.ack, ep.sndNxt))) {
      emit(ep, seg.ack, TCP_FLAG_RST);
      return;
    }
    if (!ep.proto.childEstablished(ep)) return; // accept queue full: ignore, SYN-ACK will be retried
    ep.sndUna = seg.ack;
    ep.sndBufSeq = seg.ack;
    takeRttSample(ep, seg.ack, seg);
    ep.rtoTimer.disarm();
    ep.retries = 0;
    updateWindow(ep, seg, true);
    ep.state = TcpState.Established;
    ep.onEstablished();
  } else if (!processAck(ep, seg)) {
    return;
  }
  const finAcked = ep.finQueued && seqGT(ep.sndUna, dataEnd(ep));
  switch (ep.state) {
    case TcpState.FinWait1:
      if (finAcked) {
        ep.state = TcpState.FinWait2;
        if (ep.orphaned) ep.closeTimer.arm(ep.proto.stack.config.tcp.finWait2TimeoutMs);
      }
      break;
    case TcpState.Closing:
      if (finAcked) ep.enterTimeWait();
      break;
    case TcpState.LastAck:
      if (finAcked) {
        ep.finish(undefined);
        return;
      }
      break;
    default:
      break;
  }

  // Seventh: segment text.
  let fin = hasFlag(seg, TCP_FLAG_FIN);
  if (seg.payload.length > 0) {
    if (!acceptsData(ep.state)) {
      // Data after the peer's FIN (or in TIME-WAIT) is ignored.
    } else if (ep.orphaned && ep.finQueued) {
      // Data for a closed socket: nobody will read it. Reset (RFC 9293 §3.10.4, as Linux does).
      emit(ep, ep.sndNxt, TCP_FLAG_RST | TCP_FLAG_ACK);
      ep.finish(undefined);
      return;
    } else {
      fin = receiveText(ep, seg) && fin;
    }
  }

  // Eighth: FIN.
  if (fin) {
    const finSeq = seqAdd(seg.seq, seg.payload.length);
    if (finSeq === ep.rcvNxt) processFin(ep);
    else if (seqGT(finSeq, ep.rcvNxt) && !ep.finReceived) ep.pendingFinSeq = finSeq;
  } else if (ep.pendingFinSeq !== undefined && ep.pendingFinSeq === ep.rcvNxt) {
    processFin(ep);
  }
}

/**
 * Stores in-window text; returns false if the segment was cut at the window's right edge
 * (so a FIN on it must be ignored).
 */
function receiveText(ep: TcpEndpoint, seg: Segment): boolean {
  const stats = ep.proto.stack.stats.tcp;
  let start: Seq = seg.seq;
  let data = seg.payload;
  const skip = seqDiff(ep.rcvNxt, start);
  if (skip > 0) {
    data = data.subarray(skip);
    start = ep.rcvNxt;
  }
  const room = seqDiff(ep.rcvAdv, start);
  let whole = true;
  if (data.length > room) {
    stats.dataBeyondWindow++;
    data = data.subarray(0, Math.max(0, room));
    whole = false;
  }
  if (data.length === 0) {
    scheduleAck(ep, true);
    return whole;
  }
  const hadHole = ep.rcvBuffer.hasOutOfOrder;
  const advanced = ep.rcvBuffer.insert(start, data, ep.rcvNxt);
  if (advanced === 0) {
    // Out of order: ACK at once so the sender sees duplicate ACKs (RFC 5681 §4.2).
    ep.lastOooStart = start;
    stats.outOfOrder++;
    scheduleAck(ep, true);
    return whole;
  }
  ep.rcvNxt = seqAdd(ep.rcvNxt, advanced);
  // Filling a hole also deserves an immediate ACK (RFC 5681 §4.2).
  scheduleAck(ep, hadHole);
  ep.waiter.notify(EVENT_IN);
  return whole;
}

function processFin(ep: TcpEndpoint): void {
  ep.pendingFinSeq = undefined;
  ep.finReceived = true;
  ep.rcvNxt = seqAdd(ep.rcvNxt, 1);
  ep.ackNow = true;
  switch (ep.state) {
    case TcpState.SynReceived:
    case TcpState.Established:
      ep.state = TcpState.CloseWait;
      break;
    case TcpState.FinWait1:
      ep.state = TcpState.Closing;
      break;
    case TcpState.FinWait2:
      sendAck(ep);
      ep.enterTimeWait();
      break;
    case TcpState.TimeWait:
      ep.closeTimer.arm(ep.proto.stack.config.tcp.timeWaitMs);
      break;
    default:
      break;
  }
  ep.waiter.notify(EVENT_IN | EVENT_RDHUP);
}

function challengeAck(ep: TcpEndpoint): void {
  const stats = ep.proto.stack.stats.tcp;
  if (!ep.proto.allowChallengeAck()) {
    stats.challengeAcksRateLimited++;
    return;
  }
  stats.challengeAcks++;
  sendAck(ep);
}

/** The send window update rule (RFC 9293 §3.10.7.4, fifth, ESTABLISHED). */
function updateWindow(ep: TcpEndpoint, seg: Segment, force: boolean): void {
  if (force || seqLT(ep.sndWl1, seg.seq) || (ep.sndWl1 === seg.seq && seqLE(ep.sndWl2, seg.ack))) {
    // Windows in SYN segments are never scaled (RFC 7323 §2.2).
    const w = hasFlag(seg, TCP_FLAG_SYN) ? seg.window : seg.window * 2 ** ep.sndWndShift;
    ep.sndWnd = w;
    ep.sndWl1 = seg.seq;
    ep.sndWl2 = seg.ack;
    if (w > ep.maxSndWnd) ep.maxSndWnd = w;
  }
}

function takeRttSample(ep: TcpEndpoint, ack: Seq, seg?: Segment): void {
  // RTTM (RFC 7323 §4.1): with timestamps every ACK of new data carries a measurement.
  const echo = ep.tsEnabled ? seg?.options.timestamp?.echo : undefined;
  if (echo !== undefined && echo !== 0) {
    const r = (tsNow(ep) - echo) | 0;
    if (r >= 0) {
      ep.rtt.sample(r);
      ep.rack.observeRtt(r);
    }
    ep.rttSample = undefined;
    return;
  }
  const s = ep.rttSample;
  if (s !== undefined && seqGE(ack, s.end)) {
    ep.rtt.sample(ep.proto.stack.clock.nowMs() - s.at);
    ep.rack.observeRtt(ep.proto.stack.clock.nowMs() - s.at);
    ep.rttSample = undefined;
  }
}

/**
 * The ACK of a synchronized connection. Returns false if the segment must be dropped.
 */
function processAck(ep: TcpEndpoint, seg: Segment): boolean {
  const ack = seg.ack;
  if (seqGT(ack, ep.sndMax)) {
    // Acknowledges something not yet sent (RFC 9293; RFC 5961 §5.2): ACK and drop.
    if (ep.proto.allowChallengeAck()) sendAck(ep);
    return false;
  }
  // RFC 5961 §5.2: an ACK older than SND.UNA - MAX.SND.WND is dropped with a challenge ACK.
  if (seqLT(ack, seqAdd(ep.sndUna, -Math.max(ep.maxSndWnd, 1)))) {
    challengeAck(ep);
    return false;
  }
  const windowBefore = ep.sndWnd;
  if (seqGE(ack, ep.sndUna)) updateWindow(ep, seg, false);
  if (ep.sackPermitted && seg.options.sackBlocks !== undefined) {
    const before = ep.scoreboard.invalidBlocks;
    ep.scoreboard.update(seg.options.sackBlocks, seqMax(ack, ep.sndUna), ep.sndMax);
    ep.proto.stack.stats.tcp.invalidSackBlocks += ep.scoreboard.invalidBlocks - before;
  }

  const now = ep.proto.stack.clock.nowMs();
  if (seqGT(ack, ep.sndUna)) {
    newAck(ep, ack, seg);
  } else if (
    ack === ep.sndUna &&
    seg.payload.length === 0 &&
    !hasFlag(seg, TCP_FLAG_FIN) &&
    seg.window * 2 ** ep.sndWndShift === windowBefore &&
    ep.sndMax !== ep.sndUna
  ) {
    duplicateAck(ep);
  }
  // RACK (RFC 8985 §6.2) runs on every ACK of a SACK connection.
  if (rackEnabled(ep)) applyRackVerdict(ep, ep.rack.onAck(ep.sndUna, ep.scoreboard, now, ep.rtt.srtt ?? 0));
  return true;
}

function newAck(ep: TcpEndpoint, ack: Seq, seg: Segment): void {
  const now = ep.proto.stack.clock.nowMs();
  const dataAcked = Math.max(0, Math.min(seqDiff(ack, ep.sndBufSeq), ep.sendBuffer.length));
  ep.sendBuffer.consume(dataAcked);
  ep.sndBufSeq = seqAdd(ep.sndBufSeq, dataAcked);
  ep.sndUna = ack;
  ep.scoreboard.removeBelow(ack);
  if (seqLT(ep.sndNxt, ack)) ep.sndNxt = ack;
  takeRttSample(ep, ack, seg);
  ep.retries = 0;
  ep.tlpOutstanding = false;
  ep.tlpTimer.disarm();

  if (ep.inRecovery) {
    if (ep.recover !== undefined && seqGE(ack, ep.recover)) {
      // Full ACK: leave fast recovery (RFC 6582 §3.2 step 3).
      ep.inRecovery = false;
      ep.inflation = 0;
      ep.dupAcks = 0;
      ep.rackLostBelow = undefined;
      ep.cc.onRecoveryExit(seqDiff(ep.sndMax, ep.sndUna), now);
    } else if (ep.sackPermitted) {
      // RFC 6675 §5 (C): the output step sends what cwnd - pipe allows.
      ep.rtoTimer.arm(ep.rtt.rtoMs);
    } else {
      // Partial ACK: retransmit the next hole, deflate by the amount acknowledged (step 4).
      retransmitFirst(ep);
      ep.inflation = Math.max(0, ep.inflation - dataAcked) + (dataAcked >= ep.sndMss ? ep.sndMss : 0);
      ep.rtoTimer.arm(ep.rtt.rtoMs);
    }
  } else {
    ep.dupAcks = 0;
    if (dataAcked > 0) ep.cc.onAck(dataAcked, now, ep.rtt.srtt ?? 0);
  }

  // RFC 6298 §5.2-5.3: stop the timer when all is acknowledged, else restart it.
  if (ep.sndUna === ep.sndMax) ep.rtoTimer.disarm();
  else if (!ep.inRecovery) ep.rtoTimer.arm(ep.rtt.rtoMs);
  if (dataAcked > 0) ep.waiter.notify(EVENT_OUT);
}

function duplicateAck(ep: TcpEndpoint): void {
  const stack = ep.proto.stack;
  stack.stats.tcp.dupAcks++;
  ep.dupAcks++;
  if (ep.inRecovery) {
    // Each further duplicate means a segment left the network (RFC 5681 §3.2 step 4);
    // with SACK the scoreboard's pipe accounts for it instead.
    if (!ep.sackPermitted) ep.inflation += ep.sndMss;
    return;
  }
  const fresh = ep.recover === undefined || seqGE(ep.sndUna, ep.recover);
  if (ep.sackPermitted) {
    // RFC 6675 §5 step 4: DupThresh duplicates, or SND.UNA deemed lost by the scoreboard.
    const lost = ep.scoreboard.lossBoundary(ep.sndMss);
    if (fresh && (ep.dupAcks >= 3 || (lost !== undefined && seqGT(lost, ep.sndUna)))) enterSackRecovery(ep);
    return;
  }
  // RFC 6582 §3.2 step 2: only if the ACK covers more than `recover` (avoid repeated entry).
  if (ep.dupAcks === 3 && fresh) {
    const flight = seqDiff(ep.sndMax, ep.sndUna);
    ep.cc.onCongestionEvent(flight, stack.clock.nowMs());
    ep.inRecovery = true;
    ep.recover = ep.sndMax;
    ep.inflation = 3 * ep.sndMss;
    stack.stats.tcp.fastRetransmits++;
    retransmitFirst(ep);
    ep.rtoTimer.arm(ep.rtt.rtoMs);
  }
}
