import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const generator = join(repoRoot, "tools/gen-abi/gen-abi.mjs");
const genDir = fileURLToPath(new URL("./gen/", import.meta.url));

function runGenerator(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [generator, ...args], { encoding: "utf8", cwd: repoRoot });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("tools/gen-abi --check", () => {
  it("passes: src/gen matches what the headers on this machine produce", () => {
    const r = runGenerator(["--check"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/up to date/);
  });

  it("fails, naming each file that differs or is stale", () => {
    const dir = mkdtempSync(join(tmpdir(), "abi-gen-check-"));
    try {
      cpSync(genDir, dir, { recursive: true });
      appendFileSync(join(dir, "fs.ts"), "export const HAND_TYPED = 1;\n");
      writeFileSync(join(dir, "stale.ts"), "export {};\n");
      const r = runGenerator(["--check", "--out", dir]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/fs\.ts: differs/);
      expect(r.stderr).toMatch(/stale\.ts: not produced by the generator/);
      expect(r.stderr).not.toMatch(/signals\.ts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
