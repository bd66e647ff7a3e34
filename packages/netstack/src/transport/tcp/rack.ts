/**
 * RACK-TLP loss detection (RFC 8985), as an additional detector feeding the RFC 6675
 * recovery in `sack-recovery.ts`.
 *
 * RACK (§6): a transmission log records when each segment was last sent. When an ACK or
 * SACK shows a segment delivered, every unacknowledged, unSACKed segment sent before it is
 * deemed lost once RACK.rtt + RACK.reo_wnd have passed since it was sent; otherwise a
 * reordering timer checks again later. A lost retransmission is detected the same way.
 *
 * TLP (§7): when data is outstanding and nothing else would trigger recovery, a probe timer
 * (PTO, about 2*SRTT) sends one new segment or retransmits the last one, so a tail loss is
 * repaired by SACK/RACK instead of waiting for the RTO.
 *
 * reo_wnd is min_RTT/4 times a multiplier, capped at SRTT (§6.2 step 4). The RFC grows the
 * multiplier on DSACK; without DSACK we use the equivalent evidence that a retransmission
 * was spurious: its ACK arrived sooner than min_RTT after it was sent, so the original
 * got through. The minimum RTT is the minimum ever seen (not windowed).
 */
import { seqGE, seqGT, seqLE, seqLT, seqMax, seqMin, type Seq } from "../../seqnum/seqnum.js";
import type { SackScoreboard } from "./sack-scoreboard.js";

interface TxRecord {
  start: Seq;
  end: Seq;
  /** Last transmission time. */
  xmitTs: number;
  retransmitted: boolean;
  /** Deemed lost and not retransmitted since. */
  lost: boolean;
  /** Retransmitted because RACK deemed it lost (so an early ACK proves that wrong). */
  spuriousCandidate: boolean;
  /** Fully SACKed (delivered) already. */
  sacked: boolean;
}

/** Longest log kept (segments); beyond it the oldest records merge, losing timing detail. */
const MAX_RECORDS = 4096;

export interface RackVerdict {
  /** Every unSACKed byte below this is deemed lost (undefined: nothing new). */
  lostBelow: Seq | undefined;
  /** The lowest lost segment that had already been retransmitted, if any. */
  lostRetransmission: Seq | undefined;
  /** Re-check after this many ms (0: no timer needed). */
  timeoutMs: number;
}

export class RackState {
  private log: TxRecord[] = [];
  private rackXmitTs = -1;
  private rackEnd: Seq | undefined;
  private rackRtt = 0;
  private minRtt = Infinity;
  /** Reordering was observed (a segment delivered below RACK.end_seq without retransmission). */
  reordering = false;
  /** reo_wnd multiplier (RFC 8985 §6.2 step 4), grown on spurious retransmissions. */
  reoWndMult = 1;
  /** Spurious retransmissions detected (for stats). */
  spurious = 0;

  get records(): number {
    return this.log.length;
  }

  /** Feeds an RTT sample from the connection's estimator (for RACK.min_RTT). */
  observeRtt(rttMs: number): void {
    if (rttMs >= 0 && rttMs < this.minRtt) this.minRtt = rttMs;
  }

  /** Records a transmission of [start, end) at `now`. */
  onTransmit(start: Seq, end: Seq, now: number, retransmission: boolean): void {
    const last = this.log[this.log.length - 1];
    if (!retransmission || last === undefined || seqGE(start, last.end)) {
      this.log.push({ start, end, xmitTs: now, retransmitted: retransmission, lost: false, sacked: false, spuriousCandidate: false });
      if (this.log.length > MAX_RECORDS) this.mergeOldest();
      return;
    }
    // A retransmission: split records at the range's edges and refresh those inside.
    const out: TxRecord[] = [];
    for (const r of this.log) {
      if (seqLE(r.end, start) || seqGE(r.start, end)) {
        out.push(r);
        continue;
      }
      if (seqLT(r.start, start)) out.push({ ...r, end: start });
      out.push({ start: seqMax(r.start, start), end: seqMin(r.end, end), xmitTs: now, retransmitted: true, lost: false, sacked: false, spuriousCandidate: r.lost });
      if (seqGT(r.end, end)) out.push({ ...r, start: end });
    }
    this.log = out;
  }

  /**
   * Processes an ACK: marks newly delivered segments (cumulatively acknowledged below
   * `una`, or SACKed), updates RACK.xmit_ts/end_seq/rtt, forgets acknowledged records, and
   * runs loss detection (§6.2).
   */
  onAck(una: Seq, sb: SackScoreboard, now: number, srttMs: number): RackVerdict {
    const delivered: TxRecord[] = [];
    const kept: TxRecord[] = [];
    for (const r of this.log) {
      if (seqLE(r.end, una)) {
        if (!r.sacked) delivered.push(r);
        continue;
      }
      if (seqLT(r.start, una)) r.start = una;
      if (!r.sacked && !sb.isEmpty && sb.nextHole(r.start, r.end) === undefined) {
        r.sacked = true;
        delivered.push(r);
      }
      kept.push(r);
    }
    this.log = kept;
    for (const r of delivered) {
      const rtt = now - r.xmitTs;
      // §6.2 step 2: a retransmitted segment delivered faster than min RTT was probably
      // delivered by its original transmission; its timing is ambiguous.
      if (r.retransmitted && rtt < this.minRtt) {
        if (r.spuriousCandidate) {
          this.spurious++;
          this.reoWndMult = Math.min(this.reoWndMult + 1, 16);
        }
        continue;
      }
      if (rtt >= 0 && rtt < this.minRtt) this.minRtt = rtt;
      if (this.rackEnd !== undefined && seqLT(r.end, this.rackEnd) && !r.retransmitted) this.reordering = true;
      this.rackRtt = rtt;
      if (r.xmitTs > this.rackXmitTs || (r.xmitTs === this.rackXmitTs && (this.rackEnd === undefined || seqGT(r.end, this.rackEnd)))) {
        this.rackXmitTs = r.xmitTs;
        this.rackEnd = r.end;
      }
    }
    return this.detectLoss(now, srttMs);
  }

  /** §6.2 step 5: marks segments sent before the most recently delivered one as lost. */
  detectLoss(now: number, srttMs: number): RackVerdict {
    const verdict: RackVerdict = { lostBelow: undefined, lostRetransmission: undefined, timeoutMs: 0 };
    const rackEnd = this.rackEnd;
    if (rackEnd === undefined) return verdict;
    const base = Number.isFinite(this.minRtt) ? (this.minRtt / 4) * this.reoWndMult : 0;
    const reoWnd = srttMs > 0 ? Math.min(base, srttMs) : base;
    for (const r of this.log) {
      if (r.sacked || r.lost) continue;
      const sentBefore = r.xmitTs < this.rackXmitTs || (r.xmitTs === this.rackXmitTs && seqLT(r.end, rackEnd));
      if (!sentBefore) continue;
      const remaining = r.xmitTs + this.rackRtt + reoWnd - now;
      if (remaining <= 0) {
        r.lost = true;
        if (verdict.lostBelow === undefined || seqGT(r.end, verdict.lostBelow)) verdict.lostBelow = r.end;
        if (r.retransmitted && (verdict.lostRetransmission === undefined || seqLT(r.start, verdict.lostRetransmission))) verdict.lostRetransmission = r.start;
      } else {
        verdict.timeoutMs = Math.max(verdict.timeoutMs, remaining);
      }
    }
    return verdict;
  }

  /** The highest end of a segment currently deemed lost and not yet retransmitted. */
  lostBoundary(): Seq | undefined {
    let b: Seq | undefined;
    for (const r of this.log) if (r.lost && !r.sacked && (b === undefined || seqGT(r.end, b))) b = r.end;
    return b;
  }

  /** After an RTO everything outstanding is resent from scratch: forget loss marks. */
  onRetransmitTimeout(): void {
    for (const r of this.log) r.lost = false;
  }

  private mergeOldest(): void {
    const a = this.log[0];
    const b = this.log[1];
    if (a === undefined || b === undefined) return;
    this.log.splice(0, 2, {
      start: a.start,
      end: b.end,
      xmitTs: Math.max(a.xmitTs, b.xmitTs),
      retransmitted: a.retransmitted || b.retransmitted,
      lost: a.lost && b.lost,
      sacked: a.sacked && b.sacked,
      spuriousCandidate: false,
    });
  }
}
