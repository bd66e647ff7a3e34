/**
 * A stand-in gofer for the gofer filesystem's tests: the gofer.capnp `Gofer`/`File` interfaces
 * served over an in-memory RPC connection from a host directory with node:fs. Each File holds
 * an O_PATH descriptor (so handles survive renames, as the real gofer's do) and reaches names
 * through /proc/self/fd. It is a test double: it does not confine, and it trusts its client.
 * (The real server is packages/gofer, which the sentry may not import; e2e tests pair them.)
 */
import { execFileSync } from "node:child_process";
import * as nfs from "node:fs";
import * as path from "node:path";
import {
  AT_REMOVEDIR,
  EINVAL,
  EPERM,
  EXDEV,
  O_CREAT,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,

  S_IFIFO,

  S_IFMT,
  S_IFREG,
  STATX_ATIME,
  STATX_BASIC_STATS,
  STATX_BTIME,
  STATX_GID,
  STATX_MODE,
  STATX_MTIME,
  STATX_SIZE,
  STATX_UID,
  UTIME_NOW,
  UTIME_OMIT,
  linuxErrorFromName,
} from "@runsc-ts/abi";
import { RpcConnection, common, dataListItems, gofer, hostFd, memoryStreamPair } from "@runsc-ts/proto";

type Target = gofer.File$Server$Target;
type P<K extends keyof Target> = Parameters<Target[K]>[0];
type R<K extends keyof Target> = Parameters<Target[K]>[1];

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

/** The errno of a failed node:fs call. */
function errnoOf(fn: () => void): number {
  try {
    fn();
    return 0;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const err = code === undefined ? undefined : linuxErrorFromName(code);
    if (err === undefined) throw e;
    return err.errno;
  }
}

/** Fills `out` from the file a /proc/self/fd magic link (or any path) lands on. */
function fillStatx(out: common.Statx, path: string): void {
  const s = nfs.statSync(path, { bigint: true });
  const ts = (t: { sec: bigint; nsec: number }, ns: bigint): void => {
    t.sec = ns / 1_000_000_000n;
    t.nsec = Number(ns % 1_000_000_000n);
  };
  out.mask = STATX_BASIC_STATS | STATX_BTIME;
  out.blksize = Number(s.blksize);
  out.nlink = Number(s.nlink);
  out.uid = Number(s.uid);
  out.gid = Number(s.gid);
  out.mode = Number(s.mode);
  out.ino = s.ino;
  out.size = s.size;
  out.blocks = s.blocks;
  ts(out.atime, s.atimeNs);
  ts(out.btime, s.birthtimeNs);
  ts(out.ctime, s.ctimeNs);
  ts(out.mtime, s.mtimeNs);
  out.rdevMajor = Number(((s.rdev >> 8n) & 0xfffn) | ((s.rdev >> 32n) & ~0xfffn));
  out.rdevMinor = Number((s.rdev & 0xffn) | ((s.rdev >> 12n) & ~0xffn));
}

class FakeFile implements Target {
  constructor(
    readonly server: FakeGofer,
    /** An O_PATH|O_NOFOLLOW descriptor of the file. */
    readonly fd: number,
  ) {}

  get path(): string {
    return `/proc/self/fd/${this.fd}`;
  }

  child(name: string): string {
    return `${this.path}/${name}`;
  }

  client(): gofer.File$Client {
    return new gofer.File$Server(this).client();
  }

  onRelease(): void {
    nfs.closeSync(this.fd);
    this.server.open--;
  }

  /** A File for `name` in this directory. */
  private open(name: string): FakeFile {
    this.server.open++;
    return new FakeFile(this.server, nfs.openSync(this.child(name), O_PATH | O_NOFOLLOW));
  }

  private resolve(c: gofer.File$Client): FakeFile | undefined {
    const s: unknown = c.client;
    if (!(s instanceof gofer.File$Server)) return undefined;
    return s.target instanceof FakeFile ? s.target : undefined;
  }

  private answerChild(r: { errno: number; child: gofer.File$Client; _initStat(): common.Statx }, name: string, make: () => void): void {
    r.errno = errnoOf(make);
    if (r.errno !== 0) return;
    const f = this.open(name);
    r.child = f.client();
    fillStatx(r._initStat(), f.path);
  }

  async walk(p: P<"walk">, r: R<"walk">): Promise<void> {
    const names = dataListItems(p.names).map(latin1);
    this.server.walks++;
    const made: FakeFile[] = [];
    let status: number = gofer.WalkStatus.COMPLETE;
    const dirOf = (i: number): FakeFile => made[i - 1] ?? this;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const cur = dirOf(i);
      let st: nfs.Stats | undefined;
      const errno = errnoOf(() => { st = nfs.lstatSync(cur.child(name)); });
      if (errno !== 0 || st === undefined) {
        if (i === 0 && errno !== linuxErrorFromName("ENOENT")?.errno) { r.errno = errno; return; }
        status = gofer.WalkStatus.MISSING;
        break;
      }
      const f = cur.open(name);
      made.push(f);
      if (st.isSymbolicLink()) { status = gofer.WalkStatus.SYMLINK; break; }
      if (!st.isDirectory() && i < names.length - 1) { status = gofer.WalkStatus.NOT_DIRECTORY; break; }
    }
    r.status = status as gofer.WalkStatus;
    const entries = r._initEntries(made.length);
    made.forEach((f, i) => {
      const e = entries.get(i);
      e.file = f.client();
      fillStatx(e._initStat(), f.path);
    });
  }

  async walkStat(_p: P<"walkStat">, r: R<"walkStat">): Promise<void> {
    r.errno = EINVAL.errno;
  }

  async openAt(p: P<"openAt">, r: R<"openAt">): Promise<void> {
    let fd = -1;
    r.errno = errnoOf(() => { fd = nfs.openSync(this.path, p.flags); });
    if (fd >= 0) r.fd = hostFd(common.HostFd$Client, fd);
  }

  async openCreateAt(p: P<"openCreateAt">, r: R<"openCreateAt">): Promise<void> {
    const name = latin1(p.name.toUint8Array());
    let fd = -1;
    this.answerChild(r, name, () => {
      fd = nfs.openSync(this.child(name), p.flags | O_CREAT | O_EXCL | O_NOFOLLOW, p.mode);
      nfs.fchownSync(fd, p.uid, p.gid);
      nfs.fchmodSync(fd, p.mode); // past the process umask, and after chown cleared set-id bits
    });
    if (fd >= 0) r.fd = hostFd(common.HostFd$Client, fd);
  }

  async mkdirAt(p: P<"mkdirAt">, r: R<"mkdirAt">): Promise<void> {
    const name = latin1(p.name.toUint8Array());
    this.answerChild(r, name, () => {
      nfs.mkdirSync(this.child(name), p.mode);
      nfs.lchownSync(this.child(name), p.uid, p.gid);
      nfs.chmodSync(this.child(name), p.mode);
    });
  }

  async mknodAt(p: P<"mknodAt">, r: R<"mknodAt">): Promise<void> {
    const name = latin1(p.name.toUint8Array());
    const type = p.mode & S_IFMT;
    if (type !== S_IFREG && type !== S_IFIFO) { r.errno = EPERM.errno; return; }
    this.answerChild(r, name, () => {
      if (type === S_IFREG) nfs.closeSync(nfs.openSync(this.child(name), O_CREAT | O_EXCL, p.mode & 0o7777));
      // mkfifo(1) runs in another process: give it the real path, not our /proc/self/fd one.
      else execFileSync("mkfifo", ["-m", (p.mode & 0o7777).toString(8), path.join(nfs.readlinkSync(this.path), name)]);
      nfs.lchownSync(this.child(name), p.uid, p.gid);
      nfs.chmodSync(this.child(name), p.mode & 0o7777);
    });
  }

  async symlinkAt(p: P<"symlinkAt">, r: R<"symlinkAt">): Promise<void> {
    const name = latin1(p.name.toUint8Array());
    this.answerChild(r, name, () => {
      nfs.symlinkSync(latin1(p.target.toUint8Array()), this.child(name));
      nfs.lchownSync(this.child(name), p.uid, p.gid);
    });
  }

  async linkAt(p: P<"linkAt">, r: R<"linkAt">): Promise<void> {
    const name = latin1(p.name.toUint8Array());
    const target = this.resolve(p.target);
    if (target === undefined) { r.errno = EXDEV.errno; return; }
    // Linking through the O_PATH descriptor's magic link needs AT_EMPTY_PATH/linkat(2)
    // semantics node lacks; the path of the descriptor is good enough for a test double.
    const at = nfs.readlinkSync(target.path);
    this.answerChild(r, name, () => nfs.linkSync(at, this.child(name)));
  }

  async unlinkAt(p: P<"unlinkAt">, r: R<"unlinkAt">): Promise<void> {
    const where = this.child(latin1(p.name.toUint8Array()));
    r.errno = errnoOf(() => (p.flags === AT_REMOVEDIR ? nfs.rmdirSync(where) : nfs.unlinkSync(where)));
  }

  async renameAt(p: P<"renameAt">, r: R<"renameAt">): Promise<void> {
    const newDir = this.resolve(p.newDir);
    if (newDir === undefined) { r.errno = EXDEV.errno; return; }
    const from = this.child(latin1(p.oldName.toUint8Array()));
    const to = newDir.child(latin1(p.newName.toUint8Array()));
    if ((p.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0) { r.errno = EINVAL.errno; return; }
    r.errno = errnoOf(() => {
      if (p.flags === 0) return nfs.renameSync(from, to);
      // node has no renameat2: the flags go through mv(1)'s --exchange / --no-clobber semantics
      // only approximately, so the double implements them itself.
      if ((p.flags & RENAME_NOREPLACE) !== 0) {
        if (nfs.existsSync(to)) throw Object.assign(new Error("EEXIST"), { code: "EEXIST" });
        return nfs.renameSync(from, to);
      }
      const tmp = `${to}.exchange-${process.pid}`;
      nfs.renameSync(to, tmp);
      nfs.renameSync(from, to);
      nfs.renameSync(tmp, from);
    });
  }

  async readLinkAt(_p: P<"readLinkAt">, r: R<"readLinkAt">): Promise<void> {
    let target = "";
    r.errno = errnoOf(() => { target = nfs.readlinkSync(nfs.readlinkSync(this.path), "latin1"); });
    const b = Buffer.from(target, "latin1");
    r._initTarget(b.length).copyBuffer(b);
  }

  async fstat(_p: P<"fstat">, r: R<"fstat">): Promise<void> {
    this.server.fstats++;
    r.errno = errnoOf(() => fillStatx(r._initStat(), this.path));
  }

  async setStat(p: P<"setStat">, r: R<"setStat">): Promise<void> {
    const where = nfs.readlinkSync(this.path); // the real path: chmod through a magic link would follow it
    const m = p.mask;
    r.errno = errnoOf(() => {
      if ((m & STATX_SIZE) !== 0) nfs.truncateSync(where, Number(p.size));
      if ((m & STATX_MODE) !== 0) nfs.chmodSync(where, p.mode & 0o7777);
      if ((m & (STATX_UID | STATX_GID)) !== 0) {
        const st = nfs.lstatSync(where);
        nfs.lchownSync(where, (m & STATX_UID) !== 0 ? p.uid : st.uid, (m & STATX_GID) !== 0 ? p.gid : st.gid);
      }
      if ((m & (STATX_ATIME | STATX_MTIME)) !== 0) {
        const st = nfs.lstatSync(where);
        const pick = (want: number, t: common.Timespec, cur: number): number =>
          (m & want) === 0 || t.nsec === UTIME_OMIT ? cur : t.nsec === UTIME_NOW ? Date.now() / 1000 : Number(t.sec) + t.nsec / 1e9;
        nfs.lutimesSync(where, pick(STATX_ATIME, p.atime, st.atimeMs / 1000), pick(STATX_MTIME, p.mtime, st.mtimeMs / 1000));
      }
    });
  }

  async getdents64(p: P<"getdents64">, r: R<"getdents64">): Promise<void> {
    let names: string[] = [];
    r.errno = errnoOf(() => { names = nfs.readdirSync(this.path, { encoding: "latin1" }).sort(); });
    if (r.errno !== 0) return;
    const start = Number(p.cookie);
    const take: string[] = [];
    let bytes = 0;
    for (let i = start; i < names.length; i++) {
      const n = names[i] as string;
      const rec = (19 + n.length + 1 + 7) & ~7;
      if (bytes + rec > p.count) break;
      bytes += rec;
      take.push(n);
    }
    const list = r._initEntries(take.length);
    take.forEach((n, i) => {
      const st = nfs.lstatSync(this.child(n), { bigint: true });
      const e = list.get(i);
      e.ino = st.ino;
      e.off = BigInt(start + i + 1);
      e.type = Number((st.mode & BigInt(S_IFMT)) >> 12n);
      const b = Buffer.from(n, "latin1");
      e._initName(b.length).copyBuffer(b);
    });
  }

  async fsync(_p: P<"fsync">, r: R<"fsync">): Promise<void> { r.errno = 0; }
  async statfs(_p: P<"statfs">, r: R<"statfs">): Promise<void> {
    const s = nfs.statfsSync(this.path);
    const out = r._initStat();
    out.type = BigInt(s.type);
    out.bsize = BigInt(s.bsize);
    out.blocks = BigInt(s.blocks);
    out.bfree = BigInt(s.bfree);
    out.bavail = BigInt(s.bavail);
    out.files = BigInt(s.files);
    out.ffree = BigInt(s.ffree);
    out.namelen = 255n;
  }
  async getXattr(_p: P<"getXattr">, r: R<"getXattr">): Promise<void> { r.errno = EINVAL.errno; }
  async setXattr(_p: P<"setXattr">, r: R<"setXattr">): Promise<void> { r.errno = EINVAL.errno; }
  async listXattr(_p: P<"listXattr">, r: R<"listXattr">): Promise<void> { r.errno = EINVAL.errno; }
  async removeXattr(_p: P<"removeXattr">, r: R<"removeXattr">): Promise<void> { r.errno = EINVAL.errno; }
  async bindAt(_p: P<"bindAt">, r: R<"bindAt">): Promise<void> { r.errno = EPERM.errno; }
  async connect(_p: P<"connect">, r: R<"connect">): Promise<void> { r.errno = EPERM.errno; }
}

/** The fake gofer for `root`; counts handles and calls for the tests. */
export class FakeGofer implements gofer.Gofer$Server$Target {
  open = 0;
  walks = 0;
  fstats = 0;
  constructor(readonly root: string) {}

  async mount(_p: gofer.Gofer_Mount$Params, r: gofer.Gofer_Mount$Results): Promise<void> {
    this.open++;
    const f = new FakeFile(this, nfs.openSync(this.root, O_PATH | O_NOFOLLOW));
    r.root = f.client();
    fillStatx(r._initRootStat(), f.path);
    r.readOnly = false;
  }
}

/** A client connection to a fake gofer serving `root`. */
export function connectFakeGofer(root: string): { client: gofer.Gofer$Client; server: FakeGofer; close(): void } {
  const [a, b] = memoryStreamPair();
  const server = new FakeGofer(root);
  const serverConn = new RpcConnection(b, { bootstrap: new gofer.Gofer$Server(server), closeFd: (fd) => nfs.closeSync(fd) });
  const clientConn = new RpcConnection(a, { closeFd: (fd) => nfs.closeSync(fd) });
  return {
    client: clientConn.bootstrap(gofer.Gofer$Client),
    server,
    close() {
      clientConn.close();
      serverConn.close();
    },
  };
}

