// A program under `runsc-ts do` that looks at more files than the gofer may hold open
// (RLIMIT_NOFILE is 20,000 here): the sentry's dentry cache evicts, through the overlay, so the
// gofer closes handles it no longer needs, and the answers are the host's.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";

const BINARY = fileURLToPath(new URL("../../packages/runsc/bin/runsc-ts.js", import.meta.url));
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-many-"));
  for (let d = 0; d < 21; d++) {
    fs.mkdirSync(path.join(dir, `d${d}`));
    for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(dir, `d${d}`, `f${i}`), "x".repeat((d * 1000 + i) % 97));
  }
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it("du stats 21,000 files under do and gets the host's answer (no EMFILE in the gofer)", () => {
  const argv = ["/usr/bin/du", "-ab", dir];
  const want = spawnSync(argv[0] as string, argv.slice(1), { maxBuffer: 64 << 20 });
  const got = spawnSync(process.execPath, [BINARY, "do", "--", ...argv], { timeout: 240_000, maxBuffer: 64 << 20 });
  expect(got.stderr.toString()).toBe("");
  expect(got.status).toBe(want.status);
  expect(got.stdout.toString().split("\n").length).toBeGreaterThan(21_000);
  expect(got.stdout.equals(want.stdout)).toBe(true);
}, 300_000);
