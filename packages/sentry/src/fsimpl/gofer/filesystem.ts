/**
 * The gofer filesystem: files served by a gofer process (proto/schema/gofer.capnp), one
 * connection per mount. Metadata moves by RPC; file data through host FDs the gofer donates at
 * open (host-file.ts). The sentry resolves paths itself, one `walk` per component, and is the
 * permission authority; the gofer only confines.
 *
 * Coherence (what the sentry may cache, and when it asks again):
 *
 * - `exclusive` (default; runsc's --file-access=exclusive): the sandbox is the only user of
 *   the mount's files. The dentry cache is authoritative (a name found once is not walked
 *   again); symlink targets are cached; attributes come from the walk or create result that
 *   made the inode and are kept, except that (a) setStat re-reads them at once (permission
 *   checks need the new mode synchronously), (b) a write through a donated FD, or a change in
 *   a directory (entry added, removed, renamed), marks them stale and the next stat re-reads
 *   them with one fstat.
 * - `shared` (--file-access=shared): something outside may change the files. Every lookup walks
 *   the name again (the VFS keeps the dentry when the gofer reports the same inode number and
 *   type, else replaces it, and drops it on ENOENT); every stat and readlink asks the gofer.
 *   Open files read and write the host FD directly in both modes, so data is always coherent.
 *
 * Handles and names: the gofer re-opens a non-directory through its parent and name, so a
 * `File` handle is only as good as its name. A `GoferInode` keeps one handle per name the
 * sentry knows the file by (a hard link adds one); unlink drops the handle of the removed name,
 * rename moves it, and open tries each in turn.
 *
 * Path walks: in `exclusive` mode, resolution prefetches a run of names with one multi-name
 * `walk` (GoferInode.lookupChain), so a cold /usr/lib/x86_64-linux-gnu/libc.so.6 is one RPC.
 *
 * Not implemented yet: dentry eviction (every inode keeps its File capability while its
 * dentry is cached), `walkStat` revalidation in `shared` mode, xattrs, Unix socket
 * bind/connect (`bindAt`, `connect`), fsync, device nodes (served sentry-side in gVisor).
 */
import { EIO, isLinuxError, linuxErrorFromErrno, type LinuxError } from "@runsc-ts/abi";
import type { gofer } from "@runsc-ts/proto";
import * as nfs from "node:fs";
import { Dentry } from "../../vfs/dentry.js";
import { allocAnonDev, type Filesystem, type Statfs } from "../../vfs/filesystem.js";
import { GoferFile, statxFromWire, type CloseHostFd } from "./file.js";
import { GoferInode } from "./inode.js";

export type Coherence = "exclusive" | "shared";

export interface GoferOptions {
  readonly coherence?: Coherence;
  /** Closes FDs the gofer donated (default: node:fs closeSync). */
  readonly closeFd?: CloseHostFd;
}

export class GoferFilesystem implements Filesystem {
  readonly type = "9p";
  readonly devMajor: number;
  readonly devMinor: number;
  readonly root: Dentry;
  readonly cacheIsAuthoritative: boolean;
  readonly closeFd: CloseHostFd;

  private constructor(
    root: GoferFile,
    rootStat: import("../../vfs/stat.js").Statx,
    /** The gofer serves its mount read-only: mount it MS_RDONLY. */
    readonly readOnly: boolean,
    opts: GoferOptions,
  ) {
    const dev = allocAnonDev();
    this.devMajor = dev.major;
    this.devMinor = dev.minor;
    this.cacheIsAuthoritative = (opts.coherence ?? "exclusive") === "exclusive";
    this.closeFd = opts.closeFd ?? ((fd) => nfs.closeSync(fd));
    this.root = new Dentry(this, new GoferInode(this, root, rootStat, null, ""), "", null);
  }

  /** Attaches to a gofer connection's mount root (`Gofer.mount`). */
  static async mount(client: gofer.Gofer$Client, opts: GoferOptions = {}): Promise<GoferFilesystem | LinuxError> {
    const closeFd = opts.closeFd ?? ((fd: number) => nfs.closeSync(fd));
    try {
      const r = await client.mount().promise();
      if (r.errno !== 0) return linuxErrorFromErrno(r.errno) ?? EIO;
      return new GoferFilesystem(new GoferFile(r.root, closeFd), statxFromWire(r.rootStat), r.readOnly, { ...opts, closeFd });
    } catch {
      return EIO;
    }
  }

  async statfs(): Promise<Statfs | LinuxError> {
    const s = await (this.root.inode as GoferInode).file.statfs();
    return isLinuxError(s) ? s : s;
  }
}
