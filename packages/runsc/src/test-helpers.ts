/** Test helpers (excluded from the build): run the CLI in-process, or the built binary as a process. */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "./cli.js";
import type { CommandContext, Invocation } from "./command.js";
import type { DeviceAccess } from "./platform-check.js";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Intercepted extends CliRun {
  /** The command that would have run, with its typed arguments and context. */
  readonly name: string | undefined;
  readonly args: unknown;
  readonly ctx: CommandContext | undefined;
}

export interface InProcessOptions {
  /** What the platform check sees at /dev/kvm (default: missing). */
  readonly kvm?: DeviceAccess;
  /** Capture the parsed invocation instead of running the command. */
  readonly intercept?: boolean;
  /** Replace the command's action. */
  readonly action?: (name: string, invocation: Invocation, ctx: CommandContext) => Promise<void>;
}

/** Runs `runsc-ts <argv>` in this process with captured output. */
export async function cli(argv: readonly string[], options: InProcessOptions = {}): Promise<Intercepted> {
  let stdout = "";
  let stderr = "";
  let name: string | undefined;
  let args: unknown;
  let ctx: CommandContext | undefined;
  const capture = async (n: string, invocation: Invocation, c: CommandContext): Promise<void> => {
    name = n;
    args = invocation.args;
    ctx = c;
  };
  const intercept = options.action ?? (options.intercept === true ? capture : undefined);
  const code = await runCli(argv, {
    io: { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
    host: { deviceAccess: () => options.kvm ?? "missing" },
    ...(intercept === undefined ? {} : { intercept }),
  });
  return { code, stdout, stderr, name, args, ctx };
}

/** The built binary (see test-global-setup.ts, which builds it before the tests run). */
export const BINARY = fileURLToPath(new URL("../bin/runsc-ts.js", import.meta.url));

/** Runs `node bin/runsc-ts.js <argv>` as a real process. */
export function spawnBinary(argv: readonly string[], options: SpawnSyncOptions = {}): CliRun {
  const result = spawnSync(process.execPath, [BINARY, ...argv], { encoding: "utf8", timeout: 60_000, ...options });
  if (result.error !== undefined) throw result.error;
  return { code: result.status ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `runsc-ts-${prefix}-`));
}
