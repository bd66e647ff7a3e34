/**
 * The Stack: NICs, addresses, routes, port reservations and the protocols, wired together.
 *
 * Model: single-threaded and event-driven. Work happens only when a link delivers a frame,
 * a clock callback fires, or the owner calls an endpoint method; none of these re-enter each
 * other (links and local delivery defer through the clock). The stack owns its NICs and the
 * endpoints it creates; the owner owns the links and the clock and must not share a link
 * between stacks.
 */
import type { AddressFamily, IPAddress } from "../address.js";
import type { Clock } from "../clock.js";
import {
  ErrBadAddress,
  ErrInvalidArgument,
  ErrDuplicateAddress,
  ErrDuplicateNicId,
  ErrNoRoute,
  ErrUnknownNicId,
  type NetError,
} from "../errors.js";
import type { LinkEndpoint } from "../link/endpoint.js";
import { DEFAULT_ARP_CONFIG, type ArpConfig } from "../network/arp/arp.js";
import type { IcmpErrorReport } from "../network/ipv4/icmp.js";
import { DEFAULT_IPV4_CONFIG, IPv4Protocol, type IPv4Config, type PacketInfo, type SendOptions } from "../network/ipv4/ipv4.js";
import { IPv6Protocol } from "../network/ipv6/ipv6.js";
import { Prng } from "../random.js";
import { DEFAULT_TCP_CONFIG, type TcpConfig } from "../transport/tcp/config.js";
import { TcpProtocol } from "../transport/tcp/protocol.js";
import type { TcpEndpoint } from "../transport/tcp/endpoint.js";
import { DEFAULT_UDP_CONFIG, UdpProtocol, type UdpConfig } from "../transport/udp/protocol.js";
import type { UdpEndpoint } from "../transport/udp/endpoint.js";
import { IcmpSockets, type IcmpEndpoint } from "../transport/icmp/endpoint.js";
import { Nic } from "./nic.js";
import { PortManager } from "./ports.js";
import { RouteTable, type RouteEntry } from "./route.js";
import { newStats, type StackStats } from "./stats.js";

export interface StackConfig {
  arp: ArpConfig;
  ipv4: IPv4Config;
  udp: UdpConfig;
  tcp: TcpConfig;
}

export interface StackOptions {
  clock: Clock;
  /** Seeds every random choice (ISNs, ephemeral ports). Production passes host entropy. */
  seed?: number;
  arp?: Partial<ArpConfig>;
  ipv4?: Partial<IPv4Config>;
  udp?: Partial<UdpConfig>;
  tcp?: Partial<TcpConfig>;
}

/** A resolved path to a destination. */
export interface Route {
  nic: Nic;
  localAddress: IPAddress;
  remoteAddress: IPAddress;
  nextHop: IPAddress;
  /** The destination is one of this stack's own addresses. */
  local: boolean;
  /** Largest IP datagram that goes out unfragmented. */
  mtu: number;
}

/** A transport protocol as the network layer sees it. */
export interface TransportProtocol {
  readonly protocol: number;
  handlePacket(info: PacketInfo, payload: Uint8Array): void;
  handleError(report: IcmpErrorReport): void;
}

export class Stack {
  readonly clock: Clock;
  readonly rng: Prng;
  readonly stats: StackStats = newStats();
  readonly config: StackConfig;
  readonly routes = new RouteTable();
  readonly ports: PortManager;
  readonly ipv4: IPv4Protocol;
  readonly ipv6: IPv6Protocol;
  readonly udp: UdpProtocol;
  readonly tcp: TcpProtocol;
  readonly icmpSockets: IcmpSockets;
  private readonly nics = new Map<number, Nic>();
  private readonly transports = new Map<number, TransportProtocol>();
  /**
   * Where packets to the stack's own addresses go (see setLocalDelivery); without one they are
   * handed straight back to the network layer through the clock.
   */
  localDelivery: Nic | undefined;

  constructor(opts: StackOptions) {
    this.clock = opts.clock;
    this.rng = new Prng(opts.seed ?? 1);
    this.config = {
      arp: { ...DEFAULT_ARP_CONFIG, ...opts.arp },
      ipv4: { ...DEFAULT_IPV4_CONFIG, ...opts.ipv4 },
      udp: { ...DEFAULT_UDP_CONFIG, ...opts.udp },
      tcp: { ...DEFAULT_TCP_CONFIG, ...opts.tcp },
    };
    this.ports = new PortManager(this.rng);
    this.ipv4 = new IPv4Protocol(this);
    this.ipv6 = new IPv6Protocol(this);
    this.udp = new UdpProtocol(this);
    this.tcp = new TcpProtocol(this);
    this.icmpSockets = new IcmpSockets(this);
    this.transports.set(this.udp.protocol, this.udp);
    this.transports.set(this.tcp.protocol, this.tcp);
  }

  /** Creates a NIC over `link` and attaches to it. */
  createNic(id: number, link: LinkEndpoint): NetError | undefined {
    if (this.nics.has(id)) return ErrDuplicateNicId;
    this.nics.set(id, new Nic(id, link, this));
    return undefined;
  }

  nic(id: number): Nic | undefined {
    return this.nics.get(id);
  }

  /**
   * Sends packets addressed to this stack itself out through NIC `id`'s link (a loopback link),
   * as Linux sends them through lo: they show on that NIC's counters and sniffer. The link must
   * deliver what it is given back to the same NIC, deferred (LoopbackEndpoint does), and
   * nothing else: TCP leaves checksums on that path partial and does not verify them there.
   */
  setLocalDelivery(id: number): NetError | undefined {
    const nic = this.nics.get(id);
    if (nic === undefined) return ErrUnknownNicId;
    if (nic.link.headerKind !== "none") return ErrInvalidArgument;
    if (this.localDelivery !== undefined) this.localDelivery.trustedLoopback = false;
    nic.trustedLoopback = true;
    this.localDelivery = nic;
    return undefined;
  }

  /** Assigns `address`/`prefixLen` to a NIC and adds the on-link subnet route. */
  addAddress(nicId: number, address: IPAddress, prefixLen: number): NetError | undefined {
    const nic = this.nics.get(nicId);
    if (nic === undefined) return ErrUnknownNicId;
    const maxPrefix = address.version === 4 ? 32 : 128;
    if (prefixLen < 0 || prefixLen > maxPrefix || address.isUnspecified() || address.isMulticast() || address.isV4Broadcast()) return ErrBadAddress;
    if (this.nicOwning(address) !== undefined) return ErrDuplicateAddress;
    nic.addresses.push({ address, prefixLen });
    this.routes.add({ destination: address, prefixLen, nicId });
    return undefined;
  }

  removeAddress(nicId: number, address: IPAddress): NetError | undefined {
    const nic = this.nics.get(nicId);
    if (nic === undefined) return ErrUnknownNicId;
    const i = nic.addresses.findIndex((a) => a.address.equals(address));
    if (i < 0) return ErrBadAddress;
    const [a] = nic.addresses.splice(i, 1);
    if (a !== undefined) this.routes.remove((e) => e.nicId === nicId && e.prefixLen === a.prefixLen && e.gateway === undefined && e.destination.equals(a.address));
    return undefined;
  }

  addRoute(entry: RouteEntry): NetError | undefined {
    if (!this.nics.has(entry.nicId)) return ErrUnknownNicId;
    this.routes.add(entry);
    return undefined;
  }

  /** The NIC that has `address` assigned, if any. */
  nicOwning(address: IPAddress): Nic | undefined {
    for (const nic of this.nics.values()) if (nic.hasAddress(address)) return nic;
    return undefined;
  }

  /**
   * Finds how to reach `remote`. With `localAddress`, the source is fixed (it must be one of
   * ours); otherwise the outgoing NIC's address on the destination's subnet (or its first).
   */
  findRoute(remote: IPAddress, opts: { localAddress?: IPAddress | undefined; nicId?: number } = {}): Route | NetError {
    const fixedLocal = opts.localAddress !== undefined && !opts.localAddress.isUnspecified() ? opts.localAddress : undefined;
    if (fixedLocal !== undefined && (this.nicOwning(fixedLocal) === undefined || fixedLocal.version !== remote.version)) return ErrBadAddress;
    const localNic = this.nicOwning(remote);
    if (localNic !== undefined) {
      return { nic: localNic, localAddress: fixedLocal ?? remote, remoteAddress: remote, nextHop: remote, local: true, mtu: remote.version === 4 ? 65535 : 65575 };
    }
    const entry = this.routes.lookup(remote, opts.nicId);
    if (entry === undefined) {
      this.stats.ip.noRoute++;
      return ErrNoRoute;
    }
    const nic = this.nics.get(entry.nicId);
    if (nic === undefined) return ErrNoRoute;
    // The rest of 127/8 on a loopback NIC is answered by that NIC (source = the destination).
    const loopbackNet = remote.isLoopback() && nic.addresses.some((a) => a.address.isLoopback() && remote.inSubnet(a.address, a.prefixLen));
    const localAddress = fixedLocal ?? (loopbackNet ? remote : nic.sourceFor(entry.gateway ?? remote));
    if (localAddress === undefined) return ErrNoRoute;
    return { nic, localAddress, remoteAddress: remote, nextHop: entry.gateway ?? remote, local: false, mtu: nic.mtu };
  }

  /** Sends a transport payload along `route` with the route's IP version. */
  sendIp(route: Route, protocol: number, payload: Uint8Array, opts: SendOptions = {}): NetError | undefined {
    return route.remoteAddress.version === 4 ? this.ipv4.send(route, protocol, payload, opts) : this.ipv6.send(route, protocol, payload, opts);
  }

  /** ICMP(v6) port unreachable about a received datagram (RFC 1122 §4.1.3.1, RFC 4443 §3.1). */
  sendPortUnreachable(info: PacketInfo): void {
    if (info.source.version === 4) this.ipv4.icmp.sendPortUnreachable(info);
    else this.ipv6.icmp.sendPortUnreachable(info);
  }

  /** Hands a datagram's payload to its transport; false if the protocol is unknown. */
  deliverTransport(info: PacketInfo, payload: Uint8Array): boolean {
    const t = this.transports.get(info.protocol);
    if (t === undefined) return false;
    t.handlePacket(info, payload);
    return true;
  }

  deliverTransportError(report: IcmpErrorReport): void {
    this.transports.get(report.protocol)?.handleError(report);
  }

  /** A UDP endpoint; `family` defaults to dual-stack. */
  newUdpEndpoint(family: AddressFamily = "dual"): UdpEndpoint {
    return this.udp.newEndpoint(family);
  }

  /** A TCP endpoint; `family` defaults to dual-stack. */
  newTcpEndpoint(family: AddressFamily = "dual"): TcpEndpoint {
    return this.tcp.newEndpoint(family);
  }

  /** An ICMP (version 4) or ICMPv6 (version 6) echo socket. */
  newIcmpEndpoint(version: 4 | 6): IcmpEndpoint {
    return this.icmpSockets.newEndpoint(version);
  }
}
