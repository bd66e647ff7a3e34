/**
 * The gofer.capnp capabilities: `Gofer` (the bootstrap) and `File` (one per handle given out).
 *
 * Every handler is synchronous inside (native calls on this thread, no await), so handlers never
 * interleave and the handle table needs no locks. Each handler computes its answer first and
 * writes the results last; its errno comes from the one boundary in errno.ts. A thrown error
 * that is not an errno (a bug) becomes an RPC exception for that call only.
 *
 * Policy enforced here, whatever the sentry asks (it is assumed compromised): names are single
 * components (walk.ts); nothing is resolved through a symlink; a read-only mount answers EROFS
 * to every mutation; device nodes are never created and block devices, sockets and symlinks
 * are never opened (sockets are connected to, through `connect`); only "user." extended
 * attributes are served (attr.ts).
 */
import {
  AT_EMPTY_PATH,
  AT_REMOVEDIR,
  ECONNREFUSED,
  EINVAL,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  ENXIO,
  EPERM,
  EROFS,
  ESTALE,
  EXDEV,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECT,
  O_DIRECTORY,
  O_DSYNC,
  O_EXCL,
  O_LARGEFILE,
  O_NOATIME,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_SYNC,
  O_TRUNC,
  PATH_MAX,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  S_ISGID,
  S_ISUID,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  UNIX_PATH_MAX,
  type LinuxError,
} from "@runsc-ts/abi";
import { native } from "@runsc-ts/platform";
import { common, gofer, hostFd, setDataList } from "@runsc-ts/proto";
import * as attr from "./attr.js";
import { errnoOf, fail } from "./errno.js";
import { HostNode, NodeTable } from "./node.js";
import { type HostStat, fillStatx, statFd } from "./stat.js";
import { openComponent, requireName, walk, walkNames, walkStat } from "./walk.js";

type P<M extends keyof gofer.File$Server$Target> = Parameters<gofer.File$Server$Target[M]>[0];
type R<M extends keyof gofer.File$Server$Target> = Parameters<gofer.File$Server$Target[M]>[1];

/** Flags openAt accepts (O_CLOEXEC is always added by the native call). */
const OPEN_ALLOWED =
  O_ACCMODE | O_TRUNC | O_APPEND | O_DIRECT | O_DSYNC | O_SYNC | O_NOATIME | O_NONBLOCK | O_LARGEFILE | O_CLOEXEC | O_NOCTTY | O_DIRECTORY;
/** Flags openCreateAt accepts besides those (O_CREAT|O_EXCL are added anyway). */
const CREATE_ALLOWED = (OPEN_ALLOWED & ~O_DIRECTORY) | O_CREAT | O_EXCL;
const PERMISSION_BITS = 0o7777;

/** One gofer connection's state: its mount root and every handle it gave out. */
export class GoferServer implements gofer.Gofer$Server$Target {
  readonly nodes = new NodeTable();
  readonly root: HostNode;

  /**
   * Takes ownership of `rootFd`, an O_PATH descriptor on a directory: the mount root, or, for a
   * mount of a single file (a file bind mount), the directory holding it as `fileName`. A file
   * root is reached by name from that directory like any other file, so it can be re-opened; the
   * sentry never gets a handle on the directory itself.
   */
  constructor(
    rootFd: number,
    readonly readOnly: boolean,
    fileName?: string,
  ) {
    const st = statFd(rootFd);
    if (st.type !== S_IFDIR) {
      native.close(rootFd);
      throw new Error("the gofer's root is not a directory");
    }
    const dir = new HostNode(this.nodes, rootFd, st, undefined, new Uint8Array(0));
    if (fileName === undefined) {
      this.root = dir;
      return;
    }
    try {
      const name = new TextEncoder().encode(fileName);
      const fd = openComponent(rootFd, name);
      let fileStat: HostStat;
      try {
        fileStat = statFd(fd);
        if (fileStat.type === S_IFLNK) throw new Error("the gofer's file root is a symbolic link");
      } catch (e) {
        native.close(fd);
        throw e;
      }
      this.root = new HostNode(this.nodes, fd, fileStat, dir, name);
    } finally {
      dir.unref(); // the file's handle holds its own reference on the directory
    }
  }

  /** The bootstrap capability for an RpcConnection. */
  bootstrap(): gofer.Gofer$Server {
    return new gofer.Gofer$Server(this);
  }

  async mount(_p: gofer.Gofer_Mount$Params, r: gofer.Gofer_Mount$Results): Promise<void> {
    let stat: HostStat | undefined;
    r.errno = errnoOf(() => {
      stat = statFd(this.root.fd);
      return undefined;
    });
    if (stat === undefined) return;
    this.root.ref();
    r.root = new FileImpl(this, this.root).client();
    fillStatx(r._initRootStat(), stat);
    r.readOnly = this.readOnly;
  }

  /** Closes every handle (the connection is gone). */
  close(): void {
    this.nodes.closeAll();
  }

  /** The FileImpl behind a File capability the sentry passed back, if it is one of ours. */
  resolve(client: gofer.File$Client): FileImpl | undefined {
    const c: unknown = client.client;
    if (!(c instanceof gofer.File$Server)) return undefined;
    const t = c.target;
    return t instanceof FileImpl && t.server === this && !t.node.closed ? t : undefined;
  }
}

/** A created or linked child: its handle and stat. */
interface Child {
  readonly node: HostNode;
  readonly stat: HostStat;
}

/** One File capability: a reference on one HostNode. */
export class FileImpl implements gofer.File$Server$Target {
  readonly #capability: gofer.File$Server;

  /** Takes one reference on `node` (released when the sentry drops the capability). */
  constructor(
    readonly server: GoferServer,
    readonly node: HostNode,
  ) {
    this.#capability = new gofer.File$Server(this);
  }

  client(): gofer.File$Client {
    return this.#capability.client();
  }

  /** The RPC engine calls this when the sentry released its last reference. */
  onRelease(): void {
    this.node.unref();
  }

  get #readOnly(): boolean {
    return this.server.readOnly;
  }

  /** A File capability for a freshly made handle (its reference passes to the capability). */
  #cap(node: HostNode): gofer.File$Client {
    return new FileImpl(this.server, node).client();
  }

  async walk(p: P<"walk">, r: R<"walk">): Promise<void> {
    let result: ReturnType<typeof walk> | undefined;
    r.errno = errnoOf(() => {
      result = walk(this.node, walkNames(p.names, true));
      return undefined;
    });
    if (result === undefined) return;
    r.status = result.status;
    const entries = r._initEntries(result.steps.length);
    result.steps.forEach((s, i) => {
      const e = entries.get(i);
      e.file = this.#cap(s.node);
      fillStatx(e._initStat(), s.stat);
    });
  }

  async walkStat(p: P<"walkStat">, r: R<"walkStat">): Promise<void> {
    let result: ReturnType<typeof walkStat> | undefined;
    r.errno = errnoOf(() => {
      result = walkStat(this.node, walkNames(p.names, false));
      return undefined;
    });
    if (result === undefined) return;
    r.status = result.status;
    const stats = r._initStats(result.stats.length);
    result.stats.forEach((s, i) => fillStatx(stats.get(i), s));
  }

  async openAt(p: P<"openAt">, r: R<"openAt">): Promise<void> {
    let fd = -1;
    r.errno = errnoOf(() => {
      const flags = p.flags;
      if ((flags & ~OPEN_ALLOWED) !== 0 || (flags & O_ACCMODE) === O_ACCMODE) return EINVAL;
      const writes = (flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0;
      if (this.#readOnly && writes) return EROFS;
      const refused = refuseOpen(this.node.type);
      if (refused !== undefined) return refused;
      fd = this.node.reopen(flags & ~O_CLOEXEC);
      return undefined;
    });
    if (fd >= 0) r.fd = hostFd(common.HostFd$Client, fd);
  }

  async openCreateAt(p: P<"openCreateAt">, r: R<"openCreateAt">): Promise<void> {
    let made: (Child & { fd: number }) | undefined;
    r.errno = errnoOf(() => {
      if (this.#readOnly) return EROFS;
      const name = p.name.toUint8Array().slice();
      requireName(name);
      const { flags, mode } = p;
      if ((flags & ~CREATE_ALLOWED) !== 0 || (flags & O_ACCMODE) === O_ACCMODE || (mode & ~PERMISSION_BITS) !== 0) return EINVAL;
      const dir = this.#dir();
      const openFlags = (flags & ~(O_CLOEXEC | O_NONBLOCK)) | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY;
      const fd = native.openat(dir.fd, name, openFlags, mode);
      try {
        native.fchownat(fd, "", p.uid, p.gid, AT_EMPTY_PATH);
        // chown(2) clears set-user-ID and set-group-ID on regular files: set them afterwards.
        if ((mode & (S_ISUID | S_ISGID)) !== 0) native.fchmod(fd, mode);
        if ((flags & O_NONBLOCK) !== 0) native.setNonblock(fd, true);
        const child = this.#childAt(dir, name, statFd(fd));
        made = { ...child, fd };
      } catch (e) {
        native.close(fd);
        undoCreate(dir, name, 0);
        throw e;
      }
      return undefined;
    });
    if (made === undefined) return;
    r.child = this.#cap(made.node);
    fillStatx(r._initStat(), made.stat);
    r.fd = hostFd(common.HostFd$Client, made.fd);
  }

  async mkdirAt(p: P<"mkdirAt">, r: R<"mkdirAt">): Promise<void> {
    this.#answerCreate(r, (dir, name) => {
      native.mkdirat(dir.fd, name, p.mode & PERMISSION_BITS);
      return this.#ownChild(dir, name, p.uid, p.gid, AT_REMOVEDIR);
    }, p.name);
  }

  async mknodAt(p: P<"mknodAt">, r: R<"mknodAt">): Promise<void> {
    this.#answerCreate(r, (dir, name) => {
      const type = (p.mode & S_IFMT) === 0 ? S_IFREG : p.mode & S_IFMT;
      if (type === S_IFCHR || type === S_IFBLK) fail(EPERM); // the sentry serves devices itself
      if (type !== S_IFREG && type !== S_IFIFO && type !== S_IFSOCK) fail(EINVAL);
      native.mknodat(dir.fd, name, type | (p.mode & PERMISSION_BITS), 0, 0);
      return this.#ownChild(dir, name, p.uid, p.gid, 0);
    }, p.name);
  }

  async symlinkAt(p: P<"symlinkAt">, r: R<"symlinkAt">): Promise<void> {
    this.#answerCreate(r, (dir, name) => {
      const target = p.target.toUint8Array().slice();
      if (target.length === 0) fail(ENOENT);
      if (target.length >= PATH_MAX) fail(ENAMETOOLONG);
      if (target.includes(0)) fail(EINVAL);
      native.symlinkat(target, dir.fd, name);
      return this.#ownChild(dir, name, p.uid, p.gid, 0);
    }, p.name);
  }

  async linkAt(p: P<"linkAt">, r: R<"linkAt">): Promise<void> {
    this.#answerCreate(r, (dir, name) => {
      const target = this.server.resolve(p.target);
      if (target === undefined) fail(EXDEV);
      if (target.node.isDirectory) fail(EPERM);
      native.linkat(target.node.fd, "", dir.fd, name, AT_EMPTY_PATH);
      return this.#childAt(dir, name, target.node.identity);
    }, p.name);
  }

  async unlinkAt(p: P<"unlinkAt">, r: R<"unlinkAt">): Promise<void> {
    r.errno = errnoOf(() => {
      if (this.#readOnly) return EROFS;
      const name = p.name.toUint8Array().slice();
      requireName(name);
      if (p.flags !== 0 && p.flags !== AT_REMOVEDIR) return EINVAL;
      native.unlinkat(this.#dir().fd, name, p.flags);
      return undefined;
    });
  }

  async renameAt(p: P<"renameAt">, r: R<"renameAt">): Promise<void> {
    r.errno = errnoOf(() => {
      if (this.#readOnly) return EROFS;
      const oldName = p.oldName.toUint8Array().slice();
      const newName = p.newName.toUint8Array().slice();
      requireName(oldName);
      requireName(newName);
      const flags = p.flags;
      if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0) return EINVAL;
      const newDir = this.server.resolve(p.newDir);
      if (newDir === undefined) return EXDEV;
      if (!newDir.node.isDirectory) return ENOTDIR;
      const oldDir = this.#dir();
      native.renameat2(oldDir.fd, oldName, newDir.node.fd, newName, flags);
      HostNode.moveChildren(oldDir, oldName, newDir.node, newName, (flags & RENAME_EXCHANGE) !== 0);
      return undefined;
    });
  }

  async readLinkAt(_p: P<"readLinkAt">, r: R<"readLinkAt">): Promise<void> {
    let target: Uint8Array | undefined;
    r.errno = errnoOf(() => {
      if (this.node.type !== S_IFLNK) return EINVAL;
      target = native.readlinkat(this.node.fd, "");
      return undefined;
    });
    if (target !== undefined) r._initTarget(target.length).copyBuffer(target);
  }

  async fstat(_p: P<"fstat">, r: R<"fstat">): Promise<void> {
    let stat: HostStat | undefined;
    r.errno = errnoOf(() => {
      stat = statFd(this.node.fd);
      return undefined;
    });
    if (stat !== undefined) fillStatx(r._initStat(), stat);
  }

  async setStat(p: P<"setStat">, r: R<"setStat">): Promise<void> {
    const outcome = attr.setStat(this.node, this.#readOnly, {
      mask: p.mask,
      mode: p.mode,
      uid: p.uid,
      gid: p.gid,
      size: p.size,
      atime: { sec: p.atime.sec, nsec: p.atime.nsec },
      mtime: { sec: p.mtime.sec, nsec: p.mtime.nsec },
    });
    r.errno = outcome.errno;
    r.failedMask = outcome.failedMask;
  }

  async getdents64(p: P<"getdents64">, r: R<"getdents64">): Promise<void> {
    let entries: ReturnType<typeof attr.getdents> = [];
    r.errno = errnoOf(() => {
      entries = attr.getdents(this.node, p.cookie, p.count);
      return undefined;
    });
    if (r.errno !== 0) return;
    const list = r._initEntries(entries.length);
    entries.forEach((d, i) => {
      const e = list.get(i);
      e.ino = d.ino;
      e.off = d.off;
      e.type = d.type;
      e._initName(d.name.length).copyBuffer(d.name);
    });
  }

  async fsync(p: P<"fsync">, r: R<"fsync">): Promise<void> {
    r.errno = errnoOf(() => attr.fsync(this.node, p.dataOnly));
  }

  async statfs(_p: P<"statfs">, r: R<"statfs">): Promise<void> {
    const out = r._initStat();
    r.errno = errnoOf(() => attr.statfs(this.node, out));
  }

  async getXattr(p: P<"getXattr">, r: R<"getXattr">): Promise<void> {
    let value: Uint8Array | undefined;
    r.errno = errnoOf(() => {
      value = attr.getXattr(this.node, p.name.toUint8Array(), p.size);
      return undefined;
    });
    if (value !== undefined && value.length > 0) r._initValue(value.length).copyBuffer(value);
  }

  async setXattr(p: P<"setXattr">, r: R<"setXattr">): Promise<void> {
    r.errno = errnoOf(() => attr.setXattr(this.node, this.#readOnly, p.name.toUint8Array(), p.value.toUint8Array(), p.flags));
  }

  async listXattr(p: P<"listXattr">, r: R<"listXattr">): Promise<void> {
    let names: Uint8Array[] | undefined;
    r.errno = errnoOf(() => {
      names = attr.listXattr(this.node, p.size);
      return undefined;
    });
    if (names !== undefined) setDataList(r._initNames(names.length), names);
  }

  async removeXattr(p: P<"removeXattr">, r: R<"removeXattr">): Promise<void> {
    r.errno = errnoOf(() => attr.removeXattr(this.node, this.#readOnly, p.name.toUint8Array()));
  }

  async bindAt(p: P<"bindAt">, r: R<"bindAt">): Promise<void> {
    let made: (Child & { fd: number }) | undefined;
    r.errno = errnoOf(() => {
      if (this.#readOnly) return EROFS;
      const name = p.name.toUint8Array().slice();
      requireName(name);
      if (name.length >= UNIX_PATH_MAX) return ENAMETOOLONG;
      if (!isSocketType(p.sockType) || (p.mode & ~PERMISSION_BITS) !== 0) return EINVAL;
      const dir = this.#dir();
      const fd = native.bindUnixAt(dir.fd, name, p.sockType);
      try {
        const child = this.#ownChild(dir, name, p.uid, p.gid, 0);
        try {
          if (child.node.type !== S_IFSOCK) fail(ESTALE);
          const refused = attr.chmod(child.node, p.mode);
          if (refused !== undefined) fail(refused);
          made = { node: child.node, stat: statFd(child.node.fd), fd };
        } catch (e) {
          child.node.unref();
          undoCreate(dir, name, 0);
          throw e;
        }
      } catch (e) {
        native.close(fd);
        throw e;
      }
      return undefined;
    });
    if (made === undefined) return;
    r.child = this.#cap(made.node);
    fillStatx(r._initStat(), made.stat);
    r.fd = hostFd(common.HostFd$Client, made.fd);
  }

  async connect(p: P<"connect">, r: R<"connect">): Promise<void> {
    let fd = -1;
    r.errno = errnoOf(() => {
      if (!isSocketType(p.sockType)) return EINVAL;
      if (this.node.type !== S_IFSOCK) return ECONNREFUSED;
      fd = this.node.connectUnix(p.sockType);
      return undefined;
    });
    if (fd >= 0) r.fd = hostFd(common.HostFd$Client, fd);
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** This handle as a directory to create in, or ENOTDIR. */
  #dir(): HostNode {
    if (!this.node.isDirectory) fail(ENOTDIR);
    return this.node;
  }

  /**
   * The shared shape of mkdirAt, mknodAt, symlinkAt and linkAt: EROFS on a read-only mount, a
   * checked name, the operation, then the child capability and stat as results.
   */
  #answerCreate(
    r: { errno: number; child: gofer.File$Client; _initStat(): common.Statx },
    op: (dir: HostNode, name: Uint8Array) => Child,
    nameData: { toUint8Array(): Uint8Array },
  ): void {
    let child: Child | undefined;
    r.errno = errnoOf(() => {
      if (this.#readOnly) return EROFS;
      const name = nameData.toUint8Array().slice();
      requireName(name);
      child = op(this.#dir(), name);
      return undefined;
    });
    if (child === undefined) return;
    r.child = this.#cap(child.node);
    fillStatx(r._initStat(), child.stat);
  }

  /**
   * After creating `name` in `dir`: opens its handle, gives it to uid/gid, and stats it. On
   * failure removes what was created (`undoFlags` for unlinkat) and throws.
   */
  #ownChild(dir: HostNode, name: Uint8Array, uid: number, gid: number, undoFlags: number): Child {
    let fd = -1;
    try {
      fd = openComponent(dir.fd, name);
      native.fchownat(fd, "", uid, gid, AT_EMPTY_PATH);
      const stat = statFd(fd);
      const node = new HostNode(this.server.nodes, fd, stat, dir, name);
      return { node, stat };
    } catch (e) {
      if (fd >= 0) native.close(fd);
      undoCreate(dir, name, undoFlags);
      throw e;
    }
  }

  /** Opens the handle of `name` in `dir`, which must be the file `expected` (else ESTALE). */
  #childAt(dir: HostNode, name: Uint8Array, expected: HostStat): Child {
    const fd = openComponent(dir.fd, name);
    try {
      const stat = statFd(fd);
      if (!stat.sameFile(expected)) fail(ESTALE);
      return { node: new HostNode(this.server.nodes, fd, stat, dir, name), stat };
    } catch (e) {
      native.close(fd);
      throw e;
    }
  }
}

/** Why a file of type `type` may not be opened, if it may not. */
function refuseOpen(type: number): LinuxError | undefined {
  switch (type) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFIFO:
    case S_IFCHR:
      return undefined;
    case S_IFLNK:
      return ELOOP;
    default:
      return ENXIO; // sockets, block devices
  }
}

function isSocketType(type: number): boolean {
  return type === SOCK_STREAM || type === SOCK_DGRAM || type === SOCK_SEQPACKET;
}

/** Best-effort removal of a file this call created and then failed to finish. */
function undoCreate(dir: HostNode, name: Uint8Array, flags: number): void {
  try {
    native.unlinkat(dir.fd, name, flags);
  } catch {
    // Nothing more to do: the original failure is what the sentry hears about.
  }
}
