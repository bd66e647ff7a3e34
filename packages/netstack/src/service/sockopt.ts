/**
 * getsockopt(2)/setsockopt(2) for the common options, values in Linux's byte layout (int
 * options: 4 little-endian bytes; SO_LINGER: struct linger). Unknown options are ENOPROTOOPT.
 * A value shorter than an int is EINVAL, as Linux; longer values use their first 4 bytes.
 *
 * Options Linux applies but the stack has no behaviour for (SO_REUSEADDR, SO_REUSEPORT,
 * SO_BROADCAST) are recorded and read back, and listed as not implemented in the README.
 * SO_LINGER is recorded; the endpoint acts on a zero linger time (an abortive close). SO_RCVTIMEO/SO_SNDTIMEO, SO_RCVLOWAT and blocking are the sentry's and never come here.
 */
import {
  AF_INET6,
  EINVAL,
  ENOPROTOOPT,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IP_TOS,
  IP_TTL,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_BROADCAST,
  SO_DOMAIN,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_TYPE,
  TCP_CONGESTION,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_MAXSEG,
  TCP_NODELAY,
  type LinuxError,
} from "@runsc-ts/abi";
import { TcpState } from "../transport/tcp/state.js";
import type { EndpointImpl } from "./endpoint.js";
import { errnoOf } from "./errno.js";

function int(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function readInt(value: Uint8Array): number | undefined {
  if (value.length < 4) return undefined;
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getInt32(0, true);
}

/** The option's current value, or an errno. */
export function getSockOpt(e: EndpointImpl, level: number, name: number): Uint8Array | LinuxError {
  const s = e.socket;
  if (level === SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: {
        const err = s.kind === "icmp" ? undefined : s.ep.takeError();
        return int(err === undefined ? 0 : errnoOf(err));
      }
      case SO_TYPE:
        return int(e.type);
      case SO_DOMAIN:
        return int(e.domain.family);
      case SO_PROTOCOL:
        return int(e.protocol);
      case SO_ACCEPTCONN:
        return int(s.kind === "tcp" && s.ep.currentState === TcpState.Listen ? 1 : 0);
      case SO_SNDBUF:
        return int(s.kind === "tcp" ? s.ep.sendBufferSize : 212992);
      case SO_RCVBUF:
        return int(s.kind === "tcp" ? s.ep.receiveBufferSize : 212992);
      case SO_KEEPALIVE:
        return int(s.kind === "tcp" && s.ep.keepalive ? 1 : 0);
      case SO_REUSEADDR:
        return int(e.recorded.reuseAddr ? 1 : 0);
      case SO_REUSEPORT:
        return int(e.recorded.reusePort ? 1 : 0);
      case SO_BROADCAST:
        return int(e.recorded.broadcast ? 1 : 0);
      case SO_LINGER:
        return e.recorded.linger.slice();
      default:
        return ENOPROTOOPT;
    }
  }
  if (level === IPPROTO_TCP) {
    if (s.kind !== "tcp") return ENOPROTOOPT;
    switch (name) {
      case TCP_NODELAY:
        return int(s.ep.noDelay ? 1 : 0);
      case TCP_MAXSEG:
        return int(s.ep.sndMss);
      case TCP_KEEPIDLE:
        return int(Math.round(s.ep.keepaliveIdleMs / 1000));
      case TCP_KEEPINTVL:
        return int(Math.round(s.ep.keepaliveIntervalMs / 1000));
      case TCP_KEEPCNT:
        return int(s.ep.keepaliveProbes);
      case TCP_CONGESTION: {
        // char[TCP_CA_NAME_MAX = 16], NUL-padded.
        const out = new Uint8Array(16);
        out.set(new TextEncoder().encode(s.ep.proto.stack.config.tcp.congestionControl));
        return out;
      }
      default:
        return ENOPROTOOPT;
    }
  }
  if (level === IPPROTO_IP) {
    if (s.kind === "icmp" ? s.ep.version !== 4 : e.domain.family === AF_INET6 && e.domain.v6only) return ENOPROTOOPT;
    const o = s.kind === "icmp" ? {} : s.ep.ipOptions;
    switch (name) {
      case IP_TTL:
        return int(o.ttl ?? 64);
      case IP_TOS:
        return int(o.tos ?? 0);
      default:
        return ENOPROTOOPT;
    }
  }
  if (level === IPPROTO_IPV6) {
    if (e.domain.family !== AF_INET6) return ENOPROTOOPT;
    const o = s.kind === "icmp" ? {} : s.ep.ipOptions;
    switch (name) {
      case IPV6_V6ONLY:
        return int(e.domain.v6only ? 1 : 0);
      case IPV6_UNICAST_HOPS:
        return int(o.ttl ?? 64);
      case IPV6_TCLASS:
        return int(o.tos ?? 0);
      default:
        return ENOPROTOOPT;
    }
  }
  return ENOPROTOOPT;
}

/** Sets the option, or returns an errno. */
export function setSockOpt(e: EndpointImpl, level: number, name: number, value: Uint8Array): LinuxError | undefined {
  const s = e.socket;
  if (level === SOL_SOCKET && name === SO_LINGER) {
    if (value.length < 8) return EINVAL;
    e.recorded.linger = value.slice(0, 8);
    return undefined;
  }
  const v = readInt(value);
  if (v === undefined) return EINVAL;
  if (level === SOL_SOCKET) {
    switch (name) {
      case SO_SNDBUF:
      case SO_RCVBUF: {
        if (s.kind !== "tcp") return undefined; // datagram buffers are the stack's fixed bounds
        // Linux doubles the request (bookkeeping overhead) and reports the doubled value.
        const size = Math.max(0, v) * 2;
        const r = s.ep.setBufferSizes(name === SO_SNDBUF ? { send: size } : { receive: size });
        // After the handshake the window scale is fixed; Linux accepts and ignores. So do we.
        return r === undefined || s.ep.currentState !== TcpState.Closed ? undefined : EINVAL;
      }
      case SO_KEEPALIVE:
        if (s.kind === "tcp") s.ep.setKeepalive(v !== 0);
        return undefined;
      case SO_REUSEADDR:
        e.recorded.reuseAddr = v !== 0;
        return undefined;
      case SO_REUSEPORT:
        e.recorded.reusePort = v !== 0;
        return undefined;
      case SO_BROADCAST:
        e.recorded.broadcast = v !== 0;
        return undefined;
      default:
        return ENOPROTOOPT;
    }
  }
  if (level === IPPROTO_TCP) {
    if (s.kind !== "tcp") return ENOPROTOOPT;
    switch (name) {
      case TCP_NODELAY:
        s.ep.noDelay = v !== 0;
        return undefined;
      case TCP_KEEPIDLE:
      case TCP_KEEPINTVL:
        // Linux: 1 .. MAX_TCP_KEEPIDLE/MAX_TCP_KEEPINTVL (32767 s).
        if (v < 1 || v > 32767) return EINVAL;
        if (name === TCP_KEEPIDLE) s.ep.keepaliveIdleMs = v * 1000;
        else s.ep.keepaliveIntervalMs = v * 1000;
        if (s.ep.keepalive) s.ep.armKeepalive();
        return undefined;
      case TCP_KEEPCNT:
        if (v < 1 || v > 127) return EINVAL;
        s.ep.keepaliveProbes = v;
        return undefined;
      default:
        return ENOPROTOOPT;
    }
  }
  if (level === IPPROTO_IP || level === IPPROTO_IPV6) {
    if (level === IPPROTO_IPV6 && name === IPV6_V6ONLY) return e.setV6Only(v !== 0);
    if (s.kind === "icmp") return ENOPROTOOPT;
    const ttlName = level === IPPROTO_IP ? IP_TTL : IPV6_UNICAST_HOPS;
    const tosName = level === IPPROTO_IP ? IP_TOS : IPV6_TCLASS;
    if (level === IPPROTO_IPV6 && e.domain.family !== AF_INET6) return ENOPROTOOPT;
    if (name === ttlName) {
      // -1 restores the default; otherwise 1..255.
      if (v === -1) {
        delete s.ep.ipOptions.ttl;
        return undefined;
      }
      if (v < 1 || v > 255) return EINVAL;
      s.ep.ipOptions.ttl = v;
      return undefined;
    }
    if (name === tosName) {
      s.ep.ipOptions.tos = v & 0xff;
      return undefined;
    }
    return ENOPROTOOPT;
  }
  return ENOPROTOOPT;
}
