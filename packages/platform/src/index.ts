/**
 * @runsc-ts/platform: the TypeScript face of the native code, and the only package that loads
 * it. Today: Unix sockets with descriptor passing (UnixFdStream, proto's FdStream over a real
 * socket), the addon's descriptor primitives, and the ptrace platform (PtracePlatform: stub
 * address spaces, contexts, syscall trapping; platformFor). See README.md for the model and
 * what is not implemented yet.
 */
export { UnixFdStream, fromFd, socketPair } from "./unix-stream.js";
export { native, isSystemError, systemErrorFromErrno } from "./native.js";
export type {
  FdWatcher,
  FdWatcherCallback,
  FdWatcherConstructor,
  HostPath,
  NativeAddon,
  NativeConstants,
  SystemError,
} from "./native.js";
export { rpcOverFd, rpcPair } from "./rpc.js";
export { UnixListener, listenUnixAt } from "./unix-listener.js";
export type { RpcOptions } from "./rpc.js";
export type { AddressSpace, AppEvent, Context, CpuUsage, Platform, SyscallArgs } from "./platform.js";
export { NO_USAGE } from "./platform.js";
export { PLATFORM_NAMES, PlatformUnavailableError, platformFor } from "./platform-for.js";
export { PtracePlatform, stubPath } from "./ptrace/ptrace-platform.js";
export type { PtraceOptions } from "./ptrace/ptrace-platform.js";
export { APP_ADDRESS_TOP, PtraceAddressSpace } from "./ptrace/address-space.js";
export { PtraceContext } from "./ptrace/context.js";
export { REG, SYSCALL_ARG_REGS } from "./ptrace/regs.js";
export type { RegName } from "./ptrace/regs.js";
export { loadStaticElf } from "./ptrace/static-elf.js";
export type { LoadOptions, LoadedImage } from "./ptrace/static-elf.js";
export { nativeBuildDir } from "./native.js";
export type { PtraceAddon, PtraceConstants } from "./native.js";
export { BpfAssembler, BpfError, Label, MAX_CONDITIONAL_JUMP } from "./seccomp/bpf.js";
export type { Target } from "./seccomp/bpf.js";
export { ALLOW, KILL_PROCESS, KILL_THREAD, TRAP, actionValue, compileSeccompPolicy, errnoAction } from "./seccomp/filter.js";
export type { ArgCondition, ArgRule, SeccompAction, SeccompPolicy, SyscallEntry } from "./seccomp/filter.js";
export type { SeccompProbeCall, SeccompProbeResult } from "./native.js";
