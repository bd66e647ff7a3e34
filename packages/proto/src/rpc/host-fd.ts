/**
 * Host FDs as capabilities (rpc.capnp's `attachedFd` convention).
 *
 * A schema field of an FD-marker interface type (e.g. `HostFd`) carries one host FD. The sender
 * puts `hostFd(fd)` in the field; the engine sends the FD with the frame (SCM_RIGHTS) and names it
 * in the cap table by `CapDescriptor.attachedFd`. The receiver's field yields a client from which
 * `takeFd` takes the FD.
 *
 * Ownership: `hostFd(fd)` takes ownership of `fd` (the transport closes it once sent, or the
 * engine closes it if the message is dropped). A received FD belongs to the receiver: take it
 * with `takeFd` in the same turn that the results (or, in a server, the params) arrive.
 * An FD nobody took is closed — after the turn in which results were delivered, or when a
 * server handler finishes — so an ignored FD never leaks.
 */
import type { Call, Client, Struct } from "capnp-es";
import type { Answer } from "./capnp-types.js";
import { RpcError } from "./errors.js";

/** Closes an FD; injected because proto loads no native code. */
export type CloseFd = (fd: number) => void;

/** A capability that is nothing but a host FD. Calls on it fail. */
export class FdCapability implements Client {
  #fd: number;

  /** Takes ownership of `fd`. */
  constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`bad fd ${fd}`);
    this.#fd = fd;
  }

  /** The FD still held, or -1 once taken or closed. */
  get fd(): number {
    return this.#fd;
  }

  /** Takes the FD out (ownership passes to the caller); -1 if already taken. */
  take(): number {
    const fd = this.#fd;
    this.#fd = -1;
    return fd;
  }

  /** Closes the FD if it was not taken. */
  dispose(closeFd: CloseFd): void {
    const fd = this.take();
    if (fd >= 0) closeFd(fd);
  }

  call<P extends Struct, R extends Struct>(call: Call<P, R>): Answer<R> {
    return failedAnswer(new RpcError(`${call.method.methodName ?? "method"}: an FD capability has no methods`, "unimplemented"));
  }

  close(): void {}
}

/** Wraps a host FD for sending in a capability field. Takes ownership of `fd`. */
export function hostFd<C>(ClientClass: new (client: Client) => C, fd: number): C {
  return new ClientClass(new FdCapability(fd));
}

/**
 * Takes the FD out of a received capability field (`results.fd`), passing ownership to the
 * caller. Returns -1 when the field holds no FD (null, or not an FD capability).
 */
export function takeFd(field: { client: Client }): number {
  const c = field.client;
  return c instanceof FdCapability ? c.take() : -1;
}

/** An Answer that has already failed. */
export function failedAnswer<R extends Struct>(err: Error): Answer<R> {
  const rejected = Promise.reject(err);
  rejected.catch(() => {});
  return {
    struct: () => rejected,
    pipelineCall: <P2 extends Struct, R2 extends Struct>(_t: unknown, _c: Call<P2, R2>) => failedAnswer<R2>(err),
    pipelineClose: () => {},
  };
}
