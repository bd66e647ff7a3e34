/**
 * pipefs: the anonymous filesystem pipe(2) descriptions live on, so that a pipe fd has an
 * inode (fstat shows S_IFIFO with its own inode number) and a mount like any other file.
 * Its dentries are never linked into a directory, and its mount is in no namespace.
 */
import { EINVAL, ENOTDIR, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_WRONLY, S_IFDIR, S_IFIFO, type LinuxError } from "@runsc-ts/abi";
import type { Credentials } from "../../kernel/auth/credentials.js";
import { realtimeClock, type Clock } from "../../kernel/time.js";
import { PIPEFS_MAGIC } from "../../vfs/constants.js";
import { Dentry } from "../../vfs/dentry.js";
import { FileDescription, type FileDescriptionImpl } from "../../vfs/file-description.js";
import { allocAnonDev, type Filesystem, type Inode, type OpenOptions, type Statfs } from "../../vfs/filesystem.js";
import { InodeAttrs } from "../../vfs/inode-attrs.js";
import { Mount } from "../../vfs/mount.js";
import type { SetStat, Statx } from "../../vfs/stat.js";
import { Pipe } from "./pipe.js";

class PipefsInode implements Inode {
  readonly attrs: InodeAttrs;
  constructor(
    readonly fs: PipeFilesystem,
    readonly ino: number,
    mode: number,
    uid: number,
    gid: number,
    readonly pipe: Pipe | null,
  ) {
    this.attrs = new InodeAttrs(fs.clock, mode, uid, gid);
  }
  get mode(): number { return this.attrs.mode; }
  get uid(): number { return this.attrs.uid; }
  get gid(): number { return this.attrs.gid; }
  get nlink(): number { return this.attrs.nlink; }

  stat(): Promise<Statx | LinuxError> {
    const s = this.attrs.statx(this.ino, this.fs.devMajor, this.fs.devMinor);
    s.size = this.pipe?.size ?? 0;
    return Promise.resolve(s);
  }

  setStat(attrs: SetStat): Promise<void | LinuxError> {
    if (attrs.size !== undefined) return Promise.resolve(EINVAL);
    this.attrs.apply(attrs);
    return Promise.resolve();
  }

  /** Reopening a pipe through /proc/[pid]/fd: a FIFO open that never waits for the peer. */
  open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    if (this.pipe === null) return Promise.resolve(ENOTDIR);
    return this.pipe.openFifo(opts.flags, opts.interrupter, true);
  }
}

export class PipeFilesystem implements Filesystem {
  readonly type = "pipefs";
  readonly devMajor: number;
  readonly devMinor: number;
  readonly root: Dentry;
  readonly mount: Mount;
  readonly cacheIsAuthoritative = true;
  private nextIno = 2;

  constructor(readonly clock: Clock = realtimeClock) {
    const dev = allocAnonDev();
    this.devMajor = dev.major;
    this.devMinor = dev.minor;
    this.root = new Dentry(this, new PipefsInode(this, 1, S_IFDIR | 0o700, 0, 0, null), "", null);
    this.mount = new Mount(this, this.root);
  }

  /** Pipes have no path: /proc shows their name ("pipe:[7]"). */
  dname(dentry: Dentry): string {
    return dentry.name;
  }

  statfs(): Promise<Statfs | LinuxError> {
    return Promise.resolve({ type: PIPEFS_MAGIC, blockSize: 4096, blocks: 0, blocksFree: 0, blocksAvailable: 0, files: 0, filesFree: 0, nameLength: 255, flags: 0 });
  }

  /**
   * pipe2(2): a new pipe as a (read end, write end) pair of descriptions, each holding one
   * reference. Flags: O_NONBLOCK (set on both), O_CLOEXEC (the caller's, for the fd table).
   * O_DIRECT (packet mode) is not supported yet: EINVAL.
   */
  newPipe(creds: Credentials, flags: number): [FileDescription, FileDescription] | LinuxError {
    if ((flags & ~(O_NONBLOCK | O_CLOEXEC | O_DIRECT)) !== 0) return EINVAL;
    if ((flags & O_DIRECT) !== 0) return EINVAL;
    const pipe = new Pipe();
    const inode = new PipefsInode(this, this.nextIno++, S_IFIFO | 0o600, creds.fsuid, creds.fsgid, pipe);
    const dentry = new Dentry(this, inode, `pipe:[${inode.ino}]`, this.root);
    const vd = { mount: this.mount, dentry };
    const status = flags & O_NONBLOCK;
    const r = new FileDescription(vd, inode, pipe.openEnd(true, false), O_RDONLY | status);
    const w = new FileDescription(vd, inode, pipe.openEnd(false, true), O_WRONLY | status);
    return [r, w];
  }
}
