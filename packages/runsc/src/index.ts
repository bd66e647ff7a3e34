/**
 * @runsc-ts/runsc: the runsc-ts command line. The binary's entry is main.ts; this module
 * exports the pieces a test or an embedding program uses.
 */
export { buildProgram, runCli, type RunCliOptions } from "./cli.js";
export type { CliCommand, CliIo, CommandContext, CommandDefinition, Invocation } from "./command.js";
export { CliError, notImplemented } from "./errors.js";
export type { Fd, Signal } from "./flags.js";
export type { GlobalOptions, NetworkMode, PlatformName } from "./global-options.js";
export { type LogDestination, type LogFormat, type Logger, type LoggerOptions, type RootLogger, createLogger, parseLogDestination } from "./logging.js";
export { type HostProbe, checkPlatform } from "./platform-check.js";
export { OCI_SPEC_VERSION, VERSION } from "./version.js";
