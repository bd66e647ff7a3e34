/**
 * The one place where the netstack's error values become Linux errno: the RPC boundary
 * (netstack.capnp carries errno as data in every result). Each NetError maps to what Linux
 * returns for the same failure of the same call; a few depend on the call, and those callers
 * pass an override.
 */
import {
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAGAIN,
  EALREADY,
  ECONNABORTED,
  ECONNREFUSED,
  ECONNRESET,
  EHOSTUNREACH,
  EINVAL,
  EISCONN,
  EMSGSIZE,
  ENETUNREACH,
  ENOBUFS,
  ENOTCONN,
  EOPNOTSUPP,
  EPIPE,
  ETIMEDOUT,
  type LinuxError,
} from "@runsc-ts/abi";
import * as E from "../errors.js";

const TABLE = new Map<E.NetError, LinuxError>([
  [E.ErrWouldBlock, EAGAIN],
  [E.ErrInvalidArgument, EINVAL],
  [E.ErrInvalidState, EINVAL],
  [E.ErrAlreadyBound, EINVAL],
  [E.ErrPortInUse, EADDRINUSE],
  [E.ErrNoPortAvailable, EADDRNOTAVAIL],
  [E.ErrAddressNotAvailable, EADDRNOTAVAIL],
  [E.ErrNoRoute, ENETUNREACH],
  [E.ErrHostUnreachable, EHOSTUNREACH],
  [E.ErrConnectionRefused, ECONNREFUSED],
  [E.ErrConnectionReset, ECONNRESET],
  [E.ErrConnectionAborted, ECONNABORTED],
  [E.ErrTimedOut, ETIMEDOUT],
  [E.ErrNotConnected, ENOTCONN],
  [E.ErrAlreadyConnected, EISCONN],
  [E.ErrAlreadyConnecting, EALREADY],
  [E.ErrClosedForSend, EPIPE],
  [E.ErrClosedForReceive, ENOTCONN],
  [E.ErrMessageTooLong, EMSGSIZE],
  [E.ErrDuplicateNicId, EINVAL],
  [E.ErrUnknownNicId, EINVAL],
  [E.ErrDuplicateAddress, EADDRINUSE],
  // bind(2) to an address no interface has: EADDRNOTAVAIL (a wrong family is caught earlier).
  [E.ErrBadAddress, EADDRNOTAVAIL],
  [E.ErrNotSupported, EOPNOTSUPP],
  [E.ErrNoBufferSpace, ENOBUFS],
  [E.ErrClosed, ENOTCONN],
]);

/** The errno for `err` (EINVAL for an error this table does not know, which a test forbids). */
export function errnoOf(err: E.NetError): number {
  return (TABLE.get(err) ?? EINVAL).errno;
}

/** Every NetError the table maps (for the completeness test). */
export function mappedNetErrors(): E.NetError[] {
  return [...TABLE.keys()];
}
