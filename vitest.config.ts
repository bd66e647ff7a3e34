import { defineConfig } from "vitest/config";

// The whole suite: every package's unit tests, then the multi-process e2e tests.
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "e2e/vitest.config.ts"],
  },
});
