import type { Command } from "commander";
import { defineCommand } from "../command.js";
import { type CommandInput, isBoolean, isNonNegativeInteger, isString } from "../input.js";
import {
  absolute,
  bundleOption,
  consoleSocketOption,
  containerIdArgument,
  pidFileOption,
  preserveFdsOption,
  sandboxNotImplementedAction,
} from "./common.js";

export interface CreateArgs {
  readonly containerId: string;
  /** Absolute path of the bundle directory. */
  readonly bundle: string;
  readonly pidFile: string | undefined;
  readonly consoleSocket: string | undefined;
  /** How many FDs after stdio (3, 4, ...) to pass to the container process. */
  readonly preserveFds: number;
  /** Accepted for runc callers; meaningless in a sandbox. */
  readonly noPivot: boolean;
  /** Accepted for runc callers; meaningless in a sandbox. */
  readonly noNewKeyring: boolean;
}

/** The arguments and options `create` and `run` share, as runc spells them. */
export function addCreateOptions(command: Command): Command {
  return command
    .addArgument(containerIdArgument())
    .addOption(bundleOption())
    .addOption(pidFileOption())
    .addOption(consoleSocketOption())
    .addOption(preserveFdsOption())
    .option("--no-pivot", "accepted for compatibility with runc callers; ignored")
    .option("--no-new-keyring", "accepted for compatibility with runc callers; ignored");
}

export function parseCreateArgs(input: CommandInput): CreateArgs {
  return {
    containerId: input.arg(0, isString),
    bundle: absolute(input.option("bundle", isString)),
    pidFile: absolute(input.optionalOption("pidFile", isString)),
    consoleSocket: absolute(input.optionalOption("consoleSocket", isString)),
    preserveFds: input.option("preserveFds", isNonNegativeInteger),
    // Commander reads --no-X as the negation of X.
    noPivot: input.optionalOption("pivot", isBoolean) === false,
    noNewKeyring: input.optionalOption("newKeyring", isBoolean) === false,
  };
}

export const create = defineCommand<CreateArgs>({
  name: "create",
  summary: "create a container from an OCI bundle; its process waits for start",
  configure: addCreateOptions,
  parse: parseCreateArgs,
  run: sandboxNotImplementedAction,
});
