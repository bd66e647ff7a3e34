import { defineCommand } from "../command.js";
import { isBoolean, isNonNegativeInteger, isString } from "../input.js";
import {
  absolute,
  bundleOption,
  consoleSocketOption,
  containerIdArgument,
  pidFileOption,
  preserveFdsOption,
  sandboxNotImplementedAction,
} from "./common.js";

export interface RunArgs {
  readonly containerId: string;
  /** Absolute path of the bundle directory. */
  readonly bundle: string;
  readonly pidFile: string | undefined;
  readonly consoleSocket: string | undefined;
  /** Return after starting instead of waiting for the container to exit. */
  readonly detach: boolean;
  readonly preserveFds: number;
  readonly noPivot: boolean;
  readonly noNewKeyring: boolean;
}

export const run = defineCommand<RunArgs>({
  name: "run",
  summary: "create and start a container, and wait for it unless --detach",
  configure(command) {
    command
      .addArgument(containerIdArgument())
      .addOption(bundleOption())
      .addOption(pidFileOption())
      .addOption(consoleSocketOption())
      .option("-d, --detach", "return once the container has started")
      .addOption(preserveFdsOption())
      .option("--no-pivot", "accepted for compatibility with runc callers; ignored")
      .option("--no-new-keyring", "accepted for compatibility with runc callers; ignored");
  },
  parse: (input) => ({
    containerId: input.arg(0, isString),
    bundle: absolute(input.option("bundle", isString)),
    pidFile: absolute(input.optionalOption("pidFile", isString)),
    consoleSocket: absolute(input.optionalOption("consoleSocket", isString)),
    detach: input.flag("detach"),
    preserveFds: input.option("preserveFds", isNonNegativeInteger),
    // Commander reads --no-X as the negation of X.
    noPivot: input.optionalOption("pivot", isBoolean) === false,
    noNewKeyring: input.optionalOption("newKeyring", isBoolean) === false,
  }),
  run: sandboxNotImplementedAction,
});
