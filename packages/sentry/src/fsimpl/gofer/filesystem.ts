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
 * Eviction: each inode holds its handles while the VFS caches one of its dentries. The mount's
 * `dentryCache` keeps at most `maxCachedDentries` unused dentries (vfs/dentry.ts); evicting one
 * calls `GoferInode.evicted`, which releases that name's `File` capability (the gofer closes
 * the host FD once no capability or child handle needs it). Directories with cached children
 * and files in use are never evicted, so live handles stay bounded by the bound plus what is in
 * use and its ancestors. Re-walking an evicted name makes a new inode with the host's inode
 * number, so stat and getdents agree before and after.
 *
 * Not implemented yet: `walkStat` revalidation in `shared` mode, xattrs, Unix socket
 * bind/connect (`bindAt`, `connect`), fsync, device nodes (served sentry-side in gVisor).
 */
import { EIO, isLinuxError, linuxErrorFromErrno, type LinuxError } from "@runsc-ts/abi";
import type { gofer } from "@runsc-ts/proto";
import * as nfs from "node:fs";
import { Dentry } from "../../vfs/dentry.js";
import { DentryCache } from "../../vfs/dentry-cache.js";
import { allocAnonDev, type Filesystem, type Statfs } from "../../vfs/filesystem.js";
import { GoferFile, statxFromWire, type CloseHostFd } from "./file.js";
import { GoferInode } from "./inode.js";

export type Coherence = "exclusive" | "shared";

export interface GoferOptions {
  readonly coherence?: Coherence;
  /**
   * How many unused dentries (no open file, not a cwd, root or mount point, no cached child)
   * the mount keeps, each holding a gofer handle (a host FD in the gofer); beyond this the
   * least recently used are evicted and their handles released. Default 1000.
   */
  readonly maxCachedDentries?: number;
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
  readonly dentryCache: DentryCache;
  /** Gofer `File` capabilities the inodes of this mount hold right now. */
  liveHandles = 0;

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
    this.dentryCache = new DentryCache(opts.maxCachedDentries);
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
    const f = await (this.root.inode as GoferInode).handle();
    if (isLinuxError(f)) return f;
    return f.statfs();
  }
}
