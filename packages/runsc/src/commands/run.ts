import { defineCommand } from "../command.js";
import { type CreateArgs, addCreateOptions, parseCreateArgs } from "./create.js";
import { sandboxNotImplementedAction } from "./common.js";

export interface RunArgs extends CreateArgs {
  /** Return after starting instead of waiting for the container to exit. */
  readonly detach: boolean;
}

export const run = defineCommand<RunArgs>({
  name: "run",
  summary: "create and start a container, and wait for it unless --detach",
  configure(command) {
    addCreateOptions(command).option("-d, --detach", "return once the container has started");
  },
  parse: (input) => ({ ...parseCreateArgs(input), detach: input.flag("detach") }),
  run: sandboxNotImplementedAction,
});
