/**
 * UDP (RFC 768, RFC 1122 §4.1): datagram validation, demux to endpoints, and ICMP port
 * unreachable when nothing listens (RFC 1122 §4.1.3.1).
 */
import { IP_PROTOCOL_UDP } from "../../header/ipv4.js";
import { UdpView } from "../../header/udp.js";
import type { IcmpErrorReport } from "../../network/ipv4/icmp.js";
import type { PacketInfo } from "../../network/ipv4/ipv4.js";
import type { AddressFamily } from "../../address.js";
import { TransportDemuxer } from "../../stack/demux.js";
import type { Stack, TransportProtocol } from "../../stack/stack.js";
import { ErrConnectionRefused } from "../../errors.js";
import { UdpEndpoint } from "./endpoint.js";

export interface UdpConfig {
  /** Bytes of queued datagrams per endpoint before new ones are dropped. */
  receiveBufferSize: number;
}

export const DEFAULT_UDP_CONFIG: UdpConfig = { receiveBufferSize: 212_992 };

export class UdpProtocol implements TransportProtocol {
  readonly protocol = IP_PROTOCOL_UDP;
  readonly demux = new TransportDemuxer<UdpEndpoint>();

  constructor(readonly stack: Stack) {}

  newEndpoint(family: AddressFamily = "dual"): UdpEndpoint {
    return new UdpEndpoint(this, family);
  }

  handlePacket(info: PacketInfo, payload: Uint8Array): void {
    const stats = this.stack.stats.udp;
    stats.received++;
    const v = UdpView.parse(payload);
    if (v === undefined) {
      stats.malformed++;
      return;
    }
    if (!v.checksumValid(info.source, info.destination)) {
      stats.badChecksum++;
      return;
    }
    const ep = this.demux.lookup(this.protocol, info.destination, v.destinationPort, info.source, v.sourcePort);
    if (ep === undefined) {
      stats.noPort++;
      this.stack.sendPortUnreachable(info);
      return;
    }
    ep.deliver({ address: info.source, port: v.sourcePort }, info.destination, v.payload);
  }

  handleError(r: IcmpErrorReport): void {
    if (!r.portUnreachable) return;
    const h = r.transportHeader;
    const localPort = ((h[0] ?? 0) << 8) | (h[1] ?? 0);
    const remotePort = ((h[2] ?? 0) << 8) | (h[3] ?? 0);
    const ep = this.demux.lookup(this.protocol, r.source, localPort, r.destination, remotePort);
    // Like Linux without IP_RECVERR: only connected sockets learn of the error.
    if (ep?.remote !== undefined && ep.remote.address.equals(r.destination) && ep.remote.port === remotePort) ep.setError(ErrConnectionRefused);
  }
}
