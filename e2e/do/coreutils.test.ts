// The differential list: Debian's dynamically linked programs (ld.so, libc, file
// mappings, futexes) under `runsc-ts do`, byte-identical stdout and the same exit status as
// natively. Absolute paths: the caller's PATH may hold wrapper scripts (pyenv shims) that are
// not what the native run would execute either.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BINARY = fileURLToPath(new URL("../../packages/runsc/bin/runsc-ts.js", import.meta.url));

function run(argv: string[], sandbox: boolean, input?: Buffer) {
  const r = sandbox
    ? spawnSync(process.execPath, [BINARY, "do", "--", ...argv], { timeout: 120_000, maxBuffer: 64 << 20, ...(input ? { input } : {}) })
    : spawnSync(argv[0] as string, argv.slice(1), { maxBuffer: 64 << 20, ...(input ? { input } : {}) });
  return { stdout: r.stdout, status: r.status };
}

/** epoll (level, edge, hang-up, the selectors module), eventfd and memfd_create from Python. */
const EPOLL_PY = `
import os, select, selectors
ep = select.epoll()
r, w = os.pipe()
ep.register(r, select.EPOLLIN | select.EPOLLET)
print(ep.poll(0))
os.write(w, b"x")
print([e for _, e in ep.poll(1)], [e for _, e in ep.poll(0)])
os.close(w)
print([e for _, e in ep.poll(1)])
efd = os.eventfd(3)
ep.register(efd, select.EPOLLIN)
print(sorted(e for _, e in ep.poll(1)), os.eventfd_read(efd))
sel = selectors.DefaultSelector()
a, b = os.pipe()
sel.register(a, selectors.EVENT_READ, "a")
os.write(b, b"hello")
print(type(sel).__name__, [(k.data, ev) for k, ev in sel.select(1)])
m = os.memfd_create("scratch")
os.write(m, b"in memory")
print(os.pread(m, 100, 0), os.readlink(f"/proc/self/fd/{m}").startswith("/memfd:scratch"))
`;

const cases: string[][] = [
  ["/bin/ls", "-la", "/usr"],
  ["/bin/cat", "/etc/os-release"],
  ["/usr/bin/sha256sum", "/usr/bin/ls"],
  ["/usr/bin/find", "/usr/share/doc", "-maxdepth", "1", "-name", "a*"],
  ["/usr/bin/sort", "/etc/services"],
  ["/bin/date", "+%Y"],
  ["/usr/bin/python3", "-c", 'import json,hashlib; print(hashlib.sha256(b"x").hexdigest())'],
  ["/bin/ls", "/nonexistent-dir"],
  ["/usr/bin/python3", "-c", EPOLL_PY],
  // Arguments are UTF-8 bytes, as the kernel passes them (not one byte per character).
  ["/bin/sh", "-c", "printf '%s\\n' \"$0\" | od -An -c; iconv -f utf-8 -t ascii//TRANSLIT <<EOF\n$0\nEOF", "café ünï 日本"],
];

describe("runsc-ts do runs Debian's programs like the host does", () => {
  it.each(cases.map((c) => [c.join(" "), c] as const))("%s", (_name, argv) => {
    const want = run(argv, false);
    const got = run(argv, true);
    expect(got.status).toBe(want.status);
    expect(got.stdout.equals(want.stdout)).toBe(true);
  });

  it("passes a non-ASCII working directory and environment as UTF-8", () => {
    const dir = mkdtempSync(join(tmpdir(), "répertoire-"));
    try {
      const r = spawnSync(process.execPath, [BINARY, "do", "--cwd", dir, "--env", "GREETING=héllo wörld", "--", "/bin/sh", "-c", 'pwd; printf "%s" "$GREETING" | od -An -tx1'], { encoding: "utf8", timeout: 60_000 });
      expect(r.stdout).toBe(`${dir}\n 68 c3 a9 6c 6c 6f 20 77 c3 b6 72 6c 64\n`);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("head -c 1000000 /dev/zero | wc -c, as a pipeline inside one sandbox", () => {
    const argv = ["/bin/sh", "-c", "/usr/bin/head -c 1000000 /dev/zero | /usr/bin/wc -c"];
    const got = run(argv, true);
    expect(got.stdout.toString()).toBe("1000000\n");
    expect(got.status).toBe(run(argv, false).status);
  });

  it("head -c 1000000 /dev/zero | wc -c, as two sandboxed processes joined by the test", () => {
    const zeros = run(["/usr/bin/head", "-c", "1000000", "/dev/zero"], true);
    expect(zeros.status).toBe(0);
    expect(zeros.stdout.length).toBe(1_000_000);
    const count = run(["/usr/bin/wc", "-c"], true, zeros.stdout);
    expect(count.stdout.toString()).toBe("1000000\n");
  });

  it("select and epoll on a host stdin pipe wake when the data comes", () => {
    const py = "import select,sys; ep=select.epoll(); ep.register(0, select.EPOLLIN); print(len(select.select([0],[],[],10)[0]), ep.poll(10), sys.stdin.readline().strip())";
    const r = spawnSync("/bin/sh", ["-c", `(sleep 1; echo hi) | "${process.execPath}" "${BINARY}" do -- /usr/bin/python3 -c '${py}'`], { timeout: 120_000 });
    expect(r.stdout.toString()).toBe("1 [(0, 1)] hi\n");
    expect(r.status).toBe(0);
  });

  it("keeps writing to a host pipe whose reader is slow, though the pipe was made non-blocking", () => {
    // The `do` process is Node: its stdout pipe, shared with the sentry, turns O_NONBLOCK, so a
    // full pipe answers EAGAIN and the sandboxed writer must sleep until the reader drains it.
    const r = spawnSync("/bin/sh", ["-c", `"${process.execPath}" "${BINARY}" do -- /usr/bin/head -c 1000000 /dev/zero | (sleep 1; wc -c)`], { timeout: 120_000 });
    expect(r.stdout.toString().trim()).toBe("1000000");
    expect(r.status).toBe(0);
  });
});
