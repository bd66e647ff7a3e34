/**
 * `runsc-ts boot`'s work: read the spec, connect to the root gofer, start the platform and the
 * sentry, load the container's init process, and exit with its status (128+N if a signal killed
 * it). A program that cannot start (not found, not executable) gets the shell's 127/126 and one
 * line on stderr.
 *
 * With a controller socket, the sandbox reports itself ready on the start-sync FD and the init
 * process waits for the controller's startRoot (`runsc-ts start`); without one (`do`), it runs
 * at once.
 */
import { closeSync, readFileSync, writeSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { UnixListener, native, platformFor, rpcOverFd } from "@runsc-ts/platform";
import { type RpcConnection, gofer } from "@runsc-ts/proto";
import { Controller, StartError, boot, parseSpec, shellExitCode } from "@runsc-ts/sentry";
import type { CommandContext } from "../command.js";
import type { BootArgs } from "../commands/boot.js";
import { CliError, ExitStatus } from "../errors.js";
import { checkPlatform } from "../platform-check.js";

export async function runBoot(ctx: CommandContext, args: BootArgs): Promise<void> {
  checkPlatform(ctx.globals.platform, ctx.host);
  const spec = parseSpec(readFileSync(args.specFd));
  if (spec instanceof Error) throw new CliError(spec.message);
  const rootFd = args.ioFds[0];
  if (rootFd === undefined) throw new CliError("boot: --io-fds must name the root gofer's connection");
  // The platform first: if it cannot start, no connection is open to keep this process alive
  // (and the gofers see their connections close and exit).
  const platform = platformFor(ctx.globals.platform);
  const conn = rpcOverFd(rootFd, { logger: ctx.log });
  const rootGofer = conn.bootstrap(gofer.Gofer$Client);
  const mountConns = args.ioFds.slice(1).map((fd) => rpcOverFd(fd, { logger: ctx.log }));
  const mountGofers = mountConns.map((c) => c.bootstrap(gofer.Gofer$Client));
  let listener: UnixListener | undefined;
  const clients = new Set<RpcConnection>();
  const stdio: [number, number, number] = args.stdioFds.length === 3 ? [args.stdioFds[0] ?? 0, args.stdioFds[1] ?? 1, args.stdioFds[2] ?? 2] : [0, 1, 2];
  try {
    // The sandbox reports the host's CPU count and memory (the spec's limits come with cgroups).
    const sandbox = await boot({
      spec,
      rootGofer,
      mountGofers,
      platform,
      stdio,
      log: ctx.log,
      strace: ctx.globals.strace,
      cpus: availableParallelism(),
      totalMemory: totalmem(),
    });
    if (args.startSyncFd !== undefined) {
      writeSync(args.startSyncFd, Buffer.from([1]));
      closeSync(args.startSyncFd);
    }
    if (args.controllerFd !== undefined) {
      const controller = new Controller(sandbox, args.containerId, native.close, ctx.log);
      listener = new UnixListener(
        args.controllerFd,
        (fd) => {
          const c = rpcOverFd(fd, { bootstrap: controller.bootstrap(), logger: ctx.log });
          clients.add(c);
          void c.closed().then(() => clients.delete(c));
        },
        (e) => ctx.log.error({ err: e.message }, "controller socket failed"),
      );
    } else {
      sandbox.start();
    }
    const status = await sandbox.wait();
    ctx.log.info({ status, maxRssKb: process.resourceUsage().maxRSS }, "sandbox exited");
    // Let the controller answer the waits that this exit has just completed.
    await new Promise((resolve) => setImmediate(resolve));
    if (sandbox.kernel.bug !== undefined) throw new CliError(`sentry bug: ${sandbox.kernel.bug.message}`, 128);
    throw new ExitStatus(shellExitCode(status));
  } catch (e) {
    if (e instanceof StartError) throw new CliError(e.message, e.exitCode);
    throw e;
  } finally {
    listener?.close();
    for (const c of clients) c.close();
    platform.close();
    conn.close();
    for (const c of mountConns) c.close();
  }
}
