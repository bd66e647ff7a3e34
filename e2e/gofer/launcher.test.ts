// runsc-confine (native/confine), the gofer's first confinement stage as a program, run directly:
// what the program it execs receives and holds, and its refusals of malformed command lines.
import { spawnSync } from "node:child_process";
import { CONFINE_LAUNCHER, KEPT_CAPABILITIES, capabilityMask } from "@runsc-ts/gofer/launcher";
import { describe, expect, it } from "vitest";

const MASK = `0x${capabilityMask(KEPT_CAPABILITIES).toString(16)}`;

function launch(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(CONFINE_LAUNCHER, args, { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("runsc-confine", () => {
  it("execs the program confined, with --pivot-helper PID:FD appended and that FD open", () => {
    // The shell prints its arguments, whether the helper's descriptor is a socket, and its own
    // confinement as /proc reports it (its mount namespace is new; the root is not moved yet).
    const script = [
      'echo "args: $*"',
      'fd=${3#*:}; [ -S /proc/self/fd/$fd ] && echo "helper socket: yes"',
      "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status",
      "readlink /proc/self/ns/mnt",
    ].join("; ");
    const r = launch(["--root", "/", "--ro", "--keep-caps", MASK, "--", "/bin/sh", "-c", script, "sh", "first"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^args: first --pivot-helper [1-9][0-9]*:[0-9]+$/);
    expect(lines[1]).toBe("helper socket: yes");
    const status = Object.fromEntries(lines.slice(2, 8).map((l) => l.split(/:\s+/) as [string, string]));
    const kept = capabilityMask(KEPT_CAPABILITIES);
    // Root's exec keeps the permitted set within the bounding set, and effective follows it.
    expect(BigInt(`0x${status["CapBnd"]}`)).toBe(kept);
    expect(BigInt(`0x${status["CapPrm"]}`)).toBe(kept);
    expect(BigInt(`0x${status["CapEff"]}`)).toBe(kept);
    expect(BigInt(`0x${status["CapInh"]}`)).toBe(0n);
    expect(BigInt(`0x${status["CapAmb"]}`)).toBe(0n);
    expect(status["NoNewPrivs"]).toBe("1");
    expect(lines[8]).not.toBe(spawnSync("readlink", ["/proc/self/ns/mnt"], { encoding: "utf8" }).stdout.trim());
  });

  it("refuses malformed command lines with exit status 2 and a usage line", () => {
    const cases: [string[], RegExp][] = [
      [[], /--root and --keep-caps are required/],
      [["--root", "/", "--keep-caps", MASK], /no program to run/],
      [["--root", "/", "--keep-caps", MASK, "--"], /no program to run/],
      [["--root", "/", "--keep-caps", "zz", "--", "/bin/true"], /--keep-caps takes a capability mask/],
      [["--root", "/", "--keep-caps", "-1", "--", "/bin/true"], /--keep-caps takes a capability mask/],
      [["--root", "/", "--keep-caps", "0x1ffffffffffffffff", "--", "/bin/true"], /--keep-caps takes a capability mask/],
      [["--root", "rel", "--keep-caps", MASK, "--", "/bin/true"], /--root takes an absolute path/],
      [["--root", "/", "--keep-caps", MASK, "--", "true"], /the program must be an absolute path/],
      [["--root", "/", "--keep-caps", MASK, "/bin/true"], /unknown option/],
      [["--root"], /an option lacks its value/],
    ];
    for (const [args, message] of cases) {
      const r = launch(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      const [first, second, rest] = r.stderr.split("\n");
      expect(first, args.join(" ")).toMatch(new RegExp(`^runsc-confine: .*${message.source}`));
      expect(second).toMatch(/^usage: runsc-confine /);
      expect(rest).toBe("");
    }
  });
});
