// The built runsc-ts binary as users and container engines run it. Build first:
// `npx tsc -b packages/runsc` (the whole suite's runner does).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BINARY = fileURLToPath(new URL("../../packages/runsc/bin/runsc-ts.js", import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL("../../packages/runsc/package.json", import.meta.url), "utf8")) as { version: string })
  .version;

function runsc(...argv: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BINARY, ...argv], { encoding: "utf8", timeout: 60_000 });
  if (result.error !== undefined) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("runsc-ts CLI", () => {
  it("--help lists every subcommand and exits 0", () => {
    const run = runsc("--help");
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    for (const name of ["create", "start", "run", "exec", "kill", "wait", "delete", "state", "list", "ps", "spec", "do", "boot", "gofer", "netstack"]) {
      expect(run.stdout).toMatch(new RegExp(`^  ${name}\\b`, "m"));
    }
  });

  it("--version prints the runtime and OCI spec versions like runc", () => {
    const run = runsc("--version");
    expect(run).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^runsc-ts version ${VERSION}\\nspec: 1\\.\\d+\\.\\d+\\n$`)), stderr: "" });
  });

  it("an unimplemented command exits 1 with exactly one stderr line", () => {
    expect(runsc("--root=/tmp/runsc-ts-e2e", "kill", "c1", "KILL")).toEqual({
      code: 1,
      stdout: "",
      stderr: 'runsc-ts: "kill" is not implemented yet\n',
    });
  });

  it("--platform=kvm do -- true fails in one line naming --platform=ptrace", () => {
    // Whether or not this host has /dev/kvm, the kvm platform cannot run here yet.
    const run = runsc("--platform=kvm", "do", "--", "true");
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^runsc-ts: --platform=kvm [^\n]*; use --platform=ptrace\n$/);
  });
});
