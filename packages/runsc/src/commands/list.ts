import { Option } from "commander";
import { defineCommand } from "../command.js";
import { oneOf } from "../input.js";
import { notImplementedAction } from "./common.js";

export const LIST_FORMATS = ["table", "json"] as const;

export interface ListArgs {
  readonly format: (typeof LIST_FORMATS)[number];
  /** Print only the IDs. */
  readonly quiet: boolean;
}

export const list = defineCommand<ListArgs>({
  name: "list",
  summary: "list the containers under --root",
  configure(command) {
    command
      .addOption(new Option("-f, --format <format>", "output format").choices(LIST_FORMATS).default("table"))
      .option("-q, --quiet", "print only the container IDs");
  },
  parse: (input) => ({
    format: input.option("format", oneOf(LIST_FORMATS)),
    quiet: input.flag("quiet"),
  }),
  run: notImplementedAction,
});
