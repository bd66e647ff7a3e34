/**
 * @runsc-ts/gofer: the file server, one process per mount. It serves gofer.capnp on one Unix
 * socket, confined to its mount root, and donates host FDs for opened files. See README.md for
 * the threat model (the sentry is assumed compromised), concurrency and what is not implemented.
 */
import { AT_FDCWD, O_DIRECTORY, O_PATH } from "@runsc-ts/abi";
import { native, rpcOverFd } from "@runsc-ts/platform";
import { basename, dirname } from "node:path";
import { realpathSync, statSync } from "node:fs";
import { ConfinementError, FILE_ROOT_NAME, type GoferLogger, confineAndExec, finishConfinement } from "./confine.js";
import { GoferServer } from "./server.js";

export { ConfinementError, confineAndExec, finishConfinement, installSeccompFilter, parsePivotHelper } from "./confine.js";
export { CONFINE_LAUNCHER, KEPT_CAPABILITIES, capabilityMask, confinedGoferCommand } from "./launcher.js";
export type { ConfineAndExecOptions, ConfineOptions, GoferLogger } from "./confine.js";
export { GoferServer, FileImpl } from "./server.js";
export { GOFER_ALLOWED, GOFER_FATAL, goferSeccompPolicy } from "./seccomp-policy.js";
export { MAX_WALK_NAMES, checkName } from "./walk.js";

export interface ServeGoferOptions {
  /** Absolute host path of the mount root. */
  readonly root: string;
  /** A connected SOCK_STREAM Unix socket to the sentry; taken over. */
  readonly ioFd: number;
  readonly readOnly: boolean;
  readonly log: GoferLogger;
  /**
   * Skip confinement (developer flag `--unconfined`: tests as non-root). Without it a failure
   * to confine is fatal (ConfinementError) and nothing is served.
   */
  readonly unconfined?: boolean;
  /**
   * Confinement stage 1 (confine.ts): how to exec this gofer again, given the value of
   * `--pivot-helper` for the new argv. The process is replaced; serveGofer does not return.
   */
  readonly reexec?: { readonly execPath: string; readonly argv: (pivotHelper: string) => readonly string[]; readonly env: readonly string[] };
  /** Confinement stage 2: the pivot helper stage 1 left (`--pivot-helper PID:FD`). */
  readonly pivotHelper?: { readonly pid: number; readonly fd: number };
}

/**
 * Confines the process (unless `unconfined`) in two stages around an exec of itself (see
 * confine.ts: stage 1 with `reexec`, stage 2 with `pivotHelper`), then serves the mount on
 * `ioFd` until the connection ends — the peer closes it, or sends garbage, which aborts the connection — and
 * returns. Every handle is closed by then.
 *
 * Preconditions: the calling process is a gofer and nothing else. Confinement cannot be undone
 * (the host's file system is gone from the main thread's view), and the process umask becomes 0.
 * Tests drive `GoferServer` directly instead.
 */
export async function serveGofer(opts: ServeGoferOptions): Promise<void> {
  const { ioFd, readOnly, log } = opts;
  // The directory to open as the root, and the name of the root in it when the mount is a file.
  let rootDir = opts.root;
  let fileName: string | undefined;
  if (opts.unconfined === true) {
    log.warn({ root: rootDir }, "gofer running UNCONFINED (--unconfined): development only");
    const real = realpathSync(rootDir);
    if (!statSync(real).isDirectory()) [rootDir, fileName] = [dirname(real), basename(real)];
  } else if (opts.pivotHelper !== undefined) {
    const { fileRoot } = finishConfinement({ root: rootDir, readOnly, log, helper: opts.pivotHelper });
    rootDir = "/";
    if (fileRoot) fileName = FILE_ROOT_NAME;
  } else if (opts.reexec !== undefined) {
    confineAndExec({ root: rootDir, readOnly, log, ...opts.reexec, keepFds: [ioFd] });
  } else {
    throw new ConfinementError("confinement", { cause: new Error("neither reexec nor pivotHelper given") });
  }
  // Modes of created files are exactly what the sentry asks (it has applied the guest's umask).
  process.umask(0);
  const rootFd = native.openat(AT_FDCWD, rootDir, O_PATH | O_DIRECTORY, 0);
  const server = new GoferServer(rootFd, readOnly, fileName);
  const conn = rpcOverFd(ioFd, { bootstrap: server.bootstrap(), logger: log });
  log.info({ root: opts.root, readOnly }, "gofer serving");
  const reason = await conn.closed();
  server.close();
  if (reason === undefined) log.info({}, "gofer connection closed; exiting");
  else log.warn({ err: reason.message }, "gofer connection ended abnormally; exiting");
}
