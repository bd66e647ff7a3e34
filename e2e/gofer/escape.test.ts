// The escape suite: a hostile "sentry" (this process) against a real, confined `runsc-ts gofer`.
// Whatever it asks, nothing outside the mount root is reached, errnos are those of Linux inside
// a chroot of the root, read-only mounts stay unchanged, garbage ends only the connection (the
// gofer exits cleanly), and the gofer's descriptor count comes back to where it was.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  AT_FDCWD,
  AT_REMOVEDIR,
  EINVAL,
  ELOOP,
  ENOENT,
  ENOTDIR,
  EROFS,
  MNT_DETACH,
  O_CREAT,
  O_DIRECTORY,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  RESOLVE_IN_ROOT,
  S_IFIFO,
} from "@runsc-ts/abi";
import { native } from "@runsc-ts/platform";
import { ImportClient, gofer } from "@runsc-ts/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BINARY, type File, type GoferProcess, fdCount, mount, readAndClose, spawnGofer, tempDir } from "./harness.js";

const SECRET = fs.readFileSync("/etc/hostname", "utf8");

let root: string;
let procMounted = false;

beforeAll(() => {
  root = tempDir("gofer-escape-");
  fs.writeFileSync(path.join(root, "inside.txt"), "inside\n");
  fs.mkdirSync(path.join(root, "sub/deeper"), { recursive: true });
  fs.symlinkSync("/", path.join(root, "to-root"));
  fs.symlinkSync("../../..", path.join(root, "sub/deeper/up"));
  fs.symlinkSync("/etc/hostname", path.join(root, "abs"));
  fs.symlinkSync("loop-b", path.join(root, "loop-a"));
  fs.symlinkSync("loop-a", path.join(root, "loop-b"));
  fs.symlinkSync("/proc/self/fd/3", path.join(root, "fd-link"));
  // A real procfs inside the root: the gofer's own /proc/<pid>/fd and /proc/<pid>/root magic
  // links are then reachable by walking, which is exactly what must not lead anywhere.
  fs.mkdirSync(path.join(root, "proc"));
  native.mount("proc", path.join(root, "proc"), "proc", 0, null);
  procMounted = true;
  fs.mkdirSync(path.join(root, "race/real"), { recursive: true });
  fs.writeFileSync(path.join(root, "race/real/hostname"), "inside\n");
});

afterAll(() => {
  if (procMounted) native.umount2(path.join(root, "proc"), MNT_DETACH);
  fs.rmSync(root, { recursive: true, force: true });
});

describe("a confined gofer under a hostile sentry", () => {
  let g: GoferProcess;
  let rootFile: File;
  let fdsAtStart: number;

  beforeAll(async () => {
    g = spawnGofer(root);
    rootFile = await mount(g.gofer);
    fdsAtStart = fdCount(g.pid);
  });

  afterAll(async () => {
    rootFile.release();
    const exit = await g.stop();
    expect(exit).toMatchObject({ code: 0, stderr: "" });
  });

  it("stops at every kind of symlink and never resolves one", async () => {
    for (const [name, target] of [
      ["to-root", "/"],
      ["abs", "/etc/hostname"],
      ["loop-a", "loop-b"],
      ["fd-link", "/proc/self/fd/3"],
    ]) {
      const w = await rootFile.walk(name as string, "etc", "hostname");
      expect([w.errno, w.status, w.files.length]).toEqual([0, "symlink", 1]);
      expect(await (w.files[0] as File).readLink()).toEqual({ errno: 0, target });
      expect((await (w.files[0] as File).openAt(O_RDONLY)).errno).toBe(ELOOP.errno);
      w.files.forEach((f) => f.release());
    }
    const up = await rootFile.walk("sub", "deeper", "up", "etc");
    expect([up.status, up.files.length]).toEqual(["symlink", 3]);
    up.files.forEach((f) => f.release());
  });

  it("resolving an absolute symlink the way the sentry does stays inside the root (as in a chroot)", async () => {
    // The sentry follows "abs" -> /etc/hostname by walking from the root: there is no etc here.
    const w = await rootFile.walk("etc", "hostname");
    expect([w.errno, w.status, w.files.length]).toEqual([0, "missing", 0]);
  });

  it("paths resolved through the gofer the way the sentry does end where Linux in a chroot of the root ends", async () => {
    const rootFd = native.openat(AT_FDCWD, root, O_PATH | O_DIRECTORY, 0);
    try {
      for (const p of [
        "inside.txt",
        "to-root/inside.txt",
        "to-root/../../inside.txt",
        "../../../inside.txt",
        "/../inside.txt",
        "abs",
        "/etc/hostname",
        "/etc/passwd",
        "to-root/etc/passwd",
        "sub/deeper/up/inside.txt",
        "sub/deeper/up/sub/deeper/up/inside.txt",
        "sub/deeper/up/../../../../etc/hostname",
        "loop-a",
        "loop-a/x",
        "inside.txt/x",
        "missing/x",
        "sub",
      ]) {
        expect([p, await readThroughGofer(rootFile, p)]).toEqual([p, readInChroot(rootFd, p)]);
      }
    } finally {
      native.close(rootFd);
    }
  });

  it("refuses '..' at the root and anywhere else, and never interprets a path", async () => {
    for (const names of [[".."], ["sub", ".."], ["sub", "..", ".."], ["."], ["sub/deeper"], ["/etc"], [""]]) {
      const w = await rootFile.walk(...names);
      expect([w.errno, w.files.length]).toEqual([EINVAL.errno, 0]);
    }
  });

  it("magic links under a procfs inside the root are handles on the links, never their targets", async () => {
    for (const names of [
      ["proc", String(g.pid), "root"],
      ["proc", String(g.pid), "cwd"],
      ["proc", String(g.pid), "fd", "0"],
      ["proc", String(g.pid), "exe"],
      ["proc", "self"],
    ]) {
      const w = await rootFile.walk(...names, "etc");
      expect(w.status).toBe("symlink");
      const link = w.files[w.files.length - 1] as File;
      expect((await link.openAt(O_RDONLY)).errno).toBe(ELOOP.errno);
      w.files.forEach((f) => f.release());
    }
  });

  it("a directory swapped for a symlink to / between walk and open never lets a read escape", async () => {
    // The racer swaps race/d between the real directory and a symlink to /etc, as fast as it can.
    const racer = spawn(
      process.execPath,
      [
        "-e",
        `const fs = require("fs"); const d = process.argv[1];
         try { fs.symlinkSync("/etc", d + "/evil"); } catch {}
         const end = Date.now() + 20000;
         while (Date.now() < end) {
           try { fs.renameSync(d + "/real", d + "/d"); fs.renameSync(d + "/d", d + "/real"); } catch {}
           try { fs.renameSync(d + "/evil", d + "/d"); fs.renameSync(d + "/d", d + "/evil"); } catch {}
         }`,
        path.join(root, "race"),
      ],
      { stdio: "ignore" },
    );
    try {
      const race = await rootFile.walkTo("race");
      while (!fs.existsSync(path.join(root, "race/evil")) && !fs.existsSync(path.join(root, "race/d"))) {
        await new Promise((r) => setTimeout(r, 5));
      }
      let completed = 0;
      let stopped = 0;
      // Until both outcomes were seen many times (the racer is fast; the cap only bounds a stall).
      for (let i = 0; i < 20_000 && (completed < 100 || stopped < 100); i++) {
        const w = await race.walk("d", "hostname");
        if (w.status === "complete") {
          completed++;
          const o = await (w.files[1] as File).openAt(O_RDONLY);
          if (o.errno === 0) {
            const content = readAndClose(o.fd);
            expect(content).not.toBe(SECRET);
            expect(content).toBe("inside\n");
          }
        } else {
          stopped++;
        }
        w.files.forEach((f) => f.release());
      }
      expect(completed).toBeGreaterThan(0);
      expect(stopped).toBeGreaterThan(0);
      race.release();
    } finally {
      racer.kill("SIGKILL");
    }
  });

  it("garbage in a call's names or a bogus capability id fails that call, not the gofer", async () => {
    const bogus = new gofer.File$Client(new ImportClient(g.conn, 9999));
    await expect(bogus.fstat().promise()).rejects.toThrow(/export 9999/);
    expect((await rootFile.fstatMode()).errno).toBe(0);
  });

  it("leaks no descriptor: after releasing everything the gofer holds what it held at start", async () => {
    const many: File[] = [];
    for (let i = 0; i < 50; i++) {
      const w = await rootFile.walk("sub", "deeper");
      many.push(...w.files);
      const o = await rootFile.walkTo("inside.txt");
      const fd = await o.openAt(O_RDONLY);
      fs.closeSync(fd.fd);
      o.release();
    }
    expect(fdCount(g.pid)).toBeGreaterThan(fdsAtStart + 50);
    many.forEach((f) => f.release());
    await rootFile.fstatMode(); // flushes the Releases
    expect(fdCount(g.pid)).toBe(fdsAtStart);
  });
});

describe("a read-only gofer", () => {
  it("answers EROFS to every mutation and leaves the tree unchanged", async () => {
    const g = spawnGofer(root, { readOnly: true });
    const r = await mount(g.gofer);
    const before = fs.readdirSync(root).sort();
    const inside = await r.walkTo("inside.txt");
    const sub = await r.walkTo("sub");
    expect((await inside.openAt(O_WRONLY)).errno).toBe(EROFS.errno);
    expect((await inside.openAt(O_RDWR)).errno).toBe(EROFS.errno);
    expect((await inside.openAt(O_RDONLY | O_TRUNC)).errno).toBe(EROFS.errno);
    expect(await r.mkdirAt("new", 0o755)).toBe(EROFS.errno);
    expect((await r.openCreateAt("new", O_RDWR | O_CREAT, 0o644)).errno).toBe(EROFS.errno);
    expect(await r.mknodAt("fifo", S_IFIFO | 0o644)).toBe(EROFS.errno);
    expect(await r.symlinkAt("sl", "x")).toBe(EROFS.errno);
    expect(await r.linkAt(inside, "hard")).toBe(EROFS.errno);
    expect(await r.unlinkAt("inside.txt")).toBe(EROFS.errno);
    expect(await r.unlinkAt("sub", AT_REMOVEDIR)).toBe(EROFS.errno);
    expect(await r.renameAt("inside.txt", sub, "moved")).toBe(EROFS.errno);
    expect((await r.bindAt("sock", 1 /* SOCK_STREAM */, 0o600)).errno).toBe(EROFS.errno);
    expect(await inside.setMode(0o777)).toBe(EROFS.errno);
    expect(await inside.setXattr("user.k", "v")).toBe(EROFS.errno);
    expect(await inside.removeXattr("user.k")).toBe(EROFS.errno);
    // Reading still works.
    const o = await inside.openAt(O_RDONLY);
    expect(readAndClose(o.fd)).toBe("inside\n");
    expect(fs.readdirSync(root).sort()).toEqual(before);
    expect(fs.statSync(path.join(root, "inside.txt")).mode & 0o777).toBe(0o644);
    // The kernel agrees: the gofer's view of its root is a read-only mount.
    const mountinfo = fs.readFileSync(`/proc/${g.pid}/mountinfo`, "utf8");
    expect(mountinfo.split("\n")[0]?.split(" ")[5]).toMatch(/^ro\b/);
    [inside, sub, r].forEach((f) => f.release());
    expect((await g.stop()).code).toBe(0);
  });
});

describe("garbage on the wire", () => {
  it("a garbage frame aborts the connection and the gofer exits cleanly", async () => {
    const { SOCK_STREAM, SOCK_CLOEXEC } = native.constants;
    for (const garbage of [
      Buffer.from("this is not a capnp frame at all, not even close....."),
      // A frame header announcing a huge message, then nothing sensible.
      Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]), Buffer.alloc(64, 0xaa)]),
      // A well-sized frame whose message is random words.
      Buffer.concat([Buffer.from([24, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 0, 0, 2, 0, 0, 0]), Buffer.alloc(16, 0x5a)]),
    ]) {
      const [ours, theirs] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
      const child = spawn(process.execPath, [BINARY, "gofer", "--root", root, "--io-fd", "3"], {
        stdio: ["ignore", "ignore", "pipe", theirs],
      });
      native.close(theirs);
      let stderr = "";
      child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      expect(native.sendmsg(ours, [garbage], [])).toBe(garbage.length);
      // The gofer answers with an Abort and closes its end; drain until end of stream.
      const buf = new Uint8Array(4096);
      native.setNonblock(ours, false);
      for (let n = 1; n > 0; ) n = native.recvmsg(ours, buf, []);
      native.close(ours);
      expect(await exited).toBe(0);
      expect(stderr).toBe("");
    }
  });

  it("a bogus capability passed back aborts only that connection", async () => {
    const g = spawnGofer(root);
    const r = await mount(g.gofer);
    const bogus = new gofer.File$Client(new ImportClient(g.conn, 4242));
    await expect(r.renameAt("inside.txt", { cap: bogus } as File, "x")).rejects.toThrow();
    const exit = await g.exited;
    fs.rmSync(g.logFile, { force: true });
    expect(exit).toMatchObject({ code: 0, stderr: "" });
    expect(fs.existsSync(path.join(root, "inside.txt"))).toBe(true);
  });
});

/** What open(path, O_RDONLY) + read gives inside a chroot of the root: openat2(RESOLVE_IN_ROOT). */
function readInChroot(rootFd: number, p: string): string {
  let fd: number;
  try {
    fd = native.openat2(rootFd, p, O_RDONLY, 0, RESOLVE_IN_ROOT);
  } catch (e) {
    return `errno ${-(e as { errno: number }).errno}`;
  }
  try {
    return fs.readFileSync(fd, "utf8");
  } catch (e) {
    return `errno ${-(e as { errno: number }).errno}`;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The same through the gofer, resolving like the sentry: one component at a time from the root
 * or the current directory, ".." popped (never above the root), symlinks read and followed by the
 * client (at most 40, as Linux), then openAt and read.
 */
async function readThroughGofer(rootFile: File, p: string): Promise<string> {
  const held: File[] = [];
  try {
    let stack: File[] = [rootFile];
    let queue = p.split("/");
    let links = 0;
    if (p.startsWith("/")) queue.shift();
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      if (c === "" || c === ".") continue;
      if (c === "..") {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const top = stack[stack.length - 1] as File;
      const w = await top.walk(c);
      held.push(...w.files);
      if (w.errno !== 0) return `errno ${w.errno}`;
      if (w.status === "missing") return `errno ${ENOENT.errno}`;
      if (w.status === "symlink") {
        if (++links > 40) return `errno ${ELOOP.errno}`;
        const target = (await (w.files[0] as File).readLink()).target;
        if (target.startsWith("/")) stack = [rootFile];
        queue = [...target.split("/"), ...queue];
        continue;
      }
      const isDir = ((w.modes[0] ?? 0) & 0o170000) === 0o040000;
      if (!isDir && queue.some((q) => q !== "")) return `errno ${ENOTDIR.errno}`;
      stack.push(w.files[0] as File);
    }
    const o = await (stack[stack.length - 1] as File).openAt(O_RDONLY);
    if (o.errno !== 0) return `errno ${o.errno}`;
    try {
      return fs.readFileSync(o.fd, "utf8");
    } catch (e) {
      return `errno ${-(e as { errno: number }).errno}`;
    } finally {
      fs.closeSync(o.fd);
    }
  } finally {
    held.forEach((f) => f.release());
  }
}
