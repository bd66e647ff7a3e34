// A real `runsc-ts gofer` process serving a directory to this process over a socket pair: the
// issue-2 bar "two real processes: one donates a file through a gofer openAt, the other reads it
// through the received FD", and the gofer's confinement as the host sees it.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, O_RDONLY, O_WRONLY, SOCK_STREAM } from "@runsc-ts/abi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GoferProcess, File, mount, readAndClose, spawnGofer, tempDir } from "./harness.js";

let root: string;
beforeAll(() => {
  root = tempDir("gofer-e2e-");
  fs.chmodSync(root, 0o755); // readable by the unprivileged gofer below
  fs.mkdirSync(path.join(root, "etc"));
  fs.writeFileSync(path.join(root, "etc/motd"), "served by the gofer\n");
  fs.writeFileSync(path.join(root, "data.bin"), Buffer.alloc(100_000, 7));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function statusField(pid: number, name: string, tid: number | string = pid): string {
  const line = fs
    .readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  return (line ?? "").split(":")[1]?.trim() ?? "";
}

// Confining itself (stage 1 in Node, then a re-exec), and started through runsc-confine as a
// sandbox starts it (stage 1 in C): the same process must come out either way.
describe.each([
  { how: "confining itself", viaLauncher: false },
  { how: "through runsc-confine", viaLauncher: true },
])("runsc-ts gofer, $how", ({ viaLauncher }) => {
  let g: GoferProcess;
  beforeAll(() => {
    g = spawnGofer(root, { viaLauncher });
  });
  afterAll(async () => {
    const exit = await g.stop();
    expect(exit.code).toBe(0);
    expect(exit.stderr).toBe("");
  });

  it("mounts, walks, opens and donates a file that this process then reads through the FD", async () => {
    const rootFile = await mount(g.gofer);
    const motd = await rootFile.walkTo("etc", "motd");
    const opened = await motd.openAt(O_RDONLY);
    expect(opened.errno).toBe(0);
    expect(opened.fd).toBeGreaterThanOrEqual(0);
    expect(readAndClose(opened.fd)).toBe("served by the gofer\n");

    const big = await rootFile.walkTo("data.bin");
    const b = await big.openAt(O_RDONLY);
    expect(fs.fstatSync(b.fd).size).toBe(100_000);
    fs.closeSync(b.fd);
    [motd, big, rootFile].forEach((f: File) => f.release());
  });

  it("writes through a donated FD land in the host file", async () => {
    const rootFile = await mount(g.gofer);
    const c = await rootFile.openCreateAt("written.txt", O_WRONLY, 0o644);
    expect(c.errno).toBe(0);
    fs.writeSync(c.fd, "from the sentry");
    fs.closeSync(c.fd);
    expect(fs.readFileSync(path.join(root, "written.txt"), "utf8")).toBe("from the sentry");
    rootFile.release();
    fs.rmSync(path.join(root, "written.txt"));
  });

  it("binds a Unix socket in the mount and connects to it, both donated", async () => {
    const rootFile = await mount(g.gofer);
    const b = await rootFile.bindAt("app.sock", SOCK_STREAM, 0o660);
    expect(b.errno).toBe(0);
    expect(fs.statSync(path.join(root, "app.sock")).isSocket()).toBe(true);
    const server = net.createServer((conn) => conn.end("hello from the socket"));
    await new Promise<void>((resolve) => server.listen({ fd: b.fd }, resolve));
    const c = await (b.child as File).connect(SOCK_STREAM);
    expect(c.errno).toBe(0);
    const client = new net.Socket({ fd: c.fd, readable: true, writable: true });
    const got = await new Promise<string>((resolve) => {
      let text = "";
      client.on("data", (d) => (text += d.toString()));
      client.on("end", () => resolve(text));
    });
    expect(got).toBe("hello from the socket");
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
    b.child?.release();
    rootFile.release();
    fs.rmSync(path.join(root, "app.sock"));
  });

  it("is confined in every thread: its own mount namespace, the root as '/', minimal capabilities, no_new_privs, seccomp", async () => {
    await mount(g.gofer).then((f) => f.release()); // serving, so confinement is done
    expect(fs.readlinkSync(`/proc/${g.pid}/ns/mnt`)).not.toBe(fs.readlinkSync("/proc/self/ns/mnt"));
    expect(fs.readdirSync(`/proc/${g.pid}/root`).sort()).toEqual(fs.readdirSync(root).sort());
    // Only the root mount is left in its namespace.
    const mounts = fs.readFileSync(`/proc/${g.pid}/mountinfo`, "utf8").trim().split("\n");
    expect(mounts.map((l) => l.split(" ")[4])).toEqual(["/"]);
    const kept = [CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID].reduce((m, c) => m | (1n << BigInt(c)), 0n);
    // Every thread, not only the main one: Node's helper threads were started before any
    // JavaScript ran (confine.ts: the gofer confines before it execs Node).
    const tids = fs.readdirSync(`/proc/${g.pid}/task`);
    expect(tids.length).toBeGreaterThan(1);
    const hostNs = fs.readlinkSync("/proc/self/ns/mnt");
    const goferNs = fs.readlinkSync(`/proc/${g.pid}/ns/mnt`);
    for (const tid of tids) {
      const where = `thread ${tid} (${statusField(g.pid, "Name", tid)})`;
      expect(BigInt(`0x${statusField(g.pid, "CapEff", tid)}`), where).toBe(kept);
      expect(BigInt(`0x${statusField(g.pid, "CapPrm", tid)}`), where).toBe(kept);
      expect(BigInt(`0x${statusField(g.pid, "CapBnd", tid)}`), where).toBe(kept);
      expect(BigInt(`0x${statusField(g.pid, "CapInh", tid)}`), where).toBe(0n);
      expect(BigInt(`0x${statusField(g.pid, "CapAmb", tid)}`), where).toBe(0n);
      expect(statusField(g.pid, "NoNewPrivs", tid), where).toBe("1");
      // Seccomp mode 2 (filter), with exactly the one filter the gofer installed (TSYNC).
      expect(statusField(g.pid, "Seccomp", tid), where).toBe("2");
      expect(statusField(g.pid, "Seccomp_filters", tid), where).toBe("1");
      expect(fs.readlinkSync(`/proc/${g.pid}/task/${tid}/ns/mnt`), where).toBe(goferNs);
      expect(goferNs).not.toBe(hostNs);
      // Its root and working directory are the mount root.
      expect(fs.readdirSync(`/proc/${g.pid}/task/${tid}/root`).sort(), where).toEqual(fs.readdirSync(root).sort());
      expect(fs.readdirSync(`/proc/${g.pid}/task/${tid}/cwd`).sort(), where).toEqual(fs.readdirSync(root).sort());
      const mounts = fs.readFileSync(`/proc/${g.pid}/task/${tid}/mountinfo`, "utf8").trim().split("\n");
      expect(mounts.map((l) => l.split(" ")[4]), where).toEqual(["/"]);
    }
  });
});

describe("runsc-ts gofer without privileges", () => {
  it("refuses to serve when it cannot confine itself, in one stderr line", async () => {
    const g = spawnGofer(root, { withoutCapabilities: true });
    const exit = await g.exited;
    g.conn.close();
    fs.rmSync(g.logFile, { force: true });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/^runsc-ts: gofer: cannot confine the gofer \(unshare\(CLONE_NEWNS\)\): EPERM[^\n]*--unconfined[^\n]*\n$/);
  });

  it("refuses to serve through runsc-confine when it cannot be confined, in one stderr line", async () => {
    const g = spawnGofer(root, { withoutCapabilities: true, viaLauncher: true });
    const exit = await g.exited;
    g.conn.close();
    fs.rmSync(g.logFile, { force: true });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toBe("runsc-ts: gofer: cannot confine the gofer (unshare(CLONE_NEWNS)): EPERM: Operation not permitted; run as root\n");
  });

  it("refuses the internal --pivot-helper flag when it was not confined before exec", async () => {
    const g = spawnGofer(root, { extraArgs: ["--pivot-helper", "999999:0"] });
    const exit = await g.exited;
    g.conn.close();
    fs.rmSync(g.logFile, { force: true });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/^runsc-ts: gofer: cannot confine the gofer \(check stage 1\): --pivot-helper given to a gofer that was not confined before exec[^\n]*\n$/);
  });

  it("serves unconfined with --unconfined (development only)", async () => {
    const g = spawnGofer(root, { withoutCapabilities: true, unconfined: true });
    const rootFile = await mount(g.gofer);
    const motd = await rootFile.walkTo("etc", "motd");
    const o = await motd.openAt(O_RDONLY);
    expect(readAndClose(o.fd)).toBe("served by the gofer\n");
    motd.release();
    rootFile.release();
    const exit = await g.stop();
    expect(exit.code).toBe(0);
  });
});
