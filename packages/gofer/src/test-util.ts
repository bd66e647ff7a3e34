// Helpers shared by the gofer's tests (test-*.ts is excluded from the build): a client-side view
// of a File capability that speaks bytes and numbers, a tree builder, and native errno capture.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AT_FDCWD, O_DIRECTORY, O_PATH } from "@runsc-ts/abi";
import { native, rpcPair } from "@runsc-ts/platform";
import { type RpcConnection, gofer, setDataList, takeFd } from "@runsc-ts/proto";
import { GoferServer } from "./server.js";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The errno (positive) a node:fs call fails with, or 0. */
export function nativeErrno(op: () => unknown): number {
  try {
    op();
    return 0;
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).errno;
    if (typeof errno !== "number") throw e;
    return -errno;
  }
}

/** The descriptors open in this process. */
export function openFds(): string[] {
  return fs.readdirSync("/proc/self/fd").sort();
}

/** A fresh temporary directory. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Builds the standard test tree under `root`:
 *   a/b/c.txt ("hello gofer"), a/empty/, top.txt, link-rel -> a/b/c.txt, link-abs -> /etc/passwd,
 *   link-up -> ../../.., link-root -> /, loop1 -> loop2 -> loop1, fifo, dir-link -> a
 */
export function buildTree(root: string): void {
  fs.mkdirSync(path.join(root, "a/b"), { recursive: true });
  fs.mkdirSync(path.join(root, "a/empty"));
  fs.writeFileSync(path.join(root, "a/b/c.txt"), "hello gofer");
  fs.writeFileSync(path.join(root, "top.txt"), "top level\n");
  fs.symlinkSync("a/b/c.txt", path.join(root, "link-rel"));
  fs.symlinkSync("/etc/passwd", path.join(root, "link-abs"));
  fs.symlinkSync("../../..", path.join(root, "link-up"));
  fs.symlinkSync("/", path.join(root, "link-root"));
  fs.symlinkSync("loop2", path.join(root, "loop1"));
  fs.symlinkSync("loop1", path.join(root, "loop2"));
  fs.symlinkSync("a", path.join(root, "dir-link"));
  fs.symlinkSync("/proc/self/fd/0", path.join(root, "magic"));
  native.mknodat(AT_FDCWD, path.join(root, "fifo"), 0o010644, 0, 0);
}

/** A server on `root` reached through a real socket pair, in this process. */
export class Harness {
  readonly server: GoferServer;
  readonly client: RpcConnection;
  readonly serverConn: RpcConnection;
  readonly gofer: gofer.Gofer$Client;

  constructor(root: string, readOnly = false) {
    const rootFd = native.openat(AT_FDCWD, root, O_PATH | O_DIRECTORY, 0);
    this.server = new GoferServer(rootFd, readOnly);
    [this.client, this.serverConn] = rpcPair({}, { bootstrap: this.server.bootstrap() });
    this.gofer = this.client.bootstrap(gofer.Gofer$Client);
  }

  async mount(): Promise<RemoteFile> {
    const r = await this.gofer.mount().promise();
    if (r.errno !== 0) throw new Error(`mount: errno ${r.errno}`);
    return new RemoteFile(r.root);
  }

  /** Closes the connection and waits until the server saw it end. */
  async close(): Promise<void> {
    this.client.close();
    await this.serverConn.closed();
    this.server.close();
  }
}

export interface Stat {
  mode: number;
  ino: bigint;
  size: bigint;
  uid: number;
  gid: number;
  nlink: number;
  mtimeSec: bigint;
  mtimeNsec: number;
  atimeSec: bigint;
  atimeNsec: number;
}

function statOf(s: gofer.WalkEntry["stat"]): Stat {
  return {
    mode: s.mode,
    ino: s.ino,
    size: s.size,
    uid: s.uid,
    gid: s.gid,
    nlink: s.nlink,
    mtimeSec: s.mtime.sec,
    mtimeNsec: s.mtime.nsec,
    atimeSec: s.atime.sec,
    atimeNsec: s.atime.nsec,
  };
}

/** The same fields from node:fs (lstat, bigint). */
export function nativeStat(p: string): Stat {
  const s = fs.lstatSync(p, { bigint: true });
  return {
    mode: Number(s.mode),
    ino: s.ino,
    size: s.size,
    uid: Number(s.uid),
    gid: Number(s.gid),
    nlink: Number(s.nlink),
    mtimeSec: s.mtimeNs / 1_000_000_000n,
    mtimeNsec: Number(s.mtimeNs % 1_000_000_000n),
    atimeSec: s.atimeNs / 1_000_000_000n,
    atimeNsec: Number(s.atimeNs % 1_000_000_000n),
  };
}

const STATUS = ["complete", "missing", "symlink", "notDirectory"] as const;
export type Status = (typeof STATUS)[number];

export interface WalkOut {
  errno: number;
  status: Status;
  files: RemoteFile[];
  stats: Stat[];
}

/** A File capability, from the client's side. */
export class RemoteFile {
  constructor(readonly cap: gofer.File$Client) {}

  release(): void {
    this.cap.client.close();
  }

  async walk(...names: Array<string | Uint8Array>): Promise<WalkOut> {
    const bytes = names.map((n) => (typeof n === "string" ? enc(n) : n));
    const r = await this.cap.walk((p) => setDataList(p._initNames(bytes.length), bytes)).promise();
    const files: RemoteFile[] = [];
    const stats: Stat[] = [];
    for (let i = 0; i < r.entries.length; i++) {
      const e = r.entries.get(i);
      files.push(new RemoteFile(e.file));
      stats.push(statOf(e.stat));
    }
    return { errno: r.errno, status: STATUS[r.status] ?? "complete", files, stats };
  }

  /** Walks `names` and expects to reach the end; returns the last file. Releases the others. */
  async walkTo(...names: string[]): Promise<RemoteFile> {
    const w = await this.walk(...names);
    if (w.errno !== 0 || w.status !== "complete") throw new Error(`walk ${names.join("/")}: errno ${w.errno} ${w.status}`);
    w.files.slice(0, -1).forEach((f) => f.release());
    return w.files[w.files.length - 1] as RemoteFile;
  }

  async walkStat(...names: string[]): Promise<{ errno: number; status: Status; stats: Stat[] }> {
    const bytes = names.map(enc);
    const r = await this.cap.walkStat((p) => setDataList(p._initNames(bytes.length), bytes)).promise();
    const stats: Stat[] = [];
    for (let i = 0; i < r.stats.length; i++) stats.push(statOf(r.stats.get(i)));
    return { errno: r.errno, status: STATUS[r.status] ?? "complete", stats };
  }

  async openAt(flags: number): Promise<{ errno: number; fd: number }> {
    const r = await this.cap.openAt((p) => (p.flags = flags)).promise();
    return { errno: r.errno, fd: takeFd(r.fd) };
  }

  async openCreateAt(name: string, flags: number, mode: number, uid = 0, gid = 0): Promise<{ errno: number; fd: number; child?: RemoteFile; stat?: Stat }> {
    const r = await this.cap
      .openCreateAt((p) => {
        p._initName(enc(name).length).copyBuffer(enc(name));
        p.flags = flags;
        p.mode = mode;
        p.uid = uid;
        p.gid = gid;
      })
      .promise();
    const fd = takeFd(r.fd);
    if (r.errno !== 0) return { errno: r.errno, fd };
    return { errno: 0, fd, child: new RemoteFile(r.child), stat: statOf(r.stat) };
  }

  async mkdirAt(name: string, mode: number, uid = 0, gid = 0): Promise<{ errno: number; child?: RemoteFile; stat?: Stat }> {
    const r = await this.cap
      .mkdirAt((p) => {
        setName(p, name);
        p.mode = mode;
        p.uid = uid;
        p.gid = gid;
      })
      .promise();
    return r.errno !== 0 ? { errno: r.errno } : { errno: 0, child: new RemoteFile(r.child), stat: statOf(r.stat) };
  }

  async mknodAt(name: string, mode: number, uid = 0, gid = 0): Promise<{ errno: number; child?: RemoteFile; stat?: Stat }> {
    const r = await this.cap
      .mknodAt((p) => {
        setName(p, name);
        p.mode = mode;
        p.uid = uid;
        p.gid = gid;
      })
      .promise();
    return r.errno !== 0 ? { errno: r.errno } : { errno: 0, child: new RemoteFile(r.child), stat: statOf(r.stat) };
  }

  async symlinkAt(name: string, target: string, uid = 0, gid = 0): Promise<{ errno: number; child?: RemoteFile; stat?: Stat }> {
    const r = await this.cap
      .symlinkAt((p) => {
        setName(p, name);
        const t = enc(target);
        if (t.length > 0) p._initTarget(t.length).copyBuffer(t);
        p.uid = uid;
        p.gid = gid;
      })
      .promise();
    return r.errno !== 0 ? { errno: r.errno } : { errno: 0, child: new RemoteFile(r.child), stat: statOf(r.stat) };
  }

  async linkAt(target: RemoteFile, name: string): Promise<{ errno: number; child?: RemoteFile; stat?: Stat }> {
    const r = await this.cap
      .linkAt((p) => {
        p.target = target.cap;
        setName(p, name);
      })
      .promise();
    return r.errno !== 0 ? { errno: r.errno } : { errno: 0, child: new RemoteFile(r.child), stat: statOf(r.stat) };
  }

  async unlinkAt(name: string, flags = 0): Promise<number> {
    return (await this.cap.unlinkAt((p) => {
      setName(p, name);
      p.flags = flags;
    }).promise()).errno;
  }

  async renameAt(oldName: string, newDir: RemoteFile, newName: string, flags = 0): Promise<number> {
    return (
      await this.cap
        .renameAt((p) => {
          const o = enc(oldName);
          p._initOldName(o.length).copyBuffer(o);
          p.newDir = newDir.cap;
          const n = enc(newName);
          p._initNewName(n.length).copyBuffer(n);
          p.flags = flags;
        })
        .promise()
    ).errno;
  }

  async readLink(): Promise<{ errno: number; target: string }> {
    const r = await this.cap.readLinkAt().promise();
    return { errno: r.errno, target: Buffer.from(r.target.toUint8Array()).toString() };
  }

  async bindAt(name: string, sockType: number, mode: number, uid = 0, gid = 0): Promise<{ errno: number; fd: number; child?: RemoteFile; stat?: Stat }> {
    const r = await this.cap
      .bindAt((p) => {
        setName(p, name);
        p.sockType = sockType;
        p.mode = mode;
        p.uid = uid;
        p.gid = gid;
      })
      .promise();
    const fd = takeFd(r.fd);
    if (r.errno !== 0) return { errno: r.errno, fd };
    return { errno: 0, fd, child: new RemoteFile(r.child), stat: statOf(r.stat) };
  }

  async connect(sockType: number): Promise<{ errno: number; fd: number }> {
    const r = await this.cap.connect((p) => (p.sockType = sockType)).promise();
    return { errno: r.errno, fd: takeFd(r.fd) };
  }

  async fstat(): Promise<{ errno: number; stat: Stat }> {
    const r = await this.cap.fstat().promise();
    return { errno: r.errno, stat: statOf(r.stat) };
  }

  async setStat(req: {
    mask: number;
    mode?: number;
    uid?: number;
    gid?: number;
    size?: bigint;
    atime?: [bigint, number];
    mtime?: [bigint, number];
  }): Promise<{ errno: number; failedMask: number }> {
    const r = await this.cap
      .setStat((p) => {
        p.mask = req.mask;
        p.mode = req.mode ?? 0;
        p.uid = req.uid ?? 0;
        p.gid = req.gid ?? 0;
        p.size = req.size ?? 0n;
        const a = p._initAtime();
        a.sec = req.atime?.[0] ?? 0n;
        a.nsec = req.atime?.[1] ?? 0;
        const m = p._initMtime();
        m.sec = req.mtime?.[0] ?? 0n;
        m.nsec = req.mtime?.[1] ?? 0;
      })
      .promise();
    return { errno: r.errno, failedMask: r.failedMask };
  }

  async getdents(cookie: bigint, count: number): Promise<{ errno: number; entries: Array<{ name: string; off: bigint; type: number; ino: bigint }> }> {
    const r = await this.cap.getdents64((p) => {
      p.cookie = cookie;
      p.count = count;
    }).promise();
    const entries = [];
    for (let i = 0; i < r.entries.length; i++) {
      const d = r.entries.get(i);
      entries.push({ name: Buffer.from(d.name.toUint8Array()).toString(), off: d.off, type: d.type, ino: d.ino });
    }
    return { errno: r.errno, entries };
  }

  /** Every name in the directory, read in pages of `count` bytes. */
  async readdir(count = 4096): Promise<string[]> {
    const names: string[] = [];
    let cookie = 0n;
    for (;;) {
      const page = await this.getdents(cookie, count);
      if (page.errno !== 0) throw new Error(`getdents64: errno ${page.errno}`);
      if (page.entries.length === 0) return names.sort();
      for (const e of page.entries) names.push(e.name);
      cookie = (page.entries[page.entries.length - 1] as { off: bigint }).off;
    }
  }

  async fsync(dataOnly = false): Promise<number> {
    return (await this.cap.fsync((p) => (p.dataOnly = dataOnly)).promise()).errno;
  }

  async statfs(): Promise<{ errno: number; type: bigint; bsize: bigint; blocks: bigint; namelen: bigint }> {
    const r = await this.cap.statfs().promise();
    return { errno: r.errno, type: r.stat.type, bsize: r.stat.bsize, blocks: r.stat.blocks, namelen: r.stat.namelen };
  }

  async getXattr(name: string, size = 0): Promise<{ errno: number; value: string }> {
    const r = await this.cap.getXattr((p) => {
      setName(p, name);
      p.size = size;
    }).promise();
    return { errno: r.errno, value: Buffer.from(r.value.toUint8Array()).toString() };
  }

  async setXattr(name: string, value: string, flags = 0): Promise<number> {
    return (
      await this.cap
        .setXattr((p) => {
          setName(p, name);
          const v = enc(value);
          if (v.length > 0) p._initValue(v.length).copyBuffer(v);
          p.flags = flags;
        })
        .promise()
    ).errno;
  }

  async listXattr(size = 0): Promise<{ errno: number; names: string[] }> {
    const r = await this.cap.listXattr((p) => (p.size = size)).promise();
    const names: string[] = [];
    for (let i = 0; i < r.names.length; i++) names.push(Buffer.from(r.names.get(i).toUint8Array()).toString());
    return { errno: r.errno, names };
  }

  async removeXattr(name: string): Promise<number> {
    return (await this.cap.removeXattr((p) => setName(p, name)).promise()).errno;
  }
}

function setName(p: { _initName(n: number): { copyBuffer(b: Uint8Array): void } }, name: string): void {
  const b = enc(name);
  if (b.length > 0) p._initName(b.length).copyBuffer(b);
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
