/**
 * Pieces several commands share: the container-ID argument, FD and path options, and the
 * not-implemented actions (the single place the message comes from is `notImplemented`).
 */
import { resolve } from "node:path";
import { Argument, Option } from "commander";
import type { CommandContext } from "../command.js";
import { notImplemented } from "../errors.js";
import { collectEnv, collectFds, parseContainerId, parseCount, parseFd } from "../flags.js";
import { checkPlatform } from "../platform-check.js";

export const INTERNAL_GROUP = "Internal commands (started by runsc-ts itself):";

export function containerIdArgument(): Argument {
  return new Argument("<container-id>", "the container's ID").argParser(parseContainerId);
}

/** A single-FD option, e.g. `fdOption("--io-fd <fd>", "...")`. */
export function fdOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser(parseFd);
}

/** A repeatable, comma-separated FD-list option. */
export function fdListOption(flags: string, description: string): Option {
  return new Option(flags, `${description} (comma-separated; repeatable)`).argParser(collectFds);
}

/** A repeatable `KEY=VALUE` option. */
export function envOption(flags: string): Option {
  return new Option(flags, "set an environment variable KEY=VALUE (repeatable)").argParser(collectEnv);
}

export function bundleOption(): Option {
  return new Option("-b, --bundle <dir>", "the OCI bundle: the directory holding config.json").default(".", "the current directory");
}

export function pidFileOption(): Option {
  return new Option("--pid-file <file>", "write the container process's host PID to FILE");
}

export function consoleSocketOption(): Option {
  return new Option("--console-socket <socket>", "Unix socket to receive the pseudo-terminal master FD (SCM_RIGHTS)");
}

export function preserveFdsOption(): Option {
  return new Option("--preserve-fds <n>", "pass N more FDs (3 .. 3+N-1) to the container process").argParser(parseCount).default(0);
}

/** Paths are made absolute at parse time: the actions may change directory later. */
export function absolute(path: string): string;
export function absolute(path: string | undefined): string | undefined;
export function absolute(path: string | undefined): string | undefined {
  return path === undefined ? undefined : resolve(path);
}

/** The action of a command that is not written yet. */
export async function notImplementedAction(ctx: CommandContext): Promise<void> {
  notImplemented(ctx.name);
}

/** The same for a command that starts a sandbox: the platform check comes first. */
export async function sandboxNotImplementedAction(ctx: CommandContext): Promise<void> {
  checkPlatform(ctx.globals.platform, ctx.host);
  notImplemented(ctx.name);
}
