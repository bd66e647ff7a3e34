import { CliError } from "../errors.js";
import { defineCommand } from "../command.js";
import type { Fd } from "../flags.js";
import { isFd, isFdArray, isString } from "../input.js";
import { INTERNAL_GROUP, absolute, containerIdArgument, fdListOption, fdOption } from "./common.js";

/**
 * The sandbox kernel's process. Every resource arrives as an inherited FD named by a flag; boot
 * takes ownership of all of them.
 */
export interface BootArgs {
  readonly containerId: string;
  /** Absolute path of the bundle (for resolving relative paths in the spec). */
  readonly bundle: string;
  /** Reads the OCI spec (config.json contents). */
  readonly specFd: Fd;
  /** The controller's listening socket (exec, kill, wait, ps, state connect here); none for `do`. */
  readonly controllerFd: Fd | undefined;
  /** One gofer connection per mount: the root first, then the spec's mounts in order. */
  readonly ioFds: readonly Fd[];
  /** The container's stdin, stdout, stderr; empty when boot's own stdio is used. */
  readonly stdioFds: readonly Fd[];
  /** Written when the sandbox is ready; `start` releases it. */
  readonly startSyncFd: Fd | undefined;
  /** The connection to the netstack process. */
  readonly netstackFd: Fd | undefined;
}

export const boot = defineCommand<BootArgs>({
  name: "boot",
  summary: "run the sandbox kernel for a container (started by create/run)",
  group: INTERNAL_GROUP,
  configure(command) {
    command
      .addArgument(containerIdArgument())
      .requiredOption("--bundle <dir>", "the container's bundle directory")
      .addOption(fdOption("--spec-fd <fd>", "FD to read the OCI spec from").makeOptionMandatory())
      .addOption(fdOption("--controller-fd <fd>", "FD of the controller's listening socket (absent for `do`)"))
      .addOption(fdListOption("--io-fds <fds>", "FDs connected to the gofers, root mount first"))
      .addOption(fdListOption("--stdio-fds <fds>", "the container's stdin, stdout and stderr FDs"))
      .addOption(fdOption("--start-sync-fd <fd>", "FD to signal readiness on and wait for start"))
      .addOption(fdOption("--netstack-fd <fd>", "FD connected to the netstack process"));
  },
  parse(input) {
    const args: BootArgs = {
      containerId: input.arg(0, isString),
      bundle: absolute(input.option("bundle", isString)),
      specFd: input.option("specFd", isFd),
      controllerFd: input.optionalOption("controllerFd", isFd),
      ioFds: input.list("ioFds", isFdArray),
      stdioFds: input.list("stdioFds", isFdArray),
      startSyncFd: input.optionalOption("startSyncFd", isFd),
      netstackFd: input.optionalOption("netstackFd", isFd),
    };
    if (args.stdioFds.length !== 0 && args.stdioFds.length !== 3) {
      throw new CliError(`boot --stdio-fds takes exactly 3 FDs (stdin, stdout, stderr), not ${args.stdioFds.length}`);
    }
    // Each channel is its own FD; one named twice means the parent wired the process wrong.
    const channels = [args.specFd, args.controllerFd, ...args.ioFds, args.startSyncFd, args.netstackFd];
    const seen = new Set<Fd>();
    for (const fd of channels) {
      if (fd === undefined) continue;
      if (seen.has(fd)) throw new CliError(`boot: FD ${fd} is given for more than one channel`);
      seen.add(fd);
    }
    return args;
  },
  // Loaded when the command runs: the sentry's modules cost every other command their start time.
  run: async (ctx, args) => (await import("../sandbox/boot.js")).runBoot(ctx, args),
});
