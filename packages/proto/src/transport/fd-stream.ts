/**
 * FdStream: the byte stream under the RPC transport — a connected SOCK_STREAM Unix socket that
 * carries file descriptors out of band (SCM_RIGHTS).
 *
 * proto never touches a host socket itself (only platform loads native code). platform's
 * UnixFdStream implements this over a real socket; tests implement it in memory.
 *
 * Concurrency: every method and callback runs on the owning thread's event loop.
 */
export interface FdStream {
  /**
   * Queues `chunks` for sending, followed in order by later writes. Never blocks: what the
   * socket does not take now is sent when it becomes writable.
   *
   * `fds` travel with the first byte of `chunks`: the sendmsg that carries them starts exactly at
   * that byte, never with bytes of an earlier write (the frame decoder relies on this to reject
   * FDs that no frame announced). Takes ownership of `fds`: the stream closes them once they have been sent, or
   * when the stream is closed before they could be.
   *
   * Preconditions: `chunks` is not empty when `fds` is; the stream is started and not closed.
   * The caller must not modify the bytes of `chunks` after the call.
   */
  write(chunks: readonly Uint8Array[], fds?: readonly number[]): void;

  /**
   * Starts delivering what arrives. `data` receives bytes in order and the FDs that arrived with
   * them (ownership of each FD passes to the handler). `bytes` is only valid during the call.
   * `end` is called once, when the peer closes (no error), on a socket error, or after close().
   */
  start(handler: FdStreamHandler): void;

  /** Closes the socket and every FD still queued. Idempotent. */
  close(): void;
}

export interface FdStreamHandler {
  data(bytes: Uint8Array, fds: number[]): void;
  end(error?: Error): void;
}
