import { Option } from "commander";
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
  /** Internal (confinement stage 2, added by the gofer itself when it re-execs, or by runsc-confine): "PID:FD". */
  readonly pivotHelper: string | undefined;
}

export const gofer = defineCommand<GoferArgs>({
  name: "gofer",
  summary: "serve one mount's files to the sandbox",
  group: INTERNAL_GROUP,
  configure(command) {
    command
      .requiredOption("--root <path>", "the mount's root on the host: a directory, or a file for a file bind mount")
      .addOption(fdOption("--io-fd <fd>", "FD connected to the sandbox (taken over)").makeOptionMandatory())
      .option("--ro", "serve the mount read-only")
      .option("--unconfined", "development only: serve without a mount namespace, root change or dropped capabilities")
      .addOption(new Option("--pivot-helper <pid:fd>", "internal: the second confinement stage (the gofer re-execs itself with it, or runsc-confine adds it)").hideHelp());
  },
  parse: (input) => ({
    root: absolute(input.option("root", isString)),
    ioFd: input.option("ioFd", isFd),
    readOnly: input.flag("ro"),
    unconfined: input.flag("unconfined"),
    pivotHelper: input.optionalOption("pivotHelper", isString),
  }),
  // Confines itself (refusing to serve if it cannot, unless --unconfined), then serves
  // gofer.capnp on --io-fd until the sandbox closes the connection.
  async run(ctx, args) {
    // The gofer package is loaded here: other commands do not pay for its modules at start.
    const { ConfinementError, parsePivotHelper, serveGofer } = await import("@runsc-ts/gofer");
    let pivotHelper: { pid: number; fd: number } | undefined;
    if (args.pivotHelper !== undefined) {
      pivotHelper = parsePivotHelper(args.pivotHelper);
      if (pivotHelper === undefined) throw new CliError(`gofer: --pivot-helper must be PID:FD, got ${JSON.stringify(args.pivotHelper)}`);
    }
    try {
      await serveGofer({
        root: args.root,
        ioFd: args.ioFd,
        readOnly: args.readOnly,
        log: ctx.log,
        unconfined: args.unconfined,
        ...(pivotHelper === undefined ? { reexec: reexecSelf() } : { pivotHelper }),
      });
    } catch (e) {
      if (e instanceof ConfinementError) {
        throw new CliError(`gofer: ${e.message}; run as root, or pass --unconfined (development only)`);
      }
      throw e;
    }
  },
});

/** This very command line again, for confinement stage 2 (see packages/gofer/src/confine.ts). */
function reexecSelf(): { execPath: string; argv: (pivotHelper: string) => string[]; env: string[] } {
  const script = process.argv[1];
  if (script === undefined) throw new CliError("gofer: cannot find its own script to re-exec");
  return {
    execPath: process.execPath,
    argv: (h) => [process.execPath, ...process.execArgv, script, ...process.argv.slice(2), "--pivot-helper", h],
    env: Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`])),
  };
}
