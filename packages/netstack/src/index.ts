/**
 * @runsc-ts/netstack — a user-space TCP/IP stack. See README.md for the model: layers,
 * threading (single-threaded, time injected), ownership, and what is not implemented yet.
 */

// Values shared by every layer.
export { familyAllows, IPAddress, LinkAddress, type AddressFamily } from "./address.js";
export { ManualClock, Timer, type Cancel, type Clock } from "./clock.js";
export * from "./errors.js";
export { Prng } from "./random.js";
export { EVENT_ERR, EVENT_HUP, EVENT_IN, EVENT_OUT, EVENT_RDHUP, WaiterQueue, type EventMask } from "./waiter.js";

// Layers.
export * as header from "./header/index.js";
export * as seqnum from "./seqnum/index.js";
export * from "./link/index.js";

// Network layer.
export { DEFAULT_ARP_CONFIG, type ArpConfig } from "./network/arp/arp.js";
export type { NeighborConfig } from "./network/neighbor-cache.js";
export { DEFAULT_IPV4_CONFIG, type IPv4Config, type PacketInfo, type SendOptions } from "./network/ipv4/ipv4.js";
export { DEFAULT_REASSEMBLY_CONFIG, type ReassemblyConfig } from "./network/ipv4/reassembly.js";
export type { IcmpErrorReport } from "./network/ipv4/icmp.js";

// Stack.
export { Stack, type Route, type StackConfig, type StackOptions, type TransportProtocol } from "./stack/stack.js";
export { Nic, type NicAddress } from "./stack/nic.js";
export { RouteTable, type RouteEntry } from "./stack/route.js";
export { EPHEMERAL_FIRST, EPHEMERAL_LAST, PortManager } from "./stack/ports.js";
export { TransportDemuxer, type TransportId } from "./stack/demux.js";
export { newStats, type StackStats } from "./stack/stats.js";

// Transport.
export type { BindAddress, FullAddress } from "./transport/address.js";
export { UdpEndpoint, type Datagram, type UdpState } from "./transport/udp/endpoint.js";
export { IcmpEndpoint, type EchoReply } from "./transport/icmp/endpoint.js";
export { DEFAULT_UDP_CONFIG, type UdpConfig } from "./transport/udp/protocol.js";
export { TcpEndpoint, type ShutdownHow } from "./transport/tcp/endpoint.js";
export { DEFAULT_TCP_CONFIG, type TcpConfig } from "./transport/tcp/config.js";
export { TcpState } from "./transport/tcp/state.js";
export { Reno, type CongestionControl } from "./transport/tcp/congestion.js";
export { Cubic } from "./transport/tcp/cubic.js";
export { SackScoreboard } from "./transport/tcp/sack-scoreboard.js";

// The netstack process: host clock, RPC service (netstack.capnp), errno at the boundary.
export { HostClock } from "./service/host-clock.js";
export { NetstackServer, type InterfaceInfo, type InterfaceCounters, type NetstackServerOptions } from "./service/server.js";
export { EndpointImpl } from "./service/endpoint.js";
export { errnoOf } from "./service/errno.js";
export {
  NetstackConfigError,
  createHostStack,
  randomMac,
  serveNetstack,
  type HostStack,
  type NetstackLogger,
  type ServeNetstackOptions,
} from "./service/serve.js";
export { RemoteSocket, SocketError, type SocketAddress } from "./service/client.js";
