/**
 * A TCP endpoint: the user-facing socket API over a transmission control block (TCB,
 * RFC 9293 §3.3.1). The TCB fields are public for the algorithm modules of this folder
 * (`input.ts`, `output.ts`, `timers` below) and marked @internal; other code uses the
 * methods only.
 *
 * API model (non-blocking, like a socket with O_NONBLOCK): calls return a value or a
 * `NetError` (ErrWouldBlock when they would block); readiness changes are announced on
 * `waiter` with EVENT_* masks. `connect` returns undefined when the SYN is out; completion
 * shows as EVENT_OUT (established) or EVENT_ERR (with `takeError()`).
 *
 * Concurrency: single-threaded. Methods may send segments synchronously; inbound segments
 * and timers never run inside a method call (links and the clock defer them).
 */
import { familyAllows, type AddressFamily, type IPAddress } from "../../address.js";
import { Timer } from "../../clock.js";
import {
  ErrAlreadyBound,
  ErrAlreadyConnected,
  ErrAlreadyConnecting,
  ErrBadAddress,
  ErrClosed,
  ErrClosedForSend,
  ErrConnectionReset,
  ErrInvalidArgument,
  ErrInvalidState,
  ErrNotConnected,
  ErrTimedOut,
  ErrWouldBlock,
  isNetError,
  type NetError,
} from "../../errors.js";
import { IP_PROTOCOL_TCP } from "../../header/ipv4.js";
import { TCP_FLAG_ACK, TCP_FLAG_RST } from "../../header/tcp.js";
import { seq, seqAdd, seqDiff, seqGT, type Seq } from "../../seqnum/seqnum.js";
import type { TransportId } from "../../stack/demux.js";
import type { Route } from "../../stack/stack.js";
import type { SendOptions } from "../../network/ipv4/ipv4.js";
import { EVENT_ERR, EVENT_HUP, EVENT_IN, EVENT_OUT, EVENT_RDHUP, WaiterQueue, type EventMask } from "../../waiter.js";
import { validPort, type BindAddress, type FullAddress } from "../address.js";
import { Reno, type CongestionControl } from "./congestion.js";
import { Cubic } from "./cubic.js";
import { TCP_MIN_MSS } from "./config.js";
import { TIMESTAMP_OPTION_SPACE } from "./options.js";
import { emit, output, persistInterval, receiveWindow, retransmitFirst, sendAck, sendRange, sendSyn, sendWindowProbe, tcpOverhead } from "./output.js";
import type { TcpProtocol } from "./protocol.js";
import { ReceiveBuffer } from "./receive-buffer.js";
import { RttEstimator } from "./rto.js";
import { SackScoreboard } from "./sack-scoreboard.js";
import { RackState } from "./rack.js";
import { onReorderTimeout, onTlpTimeout } from "./sack-recovery.js";
import { SendBuffer } from "./send-buffer.js";
import { canQueueData, isSynchronized, TcpState } from "./state.js";

export interface ShutdownHow {
  read?: boolean;
  write?: boolean;
}

export class TcpEndpoint {
  readonly waiter = new WaiterQueue();

  // --- TCB (@internal) ---------------------------------------------------------------------
  /** @internal */ state: TcpState = TcpState.Closed;
  /** @internal */ localAddress: IPAddress | undefined;
  /** @internal */ localPort = 0;
  /** @internal */ remoteAddress: IPAddress | undefined;
  /** @internal */ remotePort = 0;
  /** @internal */ route: Route | undefined;
  /** @internal The port reservation this endpoint owns (children of a listener own none). */
  reservation: { address: IPAddress | undefined; port: number } | undefined;
  /** @internal The demux key this endpoint is registered under. */
  registered: TransportId | undefined;

  /** @internal */ iss: Seq = seq(0);
  /** @internal */ sndUna: Seq = seq(0);
  /** @internal */ sndNxt: Seq = seq(0);
  /** @internal Highest sequence number sent (SND.NXT before any go-back-N rewind). */
  sndMax: Seq = seq(0);
  /** @internal */ sndWnd = 0;
  /** @internal Largest window the peer has offered (for SWS avoidance, RFC 5961 §5.2). */
  maxSndWnd = 0;
  /** @internal */ sndWl1: Seq = seq(0);
  /** @internal */ sndWl2: Seq = seq(0);
  /** @internal Effective send MSS. */
  sndMss: number;
  /** @internal */ sendBuffer: SendBuffer;
  /** @internal Sequence number of the first byte in `sendBuffer`. */
  sndBufSeq: Seq = seq(0);
  /** @internal End of the last sub-MSS segment sent (Minshall's Nagle variant, as Linux). */
  lastSmallEnd: Seq = seq(0);
  /** @internal The application has shut down writing: a FIN follows the queued data. */
  finQueued = false;

  /** @internal */ irs: Seq = seq(0);
  /** @internal */ rcvNxt: Seq = seq(0);
  /** @internal Right edge of the window we last advertised (never moves left). */
  rcvAdv: Seq = seq(0);
  /** @internal */ rcvBuffer: ReceiveBuffer;
  /** @internal MSS we advertise. */
  rcvMss: number;
  /** @internal The peer's FIN has been consumed (RCV.NXT is past it). */
  finReceived = false;
  /** @internal A FIN seen beyond a hole, processed when RCV.NXT reaches it. */
  pendingFinSeq: Seq | undefined;

  /** @internal Window scaling negotiated (RFC 7323 §2). */
  wsEnabled = false;
  /** @internal Shift applied to windows the peer sends. */
  sndWndShift = 0;
  /** @internal Shift applied to windows we send. */
  rcvWndShift = 0;
  /** @internal Timestamps negotiated (RFC 7323 §3). */
  tsEnabled = false;
  /** @internal TS.Recent (RFC 7323 §4.3). */
  tsRecent = 0;
  /** @internal */ tsRecentSet = false;
  /** @internal Random offset of our TSval clock (RFC 7323 §5.4). */
  tsOffset: number;
  /** @internal RCV.NXT carried by the last ACK we sent (Last.ACK.sent). */
  lastAckSent: Seq = seq(0);
  /** @internal SACK negotiated both ways (RFC 2018 §2). */
  sackPermitted = false;
  /** @internal What the peer has SACKed (RFC 6675). */
  readonly scoreboard = new SackScoreboard();
  /** @internal HighRxt: end of the highest retransmission in this recovery (RFC 6675 §2). */
  highRxt: Seq = seq(0);
  /** @internal RACK-TLP state (RFC 8985). */
  readonly rack = new RackState();
  /** @internal Unsacked data below this is deemed lost by RACK. */
  rackLostBelow: Seq | undefined;
  /** @internal A tail loss probe is out and unanswered. */
  tlpOutstanding = false;
  /** @internal Start of the latest out-of-order segment received (for SACK block order). */
  lastOooStart: Seq | undefined;

  /** @internal */ rtt: RttEstimator;
  /** @internal A timed segment ending at `end`, sent at `at` (Karn's rule applies). */
  rttSample: { end: Seq; at: number } | undefined;
  /** @internal */ cc: CongestionControl;
  /** @internal */ dupAcks = 0;
  /** @internal NewReno fast recovery in progress (RFC 6582). */
  inRecovery = false;
  /** @internal */ recover: Seq | undefined;
  /** @internal Window inflation during fast recovery, in bytes. */
  inflation = 0;
  /** @internal Consecutive retransmission timeouts. */
  retries = 0;
  /** @internal */ persistBackoff = 0;
  /** @internal */ unackedSegments = 0;
  /** @internal An ACK must go out at the end of the current input processing. */
  ackNow = false;

  /** @internal */ readonly rtoTimer: Timer;
  /** @internal */ readonly persistTimer: Timer;
  /** @internal */ readonly delackTimer: Timer;
  /** @internal TIME-WAIT and orphaned FIN-WAIT-2 timer. */
  readonly closeTimer: Timer;

  /** @internal The application closed the endpoint; it lingers only to finish the close. */
  orphaned = false;
  /** @internal */ readShut = false;
  /** @internal SO_ERROR-style pending error. */
  pendingError: NetError | undefined;
  /** @internal The last ICMP-reported problem (reported if the connection times out). */
  softError: NetError | undefined;
  /** @internal The connection was reset or timed out: reads report this once. */
  terminalError: NetError | undefined;

  /** @internal For a child: the listener it came from, until accepted. */
  listener: TcpEndpoint | undefined;
  /** @internal Listener: maximum accept-queue length. */
  backlog = 0;
  /** @internal Listener: half-open children. */
  readonly synQueue = new Set<TcpEndpoint>();
  /** @internal Listener: established children waiting for accept(). */
  readonly acceptQueue: TcpEndpoint[] = [];

  /** TCP_NODELAY: disable Nagle's algorithm. */
  noDelay = false;
  /** IP_TTL / IPV6_UNICAST_HOPS and IP_TOS / IPV6_TCLASS for this endpoint's segments. */
  ipOptions: SendOptions = {};

  /** @internal */ readonly keepaliveTimer: Timer;
  /** @internal RACK reordering timer (RFC 8985 §6.3). */
  readonly reorderTimer: Timer;
  /** @internal Tail loss probe timer (RFC 8985 §7). */
  readonly tlpTimer: Timer;
  /** @internal Time the last segment arrived (keepalive idleness). */
  lastReceiveMs = 0;
  /** @internal Unanswered keepalive probes. */
  keepaliveProbesSent = 0;
  private keepaliveOn = false;
  /** TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT equivalents. */
  keepaliveIdleMs: number;
  keepaliveIntervalMs: number;
  keepaliveProbes: number;

  constructor(
    readonly proto: TcpProtocol,
    /** Which IP versions this endpoint serves (AF_INET, AF_INET6 V6ONLY, or dual-stack). */
    readonly family: AddressFamily = "dual",
  ) {
    const cfg = proto.stack.config.tcp;
    this.sendBuffer = new SendBuffer(cfg.sendBufferSize);
    this.rcvBuffer = new ReceiveBuffer(cfg.receiveBufferSize);
    this.sndMss = cfg.defaultMss;
    this.rcvMss = cfg.defaultMss;
    this.rtt = new RttEstimator(cfg.initialRtoMs, cfg.minRtoMs, cfg.maxRtoMs);
    this.cc = new Reno(this.sndMss, cfg.initialCwndSegments);
    this.tsOffset = proto.stack.rng.nextU32();
    const clock = proto.stack.clock;
    this.rtoTimer = new Timer(clock, () => this.onRetransmitTimeout());
    this.persistTimer = new Timer(clock, () => this.onPersistTimeout());
    this.delackTimer = new Timer(clock, () => {
      if (isSynchronized(this.state)) sendAck(this);
    });
    this.closeTimer = new Timer(clock, () => this.finish(undefined));
    this.keepaliveTimer = new Timer(clock, () => this.onKeepaliveTimer());
    this.reorderTimer = new Timer(clock, () => onReorderTimeout(this));
    this.tlpTimer = new Timer(clock, () => onTlpTimeout(this));
    this.keepaliveIdleMs = cfg.keepaliveIdleMs;
    this.keepaliveIntervalMs = cfg.keepaliveIntervalMs;
    this.keepaliveProbes = cfg.keepaliveProbes;
  }

  /**
   * SO_SNDBUF / SO_RCVBUF: resize the buffers. Only before the connection exists (CLOSED or
   * LISTEN, where accepted connections inherit them), since the window scale is chosen from
   * the receive buffer on the SYN. Sizes are clamped to [4 KiB, 64 MiB].
   */
  setBufferSizes(sizes: { send?: number; receive?: number }): NetError | undefined {
    if ((this.state !== TcpState.Closed && this.state !== TcpState.Listen) || this.orphaned) return ErrInvalidState;
    const clamp = (n: number): number => Math.min(Math.max(Math.floor(n), 4096), 64 * 1024 * 1024);
    if (sizes.send !== undefined) {
      if (!Number.isFinite(sizes.send)) return ErrInvalidArgument;
      this.sendBuffer = new SendBuffer(clamp(sizes.send));
    }
    if (sizes.receive !== undefined) {
      if (!Number.isFinite(sizes.receive)) return ErrInvalidArgument;
      this.rcvBuffer = new ReceiveBuffer(clamp(sizes.receive));
    }
    return undefined;
  }

  get sendBufferSize(): number {
    return this.sendBuffer.capacity;
  }

  get receiveBufferSize(): number {
    return this.rcvBuffer.capacity;
  }

  /** SO_KEEPALIVE (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): probe an idle connection. */
  setKeepalive(on: boolean): void {
    this.keepaliveOn = on;
    this.keepaliveProbesSent = 0;
    if (!on) this.keepaliveTimer.disarm();
    else this.armKeepalive();
  }

  get keepalive(): boolean {
    return this.keepaliveOn;
  }

  /**
   * @internal Path MTU discovery (RFC 1191 §6.3, RFC 8201 §4): the path carries at most
   * `mtu` bytes, so shrink the MSS (never below the IPv4/IPv6 minimums) and resend.
   */
  onPathMtu(mtu: number): void {
    const v = this.remoteAddress?.version ?? 4;
    const floor = v === 4 ? 68 : 1280;
    const pathMtu = Math.max(mtu === 0 ? floor : mtu, floor);
    const mss = Math.max(TCP_MIN_MSS, pathMtu - tcpOverhead(v) - (this.tsEnabled ? TIMESTAMP_OPTION_SPACE : 0));
    if (mss >= this.sndMss) return;
    this.sndMss = mss;
    if (this.sndUna !== this.sndMax) retransmitFirst(this);
  }

  /** @internal (Re)arms the keepalive timer after activity. */
  armKeepalive(): void {
    if (!this.keepaliveOn || !this.keepaliveEligible()) return;
    this.keepaliveTimer.arm(this.keepaliveIdleMs);
  }

  private keepaliveEligible(): boolean {
    return this.state === TcpState.Established || this.state === TcpState.CloseWait || this.state === TcpState.FinWait2;
  }

  private onKeepaliveTimer(): void {
    if (!this.keepaliveOn || !this.keepaliveEligible()) return;
    const now = this.proto.stack.clock.nowMs();
    const idle = now - this.lastReceiveMs;
    // Data in flight is the retransmission timer's business; only probe a quiet connection.
    if (this.sndUna !== this.sndMax || idle < this.keepaliveIdleMs) {
      this.keepaliveProbesSent = 0;
      this.keepaliveTimer.arm(Math.max(1, this.keepaliveIdleMs - (this.sndUna !== this.sndMax ? 0 : idle)));
      return;
    }
    if (this.keepaliveProbesSent >= this.keepaliveProbes) {
      this.fail(ErrTimedOut);
      return;
    }
    this.keepaliveProbesSent++;
    sendWindowProbe(this);
    this.keepaliveTimer.arm(this.keepaliveIntervalMs);
  }

  // --- Queries ----------------------------------------------------------------------------

  get currentState(): TcpState {
    return this.state;
  }

  get local(): { address: IPAddress | undefined; port: number } {
    return { address: this.route?.localAddress ?? this.localAddress, port: this.localPort };
  }

  get remote(): FullAddress | undefined {
    return this.remoteAddress === undefined ? undefined : { address: this.remoteAddress, port: this.remotePort };
  }

  /** Bytes the application can read now. */
  get readableBytes(): number {
    return this.rcvBuffer.readable;
  }

  /** Bytes queued for sending (unsent plus unacknowledged). */
  get sendQueueBytes(): number {
    return this.sendBuffer.length;
  }

  readiness(): EventMask {
    let m = 0;
    if (this.state === TcpState.Listen) return this.acceptQueue.length > 0 ? EVENT_IN : 0;
    if (this.rcvBuffer.readable > 0 || this.finReceived || this.readShut || this.terminalError !== undefined) m |= EVENT_IN;
    if (canQueueData(this.state) && !this.finQueued && this.sendBuffer.free > 0) m |= EVENT_OUT;
    if (this.pendingError !== undefined) m |= EVENT_ERR;
    if (this.finReceived) m |= EVENT_RDHUP;
    if (this.state === TcpState.Closed && (this.terminalError !== undefined || this.finReceived || this.orphaned)) m |= EVENT_HUP | EVENT_OUT;
    return m;
  }

  /** Returns and clears the pending asynchronous error (SO_ERROR). */
  takeError(): NetError | undefined {
    const e = this.pendingError;
    this.pendingError = undefined;
    return e;
  }

  // --- Socket API ---------------------------------------------------------------------------

  bind(addr: BindAddress = {}): NetError | undefined {
    if (this.state !== TcpState.Closed || this.orphaned) return ErrInvalidState;
    if (this.reservation !== undefined) return ErrAlreadyBound;
    const port = addr.port ?? 0;
    if (!validPort(port)) return ErrInvalidArgument;
    const a = addr.address !== undefined && !addr.address.isUnspecified() ? addr.address : undefined;
    if (addr.address !== undefined && !familyAllows(this.family, addr.address)) return ErrBadAddress;
    if (a !== undefined && this.proto.stack.nicOwning(a) === undefined) return ErrBadAddress;
    const p = this.proto.stack.ports.reserve(IP_PROTOCOL_TCP, a, port, this.family);
    if (isNetError(p)) return p;
    this.reservation = { address: a, port: p };
    this.localAddress = a;
    this.localPort = p;
    return undefined;
  }

  /** Passive open (RFC 9293 §3.10.1): accept up to `backlog` established connections. */
  listen(backlog: number): NetError | undefined {
    if (this.state === TcpState.Listen) {
      this.backlog = Math.max(1, Math.floor(backlog));
      return undefined;
    }
    if (this.state !== TcpState.Closed || this.orphaned || this.terminalError !== undefined) return ErrInvalidState;
    if (this.reservation === undefined) {
      const e = this.bind({});
      if (e !== undefined) return e;
    }
    const id: TransportId = { localAddress: this.localAddress, localPort: this.localPort, remoteAddress: undefined, remotePort: 0, family: this.family };
    const err = this.proto.demux.register(IP_PROTOCOL_TCP, id, this);
    if (err !== undefined) return err;
    this.registered = id;
    this.backlog = Math.max(1, Math.floor(backlog));
    this.state = TcpState.Listen;
    return undefined;
  }

  /** Takes an established connection from the accept queue, or ErrWouldBlock. */
  accept(): TcpEndpoint | NetError {
    if (this.state !== TcpState.Listen) return ErrInvalidState;
    const child = this.acceptQueue.shift();
    if (child === undefined) return ErrWouldBlock;
    child.listener = undefined;
    return child;
  }

  /** Active open (RFC 9293 §3.10.1): sends a SYN; completion is signalled on the waiter. */
  connect(to: FullAddress): NetError | undefined {
    switch (this.state) {
      case TcpState.Closed:
        break;
      case TcpState.SynSent:
      case TcpState.SynReceived:
        return ErrAlreadyConnecting;
      case TcpState.Listen:
        return ErrInvalidState;
      default:
        return ErrAlreadyConnected;
    }
    if (this.orphaned || this.terminalError !== undefined) return ErrInvalidState;
    if (!validPort(to.port) || to.port === 0 || to.address.isUnspecified() || to.address.isMulticast() || to.address.isV4Broadcast()) return ErrInvalidArgument;
    if (!familyAllows(this.family, to.address)) return ErrBadAddress;
    const stack = this.proto.stack;
    const route = stack.findRoute(to.address, { localAddress: this.localAddress });
    if (isNetError(route)) return route;
    if (this.reservation === undefined) {
      const p = stack.ports.reserve(IP_PROTOCOL_TCP, route.localAddress, 0, this.family);
      if (isNetError(p)) return p;
      this.reservation = { address: route.localAddress, port: p };
      this.localPort = p;
    }
    const id: TransportId = { localAddress: route.localAddress, localPort: this.localPort, remoteAddress: to.address, remotePort: to.port };
    const err = this.proto.demux.register(IP_PROTOCOL_TCP, id, this);
    if (err !== undefined) return err;
    this.registered = id;
    this.route = route;
    this.localAddress = route.localAddress;
    this.remoteAddress = to.address;
    this.remotePort = to.port;
    this.rcvMss = Math.max(route.mtu - tcpOverhead(to.address.version), 1);
    this.iss = this.proto.isn(route.localAddress, this.localPort, to.address, to.port);
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    this.sndBufSeq = this.sndNxt;
    this.lastSmallEnd = this.sndNxt;
    this.state = TcpState.SynSent;
    stack.stats.tcp.activeOpens++;
    this.rttSample = { end: this.sndNxt, at: stack.clock.nowMs() };
    sendSyn(this);
    return undefined;
  }

  /** Queues data; returns the number of bytes taken (a partial write when the buffer fills). */
  write(data: Uint8Array): number | NetError {
    if (this.terminalError !== undefined) return this.terminalError;
    if (this.finQueued || this.orphaned) return ErrClosedForSend;
    if (this.state === TcpState.SynSent || this.state === TcpState.SynReceived) return ErrWouldBlock;
    if (!canQueueData(this.state)) return this.state === TcpState.Closed || this.state === TcpState.Listen ? ErrNotConnected : ErrClosedForSend;
    if (data.length === 0) return 0;
    const n = this.sendBuffer.append(data);
    if (n === 0) return ErrWouldBlock;
    output(this);
    return n;
  }

  /**
   * Reads up to `max` bytes. An empty array means end of stream (the peer's FIN, or a local
   * read shutdown); ErrWouldBlock means no data yet. A reset is reported once, then EOF.
   */
  read(max = Number.MAX_SAFE_INTEGER): Uint8Array | NetError {
    if (this.rcvBuffer.readable > 0 && !this.readShut) {
      const before = Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt));
      const data = this.rcvBuffer.read(max);
      this.maybeSendWindowUpdate(before);
      return data;
    }
    if (this.terminalError !== undefined) {
      const e = this.terminalError;
      if (e === ErrConnectionReset) this.terminalError = ErrClosed;
      return e === ErrClosed ? new Uint8Array(0) : e;
    }
    if (this.finReceived || this.readShut) return new Uint8Array(0);
    if (this.state === TcpState.Closed || this.state === TcpState.Listen) return ErrNotConnected;
    return ErrWouldBlock;
  }

  /**
   * Like `read` but leaves the bytes queued (MSG_PEEK): the data, or what `read` would report
   * instead (end of stream, an error, ErrWouldBlock) without consuming a pending reset.
   */
  peek(max = Number.MAX_SAFE_INTEGER): Uint8Array | NetError {
    if (this.rcvBuffer.readable > 0 && !this.readShut) return this.rcvBuffer.peek(max);
    if (this.terminalError !== undefined) return this.terminalError === ErrClosed ? new Uint8Array(0) : this.terminalError;
    if (this.finReceived || this.readShut) return new Uint8Array(0);
    if (this.state === TcpState.Closed || this.state === TcpState.Listen) return ErrNotConnected;
    return ErrWouldBlock;
  }

  /** Half-close (RFC 9293 §3.10.4 for write; read shutdown is local only). */
  shutdown(how: ShutdownHow): NetError | undefined {
    if (this.state === TcpState.Listen || this.state === TcpState.Closed) return ErrNotConnected;
    if (how.read === true) {
      this.readShut = true;
      this.waiter.notify(EVENT_IN);
    }
    if (how.write === true) {
      if (this.state === TcpState.SynSent) {
        this.finish(undefined);
        return undefined;
      }
      this.queueFin();
    }
    return undefined;
  }

  /**
   * Closes the endpoint (RFC 9293 §3.10.4). Unread received data aborts the connection
   * with a RST (RFC 2525 §2.17); otherwise a FIN follows the queued data and the connection
   * finishes in the background.
   */
  close(): void {
    if (this.orphaned) return;
    this.orphaned = true;
    switch (this.state) {
      case TcpState.Closed:
        this.finish(undefined);
        return;
      case TcpState.Listen:
        for (const c of [...this.synQueue, ...this.acceptQueue]) c.abort();
        this.synQueue.clear();
        this.acceptQueue.length = 0;
        this.finish(undefined);
        return;
      case TcpState.SynSent:
        this.finish(undefined);
        return;
      default:
        break;
    }
    if (this.rcvBuffer.readable > 0) {
      this.abort();
      return;
    }
    this.queueFin();
  }

  /** Aborts with a RST if synchronized (RFC 9293 §3.10.5). */
  abort(): void {
    if (isSynchronized(this.state) && this.state !== TcpState.TimeWait) emit(this, this.sndNxt, TCP_FLAG_RST | TCP_FLAG_ACK);
    this.orphaned = true;
    this.finish(undefined);
  }

  // --- Internal transitions -----------------------------------------------------------------

  /** @internal */
  queueFin(): void {
    if (this.finQueued) return;
    switch (this.state) {
      case TcpState.SynReceived:
      case TcpState.Established:
        this.state = TcpState.FinWait1;
        break;
      case TcpState.CloseWait:
        this.state = TcpState.LastAck;
        break;
      default:
        return;
    }
    this.finQueued = true;
    output(this);
  }

  /** @internal Entered ESTABLISHED: size congestion control to the negotiated MSS. */
  onEstablished(): void {
    const cfg = this.proto.stack.config.tcp;
    this.lastReceiveMs = this.proto.stack.clock.nowMs();
    this.armKeepalive();
    this.cc = cfg.congestionControl === "cubic" ? new Cubic(this.sndMss, cfg.initialCwndSegments) : new Reno(this.sndMss, cfg.initialCwndSegments);
    this.proto.stack.stats.tcp.established++;
    this.waiter.notify(EVENT_OUT);
  }

  /** @internal Enter TIME-WAIT (2*MSL, RFC 9293 §3.10.7.4). */
  enterTimeWait(): void {
    const proto = this.proto;
    if (proto.timeWaitCount >= proto.stack.config.tcp.maxTimeWait) {
      proto.stack.stats.tcp.timeWaitOverflows++;
      this.finish(undefined);
      return;
    }
    proto.timeWaitCount++;
    this.state = TcpState.TimeWait;
    this.rtoTimer.disarm();
    this.persistTimer.disarm();
    this.delackTimer.disarm();
    this.keepaliveTimer.disarm();
    this.reorderTimer.disarm();
    this.tlpTimer.disarm();
    this.closeTimer.arm(this.proto.stack.config.tcp.timeWaitMs);
    this.waiter.notify(EVENT_IN | EVENT_HUP);
  }

  /** @internal The connection failed (reset, timeout, refused). */
  fail(err: NetError): void {
    this.pendingError = err;
    this.terminalError = err;
    this.finish(err);
  }

  /** @internal Moves to CLOSED and releases timers, the demux entry and the port. */
  finish(err: NetError | undefined): void {
    const wasListener = this.state === TcpState.Listen;
    if (this.state === TcpState.TimeWait) this.proto.timeWaitCount--;
    this.state = TcpState.Closed;
    this.rtoTimer.disarm();
    this.persistTimer.disarm();
    this.delackTimer.disarm();
    this.closeTimer.disarm();
    this.keepaliveTimer.disarm();
    this.reorderTimer.disarm();
    this.tlpTimer.disarm();
    if (this.registered !== undefined) {
      this.proto.demux.unregister(IP_PROTOCOL_TCP, this.registered, this);
      this.registered = undefined;
    }
    if (this.reservation !== undefined && (this.orphaned || err !== undefined || !wasListener)) {
      this.proto.stack.ports.release(IP_PROTOCOL_TCP, this.reservation.address, this.reservation.port, this.family);
      this.reservation = undefined;
    }
    const l = this.listener;
    if (l !== undefined) {
      l.synQueue.delete(this);
      const i = l.acceptQueue.indexOf(this);
      if (i >= 0) l.acceptQueue.splice(i, 1);
      this.listener = undefined;
    }
    this.waiter.notify(EVENT_IN | EVENT_OUT | EVENT_HUP | (err !== undefined ? EVENT_ERR : 0));
  }

  private maybeSendWindowUpdate(before: number): void {
    if (!isSynchronized(this.state) || this.finReceived) return;
    const now = receiveWindow(this);
    // Announce a reopened window once the old one is at most half of the new one.
    if (now - before >= this.rcvMss && before <= now / 2) sendAck(this);
  }

  /** RTO expiry (RFC 6298 §5.4-5.6): back off, collapse cwnd, go back to SND.UNA. */
  private onRetransmitTimeout(): void {
    const stack = this.proto.stack;
    const cfg = stack.config.tcp;
    stack.stats.tcp.timeouts++;
    this.retries++;
    if (this.state === TcpState.SynSent || this.state === TcpState.SynReceived) {
      const limit = this.state === TcpState.SynSent ? cfg.synRetries : cfg.synAckRetries;
      if (this.retries > limit) {
        if (this.listener !== undefined) this.finish(undefined);
        else this.fail(this.softError ?? ErrTimedOut);
        return;
      }
      this.rtt.backoff();
      this.rttSample = undefined;
      stack.stats.tcp.retransmits++;
      sendSyn(this);
      return;
    }
    if (this.sndUna === this.sndMax) return;
    if (this.retries > cfg.maxRetries) {
      this.fail(this.softError ?? ErrTimedOut);
      return;
    }
    const flight = seqDiff(this.sndMax, this.sndUna);
    this.cc.onRetransmitTimeout(flight, stack.clock.nowMs());
    this.inRecovery = false;
    this.inflation = 0;
    this.dupAcks = 0;
    this.recover = this.sndMax;
    this.rtt.backoff();
    this.rttSample = undefined;
    this.rack.onRetransmitTimeout();
    this.rackLostBelow = undefined;
    this.tlpOutstanding = false;
    this.tlpTimer.disarm();
    this.reorderTimer.disarm();
    this.sndNxt = this.sndUna;
    output(this);
    if (!this.rtoTimer.armed) {
      // Nothing fit (e.g. a zero window): retransmit the first segment anyway.
      retransmitFirst(this);
    }
  }

  private onPersistTimeout(): void {
    if (!isSynchronized(this.state) || this.sndNxt !== this.sndUna) return;
    const flight = seqDiff(this.sndNxt, this.sndUna);
    const room = Math.min(this.sndWnd, this.cc.cwnd) - flight;
    if (room > 0) {
      // SWS override: the window is open but smaller than we like; send what fits.
      const sent = sendRange(this, this.sndNxt, Math.min(room, this.sndMss));
      this.sndNxt = seqAdd(this.sndNxt, sent);
      if (seqGT(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      this.persistBackoff = 0;
      return;
    }
    // An orphaned connection may not hold on forever against a closed window
    // (Linux's tcp_orphan_retries); a live one keeps probing while the peer answers.
    if (this.orphaned && this.persistBackoff >= this.proto.stack.config.tcp.maxRetries) {
      this.abort();
      return;
    }
    sendWindowProbe(this);
    this.persistBackoff = Math.min(this.persistBackoff + 1, 16);
    this.persistTimer.arm(persistInterval(this));
  }
}
