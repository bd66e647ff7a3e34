import { defineCommand } from "../command.js";
import { isString } from "../input.js";
import { containerIdArgument, notImplementedAction } from "./common.js";

export interface StartArgs {
  readonly containerId: string;
}

export const start = defineCommand<StartArgs>({
  name: "start",
  summary: "start the user process of a created container",
  configure(command) {
    command.addArgument(containerIdArgument());
  },
  parse: (input) => ({ containerId: input.arg(0, isString) }),
  run: notImplementedAction,
});
