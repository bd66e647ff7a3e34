/**
 * A typed face for one gofer `File` capability (proto/schema/gofer.capnp): each method makes
 * one RPC and returns plain values or a `LinuxError`. This is the only file of the gofer
 * filesystem that touches generated Cap'n Proto types.
 *
 * Errors: the gofer's errno becomes its LinuxError (an unknown number becomes EIO); a
 * transport failure (the gofer is gone, the call was aborted) becomes EIO, because to the
 * application a vanished file server is an I/O error, and the sandbox's supervisor notices
 * the dead gofer by other means.
 */
import { EIO, linuxErrorFromErrno, type LinuxError } from "@runsc-ts/abi";
import { common, gofer, setDataList, takeFd } from "@runsc-ts/proto";
import type { Timespec } from "../../kernel/time.js";
import type { Statfs } from "../../vfs/filesystem.js";
import type { Statx } from "../../vfs/stat.js";

export type WalkStatus = "complete" | "missing" | "symlink" | "notDirectory";

export interface GoferDirent {
  readonly ino: number;
  /** The gofer's resume cookie (may exceed 2^53: kept as a bigint). */
  readonly off: bigint;
  readonly type: number;
  readonly name: string;
}

/** What setStat changes; `mask` uses STATX_MODE/UID/GID/SIZE/ATIME/MTIME. */
export interface GoferSetStat {
  readonly mask: number;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly size?: number;
  /** nsec may be UTIME_NOW / UTIME_OMIT. */
  readonly atime?: Timespec;
  readonly mtime?: Timespec;
}

/** Closes a donated host FD (injected so that tests and the sentry choose how). */
export type CloseHostFd = (fd: number) => void;

function errnoOf(errno: number): LinuxError | undefined {
  if (errno === 0) return undefined;
  return linuxErrorFromErrno(errno) ?? EIO;
}

function bytes(s: string): Uint8Array {
  return Buffer.from(s, "latin1");
}

export function statxFromWire(s: common.Statx): Statx {
  const t = (g: { sec: bigint; nsec: number }): Timespec => ({ sec: Number(g.sec), nsec: g.nsec });
  return {
    mask: s.mask,
    blksize: s.blksize,
    nlink: s.nlink,
    uid: s.uid,
    gid: s.gid,
    mode: s.mode,
    ino: Number(s.ino),
    size: Number(s.size),
    blocks: Number(s.blocks),
    atime: t(s.atime),
    btime: t(s.btime),
    ctime: t(s.ctime),
    mtime: t(s.mtime),
    rdevMajor: s.rdevMajor,
    rdevMinor: s.rdevMinor,
    devMajor: s.devMajor,
    devMinor: s.devMinor,
    mntId: 0,
    attributes: Number(s.attributes),
  };
}

/** Runs one RPC, turning a transport failure into EIO. */
async function call<T>(fn: () => Promise<T | LinuxError>): Promise<T | LinuxError> {
  try {
    return await fn();
  } catch {
    return EIO;
  }
}

export class GoferFile {
  constructor(
    readonly client: gofer.File$Client,
    private readonly closeFd: CloseHostFd,
  ) {}

  private wrap(c: gofer.File$Client): GoferFile {
    return new GoferFile(c, this.closeFd);
  }

  /** Drops the capability (the gofer closes its handle once every reference is gone). */
  release(): void {
    try {
      this.client.client.close();
    } catch {
      // Already gone with the connection.
    }
  }

  walk(names: readonly string[]): Promise<{ status: WalkStatus; entries: { file: GoferFile; stat: Statx }[] } | LinuxError> {
    return call(async () => {
      const r = await this.client.walk((p) => setDataList(p._initNames(names.length), names.map(bytes))).promise();
      const e = errnoOf(r.errno);
      if (e !== undefined) return e;
      const status: WalkStatus = (["complete", "missing", "symlink", "notDirectory"] as const)[r.status] ?? "missing";
      const entries: { file: GoferFile; stat: Statx }[] = [];
      for (let i = 0; i < r.entries.length; i++) {
        const w = r.entries.get(i);
        entries.push({ file: this.wrap(w.file), stat: statxFromWire(w.stat) });
      }
      return { status, entries };
    });
  }

  /** Opens this file; returns the donated host FD. */
  openAt(flags: number): Promise<number | LinuxError> {
    return call(async () => {
      const r = await this.client.openAt((p) => { p.flags = flags >>> 0; }).promise();
      const fd = takeFd(r.fd);
      const e = errnoOf(r.errno);
      if (e !== undefined) {
        if (fd >= 0) this.closeFd(fd);
        return e;
      }
      return fd < 0 ? EIO : fd;
    });
  }

  openCreateAt(name: string, flags: number, mode: number, uid: number, gid: number): Promise<{ file: GoferFile; stat: Statx; fd: number } | LinuxError> {
    return call(async () => {
      const r = await this.client.openCreateAt((p) => {
        setBytes((n) => p._initName(n), name);
        p.flags = flags >>> 0;
        p.mode = mode;
        p.uid = uid;
        p.gid = gid;
      }).promise();
      const fd = takeFd(r.fd);
      const e = errnoOf(r.errno);
      if (e !== undefined) {
        if (fd >= 0) this.closeFd(fd);
        return e;
      }
      return { file: this.wrap(r.child), stat: statxFromWire(r.stat), fd };
    });
  }

  mkdirAt(name: string, mode: number, uid: number, gid: number): Promise<{ file: GoferFile; stat: Statx } | LinuxError> {
    return call(async () => {
      const r = await this.client.mkdirAt((p) => {
        setBytes((n) => p._initName(n), name);
        p.mode = mode;
        p.uid = uid;
        p.gid = gid;
      }).promise();
      const e = errnoOf(r.errno);
      return e ?? { file: this.wrap(r.child), stat: statxFromWire(r.stat) };
    });
  }

  mknodAt(name: string, mode: number, rdevMajor: number, rdevMinor: number, uid: number, gid: number): Promise<{ file: GoferFile; stat: Statx } | LinuxError> {
    return call(async () => {
      const r = await this.client.mknodAt((p) => {
        setBytes((n) => p._initName(n), name);
        p.mode = mode;
        p.rdevMajor = rdevMajor;
        p.rdevMinor = rdevMinor;
        p.uid = uid;
        p.gid = gid;
      }).promise();
      const e = errnoOf(r.errno);
      return e ?? { file: this.wrap(r.child), stat: statxFromWire(r.stat) };
    });
  }

  symlinkAt(name: string, target: string, uid: number, gid: number): Promise<{ file: GoferFile; stat: Statx } | LinuxError> {
    return call(async () => {
      const r = await this.client.symlinkAt((p) => {
        setBytes((n) => p._initName(n), name);
        setBytes((n) => p._initTarget(n), target);
        p.uid = uid;
        p.gid = gid;
      }).promise();
      const e = errnoOf(r.errno);
      return e ?? { file: this.wrap(r.child), stat: statxFromWire(r.stat) };
    });
  }

  linkAt(target: GoferFile, name: string): Promise<{ file: GoferFile; stat: Statx } | LinuxError> {
    return call(async () => {
      const r = await this.client.linkAt((p) => {
        p.target = target.client;
        setBytes((n) => p._initName(n), name);
      }).promise();
      const e = errnoOf(r.errno);
      return e ?? { file: this.wrap(r.child), stat: statxFromWire(r.stat) };
    });
  }

  unlinkAt(name: string, flags: number): Promise<void | LinuxError> {
    return call(async () => {
      const r = await this.client.unlinkAt((p) => {
        setBytes((n) => p._initName(n), name);
        p.flags = flags;
      }).promise();
      return errnoOf(r.errno);
    });
  }

  renameAt(oldName: string, newDir: GoferFile, newName: string, flags: number): Promise<void | LinuxError> {
    return call(async () => {
      const r = await this.client.renameAt((p) => {
        setBytes((n) => p._initOldName(n), oldName);
        p.newDir = newDir.client;
        setBytes((n) => p._initNewName(n), newName);
        p.flags = flags;
      }).promise();
      return errnoOf(r.errno);
    });
  }

  readLinkAt(): Promise<string | LinuxError> {
    return call(async () => {
      const r = await this.client.readLinkAt().promise();
      const e = errnoOf(r.errno);
      return e ?? Buffer.from(r.target.toUint8Array()).toString("latin1");
    });
  }

  fstat(): Promise<Statx | LinuxError> {
    return call(async () => {
      const r = await this.client.fstat().promise();
      const e = errnoOf(r.errno);
      return e ?? statxFromWire(r.stat);
    });
  }

  setStat(s: GoferSetStat): Promise<void | LinuxError> {
    return call(async () => {
      const r = await this.client.setStat((p) => {
        p.mask = s.mask;
        p.mode = s.mode ?? 0;
        p.uid = s.uid ?? 0;
        p.gid = s.gid ?? 0;
        p.size = BigInt(s.size ?? 0);
        const at = p._initAtime();
        at.sec = BigInt(s.atime?.sec ?? 0);
        at.nsec = s.atime?.nsec ?? 0;
        const mt = p._initMtime();
        mt.sec = BigInt(s.mtime?.sec ?? 0);
        mt.nsec = s.mtime?.nsec ?? 0;
      }).promise();
      return errnoOf(r.errno);
    });
  }

  getdents64(cookie: bigint, count: number): Promise<GoferDirent[] | LinuxError> {
    return call(async () => {
      const r = await this.client.getdents64((p) => {
        p.cookie = cookie;
        p.count = count;
      }).promise();
      const e = errnoOf(r.errno);
      if (e !== undefined) return e;
      const out: GoferDirent[] = [];
      for (let i = 0; i < r.entries.length; i++) {
        const d = r.entries.get(i);
        out.push({ ino: Number(d.ino), off: d.off, type: d.type, name: Buffer.from(d.name.toUint8Array()).toString("latin1") });
      }
      return out;
    });
  }

  statfs(): Promise<Statfs | LinuxError> {
    return call(async () => {
      const r = await this.client.statfs().promise();
      const e = errnoOf(r.errno);
      if (e !== undefined) return e;
      const s = r.stat;
      return {
        type: Number(s.type),
        blockSize: Number(s.bsize),
        blocks: Number(s.blocks),
        blocksFree: Number(s.bfree),
        blocksAvailable: Number(s.bavail),
        files: Number(s.files),
        filesFree: Number(s.ffree),
        nameLength: Number(s.namelen),
        flags: Number(s.flags),
      };
    });
  }
}

/** Fills a Data field, initialised by `init` to the right length, with a latin1 string's bytes. */
function setBytes(init: (length: number) => { copyBuffer(src: Uint8Array): void }, s: string): void {
  const b = bytes(s);
  init(b.length).copyBuffer(b);
}
