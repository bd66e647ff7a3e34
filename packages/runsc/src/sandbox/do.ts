/**
 * `runsc-ts do`: run one command in a fresh sandbox over the host's root filesystem, read-only
 * with an in-memory overlay, as the caller (uid, gid, cwd, environment). It starts a gofer for
 * "/" and a sentry (`boot`) as child processes, wires them with a socketpair, passes the spec
 * over another, and exits with the program's status.
 */
import { spawn } from "node:child_process";
import { constants as osConstants } from "node:os";
import { fileURLToPath } from "node:url";
import { confinedGoferCommand } from "@runsc-ts/gofer/launcher";
import { native } from "@runsc-ts/platform";
// The spec module alone: `do` never loads the sentry itself (its children do).
import { OCI_VERSION } from "@runsc-ts/sentry/oci";
import type { CommandContext } from "../command.js";
import type { DoArgs } from "../commands/do.js";
import { ExitStatus } from "../errors.js";
import { checkPlatform } from "../platform-check.js";

const BINARY = fileURLToPath(new URL("../../bin/runsc-ts.js", import.meta.url));

/**
 * Extra Node flags for the gofer and sentry processes, for profiling and debugging
 * (`RUNSC_TS_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`; NODE_OPTIONS refuses those).
 */
function childNodeArgs(): string[] {
  return (process.env["RUNSC_TS_CHILD_NODE_ARGS"] ?? "").split(/\s+/).filter((a) => a !== "");
}

/** Every capability name, for a root caller (the sandbox contains them). */
const ALL_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
];

/** The spec `do` runs: the host's / read-only with an overlay, the caller's identity. */
export function doSpec(args: DoArgs): Record<string, unknown> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const caps = uid === 0 ? ALL_CAPS : [];
  const env = Object.entries(process.env)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const overrides = new Map(args.env.map((e) => [e.slice(0, e.indexOf("=")), e]));
  const merged = [...env.filter((e) => !overrides.has(e.slice(0, e.indexOf("=")))), ...overrides.values()];
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid, gid, additionalGids: (process.getgroups?.() ?? []).filter((g) => g !== gid) },
      args: [args.command, ...args.args],
      env: merged,
      cwd: args.cwd ?? process.cwd(),
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 4096, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "/", readonly: true },
    hostname: "runsc-ts",
    mounts: [],
  };
}

/** The global flags the children inherit. */
function globalFlags(ctx: CommandContext): string[] {
  const g = ctx.globals;
  const out = [`--platform=${g.platform}`, `--log-format=${g.logFormat}`];
  if (g.debug) out.push("--debug");
  if (g.strace) out.push("--strace");
  // File destinations are shared (each process appends); an fd:N destination is ours alone.
  if (g.log?.kind === "file") out.push(`--log=${g.log.path}`);
  if (g.debugLog?.kind === "file") out.push(`--debug-log=${g.debugLog.path}`);
  return out;
}

export async function runDo(ctx: CommandContext, args: DoArgs): Promise<void> {
  checkPlatform(ctx.globals.platform, ctx.host);
  const { SOCK_STREAM, SOCK_CLOEXEC } = native.constants;
  const [goferOurs, goferTheirs] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const [specOurs, specTheirs] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const flags = globalFlags(ctx);
  const nodeArgs = childNodeArgs();
  // The gofer is confined by runsc-confine before Node starts (one start of Node, not two).
  const [launcher, ...goferArgs] = confinedGoferCommand("/", true, [process.execPath, ...nodeArgs, BINARY, ...flags, "gofer", "--root", "/", "--ro", "--io-fd", "3"]);
  const goferChild = spawn(launcher as string, goferArgs, { stdio: ["ignore", "ignore", "inherit", goferTheirs] });
  native.close(goferTheirs);
  const bootChild = spawn(
    process.execPath,
    [...nodeArgs, BINARY, ...flags, "boot", `do-${process.pid}`, "--bundle", process.cwd(), "--spec-fd", "3", "--io-fds", "4", "--stdio-fds", "0,1,2"],
    { stdio: ["inherit", "inherit", "inherit", specTheirs, goferOurs] },
  );
  native.close(specTheirs);
  native.close(goferOurs);
  const spec = Buffer.from(JSON.stringify(doSpec(args)));
  let off = 0;
  while (off < spec.length) {
    const n = native.sendmsg(specOurs, [spec.subarray(off)], []);
    if (n < 0) await new Promise((r) => setTimeout(r, 1));
    else off += n;
  }
  native.close(specOurs);
  ctx.log.debug({ gofer: goferChild.pid, boot: bootChild.pid }, "sandbox started");
  const code = await new Promise<number>((resolve) => {
    bootChild.on("exit", (c, signal) => resolve(c ?? 128 + (signal === null ? 0 : (osConstants.signals[signal] ?? 0))));
    bootChild.on("error", () => resolve(125));
  });
  if (goferChild.exitCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => goferChild.kill("SIGKILL"), 2000);
      goferChild.on("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  throw new ExitStatus(code);
}
