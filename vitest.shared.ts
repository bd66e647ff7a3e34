// Shared vitest settings. Every package's vitest.config.ts calls projectConfig(name), and
// the root vitest.config.ts lists the packages as projects, so `npx nx test netstack` and the
// whole-suite run use the same settings.
//
// Workspace packages resolve to their TypeScript sources, so a test never runs against a stale
// dist/. Built output is only used at run time by real processes (the runsc-ts binary).
import { fileURLToPath } from "node:url";
import { defineConfig, type ViteUserConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));
const packages = ["abi", "proto", "platform", "gofer", "netstack", "sentry", "runsc"];

/** Subpath exports (package.json "exports"), by package: subpath -> source file. */
const subpaths: Record<string, Record<string, string>> = { sentry: { oci: "oci/spec.ts" } };

export const workspaceAliases = [
  ...Object.entries(subpaths).flatMap(([p, subs]) =>
    Object.entries(subs).map(([sub, file]) => ({ find: new RegExp(`^@runsc-ts/${p}/${sub}$`), replacement: `${root}packages/${p}/src/${file}` })),
  ),
  ...packages.map((p) => ({ find: new RegExp(`^@runsc-ts/${p}$`), replacement: `${root}packages/${p}/src/index.ts` })),
];

export function projectConfig(name: string, extra: ViteUserConfig["test"] = {}): ViteUserConfig {
  return defineConfig({
    resolve: { alias: workspaceAliases },
    test: {
      name,
      include: ["src/**/*.test.ts", "**/*.test.ts"],
      exclude: ["**/node_modules/**", "**/dist/**"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      ...extra,
    },
  });
}
