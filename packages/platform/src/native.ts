/**
 * The native addon (`@runsc-ts/native`, built from `native/src` by node-gyp): its whole
 * TypeScript surface, declared once. This is the only module in the repository that loads
 * native code (ESLint enforces it); everything else goes through the types exported here.
 *
 * The addon is a thin layer of stateless functions over plain numbers (file descriptors,
 * flags, byte counts), node-pty style: policy lives in TypeScript. The functions validate
 * their arguments before any system call (TypeError for a wrong type, RangeError for a value
 * out of range, both with Node's `code`s) and report a failed system call by throwing a
 * {@link SystemError}. "Would block" is not an error: it is the return value -1.
 *
 * Concurrency: every function runs synchronously on the calling thread. FdWatcher callbacks run
 * on the event loop of the thread that created the watcher.
 */
import { createRequire } from "node:module";
import { getSystemErrorMap } from "node:util";

/**
 * A failed system call, shaped like Node's own SystemError: message
 * `"EBADF: bad file descriptor, sendmsg"`, `code` `"EBADF"`, `errno` -9 (negative, as libuv and
 * Node report it), `syscall` `"sendmsg"`.
 */
export interface SystemError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
}

/** Whether `e` is an Error carrying `code`, `errno` and `syscall` (ours or Node's). */
export function isSystemError(e: unknown): e is SystemError {
  if (!(e instanceof Error)) return false;
  const r = e as Error & Record<string, unknown>;
  return typeof r["code"] === "string" && typeof r["errno"] === "number" && typeof r["syscall"] === "string";
}

/**
 * A SystemError built in TypeScript for a negative errno that did not come with an exception
 * (an FdWatcher status): the same shape and message the addon would produce.
 */
export function systemErrorFromErrno(errno: number, syscall: string): SystemError {
  // Node's own table: the names and texts the addon takes from libuv.
  const [code, text] = getSystemErrorMap().get(errno) ?? [`Unknown system error ${errno}`, "unknown error"];
  return Object.assign(new Error(`${code}: ${text}, ${syscall}`), { code, errno, syscall });
}

/** Constants compiled into the addon from the host's headers. */
export interface NativeConstants {
  readonly SOCK_STREAM: number;
  readonly SOCK_DGRAM: number;
  readonly SOCK_SEQPACKET: number;
  readonly SOCK_CLOEXEC: number;
  readonly SOCK_NONBLOCK: number;
  /** The most chunks one sendmsg sends (the rest is left to the caller). */
  readonly IOV_MAX: number;
  /** The most descriptors one SCM_RIGHTS message carries (the kernel's SCM_MAX_FD, 253). */
  readonly SCM_MAX_FD: number;
  /** FdWatcher event bits (libuv's UV_READABLE, UV_WRITABLE, UV_DISCONNECT). */
  readonly POLL_READABLE: number;
  readonly POLL_WRITABLE: number;
  readonly POLL_DISCONNECT: number;
}

/**
 * Called on the event loop when the watched descriptor is ready. `status` is 0 or a negative
 * errno; `events` is a mask of the POLL_* constants. A negative status means the watcher has
 * been stopped (start() it again to keep watching): libuv reports an error condition on the
 * descriptor (EPOLLERR) as EBADF, so the descriptor's real error is for a read or write to
 * find. An exception thrown here is reported as uncaught (like any Node I/O callback).
 */
export type FdWatcherCallback = (this: FdWatcher, status: number, events: number) => void;

/**
 * Readiness notification for one descriptor: libuv's uv_poll_t on the creating thread's event
 * loop (no thread, no ThreadSafeFunction). Level-triggered. libuv puts `fd` in non-blocking
 * mode.
 *
 * Rules: close() the watcher before closing its descriptor (stop and close unregister the
 * descriptor *number* from the loop; doing that after the number was reused would unregister
 * another watcher's descriptor). Only one watcher per descriptor.
 */
export interface FdWatcher {
  /** Starts watching for `events` (POLL_* mask), or changes the mask; 0 stops. */
  start(events: number): void;
  /** Stops watching. A stopped watcher never keeps the event loop alive. */
  stop(): void;
  /** Releases the handle. Idempotent; safe inside the watcher's own callback. */
  close(): void;
  /** An active watcher keeps the event loop alive (the default). */
  ref(): void;
  /** An active watcher does not keep the event loop alive. */
  unref(): void;
}

export interface FdWatcherConstructor {
  /** Throws TypeError/RangeError for bad arguments, SystemError if libuv refuses `fd`. */
  new (fd: number, callback: FdWatcherCallback): FdWatcher;
}

/** The addon. Argument errors throw TypeError/RangeError; failed system calls throw SystemError. */
export interface NativeAddon {
  readonly constants: NativeConstants;

  /** socketpair(AF_UNIX, type, 0). `type`: SOCK_STREAM etc., or'ed with SOCK_CLOEXEC/SOCK_NONBLOCK. */
  socketpair(type: number): [number, number];

  /**
   * Gather write of `chunks` (no copy; at most IOV_MAX of them) with MSG_NOSIGNAL; `fds`, when
   * not empty, travel as SCM_RIGHTS with the first byte sent (at most SCM_MAX_FD; at least one
   * byte is required, else RangeError). Returns the bytes sent, or -1 if the socket would
   * block. EINTR is retried. The caller still owns `fds` afterwards (the kernel duplicated them).
   */
  sendmsg(fd: number, chunks: readonly Uint8Array[], fds: readonly number[]): number;

  /**
   * Reads into `buf` (not empty) and appends any received descriptors (close-on-exec) to
   * `fdsOut`; the caller owns them. Returns the bytes read, 0 at end of stream, -1 if the socket
   * would block. If the control data was truncated (MSG_CTRUNC, e.g. RLIMIT_NOFILE reached),
   * closes what arrived and throws a SystemError with code "EMSGSIZE", syscall "recvmsg"; the
   * bytes of that read are lost, so the stream is unusable afterwards.
   */
  recvmsg(fd: number, buf: Uint8Array, fdsOut: number[]): number;

  /** close(fd); EINTR counts as closed (Linux releases the descriptor anyway). */
  close(fd: number): void;
  /** A new descriptor for the same open file, close-on-exec (F_DUPFD_CLOEXEC). */
  dup(fd: number): number;
  getCloexec(fd: number): boolean;
  setCloexec(fd: number, on: boolean): void;
  getNonblock(fd: number): boolean;
  /** O_NONBLOCK is a property of the open file description: every holder sees the change. */
  setNonblock(fd: number, on: boolean): void;

  readonly FdWatcher: FdWatcherConstructor;
}

const require = createRequire(import.meta.url);

/** The loaded addon. */
export const native: NativeAddon = require("@runsc-ts/native") as NativeAddon;
