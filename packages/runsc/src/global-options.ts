/**
 * The global flags (given before the subcommand, as with runc) and their typed form,
 * `GlobalOptions`, which `runCli` builds once and passes to every command's action.
 */
import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { type LogDestination, type LogFormat, LOG_FORMATS, parseLogDestination } from "./logging.js";
import { type OptionValuesReader, isBoolean, isString, oneOf } from "./input.js";

export const PLATFORMS = ["ptrace", "kvm"] as const;
export type PlatformName = (typeof PLATFORMS)[number];

export const NETWORK_MODES = ["sandbox", "host", "none"] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const ROOTLESS_MODES = ["true", "false", "auto"] as const;
export type RootlessMode = (typeof ROOTLESS_MODES)[number];

export const DEFAULT_ROOT = "/run/runsc-ts";

export interface GlobalOptions {
  /** Directory holding container state (absolute). */
  readonly root: string;
  /** `--log`: info and above (debug with `debug`). */
  readonly log: LogDestination | undefined;
  readonly logFormat: LogFormat;
  readonly debug: boolean;
  /** `--debug-log`: debug and above. */
  readonly debugLog: LogDestination | undefined;
  /** Trace the application's system calls into the log. */
  readonly strace: boolean;
  readonly platform: PlatformName;
  readonly network: NetworkMode;
  /** Accepted for podman/containerd (`--systemd-cgroup`); not used yet. */
  readonly systemdCgroup: boolean;
  /** Accepted for podman/containerd (`--rootless true|false|auto`); not used yet. */
  readonly rootless: RootlessMode | undefined;
}

function logDestinationOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string) => parseLogDestination(value));
}

/** Declares the global flags on the program. */
export function addGlobalOptions(program: Command): void {
  program
    .addOption(new Option("--root <dir>", "directory for container state").default(DEFAULT_ROOT))
    .addOption(logDestinationOption("--log <file>", "write the log to FILE, or to an inherited FD with fd:N (default: no log)"))
    .addOption(new Option("--log-format <format>", "log format").choices(LOG_FORMATS).default("text"))
    .addOption(new Option("--debug", "log at debug level; print stack traces of internal errors"))
    .addOption(logDestinationOption("--debug-log <file>", "write a debug-level log to FILE or fd:N"))
    .addOption(new Option("--strace", "trace the application's system calls into the log"))
    .addOption(new Option("--platform <platform>", "how application code runs and is trapped").choices(PLATFORMS).default("ptrace"))
    .addOption(new Option("--network <mode>", "network for the sandbox").choices(NETWORK_MODES).default("sandbox"))
    .addOption(new Option("--systemd-cgroup", "accepted for compatibility with runc callers; ignored"))
    .addOption(new Option("--rootless <bool>", "accepted for compatibility with runc callers; ignored").choices(ROOTLESS_MODES));
}

function isLogDestination(value: unknown): value is LogDestination {
  return typeof value === "object" && value !== null && "kind" in value;
}

/** The program's parsed option values as `GlobalOptions`. */
export function readGlobalOptions(values: OptionValuesReader): GlobalOptions {
  return {
    root: resolve(values.option("root", isString)),
    log: values.optionalOption("log", isLogDestination),
    logFormat: values.option("logFormat", oneOf(LOG_FORMATS)),
    debug: values.flag("debug"),
    debugLog: values.optionalOption("debugLog", isLogDestination),
    strace: values.flag("strace"),
    platform: values.option("platform", oneOf(PLATFORMS)),
    network: values.option("network", oneOf(NETWORK_MODES)),
    systemdCgroup: values.optionalOption("systemdCgroup", isBoolean) ?? false,
    rootless: values.optionalOption("rootless", oneOf(ROOTLESS_MODES)),
  };
}
