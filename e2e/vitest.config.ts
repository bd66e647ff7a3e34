import { projectConfig } from "../vitest.shared.js";

// e2e tests start real processes from the built packages (packages/*/dist), so the suite
// builds first; see tools/test.sh.
export default projectConfig("e2e", { include: ["**/*.test.ts"], fileParallelism: false, testTimeout: 120_000 });
