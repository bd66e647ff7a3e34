// A real `runsc-ts gofer` process (the built binary) and a small client for it, for the e2e
// gofer tests. The test process is the "sentry": it holds the other end of the socket pair.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { confinedGoferCommand } from "@runsc-ts/gofer/launcher";
import { native, rpcOverFd } from "@runsc-ts/platform";
import { type RpcConnection, gofer, setDataList, takeFd } from "@runsc-ts/proto";

export const BINARY = fileURLToPath(new URL("../../packages/runsc/bin/runsc-ts.js", import.meta.url));
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface GoferProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly conn: RpcConnection;
  readonly gofer: gofer.Gofer$Client;
  /** The gofer's --debug-log (removed by stop() after a clean exit). */
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) and stderr once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Closes our end and waits for the gofer to exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export interface SpawnOptions {
  readonly readOnly?: boolean;
  readonly unconfined?: boolean;
  /**
   * Run with every capability dropped (setpriv), to see the refusal to serve confined without
   * privileges. The uid stays 0 rather than becoming an unprivileged user's, so the checkout
   * stays readable wherever it was cloned (a fresh temporary folder is mode 0700).
   */
  readonly withoutCapabilities?: boolean;
  /** More arguments for the gofer command. */
  readonly extraArgs?: readonly string[];
  /** Start it through runsc-confine, as a sandbox does, instead of letting it confine itself. */
  readonly viaLauncher?: boolean;
}

/** Starts `runsc-ts gofer --root root --io-fd 3` with one end of a socket pair as its fd 3. */
export function spawnGofer(root: string, opts: SpawnOptions = {}): GoferProcess {
  const { SOCK_STREAM, SOCK_CLOEXEC } = native.constants;
  const [ours, theirs] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const logFile = path.join(os.tmpdir(), `gofer-e2e-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
  const args = [BINARY, "--debug-log", logFile, "gofer", "--root", root, "--io-fd", "3"];
  if (opts.readOnly === true) args.push("--ro");
  if (opts.unconfined === true) args.push("--unconfined");
  args.push(...(opts.extraArgs ?? []));
  const command = opts.viaLauncher === true ? confinedGoferCommand(root, opts.readOnly === true, [process.execPath, ...args]) : [process.execPath, ...args];
  const argv = opts.withoutCapabilities === true
    ? ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--", ...command]
    : command;
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "ignore", "pipe", theirs] });
  native.close(theirs);
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
  const conn = rpcOverFd(ours);
  const g = conn.bootstrap(gofer.Gofer$Client);
  return {
    child,
    pid: child.pid ?? -1,
    conn,
    gofer: g,
    logFile,
    exited,
    async stop() {
      conn.close();
      const exit = await exited;
      // Keep the log only when the gofer did not exit cleanly (for the failure's diagnosis).
      if (exit.code === 0) fs.rmSync(logFile, { force: true });
      return exit;
    },
  };
}

/** The number of descriptors process `pid` holds. */
export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

export async function mount(g: gofer.Gofer$Client): Promise<File> {
  const r = await g.mount().promise();
  if (r.errno !== 0) throw new Error(`mount: errno ${r.errno}`);
  return new File(r.root);
}

const STATUS = ["complete", "missing", "symlink", "notDirectory"] as const;

function setName(p: { _initName(n: number): { copyBuffer(b: Uint8Array): void } }, name: string): void {
  const b = enc(name);
  if (b.length > 0) p._initName(b.length).copyBuffer(b);
}

/** A File capability from the sentry's side. */
export class File {
  constructor(readonly cap: gofer.File$Client) {}

  release(): void {
    this.cap.client.close();
  }

  async walk(...names: string[]): Promise<{ errno: number; status: (typeof STATUS)[number]; files: File[]; modes: number[] }> {
    const bytes = names.map(enc);
    const r = await this.cap.walk((p) => setDataList(p._initNames(bytes.length), bytes)).promise();
    const files: File[] = [];
    const modes: number[] = [];
    for (let i = 0; i < r.entries.length; i++) {
      files.push(new File(r.entries.get(i).file));
      modes.push(r.entries.get(i).stat.mode);
    }
    return { errno: r.errno, status: STATUS[r.status] ?? "complete", files, modes };
  }

  /** Walks all of `names` (which must exist), releasing the intermediate Files. */
  async walkTo(...names: string[]): Promise<File> {
    const w = await this.walk(...names);
    if (w.errno !== 0 || w.status !== "complete") throw new Error(`walk ${names.join("/")}: errno ${w.errno}, ${w.status}`);
    w.files.slice(0, -1).forEach((f) => f.release());
    return w.files[w.files.length - 1] as File;
  }

  async openAt(flags: number): Promise<{ errno: number; fd: number }> {
    const r = await this.cap.openAt((p) => (p.flags = flags)).promise();
    return { errno: r.errno, fd: takeFd(r.fd) };
  }

  async readLink(): Promise<{ errno: number; target: string }> {
    const r = await this.cap.readLinkAt().promise();
    return { errno: r.errno, target: Buffer.from(r.target.toUint8Array()).toString() };
  }

  async fstatMode(): Promise<{ errno: number; mode: number; size: bigint }> {
    const r = await this.cap.fstat().promise();
    return { errno: r.errno, mode: r.stat.mode, size: r.stat.size };
  }

  async mkdirAt(name: string, mode: number): Promise<number> {
    const r = await this.cap.mkdirAt((p) => {
      setName(p, name);
      p.mode = mode;
    }).promise();
    if (r.errno === 0) new File(r.child).release();
    return r.errno;
  }

  async openCreateAt(name: string, flags: number, mode: number): Promise<{ errno: number; fd: number }> {
    const r = await this.cap.openCreateAt((p) => {
      setName(p, name);
      p.flags = flags;
      p.mode = mode;
    }).promise();
    const fd = takeFd(r.fd);
    if (r.errno === 0) new File(r.child).release();
    return { errno: r.errno, fd };
  }

  async unlinkAt(name: string, flags = 0): Promise<number> {
    return (await this.cap.unlinkAt((p) => {
      setName(p, name);
      p.flags = flags;
    }).promise()).errno;
  }

  async renameAt(oldName: string, newDir: File, newName: string): Promise<number> {
    return (
      await this.cap
        .renameAt((p) => {
          const o = enc(oldName);
          p._initOldName(o.length).copyBuffer(o);
          p.newDir = newDir.cap;
          const nn = enc(newName);
          p._initNewName(nn.length).copyBuffer(nn);
        })
        .promise()
    ).errno;
  }

  async symlinkAt(name: string, target: string): Promise<number> {
    const r = await this.cap.symlinkAt((p) => {
      setName(p, name);
      const t = enc(target);
      p._initTarget(t.length).copyBuffer(t);
    }).promise();
    if (r.errno === 0) new File(r.child).release();
    return r.errno;
  }

  async setMode(mode: number): Promise<number> {
    return (await this.cap.setStat((p) => {
      p.mask = 0x2; // STATX_MODE
      p.mode = mode;
    }).promise()).errno;
  }

  async setXattr(name: string, value: string): Promise<number> {
    return (await this.cap.setXattr((p) => {
      setName(p, name);
      const v = enc(value);
      p._initValue(v.length).copyBuffer(v);
    }).promise()).errno;
  }

  async removeXattr(name: string): Promise<number> {
    return (await this.cap.removeXattr((p) => setName(p, name)).promise()).errno;
  }

  async linkAt(target: File, name: string): Promise<number> {
    const r = await this.cap.linkAt((p) => {
      p.target = target.cap;
      setName(p, name);
    }).promise();
    if (r.errno === 0) new File(r.child).release();
    return r.errno;
  }

  async bindAt(name: string, sockType: number, mode: number): Promise<{ errno: number; fd: number; child?: File }> {
    const r = await this.cap.bindAt((p) => {
      setName(p, name);
      p.sockType = sockType;
      p.mode = mode;
    }).promise();
    const fd = takeFd(r.fd);
    return r.errno === 0 ? { errno: 0, fd, child: new File(r.child) } : { errno: r.errno, fd };
  }

  async connect(sockType: number): Promise<{ errno: number; fd: number }> {
    const r = await this.cap.connect((p) => (p.sockType = sockType)).promise();
    return { errno: r.errno, fd: takeFd(r.fd) };
  }

  async mknodAt(name: string, mode: number): Promise<number> {
    const r = await this.cap.mknodAt((p) => {
      setName(p, name);
      p.mode = mode;
    }).promise();
    if (r.errno === 0) new File(r.child).release();
    return r.errno;
  }
}

/** Reads all of a donated FD from offset 0 and closes it. */
export function readAndClose(fd: number): string {
  try {
    const buf = Buffer.alloc(65536);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString();
  } finally {
    fs.closeSync(fd);
  }
}
