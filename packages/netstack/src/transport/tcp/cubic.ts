/**
 * CUBIC congestion control (RFC 9438). Window growth after a congestion event follows
 * W_cubic(t) = C*(t - K)^3 + W_max (§4.2), with K = cbrt(W_max*(1 - beta)/C) (§4.2 eq. 2),
 * a Reno-friendly estimate W_est that CUBIC never falls below (§4.3), the per-ACK
 * increment toward W_cubic(t + RTT) clamped to [cwnd, 1.5*cwnd] (§4.4), multiplicative
 * decrease by beta = 0.7 (§4.6) and fast convergence (§4.7). Slow start is the standard
 * one (HyStart++ is not implemented). Windows are kept in bytes; the formulas run in
 * segments.
 */
import type { CongestionControl } from "./congestion.js";

const C = 0.4;
const BETA = 0.7;
/** §4.3: the additive factor that makes W_est match Reno's average rate. */
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

export class Cubic implements CongestionControl {
  readonly name = "cubic";
  private cwndBytes: number;
  private ssthreshBytes = Number.MAX_SAFE_INTEGER;
  /** Window (segments) just before the last reduction, after fast convergence. */
  private wMax = 0;
  private wLastMax = 0;
  private k = 0;
  private epochStart: number | undefined;
  /** Reno-friendly estimate, in segments. */
  private wEst = 0;

  constructor(
    private readonly mss: number,
    initialSegments = 10,
  ) {
    this.cwndBytes = Math.min(initialSegments * mss, Math.max(2 * mss, 14600));
  }

  get cwnd(): number {
    return this.cwndBytes;
  }
  get ssthresh(): number {
    return this.ssthreshBytes;
  }
  /** K in seconds (for tests and diagnostics). */
  get kSeconds(): number {
    return this.k;
  }
  get wMaxSegments(): number {
    return this.wMax;
  }

  onAck(ackedBytes: number, nowMs: number, srttMs: number): void {
    if (this.cwndBytes < this.ssthreshBytes) {
      this.cwndBytes += Math.min(ackedBytes, 2 * this.mss);
      return;
    }
    const cwndSeg = this.cwndBytes / this.mss;
    if (this.epochStart === undefined) {
      this.epochStart = nowMs;
      if (cwndSeg < this.wMax) {
        this.k = Math.cbrt((this.wMax - cwndSeg) / C);
      } else {
        this.k = 0;
        this.wMax = cwndSeg;
      }
      this.wEst = cwndSeg;
    }
    const t = (nowMs - this.epochStart + srttMs) / 1000;
    const wCubic = C * (t - this.k) ** 3 + this.wMax;
    const ackedSeg = ackedBytes / this.mss;
    this.wEst += (this.wEst < this.wMax ? ALPHA : 1) * (ackedSeg / cwndSeg);
    if (wCubic < this.wEst) {
      // Reno-friendly region (§4.3).
      this.cwndBytes = Math.max(this.cwndBytes, this.wEst * this.mss);
      return;
    }
    const target = Math.min(Math.max(wCubic, cwndSeg), 1.5 * cwndSeg);
    this.cwndBytes += ((target - cwndSeg) / cwndSeg) * ackedSeg * this.mss;
  }

  onCongestionEvent(_flightSize: number, _nowMs: number): void {
    this.reduce();
    this.cwndBytes = this.ssthreshBytes;
  }

  onRetransmitTimeout(_flightSize: number, _nowMs: number): void {
    this.reduce();
    this.cwndBytes = this.mss;
  }

  onRecoveryExit(_flightSize: number, _nowMs: number): void {
    this.cwndBytes = this.ssthreshBytes;
  }

  private reduce(): void {
    const cwndSeg = this.cwndBytes / this.mss;
    // Fast convergence (§4.7): yield to newer flows when the window keeps shrinking.
    if (cwndSeg < this.wLastMax) {
      this.wLastMax = cwndSeg;
      this.wMax = (cwndSeg * (1 + BETA)) / 2;
    } else {
      this.wLastMax = cwndSeg;
      this.wMax = cwndSeg;
    }
    this.ssthreshBytes = Math.max(Math.floor(this.cwndBytes * BETA), 2 * this.mss);
    this.epochStart = undefined;
  }
}
