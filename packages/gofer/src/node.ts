/**
 * HostNode: the gofer's handle on one host file, an O_PATH|O_NOFOLLOW descriptor inside the
 * mount, with the parent directory and name it was reached by.
 *
 * Why keep parent + name. An O_PATH descriptor can be stat'ed, chown'ed, utimens'ed, linked and
 * read as a symlink, but not read, written, truncated, synced or asked for xattrs. Re-opening it
 * through `/proc/self/fd/N` is the usual trick, and it is not available here: after confinement
 * the gofer has no /proc (and /proc would be a door out of the root). Linux has no
 * "reopen this O_PATH descriptor" call, so:
 *
 *  - a directory re-opens itself: `openat(fd, ".", flags)` (race-free: "." is the directory the
 *    descriptor holds);
 *  - any other file is re-opened by name from its parent: `openat(parent, name,
 *    flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)`, then the new descriptor's (dev, ino) is
 *    compared with the handle's. A different file (the name was renamed over, or swapped for
 *    something else, between walk and open) is ESTALE, never the wrong file; a symlink is ELOOP
 *    (O_NOFOLLOW). O_NONBLOCK keeps a FIFO or a device from blocking the gofer's only thread;
 *    it is cleared again on regular files and directories.
 *
 * Renames done through this gofer move the handles they concern (`moveChildren`), so a handle
 * stays re-openable after the sentry renames it; a rename done behind the gofer's back leaves
 * the handle stat-able but re-opening it answers ESTALE until the sentry walks again.
 *
 * Lifetime: reference-counted. A File capability holds one reference; a child handle holds one
 * on its parent (it needs the parent's descriptor to re-open). At zero the descriptor is closed
 * and the parent released. All of this runs on the gofer's single thread without awaits.
 */
import { O_DIRECTORY, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, S_IFDIR, S_IFREG } from "@runsc-ts/abi";
import { ESTALE } from "@runsc-ts/abi";
import { native } from "@runsc-ts/platform";
import { fail } from "./errno.js";
import { type HostStat, statAt, statFd } from "./stat.js";

/** The registry of live handles of one server, so that shutdown closes every descriptor. */
export class NodeTable {
  readonly live = new Set<HostNode>();

  /** Closes every descriptor still held (connection gone). */
  closeAll(): void {
    for (const n of [...this.live]) n.forceClose();
  }
}

/** Child handles by name, for moving them on rename. Names are raw bytes; keyed as latin1. */
function nameKey(name: Uint8Array): string {
  return Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString("latin1");
}

export class HostNode {
  /** The O_PATH descriptor; -1 once closed. */
  #fd: number;
  #refs = 1;
  #parent: HostNode | undefined;
  #name: Uint8Array;
  /** File type (S_IFMT bits) and identity at the time the handle was opened. */
  readonly type: number;
  readonly identity: HostStat;
  /** Live child handles by name. */
  readonly #children = new Map<string, Set<HostNode>>();

  /**
   * Takes ownership of `fd` (O_PATH) and one reference on `parent`. `stat` is the statx of `fd`.
   */
  constructor(
    readonly table: NodeTable,
    fd: number,
    stat: HostStat,
    parent: HostNode | undefined,
    name: Uint8Array,
  ) {
    this.#fd = fd;
    this.type = stat.type;
    this.identity = stat;
    this.#parent = parent;
    this.#name = name;
    if (parent !== undefined) {
      parent.#refs++;
      parent.#addChild(this);
    }
    table.live.add(this);
  }

  get fd(): number {
    if (this.#fd < 0) throw new Error("use of a closed gofer handle");
    return this.#fd;
  }

  get isDirectory(): boolean {
    return this.type === S_IFDIR;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  ref(): void {
    this.#refs++;
  }

  /** Drops one reference; the last closes the descriptor and releases the parent. */
  unref(): void {
    if (this.#refs <= 0) return;
    if (--this.#refs > 0) return;
    this.#close();
  }

  /** Closes now, whatever the count (server shutdown). */
  forceClose(): void {
    this.#refs = 0;
    this.#close();
  }

  #close(): void {
    if (this.#fd >= 0) {
      native.close(this.#fd);
      this.#fd = -1;
    }
    this.table.live.delete(this);
    const parent = this.#parent;
    this.#parent = undefined;
    if (parent !== undefined) {
      parent.#removeChild(this);
      parent.unref();
    }
  }

  #addChild(child: HostNode): void {
    const key = nameKey(child.#name);
    let set = this.#children.get(key);
    if (set === undefined) this.#children.set(key, (set = new Set()));
    set.add(child);
  }

  #removeChild(child: HostNode): void {
    const key = nameKey(child.#name);
    const set = this.#children.get(key);
    if (set === undefined) return;
    set.delete(child);
    if (set.size === 0) this.#children.delete(key);
  }

  /**
   * After `rename(this/oldName, newDir/newName)` succeeded: the handles reached as oldName now
   * live at newDir/newName. With `exchange`, the handles at newDir/newName move the other way.
   */
  static moveChildren(oldDir: HostNode, oldName: Uint8Array, newDir: HostNode, newName: Uint8Array, exchange: boolean): void {
    const take = (dir: HostNode, name: Uint8Array): HostNode[] => {
      const key = nameKey(name);
      const nodes = [...(dir.#children.get(key) ?? [])];
      dir.#children.delete(key);
      return nodes;
    };
    const moving = take(oldDir, oldName);
    const coming = exchange ? take(newDir, newName) : [];
    const place = (nodes: HostNode[], from: HostNode, to: HostNode, name: Uint8Array): void => {
      for (const n of nodes) {
        n.#name = name.slice();
        if (from !== to) {
          n.#parent = to;
          to.#refs++;
          from.unref();
        }
        to.#addChild(n);
      }
    };
    place(moving, oldDir, newDir, newName);
    place(coming, newDir, oldDir, oldName);
  }

  /**
   * A new descriptor on this file opened with `flags` (access mode and O_* modifiers; the
   * caller has checked them). See the file comment for how; throws ESTALE if the name now
   * names another file. The caller owns the descriptor.
   */
  reopen(flags: number): number {
    if (this.isDirectory) return native.openat(this.fd, ".", flags | O_DIRECTORY | O_NOCTTY, 0);
    const parent = this.#parent;
    if (parent === undefined) fail(ESTALE);
    const fd = native.openat(parent.fd, this.#name, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0);
    try {
      const st = statFd(fd);
      if (!st.sameFile(this.identity)) fail(ESTALE);
      if (st.type === S_IFREG && (flags & O_NONBLOCK) === 0) native.setNonblock(fd, false);
    } catch (e) {
      native.close(fd);
      throw e;
    }
    return fd;
  }

  /**
   * A new AF_UNIX socket of `type` connected to this socket file, by parent + name (connect(2)
   * takes a path), then the same identity check as reopen: ESTALE if the name now names another
   * file. connect(2) follows a symlink in the name, so a swap racing this call can reach another
   * socket — in the confined gofer only one inside the mount — and is then reported as ESTALE.
   */
  connectUnix(type: number): number {
    const parent = this.#parent;
    if (parent === undefined) fail(ESTALE);
    const fd = native.connectUnixAt(parent.fd, this.#name, type);
    try {
      if (!statAt(parent.fd, this.#name).sameFile(this.identity)) fail(ESTALE);
    } catch (e) {
      native.close(fd);
      throw e;
    }
    return fd;
  }

  /** Runs `use` with a re-opened descriptor, closed afterwards. */
  withReopened<T>(flags: number, use: (fd: number) => T): T {
    const fd = this.reopen(flags);
    try {
      return use(fd);
    } finally {
      native.close(fd);
    }
  }
}
