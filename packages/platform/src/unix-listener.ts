/**
 * A listening Unix stream socket: the sandbox's controller socket, where later CLI invocations
 * (start, wait, kill, ps) connect. Each accepted connection is handed over as a connected,
 * non-blocking, close-on-exec socket FD that the caller owns.
 *
 * Concurrency: accepts run on the event loop of the thread that made the listener.
 */
import { type FdWatcher, native } from "./native.js";

const { POLL_READABLE, SOCK_STREAM } = native.constants;

export class UnixListener {
  #fd: number;
  readonly #watcher: FdWatcher;

  /**
   * Serves the bound or listening socket `fd` (takes ownership): `onConnection` gets each new
   * connection's FD; `onError` an accept failure that stops the listener (EMFILE, say).
   */
  constructor(fd: number, onConnection: (fd: number) => void, onError: (e: Error) => void = () => {}) {
    try {
      native.setNonblock(fd, true);
      native.setCloexec(fd, true);
      native.listen(fd, 128);
    } catch (e) {
      native.close(fd);
      throw e;
    }
    this.#fd = fd;
    this.#watcher = new native.FdWatcher(fd, (status) => {
      if (this.#fd < 0) return;
      if (status < 0) {
        onError(new Error(`controller socket: poll failed (${status})`));
        this.close();
        return;
      }
      for (;;) {
        let conn: number;
        try {
          conn = native.accept4(this.#fd);
        } catch (e) {
          onError(e as Error);
          this.close();
          return;
        }
        if (conn < 0) return;
        onConnection(conn);
        if (this.#fd < 0) return;
      }
    });
    this.#watcher.start(POLL_READABLE);
  }

  /** Whether the listener still accepts. */
  get listening(): boolean {
    return this.#fd >= 0;
  }

  /** Lets the process exit while the listener is open (it stays open). */
  unref(): void {
    this.#watcher.unref();
  }

  /** Stops accepting and closes the socket. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    this.#watcher.close();
    native.close(this.#fd);
    this.#fd = -1;
  }
}

/** A new listening socket bound at `name` in directory `dirfd` (the socket file is created). */
export function listenUnixAt(dirfd: number, name: string, onConnection: (fd: number) => void, onError?: (e: Error) => void): UnixListener {
  return new UnixListener(native.bindUnixAt(dirfd, name, SOCK_STREAM), onConnection, onError);
}
