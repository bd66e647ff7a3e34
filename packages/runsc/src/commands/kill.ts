import { constants as osConstants } from "node:os";
import { Argument } from "commander";
import { defineCommand } from "../command.js";
import { type Signal, parseSignal } from "../flags.js";
import { isNonNegativeInteger, isString } from "../input.js";
import { containerIdArgument, notImplementedAction } from "./common.js";

export interface KillArgs {
  readonly containerId: string;
  readonly signal: Signal;
  /** Signal every process in the container, not just its init. */
  readonly all: boolean;
}

export const kill = defineCommand<KillArgs>({
  name: "kill",
  summary: "send a signal to a container's init process (or to all of its processes)",
  configure(command) {
    command
      .addArgument(containerIdArgument())
      .addArgument(
        new Argument("[signal]", "name (KILL, SIGKILL) or number (9)")
          .argParser(parseSignal)
          .default(osConstants.signals.SIGTERM, "SIGTERM"),
      )
      .option("-a, --all", "send the signal to all processes in the container");
  },
  parse: (input) => ({
    containerId: input.arg(0, isString),
    signal: input.arg(1, (v): v is Signal => isNonNegativeInteger(v)),
    all: input.flag("all"),
  }),
  run: notImplementedAction,
});
