/**
 * Retransmission timeout estimation, RFC 6298: SRTT/RTTVAR smoothing (§2), exponential
 * backoff (§5.5), clamped to [minRto, maxRto]. Samples follow Karn's rule: the caller never
 * feeds a sample timed over a retransmitted segment (RFC 6298 §3).
 */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;
/** Clock granularity G (ms). */
const G = 1;

export class RttEstimator {
  private srttMs: number | undefined;
  private rttvarMs = 0;
  private baseRto: number;
  private backoffCount = 0;

  constructor(
    initialRtoMs: number,
    private readonly minRtoMs: number,
    private readonly maxRtoMs: number,
  ) {
    this.baseRto = initialRtoMs;
  }

  /** Feeds one RTT measurement; resets backoff (RFC 6298 §5.7 — a new sample recomputes RTO). */
  sample(rttMs: number): void {
    const r = Math.max(rttMs, 0);
    if (this.srttMs === undefined) {
      this.srttMs = r;
      this.rttvarMs = r / 2;
    } else {
      this.rttvarMs = (1 - BETA) * this.rttvarMs + BETA * Math.abs(this.srttMs - r);
      this.srttMs = (1 - ALPHA) * this.srttMs + ALPHA * r;
    }
    this.baseRto = this.srttMs + Math.max(G, K * this.rttvarMs);
    this.backoffCount = 0;
  }

  /** Doubles the timeout after an expiry (RFC 6298 §5.5). */
  backoff(): void {
    this.backoffCount = Math.min(this.backoffCount + 1, 30);
  }

  get rtoMs(): number {
    // The minimum applies to the computed RTO; backoff doubles the clamped value (§2.4, §5.5).
    const v = Math.max(this.baseRto, this.minRtoMs) * 2 ** this.backoffCount;
    return Math.min(v, this.maxRtoMs);
  }

  get srtt(): number | undefined {
    return this.srttMs;
  }

  get rttvar(): number {
    return this.rttvarMs;
  }

  get backoffs(): number {
    return this.backoffCount;
  }
}
