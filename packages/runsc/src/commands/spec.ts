import { defineCommand } from "../command.js";
import { isString } from "../input.js";
import { absolute, notImplementedAction } from "./common.js";
import { Option } from "commander";

export interface SpecArgs {
  /** Absolute path of the directory to write config.json into. */
  readonly bundle: string;
  /** Write a spec for a rootless container (user namespace, no host devices). */
  readonly rootless: boolean;
}

export const spec = defineCommand<SpecArgs>({
  name: "spec",
  summary: "write a template config.json into a bundle directory",
  configure(command) {
    command
      .addOption(new Option("-b, --bundle <dir>", "where to write config.json").default(".", "the current directory"))
      .option("--rootless", "write a spec for a rootless container");
  },
  parse: (input) => ({
    bundle: absolute(input.option("bundle", isString)),
    rootless: input.flag("rootless"),
  }),
  run: notImplementedAction,
});
