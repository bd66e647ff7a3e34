// A gofer whose root is a file (an OCI file bind mount such as /etc/resolv.conf): it serves that
// one file and nothing beside it, confined either way it can be started.
import * as fs from "node:fs";
import * as path from "node:path";
import { ENOTDIR, EROFS, O_RDONLY, O_RDWR, O_WRONLY, S_IFMT, S_IFREG } from "@runsc-ts/abi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mount, readAndClose, spawnGofer, tempDir } from "./harness.js";

let dir: string;
let file: string;
beforeAll(() => {
  dir = tempDir("gofer-file-root-");
  fs.chmodSync(dir, 0o755);
  file = path.join(dir, "resolv.conf");
  fs.writeFileSync(path.join(dir, "secret"), "not served\n");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each([
  { how: "confining itself", viaLauncher: false, unconfined: false },
  { how: "through runsc-confine", viaLauncher: true, unconfined: false },
  { how: "unconfined", viaLauncher: false, unconfined: true },
])("a gofer serving a file, $how", ({ viaLauncher, unconfined }) => {
  it("serves the file as the mount root: stat, read and write through donated FDs", async () => {
    fs.writeFileSync(file, "nameserver 10.0.0.1\n");
    const g = spawnGofer(file, { viaLauncher, unconfined });
    const root = await mount(g.gofer);
    const st = await root.fstatMode();
    expect(st.errno).toBe(0);
    expect(st.mode & S_IFMT).toBe(S_IFREG);
    expect(st.size).toBe(20n);
    const r = await root.openAt(O_RDONLY);
    expect(r.errno).toBe(0);
    expect(readAndClose(r.fd)).toBe("nameserver 10.0.0.1\n");
    const w = await root.openAt(O_WRONLY);
    expect(w.errno).toBe(0);
    fs.writeSync(w.fd, "nameserver 10.0.0.2\n", 0);
    fs.closeSync(w.fd);
    expect(fs.readFileSync(file, "utf8")).toBe("nameserver 10.0.0.2\n");
    // Nothing beside the file is reachable: the root is not a directory to walk from.
    const walked = await root.walk("secret");
    expect(walked.errno).toBe(ENOTDIR.errno);
    expect(walked.files).toEqual([]);
    // Confined, the gofer's whole file system is a directory holding the one file.
    if (!unconfined) expect(fs.readdirSync(`/proc/${g.pid}/root`)).toEqual(["file"]);
    root.release();
    const exit = await g.stop();
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
  });

  it("refuses writes with EROFS when read-only", async () => {
    fs.writeFileSync(file, "search example\n");
    const g = spawnGofer(file, { viaLauncher, unconfined, readOnly: true });
    const root = await mount(g.gofer);
    expect((await root.openAt(O_RDWR)).errno).toBe(EROFS.errno);
    const r = await root.openAt(O_RDONLY);
    expect(readAndClose(r.fd)).toBe("search example\n");
    root.release();
    const exit = await g.stop();
    expect(exit.code).toBe(0);
  });
});
