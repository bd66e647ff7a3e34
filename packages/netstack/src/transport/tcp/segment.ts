/** An inbound TCP segment after header and option validation (RFC 9293 §3.10.7 terms). */
import { TCP_FLAG_FIN, TCP_FLAG_SYN, type TcpOptions, type TcpView } from "../../header/tcp.js";
import type { IPAddress } from "../../address.js";
import { seq, type Seq } from "../../seqnum/seqnum.js";

export interface Segment {
  seq: Seq;
  ack: Seq;
  flags: number;
  /** The raw 16-bit window field (unscaled). */
  window: number;
  payload: Uint8Array;
  options: TcpOptions;
  /** SEG.LEN: payload bytes plus one each for SYN and FIN. */
  len: number;
  /** Addressing of the datagram that carried it. */
  source: IPAddress;
  destination: IPAddress;
  sourcePort: number;
  destinationPort: number;
}

export function segmentFromView(v: TcpView, options: TcpOptions, source: IPAddress, destination: IPAddress): Segment {
  const payload = v.payload;
  const flags = v.flags;
  const len = payload.length + (flags & TCP_FLAG_SYN ? 1 : 0) + (flags & TCP_FLAG_FIN ? 1 : 0);
  return {
    seq: seq(v.seq),
    ack: seq(v.ack),
    flags,
    window: v.window,
    payload,
    options,
    len,
    source,
    destination,
    sourcePort: v.sourcePort,
    destinationPort: v.destinationPort,
  };
}

export function hasFlag(s: Segment, flag: number): boolean {
  return (s.flags & flag) !== 0;
}
