/** `runsc-ts netstack`: the sandbox's TCP/IP stack as its own process, serving netstack.capnp. */
import { NetstackConfigError, serveNetstack } from "@runsc-ts/netstack";
import { isSystemError, native } from "@runsc-ts/platform";
import type { CommandContext } from "../command.js";
import type { NetstackArgs } from "../commands/netstack.js";
import { CliError } from "../errors.js";

export async function runNetstack(ctx: CommandContext, args: NetstackArgs): Promise<void> {
  let tapFd: number | undefined = args.tapFd;
  if (args.tap !== undefined) {
    try {
      const C = native.constants;
      [tapFd] = native.tunOpen(args.tap, C.IFF_TAP | C.IFF_NO_PI | C.IFF_VNET_HDR);
    } catch (e) {
      if (isSystemError(e)) throw new CliError(`netstack --tap ${args.tap}: ${e.message}`);
      throw e;
    }
  }
  try {
    await serveNetstack({
      fd: args.fd,
      tapFd,
      address: args.address,
      gateway: args.gateway,
      logPackets: args.logPackets,
      log: ctx.log,
    });
  } catch (e) {
    if (e instanceof NetstackConfigError) throw new CliError(`netstack: ${e.message}`);
    throw e;
  }
}
