import { defineCommand } from "../command.js";
import { isString } from "../input.js";
import { containerIdArgument, notImplementedAction } from "./common.js";

export interface StateArgs {
  readonly containerId: string;
}

export const state = defineCommand<StateArgs>({
  name: "state",
  summary: "print a container's state as JSON (OCI state)",
  configure(command) {
    command.addArgument(containerIdArgument());
  },
  parse: (input) => ({ containerId: input.arg(0, isString) }),
  run: notImplementedAction,
});
