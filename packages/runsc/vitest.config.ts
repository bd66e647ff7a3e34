import { projectConfig } from "../../vitest.shared.js";

// globalSetup compiles the package first: some tests run the built binary as a real process.
export default projectConfig("runsc", { globalSetup: ["./src/test-global-setup.ts"] });
