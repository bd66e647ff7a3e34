import { Option } from "commander";
import { CliError } from "../errors.js";
import { defineCommand } from "../command.js";
import { type Fd, type InterfaceAddress, parseInterfaceAddress, parseIpAddress } from "../flags.js";
import { hasKeys, isFd, isString } from "../input.js";
import { INTERNAL_GROUP, absolute, fdOption } from "./common.js";

/** The sandbox's TCP/IP stack. Loopback always exists; a TAP NIC is added with `tapFd`. */
export interface NetstackArgs {
  /** The RPC connection to the sandbox; netstack takes ownership. */
  readonly fd: Fd;
  /** A TAP device to attach as the NIC. */
  readonly tapFd: Fd | undefined;
  /** Developer alternative to tapFd: the name of a TAP device to open (TUNSETIFF). */
  readonly tap: string | undefined;
  /** The NIC's address. Requires `tapFd`. */
  readonly address: InterfaceAddress | undefined;
  /** Default gateway. Requires `address` of the same family. */
  readonly gateway: string | undefined;
  /** Absolute path of a file to write every packet to. */
  readonly logPackets: string | undefined;
}

export const netstack = defineCommand<NetstackArgs>({
  name: "netstack",
  summary: "run the sandbox's user-space TCP/IP stack",
  group: INTERNAL_GROUP,
  configure(command) {
    command
      .addOption(fdOption("--fd <fd>", "FD connected to the sandbox (taken over)").makeOptionMandatory())
      .addOption(fdOption("--tap-fd <fd>", "FD of a TAP device to use as the NIC").conflicts("tap"))
      .option("--tap <name>", "development: open TAP device NAME (created if missing; needs CAP_NET_ADMIN) as the NIC")
      .addOption(new Option("--addr <address/len>", "the NIC's address and prefix length").argParser(parseInterfaceAddress))
      .addOption(new Option("--gw <address>", "the default gateway").argParser(parseIpAddress))
      .option("--log-packets <file>", "write every packet to FILE");
  },
  parse(input) {
    const args: NetstackArgs = {
      fd: input.option("fd", isFd),
      tapFd: input.optionalOption("tapFd", isFd),
      tap: input.optionalOption("tap", isString),
      address: input.optionalOption("addr", hasKeys<InterfaceAddress>("address", "family", "prefixLength")),
      gateway: input.optionalOption("gw", isString),
      logPackets: absolute(input.optionalOption("logPackets", isString)),
    };
    if (args.tap !== undefined && (args.tap === "" || args.tap.length >= 16 || /[/\s\0]/.test(args.tap))) {
      throw new CliError(`netstack --tap: "${args.tap}" is not a network interface name`);
    }
    if (args.tapFd === undefined && args.tap === undefined && (args.address !== undefined || args.gateway !== undefined)) {
      throw new CliError("netstack --addr and --gw configure the NIC, which needs --tap-fd (or --tap)");
    }
    if (args.gateway !== undefined && args.address === undefined) {
      throw new CliError("netstack --gw needs --addr");
    }
    if (args.gateway !== undefined && args.address !== undefined && (args.gateway.includes(":") ? 6 : 4) !== args.address.family) {
      throw new CliError("netstack --gw and --addr must both be IPv4 or both IPv6");
    }
    if (args.tapFd !== undefined && args.tapFd === args.fd) {
      throw new CliError(`netstack: FD ${args.fd} is given for both --fd and --tap-fd`);
    }
    return args;
  },
  // Serves netstack.capnp on --fd until the sandbox closes the connection; loopback always,
  // eth0 over --tap-fd when given. Loaded when the command runs, like boot's sentry.
  run: async (ctx, args) => (await import("../sandbox/netstack.js")).runNetstack(ctx, args),
});
