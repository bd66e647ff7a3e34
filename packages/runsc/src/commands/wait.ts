import { Option } from "commander";
import { defineCommand } from "../command.js";
import { parsePid } from "../flags.js";
import { isNonNegativeInteger, isString } from "../input.js";
import { containerIdArgument, notImplementedAction } from "./common.js";

export interface WaitArgs {
  readonly containerId: string;
  /** Wait for this process (a PID in the sandbox) instead of the container's init. */
  readonly pid: number | undefined;
  /** Wait for this process, given by its host PID. */
  readonly rootPid: number | undefined;
}

export const wait = defineCommand<WaitArgs>({
  name: "wait",
  summary: "wait for a container (or a process in it) to exit and print its exit status",
  configure(command) {
    command
      .addArgument(containerIdArgument())
      .addOption(new Option("--pid <pid>", "wait for the process with this PID in the sandbox").argParser(parsePid).conflicts("rootpid"))
      .addOption(new Option("--rootpid <pid>", "wait for the process with this host PID").argParser(parsePid));
  },
  parse: (input) => ({
    containerId: input.arg(0, isString),
    pid: input.optionalOption("pid", isNonNegativeInteger),
    rootPid: input.optionalOption("rootpid", isNonNegativeInteger),
  }),
  run: notImplementedAction,
});
