// A real `runsc-ts netstack` process (the built binary) driven over a socket pair: the test is
// the sandbox's side of the connection. Also helpers for the network namespaces the interop
// tests make (10.x addresses only inside them; always removed).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { native, rpcOverFd } from "@runsc-ts/platform";
import { type RpcConnection, netstack } from "@runsc-ts/proto";

export const BINARY = fileURLToPath(new URL("../../packages/runsc/bin/runsc-ts.js", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface NetstackProcess {
  readonly child: ChildProcess;
  readonly conn: RpcConnection;
  readonly stack: netstack.Stack$Client;
  /** Our end of the RPC socket (owned by `conn`). */
  readonly fd: number;
  readonly logFile: string;
  readonly exited: Promise<Exit>;
  /** Closes our end and waits for the process to exit. */
  stop(): Promise<Exit>;
}

/**
 * Starts `runsc-ts netstack --fd 3 [--tap-fd 4] ...args`. `tapFd` (ours, still owned by the
 * caller afterwards) becomes the child's fd 4. `netns` runs it inside that network namespace.
 */
export function spawnNetstack(args: readonly string[] = [], tapFd?: number, netns?: string): NetstackProcess {
  const { SOCK_STREAM, SOCK_CLOEXEC } = native.constants;
  const [ours, theirs] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const logFile = path.join(os.tmpdir(), `netstack-e2e-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
  const argv = [BINARY, "--debug-log", logFile, "netstack", "--fd", "3", ...(tapFd === undefined ? [] : ["--tap-fd", "4"]), ...args];
  const stdio: (number | "ignore" | "pipe")[] = ["ignore", "ignore", "pipe", theirs];
  if (tapFd !== undefined) stdio.push(tapFd);
  const child = netns === undefined ? spawn(process.execPath, argv, { stdio }) : spawn("ip", ["netns", "exec", netns, process.execPath, ...argv], { stdio });
  native.close(theirs);
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => (stderr += d));
  const exited = new Promise<Exit>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })));
  const conn = rpcOverFd(ours);
  return {
    child,
    conn,
    stack: conn.bootstrap(netstack.Stack$Client),
    fd: ours,
    logFile,
    exited,
    async stop() {
      conn.close();
      const exit = await exited;
      if (exit.code === 0) fs.rmSync(logFile, { force: true });
      return exit;
    },
  };
}

/** Runs a command, throwing with its stderr on failure. */
export function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs `cmd` inside network namespace `ns`. */
export function inNs(ns: string, cmd: string, args: readonly string[]): string {
  return sh("ip", ["netns", "exec", ns, cmd, ...args]);
}

/**
 * A network namespace made for one test, with a unique name; `remove()` deletes it and
 * everything in it (idempotent). Fails loudly without root: CI runs as root.
 */
export function makeNamespace(tag: string): { name: string; remove(): void } {
  if (process.getuid?.() !== 0) throw new Error("the netstack interop tests need root (network namespaces, TAP devices)");
  const name = `rts-${tag}-${process.pid}`;
  sh("ip", ["netns", "add", name]);
  sh("ip", ["-n", name, "link", "set", "lo", "up"]);
  return {
    name,
    remove() {
      try {
        sh("ip", ["netns", "del", name]);
      } catch {
        // already gone
      }
    },
  };
}
