/**
 * The gofer's one error boundary: host failures (SystemErrors thrown by platform's native
 * calls) and the gofer's own refusals (LinuxError values from abi) become the `errno` number the
 * schema puts in every result. Anything else that is thrown — a bug, a native argument
 * TypeError — is not an errno: it propagates, and the RPC engine turns it into an exception for
 * that one call (the connection and the process live on).
 */
import type { LinuxError } from "@runsc-ts/abi";
import { isSystemError } from "@runsc-ts/platform";

/** What an operation returns: nothing for success, or the errno to answer. */
export type OpResult = LinuxError | undefined;

/** A refusal raised from deep inside a helper (walk, reopen), carried up as a LinuxError. */
export class GoferErrno extends Error {
  constructor(readonly error: LinuxError) {
    super(error.name);
  }
}

/** Throws `error` as a GoferErrno, for helpers that return values. */
export function fail(error: LinuxError): never {
  throw new GoferErrno(error);
}

/**
 * The errno of a thrown value, or undefined if it is not an errno (a bug: rethrow it). A native
 * SystemError carries a negative errno, as Node reports it.
 */
export function errnoOfThrown(e: unknown): number | undefined {
  if (e instanceof GoferErrno) return e.error.errno;
  if (isSystemError(e) && Number.isInteger(e.errno) && e.errno < 0 && e.errno > -4096) return -e.errno;
  return undefined;
}

/**
 * Runs one operation and answers its errno: 0 on success, the LinuxError it returned, or the
 * errno of the SystemError/GoferErrno it threw. Other exceptions propagate.
 */
export function errnoOf(op: () => OpResult): number {
  try {
    const r = op();
    return r === undefined ? 0 : r.errno;
  } catch (e) {
    const errno = errnoOfThrown(e);
    if (errno === undefined) throw e;
    return errno;
  }
}

/** Whether `e` (thrown) is the host errno `error`. */
export function isErrno(e: unknown, error: LinuxError): boolean {
  return errnoOfThrown(e) === error.errno;
}
