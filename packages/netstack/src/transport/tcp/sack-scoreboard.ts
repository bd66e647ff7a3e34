/**
 * The sender's SACK scoreboard (RFC 6675 §3-§4; SACK option semantics, RFC 2018 §3):
 * the set of sequence ranges above SND.UNA the receiver has reported holding, kept as
 * sorted, disjoint, merged blocks.
 *
 * Blocks are validated before use: empty or inverted blocks, blocks below SND.UNA (which
 * includes D-SACK, RFC 2883, not used yet) and blocks beyond SND.MAX are ignored and
 * counted. The number of blocks is capped so a hostile receiver that SACKs every other
 * byte cannot make each ACK cost time proportional to the send buffer; dropping SACK
 * information is always safe (the data is merely treated as not received).
 */
import type { SackBlock } from "../../header/tcp.js";
import { seq, seqDiff, seqGT, seqLE, seqLT, seqMax, seqMin, type Seq } from "../../seqnum/seqnum.js";

export const DUP_THRESH = 3;
export const MAX_SCOREBOARD_BLOCKS = 512;

interface Range {
  start: Seq;
  end: Seq;
}

export class SackScoreboard {
  private blocks: Range[] = [];
  /** Blocks rejected as invalid, for stats. */
  invalidBlocks = 0;

  get isEmpty(): boolean {
    return this.blocks.length === 0;
  }

  get sackedBytes(): number {
    let n = 0;
    for (const b of this.blocks) n += seqDiff(b.end, b.start);
    return n;
  }

  /** The blocks, lowest first. */
  list(): readonly Range[] {
    return this.blocks;
  }

  clear(): void {
    this.blocks = [];
  }

  /** Merges the SACK blocks of one ACK; returns the number of newly SACKed bytes. */
  update(sacks: readonly SackBlock[], sndUna: Seq, sndMax: Seq): number {
    const before = this.sackedBytes;
    for (const raw of sacks) {
      const start = seq(raw.start);
      const end = seq(raw.end);
      if (!seqLT(start, end) || seqLE(start, sndUna) || seqGT(end, sndMax)) {
        this.invalidBlocks++;
        continue;
      }
      this.insert({ start, end });
    }
    return this.sackedBytes - before;
  }

  /** Forgets everything at or below the cumulative ACK. */
  removeBelow(sndUna: Seq): void {
    const kept: Range[] = [];
    for (const b of this.blocks) {
      if (seqLE(b.end, sndUna)) continue;
      kept.push({ start: seqMax(b.start, sndUna), end: b.end });
    }
    this.blocks = kept;
  }

  isSacked(s: Seq): boolean {
    return this.blocks.some((b) => seqLE(b.start, s) && seqLT(s, b.end));
  }

  highestSacked(): Seq | undefined {
    return this.blocks[this.blocks.length - 1]?.end;
  }

  /**
   * The loss boundary (RFC 6675 §4 IsLost): every unSACKed octet below it is deemed lost,
   * because at least DupThresh discontiguous blocks, or more than (DupThresh-1)*SMSS SACKed
   * bytes, lie above it. Returns undefined if nothing is lost.
   */
  lossBoundary(smss: number): Seq | undefined {
    let byBlocks: Seq | undefined;
    const n = this.blocks.length;
    if (n >= DUP_THRESH) byBlocks = (this.blocks[n - DUP_THRESH] as Range).start;
    let byBytes: Seq | undefined;
    let acc = 0;
    for (let i = n - 1; i >= 0; i--) {
      const b = this.blocks[i] as Range;
      acc += seqDiff(b.end, b.start);
      if (acc > (DUP_THRESH - 1) * smss) {
        byBytes = b.start;
        break;
      }
    }
    if (byBlocks === undefined) return byBytes;
    if (byBytes === undefined) return byBlocks;
    return seqMax(byBlocks, byBytes);
  }

  /** The first unSACKed range in [from, limit), if any. */
  nextHole(from: Seq, limit: Seq): Range | undefined {
    let s = from;
    for (const b of this.blocks) {
      if (!seqLT(s, limit)) return undefined;
      if (seqLE(b.end, s)) continue;
      if (seqLT(s, b.start)) return { start: s, end: seqMin(b.start, limit) };
      s = b.end;
    }
    return seqLT(s, limit) ? { start: s, end: limit } : undefined;
  }

  /**
   * RFC 6675 §4 SetPipe: octets in flight. Each unSACKed octet in [sndUna, sndMax) counts
   * once unless deemed lost, and once more if it was retransmitted (below highRxt).
   */
  pipe(sndUna: Seq, sndMax: Seq, highRxt: Seq, smss: number, alsoLostBelow?: Seq): number {
    const own = this.lossBoundary(smss);
    const lost = own === undefined ? alsoLostBelow : alsoLostBelow === undefined ? own : seqMax(own, alsoLostBelow);
    let total = 0;
    let s = sndUna;
    for (;;) {
      const hole = this.nextHole(s, sndMax);
      if (hole === undefined) break;
      const len = seqDiff(hole.end, hole.start);
      const notLost = lost === undefined ? len : overlap(hole.start, hole.end, lost, sndMax);
      const retransmitted = overlap(hole.start, hole.end, sndUna, highRxt);
      total += notLost + retransmitted;
      s = hole.end;
    }
    return total;
  }

  private insert(r: Range): void {
    let start = r.start;
    let end = r.end;
    const out: Range[] = [];
    let placed = false;
    for (const b of this.blocks) {
      if (seqLT(b.end, start)) {
        out.push(b);
      } else if (seqLT(end, b.start)) {
        if (!placed) {
          out.push({ start, end });
          placed = true;
        }
        out.push(b);
      } else {
        start = seqMin(start, b.start);
        end = seqMax(end, b.end);
      }
    }
    if (!placed) out.push({ start, end });
    if (out.length > MAX_SCOREBOARD_BLOCKS) return; // keep the old board: SACK info is advisory
    this.blocks = out;
  }
}

/** Length of the intersection of [a, b) and [c, d). */
function overlap(a: Seq, b: Seq, c: Seq, d: Seq): number {
  const lo = seqMax(a, c);
  const hi = seqMin(b, d);
  return seqLT(lo, hi) ? seqDiff(hi, lo) : 0;
}
