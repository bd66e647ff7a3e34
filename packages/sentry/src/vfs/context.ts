/**
 * What a VFS operation needs to know about the task calling it. The kernel's Task will
 * implement this; tests build one with `simpleContext`.
 */
import type { Credentials } from "../kernel/auth/credentials.js";
import type { Interrupter } from "../kernel/waiter.js";
import type { FdTable } from "./fd-table.js";
import type { VirtualDentry } from "./mount.js";
import type { ResolveContext } from "./resolve.js";

export interface VfsContext extends ResolveContext {
  readonly creds: Credentials;
  /** The task's root directory (chroot). */
  readonly root: VirtualDentry;
  /** The working directory, for AT_FDCWD. */
  readonly cwd: VirtualDentry;
  /** Where dirfds are looked up. */
  readonly fdTable: FdTable;
  /** The file mode creation mask (umask(2)). */
  readonly umask: number;
  /** Interrupts blocking operations (the task's signal delivery). */
  readonly interrupter?: Interrupter;
}
