/**
 * TCP as a transport protocol of the stack: validation of inbound segments (header,
 * checksum, options), demux to endpoints, RST replies for segments that match no endpoint
 * (RFC 9293 §3.10.7.1), the passive-open path of listeners (SYN queue and accept queue, both
 * bounded), ISN generation, and the global challenge-ACK budget (RFC 5961 §7).
 */
import { IP_PROTOCOL_TCP } from "../../header/ipv4.js";
import { buildTcp, encodeTcpOptions, parseTcpOptions, TcpView, TCP_FLAG_ACK, TCP_FLAG_RST, TCP_FLAG_SYN } from "../../header/tcp.js";
import type { IcmpErrorKind, IcmpErrorReport } from "../../network/ipv4/icmp.js";
import type { PacketInfo } from "../../network/ipv4/ipv4.js";
import { ErrConnectionRefused, ErrHostUnreachable, ErrNoRoute, isNetError, type NetError } from "../../errors.js";
import type { AddressFamily, IPAddress } from "../../address.js";
import { seq, seqAdd, seqGE, seqLT, type Seq } from "../../seqnum/seqnum.js";
import { TransportDemuxer } from "../../stack/demux.js";
import type { Route, Stack, TransportProtocol } from "../../stack/stack.js";
import { EVENT_IN } from "../../waiter.js";
import { TcpEndpoint } from "./endpoint.js";
import { segmentArrives } from "./input.js";
import { applyPeerSyn } from "./options.js";
import { sendSyn, tcpOverhead } from "./output.js";
import { IsnGenerator } from "./isn.js";
import { SynCookies, type CookieInput } from "./syn-cookies.js";
import { TCP_MIN_MSS } from "./config.js";
import { hasFlag, segmentFromView, type Segment } from "./segment.js";
import { TcpState } from "./state.js";

export class TcpProtocol implements TransportProtocol {
  readonly protocol = IP_PROTOCOL_TCP;
  readonly demux = new TransportDemuxer<TcpEndpoint>();
  /** Connections currently in TIME-WAIT (bounded by `maxTimeWait`). */
  timeWaitCount = 0;
  private readonly isnGen: IsnGenerator;
  private readonly cookies: SynCookies;
  private challengeTokens: number;
  private lastRefill: number;

  constructor(readonly stack: Stack) {
    const r = stack.rng;
    this.isnGen = new IsnGenerator([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]);
    this.cookies = new SynCookies([r.nextU32(), r.nextU32()]);
    this.challengeTokens = stack.config.tcp.challengeAcksPerSecond;
    this.lastRefill = stack.clock.nowMs();
  }

  newEndpoint(family: AddressFamily = "dual"): TcpEndpoint {
    return new TcpEndpoint(this, family);
  }

  isn(local: IPAddress, localPort: number, remote: IPAddress, remotePort: number): Seq {
    return this.isnGen.generate(this.stack.clock.nowMs(), local, localPort, remote, remotePort);
  }

  handlePacket(info: PacketInfo, payload: Uint8Array): void {
    const stats = this.stack.stats.tcp;
    stats.received++;
    const v = TcpView.parse(payload);
    if (v === undefined || info.broadcast || v.sourcePort === 0 || v.destinationPort === 0) {
      stats.malformed++;
      return;
    }
    if (!info.nic.trustedLoopback && !v.checksumValid(info.source, info.destination)) {
      stats.badChecksum++;
      return;
    }
    const options = parseTcpOptions(v.rawOptions);
    if (options === undefined) {
      stats.badOptions++;
      return;
    }
    const seg = segmentFromView(v, options, info.source, info.destination);
    const ep = this.demux.lookup(this.protocol, info.destination, v.destinationPort, info.source, v.sourcePort);
    if (ep === undefined) {
      stats.noPort++;
      this.replyReset(undefined, seg);
      return;
    }
    segmentArrives(ep, seg);
  }

  /** Delivers a segment again after its endpoint went away (TIME-WAIT reuse). */
  redispatch(seg: Segment): void {
    const ep = this.demux.lookup(this.protocol, seg.destination, seg.destinationPort, seg.source, seg.sourcePort);
    if (ep === undefined) {
      this.stack.stats.tcp.noPort++;
      this.replyReset(undefined, seg);
      return;
    }
    segmentArrives(ep, seg);
  }

  /**
   * ICMP errors for TCP (RFC 5461, RFC 5927, as Linux does): the quoted sequence number
   * must lie in [SND.UNA, SND.MAX) or the report is ignored (blind-attack defence).
   * Unreachables abort a connection still in SYN-SENT/SYN-RECEIVED and are otherwise soft
   * errors (reported if the connection later times out). Packet Too Big lowers the MSS
   * (RFC 1191, RFC 8201) and resends at the new size.
   */
  handleError(r: IcmpErrorReport): void {
    const h = r.transportHeader;
    const localPort = ((h[0] ?? 0) << 8) | (h[1] ?? 0);
    const remotePort = ((h[2] ?? 0) << 8) | (h[3] ?? 0);
    const ep = this.demux.lookup(this.protocol, r.source, localPort, r.destination, remotePort);
    if (ep === undefined || ep.remoteAddress === undefined || !ep.remoteAddress.equals(r.destination) || ep.remotePort !== remotePort) return;
    const quotedSeq = seq((((h[4] ?? 0) << 24) | ((h[5] ?? 0) << 16) | ((h[6] ?? 0) << 8) | (h[7] ?? 0)) >>> 0);
    if (!(seqGE(quotedSeq, ep.sndUna) && seqLT(quotedSeq, ep.sndMax))) {
      this.stack.stats.tcp.icmpIgnored++;
      return;
    }
    const stats = this.stack.stats.tcp;
    if (r.kind === "packet-too-big") {
      stats.pmtuUpdates++;
      ep.onPathMtu(r.mtu);
      return;
    }
    const err = icmpError(r.kind);
    if (err === undefined) return;
    if (ep.currentState === TcpState.SynSent || (ep.currentState === TcpState.SynReceived && ep.listener === undefined)) {
      stats.icmpAborts++;
      ep.fail(err);
      return;
    }
    ep.softError = err;
  }

  /**
   * Answers a segment that has no connection (RFC 9293 §3.10.7.1): never a RST for a RST;
   * <SEQ=SEG.ACK><CTL=RST> if it carried an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
   */
  replyReset(_ep: TcpEndpoint | undefined, seg: Segment): void {
    if (hasFlag(seg, TCP_FLAG_RST)) return;
    const route = this.stack.findRoute(seg.source, { localAddress: seg.destination });
    if (isNetError(route)) return;
    const withAck = !hasFlag(seg, TCP_FLAG_ACK);
    const bytes = buildTcp(
      {
        sourcePort: seg.destinationPort,
        destinationPort: seg.sourcePort,
        seq: withAck ? 0 : seg.ack,
        ack: withAck ? seqAdd(seg.seq, seg.len) : 0,
        flags: TCP_FLAG_RST | (withAck ? TCP_FLAG_ACK : 0),
        window: 0,
      },
      new Uint8Array(0),
      route.localAddress,
      route.remoteAddress,
    );
    this.stack.stats.tcp.sent++;
    this.stack.stats.tcp.resetsSent++;
    this.stack.sendIp(route, IP_PROTOCOL_TCP, bytes);
  }

  /**
   * A SYN reached a listener: create a SYN-RECEIVED child if the queues have room, or
   * answer with a SYN cookie when only the SYN queue is full.
   */
  acceptSyn(listener: TcpEndpoint, seg: Segment): void {
    const stats = this.stack.stats.tcp;
    const cfg = this.stack.config.tcp;
    stats.synsReceived++;
    if (listener.acceptQueue.length >= listener.backlog) {
      stats.listenOverflows++;
      return;
    }
    const route = this.stack.findRoute(seg.source, { localAddress: seg.destination });
    if (isNetError(route)) return;
    if (listener.synQueue.size >= cfg.synBacklog) {
      if (cfg.synCookies) this.sendCookie(listener, seg, route);
      else stats.listenOverflows++;
      return;
    }
    const child = this.newChild(listener, seg, route, this.isn(seg.destination, seg.destinationPort, seg.source, seg.sourcePort), seg.seq);
    if (child === undefined) return;
    applyPeerSyn(child, seg);
    child.state = TcpState.SynReceived;
    child.rttSample = { end: child.sndNxt, at: this.stack.clock.nowMs() };
    listener.synQueue.add(child);
    stats.passiveOpens++;
    sendSyn(child);
  }

  /**
   * An ACK reached a listener: if it echoes a valid SYN cookie, the connection is rebuilt
   * and established. Returns false if it is not a valid cookie (the caller resets).
   */
  acceptCookie(listener: TcpEndpoint, seg: Segment): boolean {
    if (!this.stack.config.tcp.synCookies || hasFlag(seg, TCP_FLAG_SYN) || hasFlag(seg, TCP_FLAG_RST)) return false;
    const stats = this.stack.stats.tcp;
    const input = this.cookieInput(seg, seqAdd(seg.seq, -1));
    const mss = this.cookies.check(this.stack.clock.nowMs(), input, seqAdd(seg.ack, -1));
    if (mss === undefined) return false;
    if (listener.acceptQueue.length >= listener.backlog) {
      stats.listenOverflows++;
      return true; // valid, but no room: drop quietly as for a full accept queue
    }
    const route = this.stack.findRoute(seg.source, { localAddress: seg.destination });
    if (isNetError(route)) return true;
    const child = this.newChild(listener, seg, route, seqAdd(seg.ack, -1), seqAdd(seg.seq, -1));
    if (child === undefined) return true;
    child.sndMss = Math.max(TCP_MIN_MSS, Math.min(mss, child.rcvMss));
    child.sndUna = seg.ack;
    child.sndBufSeq = seg.ack;
    child.rcvAdv = seqAdd(child.rcvNxt, Math.min(child.rcvBuffer.capacity, 0xffff));
    child.state = TcpState.Established;
    listener.acceptQueue.push(child);
    stats.synCookiesAccepted++;
    stats.passiveOpens++;
    child.onEstablished();
    listener.waiter.notify(EVENT_IN);
    segmentArrives(child, seg);
    return true;
  }

  private sendCookie(listener: TcpEndpoint, seg: Segment, route: Route): void {
    const rcvMss = Math.max(route.mtu - tcpOverhead(seg.source.version), 1);
    const { iss } = this.cookies.make(this.stack.clock.nowMs(), this.cookieInput(seg, seg.seq), seg.options.mss ?? this.stack.config.tcp.defaultMss);
    const bytes = buildTcp(
      {
        sourcePort: seg.destinationPort,
        destinationPort: seg.sourcePort,
        seq: iss,
        ack: seqAdd(seg.seq, 1),
        flags: TCP_FLAG_SYN | TCP_FLAG_ACK,
        window: Math.min(listener.receiveBufferSize, 0xffff),
        options: encodeTcpOptions({ mss: rcvMss }),
      },
      new Uint8Array(0),
      route.localAddress,
      route.remoteAddress,
    );
    this.stack.stats.tcp.synCookiesSent++;
    this.stack.stats.tcp.sent++;
    this.stack.sendIp(route, IP_PROTOCOL_TCP, bytes);
  }

  private cookieInput(seg: Segment, clientIsn: Seq): CookieInput {
    return { local: seg.destination, localPort: seg.destinationPort, remote: seg.source, remotePort: seg.sourcePort, clientIsn };
  }

  /** A child endpoint for `listener`, registered under the segment's 4-tuple. */
  private newChild(listener: TcpEndpoint, seg: Segment, route: Route, iss: Seq, irs: Seq): TcpEndpoint | undefined {
    const child = new TcpEndpoint(this, listener.family);
    child.setBufferSizes({ send: listener.sendBufferSize, receive: listener.receiveBufferSize });
    const id = { localAddress: seg.destination, localPort: seg.destinationPort, remoteAddress: seg.source, remotePort: seg.sourcePort };
    if (this.demux.register(this.protocol, id, child) !== undefined) return undefined;
    child.registered = id;
    child.listener = listener;
    child.route = route;
    child.localAddress = seg.destination;
    child.localPort = seg.destinationPort;
    child.remoteAddress = seg.source;
    child.remotePort = seg.sourcePort;
    child.noDelay = listener.noDelay;
    child.ipOptions = { ...listener.ipOptions };
    if (listener.keepalive) {
      child.keepaliveIdleMs = listener.keepaliveIdleMs;
      child.keepaliveIntervalMs = listener.keepaliveIntervalMs;
      child.keepaliveProbes = listener.keepaliveProbes;
      child.setKeepalive(true);
    }
    child.rcvMss = Math.max(route.mtu - tcpOverhead(seg.source.version), 1);
    child.iss = iss;
    child.sndUna = iss;
    child.sndNxt = seqAdd(iss, 1);
    child.sndMax = child.sndNxt;
    child.sndBufSeq = child.sndNxt;
    child.lastSmallEnd = child.sndNxt;
    child.irs = irs;
    child.rcvNxt = seqAdd(irs, 1);
    child.rcvAdv = child.rcvNxt;
    child.sndWnd = seg.window;
    child.maxSndWnd = seg.window;
    child.sndWl1 = seg.seq;
    child.sndWl2 = iss;
    return child;
  }

  /** A passive child completed its handshake; false if the accept queue is full. */
  childEstablished(child: TcpEndpoint): boolean {
    const l = child.listener;
    if (l === undefined) return true;
    if (l.acceptQueue.length >= l.backlog) {
      this.stack.stats.tcp.listenOverflows++;
      return false;
    }
    l.synQueue.delete(child);
    l.acceptQueue.push(child);
    l.waiter.notify(EVENT_IN);
    return true;
  }

  /** Takes one token from the global challenge-ACK budget (RFC 5961 §7). */
  allowChallengeAck(): boolean {
    const now = this.stack.clock.nowMs();
    const rate = this.stack.config.tcp.challengeAcksPerSecond;
    this.challengeTokens = Math.min(rate, this.challengeTokens + ((now - this.lastRefill) * rate) / 1000);
    this.lastRefill = now;
    if (this.challengeTokens < 1) return false;
    this.challengeTokens -= 1;
    return true;
  }
}

/** The error an unreachable means for a connection (Linux's icmp_err_convert, roughly). */
function icmpError(kind: IcmpErrorKind): NetError | undefined {
  switch (kind) {
    case "net-unreachable":
      return ErrNoRoute;
    case "host-unreachable":
    case "admin-prohibited":
    case "time-exceeded":
      return ErrHostUnreachable;
    case "protocol-unreachable":
    case "port-unreachable":
      return ErrConnectionRefused;
    default:
      return undefined;
  }
}
