import { describe, expect, it } from "vitest";
import { CliError } from "./errors.js";
import { type DeviceAccess, checkPlatform, hostProbe } from "./platform-check.js";

const probe = (access: DeviceAccess) => ({ deviceAccess: (path: string) => (path === "/dev/kvm" ? access : "missing") });

describe("checkPlatform", () => {
  it("accepts ptrace without probing", () => {
    expect(() => checkPlatform("ptrace", { deviceAccess: () => { throw new Error("probed"); } })).not.toThrow();
  });

  it.each([
    ["missing", "--platform=kvm needs /dev/kvm, which this host does not have; use --platform=ptrace"],
    ["denied", "--platform=kvm cannot open /dev/kvm read-write (permission denied); use --platform=ptrace"],
    ["ok", "--platform=kvm is not implemented yet; use --platform=ptrace"],
  ] as const)("rejects kvm when /dev/kvm is %s, naming ptrace", (access, message) => {
    expect(() => checkPlatform("kvm", probe(access))).toThrow(new CliError(message));
  });
});

describe("hostProbe", () => {
  it("reports a missing device as missing", () => {
    expect(hostProbe.deviceAccess("/dev/no-such-device")).toBe("missing");
    expect(hostProbe.deviceAccess("/dev/null/x")).toBe("missing");
  });

  it("reports a device it can open read-write as ok", () => {
    expect(hostProbe.deviceAccess("/dev/null")).toBe("ok");
  });
});
