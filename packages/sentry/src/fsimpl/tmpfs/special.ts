/** tmpfs symlinks, device nodes, FIFOs and sockets. */
import { ELOOP, ENXIO, S_IFCHR, S_IFMT, type LinuxError } from "@runsc-ts/abi";
import { devMajor, devMinor } from "../../vfs/constants.js";
import type { FileDescriptionImpl } from "../../vfs/file-description.js";
import type { CreateAttrs, OpenOptions } from "../../vfs/filesystem.js";
import type { Statx } from "../../vfs/stat.js";
import { Pipe } from "../pipe/pipe.js";
import type { TmpFilesystem } from "./filesystem.js";
import { TmpInode } from "./inode.js";

export class TmpSymlink extends TmpInode {
  constructor(fs: TmpFilesystem, attrs: CreateAttrs, readonly target: string) {
    super(fs, attrs);
  }

  protected override fillStat(s: Statx): void {
    s.size = this.target.length;
  }

  readlink(): Promise<string | LinuxError> {
    return Promise.resolve(this.target);
  }

  open(_opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    return Promise.resolve(ELOOP);
  }
}

/** A character or block device node; opening a character device goes through the fs's device registry. */
export class TmpDevice extends TmpInode {
  constructor(fs: TmpFilesystem, attrs: CreateAttrs, readonly rdev: number) {
    super(fs, attrs);
  }

  protected override fillStat(s: Statx): void {
    s.rdevMajor = devMajor(this.rdev);
    s.rdevMinor = devMinor(this.rdev);
  }

  open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    if ((this.mode & S_IFMT) !== S_IFCHR) return Promise.resolve(ENXIO);
    return this.fs.devices.openChar(devMajor(this.rdev), devMinor(this.rdev), opts);
  }
}

/** A named pipe: every open shares one Pipe. */
export class TmpFifo extends TmpInode {
  readonly pipe = new Pipe();

  protected override fillStat(s: Statx): void {
    s.size = 0;
  }

  open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    return this.pipe.openFifo(opts.flags, opts.interrupter);
  }
}

/** A Unix socket's name (binding comes with the socket layer; open is ENXIO). */
export class TmpSocket extends TmpInode {
  open(_opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    return Promise.resolve(ENXIO);
  }
}

