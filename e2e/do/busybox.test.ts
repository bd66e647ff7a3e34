// `runsc-ts do` against the same commands run natively: stdout and exit status must match.
// Static busybox (Debian's busybox-static) needs no dynamic loader, so it exercises the
// platform, loader, kernel core, VFS, overlay and gofer end to end.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BINARY, native, sandboxed } from "./harness.js";

const BUSYBOX = "/bin/busybox";

describe("runsc-ts do runs static busybox like the host does", () => {
  it("has busybox-static installed (tools/debian-packages.txt)", () => {
    expect(existsSync(BUSYBOX)).toBe(true);
  });

  const cases: string[][] = [
    [BUSYBOX, "echo", "hello", "from", "the", "sandbox"],
    [BUSYBOX, "true"],
    [BUSYBOX, "false"],
    [BUSYBOX, "cat", "/etc/os-release"],
    [BUSYBOX, "wc", "-c", "/etc/passwd"],
    [BUSYBOX, "sha256sum", "/etc/os-release"],
    [BUSYBOX, "sh", "-c", "echo in a shell; exit 3"],
    [BUSYBOX, "basename", "/usr/share/doc"],
    [BUSYBOX, "printf", "%s-%d\\n", "x", "42"],
  ];
  it.each(cases.map((c) => [c.join(" "), c] as const))("%s", (_name, argv) => {
    const want = native(argv);
    const got = sandboxed(argv);
    expect({ stdout: got.stdout, status: got.status }).toEqual({ stdout: want.stdout, status: want.status });
  });

  it("exits 127 with one line for a program that does not exist", () => {
    const r = sandboxed(["/nonexistent"]);
    expect(r.status).toBe(127);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/nonexistent: no such file or directory/i);
  });

  it("exits 126 with one line for a file that is not executable", () => {
    const r = sandboxed(["/etc/passwd"]);
    expect(r.status).toBe(126);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/passwd: permission denied/i);
  });

  it("keeps writes in the sandbox: a file written under /tmp and / reads back, and never reaches the host", () => {
    const name = `runsc-ts-probe-${process.pid}-${Date.now()}`;
    const script = `echo secret > /tmp/${name} && cat /tmp/${name} && echo rootfs > /${name} && busybox cat /${name}`;
    const r = sandboxed([BUSYBOX, "sh", "-c", script]);
    expect(r.stdout).toBe("secret\nrootfs\n");
    expect(r.status).toBe(0);
    expect(existsSync(`/tmp/${name}`)).toBe(false);
    expect(existsSync(`/${name}`)).toBe(false);
  });

  it("writes to an inherited stdout at its shared offset (a shell's >> and the sandbox interleave)", () => {
    const dir = mkdtempSync(join(tmpdir(), "do-stdout-"));
    try {
      const file = join(dir, "out");
      writeFileSync(file, "before\n");
      const fd = openSync(file, "a");
      const r = spawnSync(process.execPath, [BINARY, "do", "--", BUSYBOX, "echo", "from the sandbox"], { stdio: ["ignore", fd, "pipe"] });
      closeSync(fd);
      expect(r.status).toBe(0);
      expect(readFileSync(file, "utf8")).toBe("before\nfrom the sandbox\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs in a working directory under /tmp (the host's /tmp shows through the overlay)", () => {
    const dir = mkdtempSync(join(tmpdir(), "do-cwd-"));
    try {
      const r = spawnSync(process.execPath, [BINARY, "do", "--", BUSYBOX, "pwd"], { cwd: dir, encoding: "utf8" });
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${dir}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sees the host's files through the gofer, byte for byte", () => {
    const want = native([BUSYBOX, "sha256sum", BUSYBOX]);
    expect(want.stdout).toMatch(/^[0-9a-f]{64} /);
    expect(sandboxed([BUSYBOX, "sha256sum", BUSYBOX]).stdout).toBe(want.stdout);
  });
});
