/**
 * netstack.capnp's `Stack`: the bootstrap capability of one netstack connection. It makes
 * sockets (`EndpointImpl`) and describes the interfaces, addresses and routes. It tracks every
 * endpoint it gave out and closes them all when the connection ends.
 */
import {
  AF_INET,
  AF_INET6,
  ARPHRD_ETHER,
  ARPHRD_LOOPBACK,
  EAFNOSUPPORT,
  ENFILE,
  EPERM,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
  IFA_F_PERMANENT,
  IFF_BROADCAST,
  IFF_LOOPBACK,
  IFF_MULTICAST,
  IFF_RUNNING,
  IFF_UP,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  RT_SCOPE_HOST,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
} from "@runsc-ts/abi";
import { netstack } from "@runsc-ts/proto";
import type { IPAddress } from "../address.js";
import type { Stack } from "../stack/stack.js";
import { EndpointImpl, type EndpointOwner, type Socket } from "./endpoint.js";

type P<M extends keyof netstack.Stack$Server$Target> = Parameters<netstack.Stack$Server$Target[M]>[0];
type R<M extends keyof netstack.Stack$Server$Target> = Parameters<netstack.Stack$Server$Target[M]>[1];

/** Counters of one interface, read when the sentry asks. */
export interface InterfaceCounters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
  txDropped: number;
}

/** What the server reports about one of the stack's NICs. */
export interface InterfaceInfo {
  nicId: number;
  name: string;
  loopback: boolean;
  mtu: number;
  hwAddr: Uint8Array;
  counters(): InterfaceCounters;
}

export interface NetstackServerOptions {
  stack: Stack;
  interfaces: readonly InterfaceInfo[];
  /** Most sockets open at once on this connection (ENFILE beyond); default 65536. */
  maxEndpoints?: number;
  /** Where failures of the sentry's side (a notify that failed) are reported. */
  onNotifyFailed?: (err: unknown) => void;
}

export class NetstackServer implements netstack.Stack$Server$Target, EndpointOwner {
  readonly stack: Stack;
  private readonly interfaceList: readonly InterfaceInfo[];
  private readonly endpoints = new Set<EndpointImpl>();
  private readonly onNotifyFailed: (err: unknown) => void;
  private readonly maxEndpoints: number;

  constructor(opts: NetstackServerOptions) {
    this.stack = opts.stack;
    this.maxEndpoints = opts.maxEndpoints ?? 65536;
    this.interfaceList = [...opts.interfaces].sort((a, b) => a.nicId - b.nicId);
    this.onNotifyFailed = opts.onNotifyFailed ?? (() => {});
  }

  /** The bootstrap capability for an RpcConnection. */
  bootstrap(): netstack.Stack$Server {
    return new netstack.Stack$Server(this);
  }

  /** Endpoints given out and not yet closed. */
  get endpointCount(): number {
    return this.endpoints.size;
  }

  adopt(ep: EndpointImpl): void {
    this.endpoints.add(ep);
  }

  forget(ep: EndpointImpl): void {
    this.endpoints.delete(ep);
  }

  notifyFailed(err: unknown): void {
    this.onNotifyFailed(err);
  }

  /** Closes every endpoint (the connection is gone). */
  close(): void {
    for (const ep of [...this.endpoints]) ep.close();
  }

  /** Whether another endpoint may be made (a hostile sentry must not exhaust our memory). */
  roomForEndpoint(): boolean {
    return this.endpoints.size < this.maxEndpoints;
  }

  async socket(p: P<"socket">, r: R<"socket">): Promise<void> {
    const { family, type, protocol } = p;
    if (!this.roomForEndpoint()) return void (r.errno = ENFILE.errno);
    if (family !== AF_INET && family !== AF_INET6) return void (r.errno = EAFNOSUPPORT.errno);
    const v6 = family === AF_INET6;
    let socket: Socket;
    let proto: number;
    if (type === SOCK_STREAM) {
      if (protocol !== 0 && protocol !== IPPROTO_TCP) return void (r.errno = EPROTONOSUPPORT.errno);
      socket = { kind: "tcp", ep: this.stack.newTcpEndpoint(v6 ? "dual" : "ipv4") };
      proto = IPPROTO_TCP;
    } else if (type === SOCK_DGRAM) {
      const icmp = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
      if (protocol === 0 || protocol === IPPROTO_UDP) {
        socket = { kind: "udp", ep: this.stack.newUdpEndpoint(v6 ? "dual" : "ipv4") };
        proto = IPPROTO_UDP;
      } else if (protocol === icmp) {
        socket = { kind: "icmp", ep: this.stack.newIcmpEndpoint(v6 ? 6 : 4) };
        proto = icmp;
      } else {
        return void (r.errno = EPROTONOSUPPORT.errno);
      }
    } else if (type === SOCK_RAW) {
      return void (r.errno = EPERM.errno);
    } else {
      return void (r.errno = ESOCKTNOSUPPORT.errno);
    }
    const impl = new EndpointImpl(this, socket, { family: v6 ? AF_INET6 : AF_INET, v6only: false }, type, proto);
    this.adopt(impl);
    r.endpoint = impl.client();
  }

  async interfaces(_p: P<"interfaces">, r: R<"interfaces">): Promise<void> {
    const list = r._initInterfaces(this.interfaceList.length);
    this.interfaceList.forEach((info, i) => {
      const out = list.get(i);
      const c = info.counters();
      out.index = info.nicId;
      out.name = info.name;
      out.flags = IFF_UP | IFF_RUNNING | (info.loopback ? IFF_LOOPBACK : IFF_BROADCAST | IFF_MULTICAST);
      out.mtu = info.mtu;
      out.hwType = info.loopback ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
      out._initHwAddr(info.hwAddr.length).copyBuffer(info.hwAddr);
      out.rxBytes = BigInt(c.rxBytes);
      out.rxPackets = BigInt(c.rxPackets);
      out.txBytes = BigInt(c.txBytes);
      out.txPackets = BigInt(c.txPackets);
      out.txDropped = BigInt(c.txDropped);
    });
  }

  async addresses(_p: P<"addresses">, r: R<"addresses">): Promise<void> {
    const all: { nicId: number; address: IPAddress; prefixLen: number }[] = [];
    for (const info of this.interfaceList) {
      for (const a of this.stack.nic(info.nicId)?.addresses ?? []) all.push({ nicId: info.nicId, ...a });
    }
    const list = r._initAddresses(all.length);
    all.forEach((a, i) => {
      const out = list.get(i);
      out.ifIndex = a.nicId;
      out.family = a.address.version === 4 ? AF_INET : AF_INET6;
      out.prefixLen = a.prefixLen;
      out._initAddr(a.address.version === 4 ? 4 : 16).copyBuffer(a.address.bytes);
      out.flags = IFA_F_PERMANENT;
      out.scope = a.address.isLoopback() ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
    });
  }

  async routes(_p: P<"routes">, r: R<"routes">): Promise<void> {
    const entries = this.stack.routes.list();
    const list = r._initRoutes(entries.length);
    entries.forEach((e, i) => {
      const out = list.get(i);
      out.family = e.destination.version === 4 ? AF_INET : AF_INET6;
      // The table keeps the address an on-link route was added with; report the network.
      const dst = e.destination.bytes;
      for (let bit = e.prefixLen; bit < dst.length * 8; bit++) dst[bit >> 3] = (dst[bit >> 3] as number) & ~(0x80 >> (bit & 7));
      out._initDst(dst.length).copyBuffer(dst);
      out.dstPrefixLen = e.prefixLen;
      const gw = e.gateway?.bytes ?? new Uint8Array(0);
      out._initGateway(gw.length).copyBuffer(gw);
      out.ifIndex = e.nicId;
      out.table = RT_TABLE_MAIN;
    });
  }
}
