/**
 * Builds this package before its tests run, so the tests that start real `runsc-ts` processes
 * (which run the compiled dist/) never test stale code. Only runsc is compiled: its sources
 * import no other workspace package yet, so their builds are not needed.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const project = fileURLToPath(new URL("../tsconfig.json", import.meta.url));
  execFileSync(process.execPath, [tsc, "-p", project], { stdio: "inherit" });
}
