/**
 * RPC connections over host Unix sockets: proto's RpcConnection on a UnixFdStream, with the
 * addon's close for the FDs the engine must dispose of.
 */
import { type ConnectionOptions, RpcConnection } from "@runsc-ts/proto";
import { native } from "./native.js";
import { fromFd, socketPair } from "./unix-stream.js";

export type RpcOptions = Omit<ConnectionOptions, "closeFd">;

/** An RPC connection over a connected SOCK_STREAM Unix socket. Takes ownership of `fd`. */
export function rpcOverFd(fd: number, options: RpcOptions = {}): RpcConnection {
  return new RpcConnection(fromFd(fd), { ...options, closeFd: native.close });
}

/** Two connected RPC endpoints in this process (tests, in-process wiring). */
export function rpcPair(a: RpcOptions = {}, b: RpcOptions = {}): [RpcConnection, RpcConnection] {
  const [sa, sb] = socketPair();
  return [new RpcConnection(sa, { ...a, closeFd: native.close }), new RpcConnection(sb, { ...b, closeFd: native.close })];
}
