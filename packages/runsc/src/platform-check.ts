/**
 * Whether the chosen `--platform` can run here. Every command that would start a sandbox
 * (create, run, do, boot) calls `checkPlatform` before doing anything else, so the failure is one
 * clear line naming the alternative instead of a crash deep inside the platform.
 *
 * TODO: move the probe into @runsc-ts/platform when it exports its platform list.
 */
import { accessSync, constants as fsConstants } from "node:fs";
import { CliError } from "./errors.js";
import type { PlatformName } from "./global-options.js";

export type DeviceAccess = "ok" | "missing" | "denied";

/** The host facts the check needs; injectable for tests. */
export interface HostProbe {
  /** Whether `path` exists and this process may open it read-write. */
  deviceAccess(path: string): DeviceAccess;
}

export const hostProbe: HostProbe = {
  deviceAccess(path) {
    try {
      accessSync(path, fsConstants.R_OK | fsConstants.W_OK);
      return "ok";
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === "ENOENT" || code === "ENOTDIR" ? "missing" : "denied";
    }
  },
};

export const KVM_DEVICE = "/dev/kvm";

/** Throws a `CliError` naming the alternative if `platform` cannot run on this host. */
export function checkPlatform(platform: PlatformName, probe: HostProbe = hostProbe): void {
  switch (platform) {
    case "ptrace":
      return;
    case "kvm":
      switch (probe.deviceAccess(KVM_DEVICE)) {
        case "missing":
          throw new CliError(`--platform=kvm needs ${KVM_DEVICE}, which this host does not have; use --platform=ptrace`);
        case "denied":
          throw new CliError(`--platform=kvm cannot open ${KVM_DEVICE} read-write (permission denied); use --platform=ptrace`);
        case "ok":
          throw new CliError("--platform=kvm is not implemented yet; use --platform=ptrace");
      }
  }
}
