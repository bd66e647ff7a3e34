/**
 * `--platform=NAME`: the platform behind a name. `ptrace` is the only one implemented. `kvm`
 * checks for /dev/kvm first, so a machine without it gets the error that tells the user what
 * to do; on a machine with it, KVM is still refused (not implemented) — never faked.
 */
import { accessSync, constants, existsSync } from "node:fs";
import type { Platform } from "./platform.js";
import { PtracePlatform, stubPath } from "./ptrace/ptrace-platform.js";

/** The platform names `--platform` accepts. */
export const PLATFORM_NAMES = ["ptrace", "kvm"] as const;

/** An error with a one-line message for the CLI (`code` "ERR_PLATFORM_UNAVAILABLE"). */
export class PlatformUnavailableError extends Error {
  readonly code = "ERR_PLATFORM_UNAVAILABLE";
}

/** Starts the named platform; throws PlatformUnavailableError with a one-line reason. */
export function platformFor(name: string, kvmDevice = "/dev/kvm"): Platform {
  switch (name) {
    case "ptrace":
      // A clear line for a broken install rather than execve's ENOEXEC from the stub's start.
      if (!existsSync(stubPath)) throw new PlatformUnavailableError(`the ptrace platform's stub is not built (${stubPath}); run npm ci`);
      return PtracePlatform.start();
    case "kvm": {
      try {
        accessSync(kvmDevice, constants.R_OK | constants.W_OK);
      } catch {
        throw new PlatformUnavailableError(`platform kvm: ${kvmDevice} is not available; use --platform=ptrace`);
      }
      throw new PlatformUnavailableError("platform kvm: not implemented yet; use --platform=ptrace");
    }
    default:
      throw new PlatformUnavailableError(`unknown platform "${name}"; use --platform=ptrace`);
  }
}
