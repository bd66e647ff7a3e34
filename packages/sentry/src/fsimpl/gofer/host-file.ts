/**
 * Open regular files of a gofer mount: data moves through the host FD the gofer donated at
 * open, with no RPC per read or write (node:fs on the FD; the sentry never opens a host path).
 */
import * as nfs from "node:fs";
import { EIO, linuxErrorFromName, type LinuxError } from "@runsc-ts/abi";
import type { FileDescriptionImpl } from "../../vfs/file-description.js";

/** The LinuxError for a failed node:fs call (its `code` is the errno name). */
function errorOf(err: NodeJS.ErrnoException): LinuxError {
  return (err.code === undefined ? undefined : linuxErrorFromName(err.code)) ?? EIO;
}

/** Hooks into the inode's attribute cache. */
export interface HostFileOwner {
  /** Called after data was written: cached size and times are stale. */
  noteWrite(): void;
}

export class HostFileImpl implements FileDescriptionImpl {
  readonly seekable = true;
  private closed = false;

  /** Takes ownership of `fd`. */
  constructor(
    private readonly owner: HostFileOwner,
    readonly fd: number,
  ) {}

  read(dst: Uint8Array, offset: number): Promise<number | LinuxError> {
    return new Promise((resolve) => {
      nfs.read(this.fd, dst, 0, dst.length, offset, (err, n) => resolve(err === null ? n : errorOf(err)));
    });
  }

  write(src: Uint8Array, offset: number): Promise<number | LinuxError> {
    return new Promise((resolve) => {
      nfs.write(this.fd, src, 0, src.length, offset, (err, n) => {
        this.owner.noteWrite();
        resolve(err === null ? n : errorOf(err));
      });
    });
  }

  /** The FD was opened O_APPEND by the gofer, so the host appends atomically. */
  append(src: Uint8Array): Promise<{ n: number; end: number } | LinuxError> {
    return new Promise((resolve) => {
      nfs.write(this.fd, src, 0, src.length, null, (err, n) => {
        this.owner.noteWrite();
        if (err !== null) return resolve(errorOf(err));
        nfs.fstat(this.fd, (err2, st) => resolve(err2 === null ? { n, end: st.size } : errorOf(err2)));
      });
    });
  }

  size(): Promise<number | LinuxError> {
    return new Promise((resolve) => {
      nfs.fstat(this.fd, (err, st) => resolve(err === null ? st.size : errorOf(err)));
    });
  }

  release(): void {
    if (this.closed) return;
    this.closed = true;
    nfs.close(this.fd, () => {});
  }
}
