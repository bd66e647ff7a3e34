import { describe, expect, it } from "vitest";
import { MAX_SPEC_BYTES, type Spec, SpecError, defaultSpecJson, parseSpec } from "./spec.js";

function ok(json: unknown): Spec {
  const r = parseSpec(JSON.stringify(json));
  if (r instanceof SpecError) throw r;
  return r;
}

function err(text: string): string {
  const r = parseSpec(text);
  if (!(r instanceof SpecError)) throw new Error("expected a SpecError");
  return r.message;
}

const minimal = { ociVersion: "1.0.2", process: { args: ["sh"], cwd: "/", user: { uid: 0, gid: 0 } }, root: { path: "rootfs" } };
const withProcess = (p: Record<string, unknown>) => JSON.stringify({ ...minimal, process: { ...minimal.process, ...p } });

describe("parseSpec", () => {
  it("reads the default spec it writes", () => {
    for (const rootless of [false, true]) {
      const s = ok(defaultSpecJson({ rootless }));
      expect(s.process?.args).toEqual(["sh"]);
      expect(s.root).toEqual({ path: "rootfs", readonly: true });
      expect(s.mounts.map((m) => m.destination)).toContain("/proc");
      expect(s.process?.rlimits).toEqual([{ type: "RLIMIT_NOFILE", hard: 1024n, soft: 1024n }]);
      expect(s.linux?.namespaces.some((n) => n.type === "user")).toBe(rootless);
    }
  });

  it("fills defaults for optional fields", () => {
    const s = ok(minimal);
    expect(s.process?.terminal).toBe(false);
    expect(s.process?.env).toEqual([]);
    expect(s.process?.user.additionalGids).toEqual([]);
    expect(s.mounts).toEqual([]);
    expect(s.root?.readonly).toBe(false);
  });

  it("accepts unknown fields, as runc does", () => {
    expect(ok({ ...minimal, vm: { hypervisor: {} }, process: { ...minimal.process, apparmorProfile: "x" } }).ociVersion).toBe("1.0.2");
  });

  it("keeps rlimits above 2^53 as the maximum value", () => {
    const s = ok({ ...minimal, process: { ...minimal.process, rlimits: [{ type: "RLIMIT_CORE", hard: 18446744073709551615, soft: 0 }] } });
    expect(s.process?.rlimits[0]?.hard).toBe(2n ** 64n - 1n);
  });

  it("names the path and the problem, in one line, for each kind of mistake", () => {
    const cases: Array<[string, RegExp]> = [
      ["", /not valid JSON/],
      ["{", /not valid JSON/],
      ["[]", /^config\.json: expected an object, got an array$/],
      ["null", /expected an object, got null/],
      [JSON.stringify({ ...minimal, ociVersion: 1 }), /config\.json\.ociVersion: expected a string, got 1/],
      [JSON.stringify({ ...minimal, ociVersion: "2.0.0" }), /implements runtime-spec 1\.x/],
      [withProcess({ args: [] }), /process\.args: expected a non-empty array/],
      [withProcess({ args: ["sh", 42] }), /process\.args\[1\]: expected a string, got 42/],
      [withProcess({ cwd: "relative" }), /process\.cwd: expected an absolute path/],
      [withProcess({ env: ["NOEQUALS"] }), /process\.env\[0\]: expected KEY=VALUE/],
      [withProcess({ user: { uid: -1, gid: 0 } }), /process\.user\.uid: expected an integer from 0 to 4294967295, got -1/],
      [withProcess({ user: { uid: 1.5, gid: 0 } }), /process\.user\.uid: expected an integer/],
      [withProcess({ user: { uid: 0 } }), /process\.user\.gid: expected an integer .*, got nothing/],
      [withProcess({ terminal: "yes" }), /process\.terminal: expected true or false/],
      [withProcess({ capabilities: { bounding: ["KILL"] } }), /capabilities\.bounding\[0\]: expected a capability name/],
      [withProcess({ rlimits: [{ type: "NOFILE", hard: 1, soft: 1 }] }), /rlimits\[0\]\.type: expected an RLIMIT_\* name/],
      [withProcess({ rlimits: [{ type: "RLIMIT_NOFILE", hard: 1, soft: 2 }] }), /soft limit 2 is above the hard limit 1/],
      [JSON.stringify({ ...minimal, mounts: [{ destination: "proc" }] }), /mounts\[0\]\.destination: expected an absolute path/],
      [JSON.stringify({ ...minimal, mounts: {} }), /config\.json\.mounts: expected an array, got an object/],
      [JSON.stringify({ ...minimal, linux: { namespaces: [{ type: "bogus" }] } }), /namespaces\[0\]\.type: expected one of pid/],
      [JSON.stringify({ ...minimal, linux: { uidMappings: [{ containerID: 0, hostID: 0, size: 0 }] } }), /uidMappings\[0\]\.size/],
      [JSON.stringify({ ...minimal, annotations: { a: 1 } }), /annotations\.a: expected a string, got 1/],
    ];
    for (const [text, re] of cases) {
      const msg = err(text);
      expect(msg, text).toMatch(re);
      expect(msg).not.toContain("\n");
    }
  });

  it("refuses invalid UTF-8 and oversized files", () => {
    expect(parseSpec(new Uint8Array([0x7b, 0xff, 0x7d]))).toBeInstanceOf(SpecError);
    expect((parseSpec(" ".repeat(MAX_SPEC_BYTES + 1)) as SpecError).message).toMatch(/larger than the limit/);
  });

  it("survives deeply nested and random JSON without throwing", () => {
    expect(parseSpec("[".repeat(100000))).toBeInstanceOf(SpecError);
    let seed = 1;
    const rand = () => (seed = (seed * 48271) % 2147483647);
    const base = JSON.stringify(defaultSpecJson({ rootless: false }));
    for (let i = 0; i < 500; i++) {
      const chars = base.split("");
      for (let k = 0; k < 3; k++) chars[rand() % chars.length] = String.fromCharCode(32 + (rand() % 90));
      const r = parseSpec(chars.join(""));
      expect(r instanceof SpecError || typeof r.ociVersion === "string").toBe(true);
    }
  });
});
