// `runsc-ts boot` with a controller socket, as `create`/`start` will drive it: the sandbox
// reports itself ready on the start-sync FD, waits for startRoot, and answers wait, processes,
// signal and destroy from clients that connect to the socket, one connection per CLI call.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SIGTERM, O_DIRECTORY, O_RDONLY } from "@runsc-ts/abi";
import { confinedGoferCommand } from "@runsc-ts/gofer/launcher";
import { native, rpcOverFd } from "@runsc-ts/platform";
import { common, control, hostFd } from "@runsc-ts/proto";
import { afterEach, describe, expect, it } from "vitest";

const BINARY = fileURLToPath(new URL("../../packages/runsc/bin/runsc-ts.js", import.meta.url));
const { SOCK_STREAM, SOCK_CLOEXEC } = native.constants;

interface Sandbox {
  readonly boot: ChildProcess;
  readonly gofer: ChildProcess;
  readonly dir: string;
  readonly stdout: () => string;
  /** Resolves once boot wrote to the start-sync pipe (the sandbox is ready). */
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
}

const running: Sandbox[] = [];
afterEach(() => {
  for (const s of running.splice(0)) {
    s.boot.kill("SIGKILL");
    s.gofer.kill("SIGKILL");
    rmSync(s.dir, { recursive: true, force: true });
  }
});

interface SpecMount {
  readonly destination: string;
  readonly type: string;
  readonly source?: string;
  readonly options?: string[];
}

function spec(args: string[], mounts: readonly SpecMount[]) {
  return {
    ociVersion: "1.1.0",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args, env: ["PATH=/usr/bin:/bin"], cwd: "/" },
    root: { path: "/", readonly: true },
    hostname: "ctl",
    mounts,
  };
}

/** Starts a gofer serving `root` (through runsc-confine, as a sandbox does); returns our end of its connection. */
function startGofer(root: string, readOnly: boolean): { fd: number; child: ChildProcess } {
  const [ours, theirs] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const [launcher, ...args] = confinedGoferCommand(root, readOnly, [process.execPath, BINARY, "gofer", "--root", root, ...(readOnly ? ["--ro"] : []), "--io-fd", "3"]);
  const child = spawn(launcher as string, args, { stdio: ["ignore", "ignore", "inherit", theirs] });
  native.close(theirs);
  return { fd: ours, child };
}

function launch(args: string[], mounts: readonly SpecMount[] = []): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), "runsc-ts-ctl-"));
  const dirFd = openSync(dir, O_RDONLY | O_DIRECTORY);
  const listenFd = native.bindUnixAt(dirFd, "controller.sock", SOCK_STREAM);
  closeSync(dirFd);
  const [specOurs, specTheirs] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const [syncRead, syncWrite] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const root = startGofer("/", true);
  const binds = mounts.filter((m) => m.type === "bind").map((m) => startGofer(m.source ?? "/", m.options?.includes("ro") ?? false));
  const ioFds = [root.fd, ...binds.map((b) => b.fd)];
  const ioArg = ioFds.map((_, i) => String(7 + i)).join(",");
  const boot = spawn(
    process.execPath,
    [BINARY, "boot", "ctl-test", "--bundle", dir, "--spec-fd", "3", "--io-fds", ioArg, "--controller-fd", "5", "--start-sync-fd", "6"],
    { stdio: ["ignore", "pipe", "inherit", specTheirs, "ignore", listenFd, syncWrite, ...ioFds] },
  );
  for (const fd of [specTheirs, listenFd, syncWrite, ...ioFds]) native.close(fd);
  const gofer = root.child;
  for (const b of binds) b.child.unref();
  native.sendmsg(specOurs, [Buffer.from(JSON.stringify(spec(args, mounts)))], []);
  native.close(specOurs);
  let out = "";
  boot.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    // The start-sync byte (a blocking read on a helper thread would be simpler; poll instead).
    const timer = setInterval(() => {
      const b = Buffer.alloc(1);
      try {
        if (readSync(syncRead, b) === 1) {
          clearInterval(timer);
          native.close(syncRead);
          resolve();
        }
      } catch (e) {
        if ((e as { code?: string }).code !== "EAGAIN") {
          clearInterval(timer);
          reject(e as Error);
        }
      }
    }, 20);
  });
  native.setNonblock(syncRead, true);
  const exited = new Promise<number | null>((resolve) => boot.on("exit", (code) => resolve(code)));
  const s = { boot, gofer, dir, stdout: () => out, ready, exited };
  running.push(s);
  return s;
}

/** One CLI-style connection: connect, call, disconnect. */
async function withController<T>(s: Sandbox, call: (m: control.ContainerManager$Client) => Promise<T>): Promise<T> {
  const dirFd = openSync(s.dir, O_RDONLY | O_DIRECTORY);
  const fd = native.connectUnixAt(dirFd, "controller.sock", SOCK_STREAM);
  closeSync(dirFd);
  const conn = rpcOverFd(fd);
  try {
    return await call(conn.bootstrap(control.ContainerManager$Client));
  } finally {
    conn.close();
  }
}

describe("the controller socket", () => {
  it("holds the init process until startRoot, then reports its exit to wait", async () => {
    const s = launch(["/bin/sh", "-c", "echo ran; exit 7"]);
    await s.ready;
    await new Promise((r) => setTimeout(r, 300));
    expect(s.stdout()).toBe(""); // not started yet
    const started = await withController(s, async (m) => (await m.startRoot((p) => (p.containerId = "ctl-test")).promise()).errno);
    expect(started).toBe(0);
    const again = await withController(s, async (m) => {
      const r = await m.startRoot((p) => (p.containerId = "ctl-test")).promise();
      return [r.errno, r.detail];
    });
    expect(again[0]).toBe(17); // EEXIST
    const status = await withController(s, async (m) => (await m.wait((p) => (p.containerId = "ctl-test")).promise()).waitStatus);
    expect(status).toBe(7 << 8);
    expect(await s.exited).toBe(7);
    expect(s.stdout()).toBe("ran\n");
  });

  it("lists processes, signals init from outside (its protection does not apply), and rejects unknown containers", async () => {
    const s = launch(["/bin/sh", "-c", "sleep 30 & wait"]);
    await s.ready;
    await withController(s, (m) => m.startRoot((p) => (p.containerId = "ctl-test")).promise());
    let procs: Array<{ pid: number; ppid: number; cmd: string }> = [];
    for (let i = 0; i < 100 && procs.length < 2; i++) {
      procs = await withController(s, async (m) => {
        const r = await m.processes((p) => (p.containerId = "ctl-test")).promise();
        return r.processes.map((x) => ({ pid: x.pid, ppid: x.ppid, cmd: x.cmd }));
      });
      if (procs.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(procs[0]).toEqual({ pid: 1, ppid: 0, cmd: "/bin/sh -c sleep 30 & wait" });
    expect(procs[1]).toMatchObject({ ppid: 1, cmd: "sleep 30" });
    const unknown = await withController(s, async (m) => (await m.wait((p) => (p.containerId = "other")).promise()).errno);
    expect(unknown).toBe(3); // ESRCH
    // Wait first (the sandbox goes away with its init), then signal over another connection.
    const waited = withController(s, async (m) => (await m.wait((p) => (p.containerId = "ctl-test")).promise()).waitStatus);
    await new Promise((r) => setTimeout(r, 100));
    const sent = await withController(s, async (m) => {
      const r = await m.signal((p) => {
        p.containerId = "ctl-test";
        p.pid = 0;
        p.signo = SIGTERM;
        p.mode = control.SignalMode.PROCESS;
      }).promise();
      return r.errno;
    });
    expect(sent).toBe(0);
    expect((await waited) & 0x7f).toBe(SIGTERM);
    expect(await s.exited).toBe(128 + SIGTERM);
  });
});

describe("exec through the controller", () => {
  it("runs a new process in the running container with its own stdio, credentials and cwd; waitPid reports its exit", async () => {
    const s = launch(["/bin/sleep", "30"]);
    await s.ready;
    await withController(s, (m) => m.startRoot((p) => (p.containerId = "ctl-test")).promise());
    const [outRead, outWrite] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
    const devnull = openSync("/dev/null", O_RDONLY);
    const started = await withController(s, async (m) => {
      const r = await m.executeAsync((p) => {
        p.containerId = "ctl-test";
        const argv = p._initArgv(3);
        ["/bin/sh", "-c", "echo exec as $(id -u):$(id -g) in $(pwd) pid-ok=$(test $$ -gt 1 && echo yes); exit 9"].forEach((a, i) => argv.set(i, a));
        const env = p._initEnv(1);
        env.set(0, "PATH=/usr/bin:/bin");
        p.cwd = "/tmp";
        const c = p._initCredentials();
        c.uid = 1000;
        c.gid = 1000;
        p.umask = 0o22;
        const stdio = p._initStdio();
        stdio.stdin = hostFd(common.HostFd$Client, native.dup(devnull));
        stdio.stdout = hostFd(common.HostFd$Client, native.dup(outWrite));
        stdio.stderr = hostFd(common.HostFd$Client, native.dup(outWrite));
      }).promise();
      return [r.errno, r.detail, r.pid] as const;
    });
    native.close(outWrite);
    closeSync(devnull);
    expect(started[0]).toBe(0);
    const status = await withController(s, async (m) => (await m.waitPid((p) => {
      p.containerId = "ctl-test";
      p.pid = started[2];
    }).promise()).waitStatus);
    expect(status).toBe(9 << 8);
    const out = Buffer.alloc(256);
    let n = -1;
    for (let i = 0; i < 100 && n < 0; i++) {
      n = native.recvmsg(outRead, out, []);
      if (n < 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(out.subarray(0, n).toString()).toBe("exec as 1000:1000 in /tmp pid-ok=yes\n");
    native.close(outRead);
    const missing = await withController(s, async (m) => {
      const r = await m.executeAsync((p) => {
        p.containerId = "ctl-test";
        p._initArgv(1).set(0, "no-such-program");
        p._initEnv(1).set(0, "PATH=/usr/bin:/bin");
        p.cwd = "/";
        const stdio = p._initStdio();
        stdio.stdin = hostFd(common.HostFd$Client, openSync("/dev/null", O_RDONLY));
        stdio.stdout = hostFd(common.HostFd$Client, openSync("/dev/null", O_RDONLY));
        stdio.stderr = hostFd(common.HostFd$Client, openSync("/dev/null", O_RDONLY));
      }).promise();
      return [r.errno, r.detail] as const;
    });
    expect(missing[0]).toBe(2); // ENOENT
    expect(missing[1]).toMatch(/no-such-program: no such file or directory/i);
    // The container's init is still there, and finishes normally.
    const waited = withController(s, async (m) => (await m.wait((p) => (p.containerId = "ctl-test")).promise()).waitStatus);
    await withController(s, (m) => m.signal((p) => {
      p.containerId = "ctl-test";
      p.pid = 0;
      p.signo = SIGTERM;
      p.mode = control.SignalMode.PROCESS;
    }).promise());
    expect((await waited) & 0x7f).toBe(SIGTERM);
  });
});

describe("the spec's mounts", () => {
  it("mounts bind mounts through their own gofers (read-only ones refuse writes) and tmpfs mounts", async () => {
    const data = mkdtempSync(join(tmpdir(), "runsc-ts-bind-"));
    writeFileSync(join(data, "hello.txt"), "hello from the host\n");
    try {
      const script = "cat /data/hello.txt; (echo x > /data/new) 2>/dev/null || echo read-only; echo y > /scratch/f && cat /scratch/f; ls /data; grep -c ' /scratch ' /proc/self/mounts";
      const s = launch(["/bin/sh", "-c", script], [
        { destination: "/data", type: "bind", source: data, options: ["rbind", "ro"] },
        { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
        { destination: "/sys", type: "sysfs", source: "sysfs", options: ["ro"] },
      ]);
      await s.ready;
      const waited = withController(s, async (m) => {
        await m.startRoot((p) => (p.containerId = "ctl-test")).promise();
        return (await m.wait((p) => (p.containerId = "ctl-test")).promise()).waitStatus;
      });
      expect(await waited).toBe(0);
      expect(s.stdout()).toBe("hello from the host\nread-only\ny\nhello.txt\n1\n");
      expect(existsSync(join(data, "new"))).toBe(false);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it("mounts file bind mounts, creating missing mount points, with writes reaching the host file unless read-only", async () => {
    const data = mkdtempSync(join(tmpdir(), "runsc-ts-filebind-"));
    const resolv = join(data, "resolv.conf");
    const token = join(data, "token");
    writeFileSync(resolv, "nameserver 10.0.0.1\n");
    writeFileSync(token, "s3cret\n");
    writeFileSync(join(data, "beside"), "not mounted\n");
    try {
      const script = [
        "cat /etc/resolv.conf /run/secrets/token",
        "echo 'nameserver 10.0.0.2' > /etc/resolv.conf",
        "(echo x > /run/secrets/token) 2>/dev/null || echo read-only",
        "ls /run/secrets",
        "stat -c %F /run/secrets/token",
      ].join("; ");
      const s = launch(["/bin/sh", "-c", script], [
        { destination: "/etc/resolv.conf", type: "bind", source: resolv, options: ["rbind", "rw"] },
        { destination: "/run/secrets/token", type: "bind", source: token, options: ["bind", "ro"] },
      ]);
      await s.ready;
      const waited = withController(s, async (m) => {
        await m.startRoot((p) => (p.containerId = "ctl-test")).promise();
        return (await m.wait((p) => (p.containerId = "ctl-test")).promise()).waitStatus;
      });
      expect(await waited).toBe(0);
      expect(s.stdout()).toBe("nameserver 10.0.0.1\ns3cret\nread-only\ntoken\nregular file\n");
      expect(readFileSync(resolv, "utf8")).toBe("nameserver 10.0.0.2\n");
      expect(readFileSync(token, "utf8")).toBe("s3cret\n");
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});
