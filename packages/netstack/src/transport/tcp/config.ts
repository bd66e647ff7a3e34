/** TCP tunables, with Linux-like defaults where the RFCs leave a range. */
export interface TcpConfig {
  sendBufferSize: number;
  /** Receive buffer (the window scale is chosen to cover it). */
  receiveBufferSize: number;
  /** RFC 6298 §2.1: 1 s before the first RTT sample. */
  initialRtoMs: number;
  /** RFC 6298 §2.4 says 1 s; Linux uses 200 ms, which we follow. */
  minRtoMs: number;
  /** RFC 6298 §2.5 allows an upper bound of at least 60 s; Linux uses 120 s. */
  maxRtoMs: number;
  /** Consecutive RTOs on a synchronized connection before giving up (Linux tcp_retries2). */
  maxRetries: number;
  /** SYN retransmissions before connect fails (Linux tcp_syn_retries). */
  synRetries: number;
  /** SYN-ACK retransmissions before a half-open child is dropped (Linux tcp_synack_retries). */
  synAckRetries: number;
  /** Delayed-ACK timeout (RFC 9293 §3.8.6.3: under 0.5 s); 0 disables delayed ACKs. */
  delayedAckMs: number;
  /** TIME-WAIT duration (2*MSL; Linux uses a fixed 60 s). */
  timeWaitMs: number;
  /** Connections allowed in TIME-WAIT at once; beyond it they close at once (Linux tcp_max_tw_buckets). */
  maxTimeWait: number;
  /** How long an orphaned connection may sit in FIN-WAIT-2 (Linux tcp_fin_timeout). */
  finWait2TimeoutMs: number;
  /** Peer MSS assumed when its SYN carries none (RFC 9293 §3.7.1). */
  defaultMss: number;
  /** Half-open (SYN-RECEIVED) connections per listener; beyond it, SYN cookies (or drops). */
  synBacklog: number;
  /** Answer SYNs with cookies when the SYN queue is full (Linux tcp_syncookies=1). */
  synCookies: boolean;
  /** Global budget for challenge ACKs and out-of-window ACKs (RFC 5961 §7). */
  challengeAcksPerSecond: number;
  /** Initial congestion window in segments (RFC 6928). */
  initialCwndSegments: number;
  /** Upper bound for the persist (zero-window probe) interval. */
  maxPersistMs: number;
  /** Keepalive defaults (Linux tcp_keepalive_time/intvl/probes); enabled per endpoint. */
  keepaliveIdleMs: number;
  keepaliveIntervalMs: number;
  keepaliveProbes: number;
  /** Congestion control for new connections (Linux's default is CUBIC). */
  congestionControl: "reno" | "cubic";
  /** Offer window scaling (RFC 7323 §2). */
  windowScaling: boolean;
  /** Offer timestamps (RFC 7323 §3). */
  timestamps: boolean;
  /** Offer SACK (RFC 2018). */
  sack: boolean;
  /** RACK-TLP loss detection (RFC 8985) on SACK connections. */
  rack: boolean;
}

export const DEFAULT_TCP_CONFIG: TcpConfig = {
  sendBufferSize: 256 * 1024,
  receiveBufferSize: 256 * 1024,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 120_000,
  maxRetries: 15,
  synRetries: 6,
  synAckRetries: 5,
  delayedAckMs: 40,
  timeWaitMs: 60_000,
  maxTimeWait: 16384,
  finWait2TimeoutMs: 60_000,
  defaultMss: 536,
  synBacklog: 256,
  synCookies: true,
  challengeAcksPerSecond: 1000,
  initialCwndSegments: 10,
  maxPersistMs: 60_000,
  keepaliveIdleMs: 7_200_000,
  keepaliveIntervalMs: 75_000,
  keepaliveProbes: 9,
  congestionControl: "cubic",
  windowScaling: true,
  timestamps: true,
  sack: true,
  rack: true,
};

/** Linux's TCP_MIN_MSS: a peer MSS below this is raised to it (absurd-option defence). */
export const TCP_MIN_MSS = 88;
