/**
 * Files backed by a host FD the sentry holds: the sandbox's stdio (given by --stdio-fds) and
 * files a gofer donated. Reads and writes go straight to the host FD.
 *
 * Blocking: a regular file never blocks. For pipes, sockets and terminals, a read first waits
 * for readiness with a libuv poll watcher on the kernel thread's loop (the host FD stays in
 * blocking mode: its file description may be shared with the user's shell, so we never set
 * O_NONBLOCK on it); once readable, one read returns what is there without blocking.
 * Writes are synchronous: a full pipe to the host blocks the kernel thread until it drains.
 * But the host file description may have been made non-blocking by another process sharing it
 * (a Node parent's stdout pipe is): then a full pipe answers EAGAIN, and the file arms the
 * watcher for writability, reports EPOLLOUT as not ready, and the blocked write sleeps on the
 * wait queue until the host reader drains the pipe.
 */
import { closeSync, fstatSync, readSync, writeSync } from "node:fs";
import { isatty } from "node:tty";
import {
  EAGAIN,
  EFAULT,
  EIO,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  FIONREAD,
  type LinuxError,
  TCGETS,
  TCSETS,
  TCSETSF,
  TCSETSW,
  TIOCGWINSZ,
  TIOCOUTQ,
  TIOCSWINSZ,
  isLinuxError,
  linuxErrorFromName,
  termios,
  winsize,
} from "@runsc-ts/abi";
import { type FdWatcher, native } from "@runsc-ts/platform";
import { type EventMask, WaitQueue } from "../../kernel/waiter.js";
import type { FileDescriptionImpl, UserMemory } from "../../vfs/file-description.js";

/** Terminal requests passed to a host terminal: the argument's size, and whether it is read in. */
const TTY_REQUESTS = new Map<number, { size: number; input: boolean }>([
  [TCGETS, { size: termios.size, input: false }],
  [TCSETS, { size: termios.size, input: true }],
  [TCSETSW, { size: termios.size, input: true }],
  [TCSETSF, { size: termios.size, input: true }],
  [TIOCGWINSZ, { size: winsize.size, input: false }],
  [TIOCSWINSZ, { size: winsize.size, input: true }],
  [TIOCOUTQ, { size: 4, input: false }],
  [FIONREAD, { size: 4, input: false }],
]);

/** A host I/O failure (Node's error code) as the errno the application sees. */
export function hostError(e: unknown): LinuxError {
  const code = (e as { code?: unknown }).code;
  return (typeof code === "string" ? linuxErrorFromName(code) : undefined) ?? EIO;
}

export class HostFdFile implements FileDescriptionImpl {
  readonly seekable: boolean;
  readonly waitQueue = new WaitQueue();
  private fd: number;
  private readonly owned: boolean;
  private watcher: FdWatcher | undefined;
  /** The poll watcher saw the FD readable (or hung up) and no read has consumed that yet. */
  private ready = false;
  /** False after a write met a full non-blocking host pipe, until the watcher sees room. */
  private writable = true;
  /** The POLL_* directions the watcher is waiting for. */
  private watching = 0;

  /**
   * @param fd the host FD
   * @param owned whether this file closes it when released (donated FDs: yes; stdio: no)
   * @param sharedOffset the host file description is shared with processes outside the sandbox
   *   (inherited stdio): reads and writes use its own offset, never one the sentry keeps, so a
   *   shell's `>>` and the sandbox's output interleave as they would natively. Such a file is
   *   not seekable from inside (lseek and pread answer ESPIPE).
   */
  constructor(fd: number, owned: boolean, sharedOffset = false) {
    this.fd = fd;
    this.owned = owned;
    let regular = false;
    try {
      regular = fstatSync(fd).isFile();
    } catch {
      regular = false;
    }
    this.regular = regular;
    this.seekable = regular && !sharedOffset;
    this.terminal = !regular && isatty(fd);
  }

  /** Whether the host FD is a terminal (the sandbox's stdio under a shell or `script`). */
  readonly terminal: boolean;

  /**
   * Terminal ioctls go to the host terminal (termios, window size, queue counts); FIONREAD also
   * works on host pipes and sockets. Anything else is not ours (undefined: ENOTTY).
   */
  ioctl(mem: UserMemory, request: number, arg: bigint): number | LinuxError | undefined {
    const spec = TTY_REQUESTS.get(request);
    if (spec === undefined || this.fd < 0 || this.regular) return undefined;
    if (!this.terminal && request !== FIONREAD) return undefined;
    let buf: Uint8Array = new Uint8Array(spec.size);
    if (spec.input) {
      const b = mem.copyIn(arg, spec.size);
      if (isLinuxError(b)) return EFAULT;
      buf = b;
    }
    let r: number;
    try {
      r = native.ttyIoctl(this.fd, request, buf);
    } catch (e) {
      return hostError(e);
    }
    if (!spec.input) {
      const w = mem.copyOut(arg, buf);
      if (w !== undefined) return w;
    }
    return r;
  }

  /** A regular file never blocks (reads need no readiness wait). */
  private readonly regular: boolean;

  read(dst: Uint8Array, offset: number): Promise<number | LinuxError> {
    if (this.fd < 0) return Promise.resolve(EIO);
    if (!this.regular && !this.ready && this.pollable()) {
      this.watch(native.constants.POLL_READABLE);
      return Promise.resolve(EAGAIN);
    }
    this.ready = false;
    try {
      return Promise.resolve(readSync(this.fd, dst, 0, dst.length, this.seekable ? offset : null));
    } catch (e) {
      return Promise.resolve(hostError(e));
    }
  }

  write(src: Uint8Array, offset: number): Promise<number | LinuxError> {
    if (this.fd < 0) return Promise.resolve(EIO);
    try {
      return Promise.resolve(writeSync(this.fd, src, 0, src.length, this.seekable ? offset : null));
    } catch (e) {
      const err = hostError(e);
      if (err === EAGAIN && !this.regular) {
        this.writable = false;
        this.watch(native.constants.POLL_WRITABLE);
      }
      return Promise.resolve(err);
    }
  }

  size(): Promise<number | LinuxError> {
    try {
      return Promise.resolve(fstatSync(this.fd).size);
    } catch (e) {
      return Promise.resolve(hostError(e));
    }
  }

  /**
   * Whether the host FD can be polled. Regular files cannot, and neither can some character
   * devices (/dev/null): the host's epoll refuses them (EPERM), and they never block anyway.
   */
  private pollable(): boolean {
    if (this.unpollable) return false;
    if (this.watcher !== undefined) return true;
    try {
      this.watcher = new native.FdWatcher(this.fd, (status, events) => this.onPoll(status, events));
      return true;
    } catch {
      this.unpollable = true;
      return false;
    }
  }

  private unpollable = false;

  /** Asking whether a pipe, socket or terminal is readable arms the poll watcher that will say so. */
  readiness(mask: EventMask): EventMask {
    if (this.regular || !this.pollable()) return mask & (EPOLLIN | EPOLLOUT);
    if (!this.ready && (mask & EPOLLIN) !== 0 && this.fd >= 0) this.watch(native.constants.POLL_READABLE);
    return mask & ((this.ready ? EPOLLIN : 0) | (this.writable ? EPOLLOUT : 0));
  }

  release(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.owned && this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /**
   * Adds `direction` (POLL_READABLE or POLL_WRITABLE) to what the poll watcher waits for. When
   * the host FD is ready in a direction, the watcher records it, stops waiting for it, and
   * wakes the waiters.
   */
  private watch(direction: number): void {
    if (!this.pollable()) return;
    this.watching |= direction;
    this.watcher?.start(this.watching | native.constants.POLL_DISCONNECT);
  }

  /** The host FD is ready in some direction: record it, stop waiting for it, wake the waiters. */
  private onPoll(status: number, events: number): void {
    const { POLL_READABLE, POLL_WRITABLE, POLL_DISCONNECT } = native.constants;
    let notify = 0;
    if (status < 0 || (events & (POLL_READABLE | POLL_DISCONNECT)) !== 0) {
      this.ready = true;
      this.watching &= ~POLL_READABLE;
      notify |= status < 0 ? EPOLLERR | EPOLLIN : EPOLLIN | EPOLLHUP;
    }
    if (status < 0 || (events & (POLL_WRITABLE | POLL_DISCONNECT)) !== 0) {
      this.writable = true;
      this.watching &= ~POLL_WRITABLE;
      notify |= EPOLLOUT;
    }
    if (status < 0) this.watching = 0;
    this.watcher?.start(this.watching === 0 ? 0 : this.watching | POLL_DISCONNECT);
    this.waitQueue.notify(notify);
  }
}
