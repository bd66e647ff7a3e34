/**
 * An anonymous filesystem for files that have no path: host FDs handed to the sandbox (its
 * stdio), whose inodes show the host file's type and owner, and anonymous-inode files
 * (eventfd) — Linux's anon_inodefs.
 */
import { fstatSync } from "node:fs";
import { EINVAL, EPERM, type LinuxError, O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY, S_IFDIR } from "@runsc-ts/abi";
import { realtimeClock } from "../../kernel/time.js";
import { Dentry } from "../../vfs/dentry.js";
import { FileDescription, type FileDescriptionImpl } from "../../vfs/file-description.js";
import { type Filesystem, type Inode, type OpenOptions, type Statfs, allocAnonDev } from "../../vfs/filesystem.js";
import { InodeAttrs } from "../../vfs/inode-attrs.js";
import { Mount } from "../../vfs/mount.js";
import type { SetStat, Statx } from "../../vfs/stat.js";
import { HostFdFile } from "./host-file.js";

class HostInode implements Inode {
  readonly attrs: InodeAttrs;
  constructor(
    readonly fs: HostFilesystem,
    readonly ino: number,
    mode: number,
    uid: number,
    gid: number,
  ) {
    this.attrs = new InodeAttrs(realtimeClock, mode, uid, gid);
  }
  get mode(): number {
    return this.attrs.mode;
  }
  get uid(): number {
    return this.attrs.uid;
  }
  get gid(): number {
    return this.attrs.gid;
  }
  get nlink(): number {
    return this.attrs.nlink;
  }
  stat(): Promise<Statx | LinuxError> {
    return Promise.resolve(this.attrs.statx(this.ino, this.fs.devMajor, this.fs.devMinor));
  }
  setStat(_attrs: SetStat): Promise<void | LinuxError> {
    return Promise.resolve(EPERM);
  }
  open(_opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    // Reopening a host FD through /proc/self/fd comes with procfs's fd links.
    return Promise.resolve(EINVAL);
  }
}

export class HostFilesystem implements Filesystem {
  readonly type = "hostfd";
  readonly devMajor: number;
  readonly devMinor: number;
  readonly root: Dentry;
  readonly mount: Mount;
  readonly cacheIsAuthoritative = true;
  private nextIno = 2;

  constructor() {
    const dev = allocAnonDev();
    this.devMajor = dev.major;
    this.devMinor = dev.minor;
    this.root = new Dentry(this, new HostInode(this, 1, S_IFDIR | 0o500, 0, 0), "", null);
    this.mount = new Mount(this, this.root);
  }

  /** Every file here is anonymous: /proc shows its name ("anon_inode:[eventfd]", "host:[1]"). */
  dname(dentry: Dentry): string {
    return dentry.name;
  }

  statfs(): Promise<Statfs | LinuxError> {
    return Promise.resolve({ type: 0, blockSize: 4096, blocks: 0, blocksFree: 0, blocksAvailable: 0, files: 0, filesFree: 0, nameLength: 255, flags: 0 });
  }

  /**
   * A description of an anonymous file (eventfd, ...): `impl` behind an inode of `mode`, named
   * `name` in /proc/[pid]/fd ("anon_inode:[eventfd]").
   */
  anonymous(name: string, mode: number, impl: FileDescriptionImpl, flags: number, creds: { fsuid: number; fsgid: number }): FileDescription {
    const inode = new HostInode(this, this.nextIno++, mode, creds.fsuid, creds.fsgid);
    const dentry = new Dentry(this, inode, name, this.root);
    return new FileDescription({ mount: this.mount, dentry }, inode, impl, flags);
  }

  /**
   * A file description over host `fd`, opened with the host FD's access mode. `owned`: the
   * description closes the FD when released (an exec'd process's stdio); not owned, it stays
   * open for the sentry's own use (boot's stdio).
   */
  import(fd: number, accessMode: number = O_RDWR, owned = false): FileDescription {
    let mode = 0o020620;
    let uid = 0;
    let gid = 0;
    try {
      const st = fstatSync(fd);
      mode = st.mode;
      uid = st.uid;
      gid = st.gid;
    } catch {
      // A closed or odd FD still gets a description; its reads and writes will fail with EIO.
    }
    const inode = new HostInode(this, this.nextIno++, mode, uid, gid);
    const dentry = new Dentry(this, inode, `host:[${fd}]`, this.root);
    const acc = accessMode & O_ACCMODE;
    return new FileDescription({ mount: this.mount, dentry }, inode, new HostFdFile(fd, owned, true), acc === O_RDONLY || acc === O_WRONLY ? acc : O_RDWR);
  }
}
