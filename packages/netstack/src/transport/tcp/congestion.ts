/**
 * The congestion-control interface the sender drives, and Reno (RFC 5681 §3.1 slow start
 * and congestion avoidance, initial window per RFC 6928). Loss recovery (NewReno fast
 * recovery, RFC 6582) lives in the sender and only asks the controller for ssthresh/cwnd
 * changes at its events, so CUBIC (RFC 9438) or an RFC 6675 SACK recovery can slot in.
 */
export interface CongestionControl {
  readonly name: string;
  /** Congestion window in bytes. */
  readonly cwnd: number;
  readonly ssthresh: number;
  /** New data was cumulatively acknowledged outside loss recovery (`srttMs` 0 if unknown). */
  onAck(ackedBytes: number, nowMs: number, srttMs: number): void;
  /** Loss detected by duplicate ACKs (or SACK): reduce ssthresh, set cwnd for recovery. */
  onCongestionEvent(flightSize: number, nowMs: number): void;
  /** The retransmission timer expired (RFC 5681 §3.1 eq. 4, cwnd = loss window). */
  onRetransmitTimeout(flightSize: number, nowMs: number): void;
  /** Loss recovery finished (full ACK). */
  onRecoveryExit(flightSize: number, nowMs: number): void;
}

export class Reno implements CongestionControl {
  readonly name = "reno";
  private cwndBytes: number;
  private ssthreshBytes = Number.MAX_SAFE_INTEGER;
  /** Bytes acknowledged toward the next one-MSS increase in congestion avoidance. */
  private caAcked = 0;

  constructor(
    private readonly mss: number,
    initialSegments = 10,
  ) {
    // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)), generalised to `initialSegments`.
    this.cwndBytes = Math.min(initialSegments * mss, Math.max(2 * mss, 14600));
  }

  get cwnd(): number {
    return this.cwndBytes;
  }
  get ssthresh(): number {
    return this.ssthreshBytes;
  }

  onAck(ackedBytes: number, _nowMs: number, _srttMs: number): void {
    if (this.cwndBytes < this.ssthreshBytes) {
      // Slow start with appropriate byte counting, L = 2*SMSS (RFC 3465).
      this.cwndBytes += Math.min(ackedBytes, 2 * this.mss);
      return;
    }
    // Congestion avoidance: one SMSS per cwnd of acknowledged data (RFC 5681 §3.1).
    this.caAcked += ackedBytes;
    if (this.caAcked >= this.cwndBytes) {
      this.caAcked -= this.cwndBytes;
      this.cwndBytes += this.mss;
    }
  }

  onCongestionEvent(flightSize: number, _nowMs: number): void {
    this.ssthreshBytes = Math.max(Math.floor(flightSize / 2), 2 * this.mss);
    this.cwndBytes = this.ssthreshBytes;
    this.caAcked = 0;
  }

  onRetransmitTimeout(flightSize: number, _nowMs: number): void {
    this.ssthreshBytes = Math.max(Math.floor(flightSize / 2), 2 * this.mss);
    this.cwndBytes = this.mss;
    this.caAcked = 0;
  }

  onRecoveryExit(flightSize: number, _nowMs: number): void {
    // RFC 6582 §3.2 step 3, option 1: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    this.cwndBytes = Math.min(this.ssthreshBytes, Math.max(flightSize, this.mss) + this.mss);
  }
}
