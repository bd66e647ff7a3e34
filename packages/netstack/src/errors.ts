/**
 * The netstack's own error space. Normal failures are returned as values, never thrown:
 * a function that can fail returns `T | NetError`, and callers compare with `===` against
 * the frozen singletons below. Translation to Linux errno happens once, at the RPC boundary
 * (service/errno.ts: one table keyed by these singletons; netstack.capnp carries errno as data).
 * A thrown exception is a netstack bug.
 */
export class NetError {
  private constructor(
    /** Stable identifier, e.g. "WouldBlock". */
    readonly name: string,
    /** Human-readable description for logs. */
    readonly message: string,
  ) {
    Object.freeze(this);
  }

  /** @internal Creates a singleton; only this module calls it. */
  static define(name: string, message: string): NetError {
    return new NetError(name, message);
  }

  toString(): string {
    return `NetError(${this.name})`;
  }
}

const d = (name: string, message: string): NetError => NetError.define(name, message);

export const ErrWouldBlock = d("WouldBlock", "operation would block");
export const ErrInvalidArgument = d("InvalidArgument", "invalid argument");
export const ErrInvalidState = d("InvalidState", "operation not valid in the endpoint's state");
export const ErrAlreadyBound = d("AlreadyBound", "endpoint is already bound");
export const ErrPortInUse = d("PortInUse", "port is in use");
export const ErrNoPortAvailable = d("NoPortAvailable", "no ephemeral port available");
export const ErrAddressNotAvailable = d("AddressNotAvailable", "address not assigned to any NIC");
export const ErrNoRoute = d("NoRoute", "no route to destination");
export const ErrHostUnreachable = d("HostUnreachable", "host unreachable");
export const ErrConnectionRefused = d("ConnectionRefused", "connection refused");
export const ErrConnectionReset = d("ConnectionReset", "connection reset by peer");
export const ErrConnectionAborted = d("ConnectionAborted", "connection aborted");
export const ErrTimedOut = d("TimedOut", "connection timed out");
export const ErrNotConnected = d("NotConnected", "endpoint is not connected");
export const ErrAlreadyConnected = d("AlreadyConnected", "endpoint is already connected");
export const ErrAlreadyConnecting = d("AlreadyConnecting", "connection already in progress");
export const ErrClosedForSend = d("ClosedForSend", "endpoint is shut down for sending");
export const ErrClosedForReceive = d("ClosedForReceive", "endpoint is shut down for receiving");
export const ErrMessageTooLong = d("MessageTooLong", "message too long");
export const ErrDuplicateNicId = d("DuplicateNicId", "NIC id already in use");
export const ErrUnknownNicId = d("UnknownNicId", "no NIC with that id");
export const ErrDuplicateAddress = d("DuplicateAddress", "address already assigned");
export const ErrBadAddress = d("BadAddress", "address family or value not usable here");
export const ErrNotSupported = d("NotSupported", "operation not supported");
export const ErrNoBufferSpace = d("NoBufferSpace", "no buffer space available");
export const ErrClosed = d("Closed", "endpoint is closed");

/** Narrows a `T | NetError` result. */
export function isNetError(v: unknown): v is NetError {
  return v instanceof NetError;
}
