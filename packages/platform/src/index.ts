/**
 * @runsc-ts/platform: the TypeScript face of the native code, and the only package that loads
 * it. Today: Unix sockets with descriptor passing (UnixFdStream, proto's FdStream over a real
 * socket) and the addon's descriptor primitives. See README.md for the model and what is not
 * implemented yet (the ptrace platform, stubs, KVM).
 */
export { UnixFdStream, fromFd, socketPair } from "./unix-stream.js";
export { native, isSystemError, systemErrorFromErrno } from "./native.js";
export type {
  FdWatcher,
  FdWatcherCallback,
  FdWatcherConstructor,
  NativeAddon,
  NativeConstants,
  SystemError,
} from "./native.js";
export { rpcOverFd, rpcPair } from "./rpc.js";
export type { RpcOptions } from "./rpc.js";
