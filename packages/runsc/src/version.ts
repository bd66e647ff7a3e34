/**
 * Version strings. The runtime's version is the package's (one source of truth); the OCI
 * runtime-spec version is the one whose config.json we read and `spec` will write.
 */
import { readFileSync } from "node:fs";

function packageVersion(): string {
  // ../package.json from both src/ (tests) and dist/ (the binary).
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed === "object" && parsed !== null && "version" in parsed && typeof parsed.version === "string") {
    return parsed.version;
  }
  throw new Error("packages/runsc/package.json has no version");
}

export const VERSION = packageVersion();

/** The OCI runtime specification version we implement. */
export const OCI_SPEC_VERSION = "1.2.0";

/** What `runsc-ts --version` prints, in runc's layout. */
export function versionText(): string {
  return `runsc-ts version ${VERSION}\nspec: ${OCI_SPEC_VERSION}`;
}
