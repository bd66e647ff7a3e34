import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = dirname(fileURLToPath(import.meta.url));

/** The specifiers a module imports at load time (not `import type`, not dynamic `import()`). */
function staticImports(source: string): string[] {
  const out: string[] = [];
  const re = /^(?:import|export)\s+(?!type\s)(?:[^;"']*?\sfrom\s+)?["']([^"']+)["']/gm;
  for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Every workspace package and file main.ts loads before a command runs. */
function startupGraph(): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) visit(join(dirname(file), spec.replace(/\.js$/, ".ts")));
      else if (spec.startsWith("@runsc-ts/")) packages.add(spec);
    }
  };
  visit(join(SRC, "main.ts"));
  return { files, packages };
}

// Every process of a sandbox (gofer, boot, netstack) and every OCI command starts through main.ts,
// so what it loads is paid on every start; each command loads its own package when it runs.
describe("CLI start-up", () => {
  it("reads static imports and ignores type-only and dynamic ones", () => {
    const src = [
      'import { a } from "./a.js";',
      'import type { B } from "@runsc-ts/sentry";',
      'export { c } from "./c.js";',
      'import "./side-effect.js";',
      'const m = await import("@runsc-ts/gofer");',
    ].join("\n");
    expect(staticImports(src)).toEqual(["./a.js", "./c.js", "./side-effect.js"]);
  });

  it("loads no workspace package before a command runs", () => {
    const { files, packages } = startupGraph();
    expect(files.size).toBeGreaterThan(10);
    expect([...packages]).toEqual([]);
  });
});
