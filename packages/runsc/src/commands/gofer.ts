import { defineCommand } from "../command.js";
import type { Fd } from "../flags.js";
import { isFd, isString } from "../input.js";
import { INTERNAL_GROUP, absolute, fdOption, notImplementedAction } from "./common.js";

/** One gofer serves one mount. */
export interface GoferArgs {
  /** Absolute host path of the mount's root; nothing outside it is ever reachable. */
  readonly root: string;
  /** The RPC connection to the sandbox; the gofer takes ownership. */
  readonly ioFd: Fd;
  /** Refuse every operation that would modify the mount. */
  readonly readOnly: boolean;
}

export const gofer = defineCommand<GoferArgs>({
  name: "gofer",
  summary: "serve one mount's files to the sandbox",
  group: INTERNAL_GROUP,
  configure(command) {
    command
      .requiredOption("--root <dir>", "the mount's root directory on the host")
      .addOption(fdOption("--io-fd <fd>", "FD connected to the sandbox (taken over)").makeOptionMandatory())
      .option("--ro", "serve the mount read-only");
  },
  parse: (input) => ({
    root: absolute(input.option("root", isString)),
    ioFd: input.option("ioFd", isFd),
    readOnly: input.flag("ro"),
  }),
  run: notImplementedAction,
});
