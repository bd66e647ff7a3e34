import { Option } from "commander";
import { defineCommand } from "../command.js";
import { isString, oneOf } from "../input.js";
import { containerIdArgument, notImplementedAction } from "./common.js";

export const PS_FORMATS = ["table", "json"] as const;

export interface PsArgs {
  readonly containerId: string;
  readonly format: (typeof PS_FORMATS)[number];
}

export const ps = defineCommand<PsArgs>({
  name: "ps",
  summary: "list the processes running in a container",
  configure(command) {
    command
      .addArgument(containerIdArgument())
      .addOption(new Option("-f, --format <format>", "output format").choices(PS_FORMATS).default("table"));
  },
  parse: (input) => ({
    containerId: input.arg(0, isString),
    format: input.option("format", oneOf(PS_FORMATS)),
  }),
  run: notImplementedAction,
});
