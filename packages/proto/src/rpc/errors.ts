/**
 * Errors of the RPC layer. A method's Linux failure is never one of these: it travels as an
 * errno value in the results. These mean the call itself failed.
 */

/** The kinds of rpc.capnp's Exception.Type. */
export type RpcErrorType = "failed" | "overloaded" | "disconnected" | "unimplemented";

const TYPE_NAMES: readonly RpcErrorType[] = ["failed", "overloaded", "disconnected", "unimplemented"];

/** Maps rpc.capnp's Exception.Type number to its name; unknown values are "failed". */
export function rpcErrorTypeFromWire(n: number): RpcErrorType {
  return TYPE_NAMES[n] ?? "failed";
}

export function rpcErrorTypeToWire(t: RpcErrorType): number {
  return TYPE_NAMES.indexOf(t);
}

/** The peer answered a call with an exception (its handler threw, or the method is unknown). */
export class RpcError extends Error {
  override readonly name: string = "RpcError";
  constructor(
    message: string,
    readonly type: RpcErrorType = "failed",
  ) {
    super(message);
  }
}

/** The connection is gone (peer closed, protocol violation, or local close). */
export class DisconnectedError extends RpcError {
  override readonly name: string = "DisconnectedError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "disconnected");
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** The peer broke the protocol; the connection is aborted. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
}
