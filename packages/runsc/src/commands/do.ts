import { Argument, Option } from "commander";
import { defineCommand } from "../command.js";
import { type NetworkMode, NETWORK_MODES } from "../global-options.js";
import { isString, isStringArray, oneOf } from "../input.js";
import { envOption } from "./common.js";

export interface DoArgs {
  /** The program, then its arguments. */
  readonly command: string;
  readonly args: readonly string[];
  /** Working directory; the current directory when absent. */
  readonly cwd: string | undefined;
  /** `KEY=VALUE` entries added to the program's environment. */
  readonly env: readonly string[];
  /** Overrides the global `--network` for this sandbox. */
  readonly network: NetworkMode | undefined;
}

export const do_ = defineCommand<DoArgs>({
  name: "do",
  summary: "run a command in a new sandbox over the host's root filesystem (for testing)",
  configure(command) {
    command
      .usage("[options] -- <command> [args...]")
      .addArgument(new Argument("<command>", "the program to run"))
      .addArgument(new Argument("[args...]", "its arguments"))
      .option("--cwd <dir>", "working directory (default: the current directory)")
      .addOption(envOption("--env <KEY=VALUE>"))
      .addOption(new Option("--network <mode>", "network for this sandbox (default: the global --network)").choices(NETWORK_MODES))
      // Options end at the program: `do ls -la` runs `ls -la`.
      .passThroughOptions();
  },
  parse: (input) => ({
    command: input.arg(0, isString),
    args: input.optionalArg(1, isStringArray) ?? [],
    cwd: input.optionalOption("cwd", isString),
    env: input.list("env", isStringArray),
    network: input.optionalOption("network", oneOf(NETWORK_MODES)),
  }),
  run: async (ctx, args) => (await import("../sandbox/do.js")).runDo(ctx, args),
});
