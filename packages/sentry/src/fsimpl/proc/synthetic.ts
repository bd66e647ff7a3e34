/**
 * Synthetic inodes for filesystems whose contents the kernel generates (procfs now, sysfs
 * later; gVisor's kernfs plays this role): directories whose children are fixed or computed
 * on lookup, read-only files whose content is generated when opened (so one open sees one
 * consistent snapshot, as seq_file gives), and symlinks whose targets depend on the caller.
 */
import { EACCES, EINVAL, ENOENT, EPERM, S_IFDIR, S_IFLNK, S_IFREG, type LinuxError } from "@runsc-ts/abi";
import type { Clock } from "../../kernel/time.js";
import { modeToDirentType } from "../../vfs/constants.js";
import type { Dirent, FileDescriptionImpl } from "../../vfs/file-description.js";
import { allocAnonDev, type Caller, type Filesystem, type Inode, type OpenOptions } from "../../vfs/filesystem.js";
import { InodeAttrs } from "../../vfs/inode-attrs.js";
import type { VirtualDentry } from "../../vfs/mount.js";
import type { SetStat, Statx } from "../../vfs/stat.js";

/** The filesystem half a synthetic inode needs: a clock, inode numbers, a device number. */
export abstract class SyntheticFilesystem implements Filesystem {
  abstract readonly type: string;
  abstract readonly root: import("../../vfs/dentry.js").Dentry;
  readonly devMajor: number;
  readonly devMinor: number;
  readonly cacheIsAuthoritative = false;
  private nextIno = 1;

  constructor(readonly clock: Clock) {
    const dev = allocAnonDev();
    this.devMajor = dev.major;
    this.devMinor = dev.minor;
  }

  allocIno(): number {
    return this.nextIno++;
  }

  abstract statfs(): Promise<import("../../vfs/filesystem.js").Statfs | LinuxError>;
}

export abstract class SyntheticInode implements Inode {
  readonly attrs: InodeAttrs;
  readonly ino: number;

  constructor(readonly fs: SyntheticFilesystem, mode: number, uid = 0, gid = 0) {
    this.ino = fs.allocIno();
    this.attrs = new InodeAttrs(fs.clock, mode, uid, gid, (mode & S_IFDIR) !== 0 ? 2 : 1);
  }

  get mode(): number { return this.attrs.mode; }
  get uid(): number { return this.attrs.uid; }
  get gid(): number { return this.attrs.gid; }
  get nlink(): number { return this.attrs.nlink; }

  stat(): Promise<Statx | LinuxError> {
    return Promise.resolve(this.attrs.statx(this.ino, this.fs.devMajor, this.fs.devMinor));
  }

  /** Synthetic files keep their attributes: chmod/chown/utimes are EPERM, as on procfs. */
  setStat(_attrs: SetStat): Promise<void | LinuxError> {
    return Promise.resolve(EPERM);
  }

  abstract open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError>;
}

/** A read-only file generated at open. */
export class SyntheticFile extends SyntheticInode {
  constructor(fs: SyntheticFilesystem, private readonly generate: (caller: Caller) => string | Uint8Array, mode = 0o444) {
    super(fs, S_IFREG | mode);
  }

  open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    if ((opts.flags & 3) !== 0) return Promise.resolve(EACCES);
    const g = this.generate(opts);
    return Promise.resolve(contents(typeof g === "string" ? Buffer.from(g, "latin1") : g));
  }
}

/** A description reading `data`, generated at open (so one open reads one consistent snapshot). */
function contents(data: Uint8Array): FileDescriptionImpl {
  return {
    seekable: true,
    read: (dst, offset) => {
      if (offset >= data.length) return Promise.resolve(0);
      const n = Math.min(dst.length, data.length - offset);
      dst.set(data.subarray(offset, offset + n));
      return Promise.resolve(n);
    },
    size: () => Promise.resolve(data.length),
  };
}

/** A symlink whose target is computed per caller; optionally a magic link. */
export class SyntheticSymlink extends SyntheticInode {
  constructor(
    fs: SyntheticFilesystem,
    private readonly target: (caller?: Caller) => string | LinuxError,
    private readonly jump?: (caller: Caller) => VirtualDentry | LinuxError,
  ) {
    super(fs, S_IFLNK | 0o777);
    if (jump !== undefined) {
      const j = jump;
      this.followLink = (caller: Caller) => Promise.resolve(j(caller));
    }
  }

  followLink?: (caller: Caller) => Promise<VirtualDentry | LinuxError>;

  readlink(caller?: Caller): Promise<string | LinuxError> {
    return Promise.resolve(this.target(caller));
  }

  open(_opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    return Promise.resolve(EINVAL);
  }
}

/**
 * A synthetic file that also takes writes: `accept` gets each write's bytes as text (a value
 * like /proc/[pid]/oom_score_adj's), and answers an errno for a value it refuses.
 */
export class WritableSyntheticFile extends SyntheticInode {
  constructor(
    fs: SyntheticFilesystem,
    private readonly generate: () => string,
    private readonly accept: (text: string) => LinuxError | undefined,
    mode = 0o644,
  ) {
    super(fs, S_IFREG | mode);
  }

  /** O_TRUNC on open (a shell's `>`) is ignored, as procfs ignores it; other changes are refused. */
  override setStat(attrs: SetStat): Promise<void | LinuxError> {
    const onlySize = Object.keys(attrs).every((k) => k === "size");
    return Promise.resolve(onlySize && attrs.size === 0 ? undefined : EPERM);
  }

  open(_opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    const accept = this.accept;
    return Promise.resolve({
      ...contents(Buffer.from(this.generate(), "latin1")),
      write: (src: Uint8Array) => Promise.resolve(accept(Buffer.from(src).toString("latin1")) ?? src.length),
    });
  }
}

/** A directory whose children come from `children()` each time it is listed or looked up in. */
export class SyntheticDir extends SyntheticInode {
  private readonly fixed = new Map<string, Inode>();

  constructor(fs: SyntheticFilesystem, private readonly dynamic?: () => Map<string, Inode>, mode = 0o555) {
    super(fs, S_IFDIR | mode);
  }

  /** Adds a fixed child. */
  add(name: string, inode: Inode): this {
    this.fixed.set(name, inode);
    return this;
  }

  private children(): Map<string, Inode> {
    if (this.dynamic === undefined) return this.fixed;
    return new Map([...this.fixed, ...this.dynamic()]);
  }

  lookup(name: string): Promise<Inode | LinuxError> {
    const c = this.fixed.get(name) ?? this.dynamic?.().get(name);
    return Promise.resolve(c ?? ENOENT);
  }

  open(_opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    const entries = [...this.children()];
    const ino = this.ino;
    const impl: FileDescriptionImpl = {
      seekable: true,
      iterDirents(cookie: number, emit: (d: Dirent) => boolean): Promise<number | LinuxError> {
        let pos = cookie;
        if (pos < 1) {
          if (!emit({ ino, off: 1, type: 4, name: "." })) return Promise.resolve(pos);
          pos = 1;
        }
        if (pos < 2) {
          if (!emit({ ino, off: 2, type: 4, name: ".." })) return Promise.resolve(pos);
          pos = 2;
        }
        for (let i = pos - 2; i < entries.length; i++) {
          const [name, inode] = entries[i] as [string, Inode];
          if (!emit({ ino: inode.ino, off: i + 3, type: modeToDirentType(inode.mode), name })) break;
          pos = i + 3;
        }
        return Promise.resolve(pos);
      },
      seek(offset: number, whence: number, current: number): Promise<number | LinuxError> {
        const r = whence === 0 ? offset : whence === 1 ? current + offset : -1;
        return Promise.resolve(r < 0 ? EINVAL : r);
      },
    };
    return Promise.resolve(impl);
  }
}

