import { Argument } from "commander";
import { defineCommand } from "../command.js";
import { parseContainerId } from "../flags.js";
import { isStringArray } from "../input.js";
import { notImplementedAction } from "./common.js";

export interface DeleteArgs {
  readonly containerIds: readonly string[];
  /** Kill a running container first instead of refusing. */
  readonly force: boolean;
}

export const delete_ = defineCommand<DeleteArgs>({
  name: "delete",
  summary: "delete stopped containers and their state",
  configure(command) {
    command
      .addArgument(
        new Argument("<container-id...>", "the containers' IDs").argParser((value: string, previous: string[] | undefined) => [
          ...(previous ?? []),
          parseContainerId(value),
        ]),
      )
      .option("-f, --force", "kill the container first if it is still running");
  },
  parse: (input) => ({
    containerIds: input.arg(0, isStringArray),
    force: input.flag("force"),
  }),
  run: notImplementedAction,
});
