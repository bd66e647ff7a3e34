import { ConfinementError, serveGofer } from "@runsc-ts/gofer";
import { defineCommand } from "../command.js";
import { CliError } from "../errors.js";
import type { Fd } from "../flags.js";
import { isFd, isString } from "../input.js";
import { INTERNAL_GROUP, absolute, fdOption } from "./common.js";

/** One gofer serves one mount. */
export interface GoferArgs {
  /** Absolute host path of the mount's root; nothing outside it is ever reachable. */
  readonly root: string;
  /** The RPC connection to the sandbox; the gofer takes ownership. */
  readonly ioFd: Fd;
  /** Refuse every operation that would modify the mount. */
  readonly readOnly: boolean;
  /** Developer flag: serve without confinement (tests as non-root). Never for real sandboxes. */
  readonly unconfined: boolean;
}

export const gofer = defineCommand<GoferArgs>({
  name: "gofer",
  summary: "serve one mount's files to the sandbox",
  group: INTERNAL_GROUP,
  configure(command) {
    command
      .requiredOption("--root <dir>", "the mount's root directory on the host")
      .addOption(fdOption("--io-fd <fd>", "FD connected to the sandbox (taken over)").makeOptionMandatory())
      .option("--ro", "serve the mount read-only")
      .option("--unconfined", "development only: serve without a mount namespace, root change or dropped capabilities");
  },
  parse: (input) => ({
    root: absolute(input.option("root", isString)),
    ioFd: input.option("ioFd", isFd),
    readOnly: input.flag("ro"),
    unconfined: input.flag("unconfined"),
  }),
  // Confines itself (refusing to serve if it cannot, unless --unconfined), then serves
  // gofer.capnp on --io-fd until the sandbox closes the connection.
  async run(ctx, args) {
    try {
      await serveGofer({ root: args.root, ioFd: args.ioFd, readOnly: args.readOnly, log: ctx.log, unconfined: args.unconfined });
    } catch (e) {
      if (e instanceof ConfinementError) {
        throw new CliError(`gofer: ${e.message}; run as root, or pass --unconfined (development only)`);
      }
      throw e;
    }
  },
});
