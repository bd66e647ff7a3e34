// Running a command natively and under `runsc-ts do`, for differential tests.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const BINARY = fileURLToPath(new URL("../../packages/runsc/bin/runsc-ts.js", import.meta.url));

export interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

export function native(argv: readonly string[], opts: RunOptions = {}): Run {
  const r = spawnSync(argv[0] as string, argv.slice(1), {
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 60_000,
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

export function sandboxed(argv: readonly string[], opts: RunOptions = {}): Run {
  const r = spawnSync(process.execPath, [BINARY, "do", "--", ...argv], {
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 64 << 20,
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Compiles the C programs in e2e/do/programs into a fresh directory; `cleanup` removes it. */
export function buildPrograms(names: readonly string[]): {
  dir: string;
  path: (name: string) => string;
  /** Also builds `name` statically linked (not PIE), as `name-static`. */
  buildStatic: (name: string) => void;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), "runsc-ts-programs-"));
  const build = (name: string, out: string, extra: readonly string[]) => {
    const src = fileURLToPath(new URL(`./programs/${name}.c`, import.meta.url));
    execFileSync("cc", ["-std=gnu11", "-O1", "-Wall", "-Werror", "-pthread", ...extra, "-o", join(dir, out), src], { stdio: ["ignore", "pipe", "pipe"] });
  };
  for (const name of names) build(name, name, []);
  return {
    dir,
    path: (name) => join(dir, name),
    buildStatic: (name) => build(name, `${name}-static`, ["-static", "-no-pie"]),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
