/**
 * @runsc-ts/abi: the Linux x86-64 ABI for every other package.
 *
 * - errno as frozen LinuxError singletons (EBADF, ...), compared by identity;
 * - syscall numbers (SYS_read, ...), signals, and the flag and constant groups
 *   (O_*, MAP_*, CLONE_*, ...) as named consts with their Linux spelling; the auxv types,
 *   whose AT_ names clash with the *at(2) flags, as AUXV.AT_*;
 * - struct layouts (stat, sigaction, siginfo_*, termios, ...) with readStruct/writeStruct.
 *
 * Everything under gen/ is generated from the C headers by tools/gen-abi; see the README.
 */
export * from "./gen/index.js";
export * from "./kernel-internal.js";
export { LinuxError, isLinuxError, linuxErrorFromErrno, linuxErrorFromName } from "./linux-error.js";
export { SYSCALL_MAX, syscallName, syscallNumber } from "./syscalls.js";
export { signalName, signalNumber } from "./signals.js";
export {
  encodeStruct,
  readField,
  readStruct,
  writeField,
  writeStruct,
  type ArrayField,
  type BytesField,
  type Field,
  type FieldInput,
  type FieldValue,
  type Fields,
  type FlexField,
  type NestedField,
  type ScalarField,
  type ScalarType,
  type StructInput,
  type StructLayout,
  type StructValue,
  type WideScalarType,
} from "./layout.js";
