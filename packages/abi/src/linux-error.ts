/**
 * Linux errors as values.
 *
 * Every errno is one frozen `LinuxError` object (`EBADF`, `ENOENT`, ...), created once when this
 * package loads and compared by identity: a syscall handler returns `EBADF`, a caller checks
 * `err === EAGAIN`. Aliases (`EWOULDBLOCK`, `EDEADLOCK`, `ENOTSUP`) are the same object as the
 * value they name. `LinuxError` deliberately does not extend `Error`: it is a result, not an
 * exception, and carries no stack.
 *
 * The values and messages come from gen/errno.ts (generated from the kernel headers, messages
 * from glibc's strerror) and kernel-internal.ts (the restart codes the headers do not export).
 */

const token = Symbol("LinuxError");
const byErrno = new Map<number, LinuxError>();
const byName = new Map<string, LinuxError>();

/** A Linux errno value. Obtain one from the exported constants or linuxErrorFromErrno(). */
export class LinuxError {
  /** The positive errno number (EBADF: 9). */
  readonly errno: number;
  /** The Linux name ("EBADF"). For an alias, the name of the value it stands for. */
  readonly name: string;
  /** The human-readable text ("Bad file descriptor"). */
  readonly message: string;

  /** Not for use outside this package: the errno values are singletons. */
  constructor(key: symbol, errno: number, name: string, message: string) {
    if (key !== token) {
      throw new TypeError("LinuxError values are singletons: use the exported constants (EBADF, ...) or linuxErrorFromErrno()");
    }
    this.errno = errno;
    this.name = name;
    this.message = message;
    Object.freeze(this);
  }

  /** "EBADF (9): Bad file descriptor". */
  toString(): string {
    return `${this.name} (${this.errno}): ${this.message}`;
  }
}
Object.freeze(LinuxError.prototype);

/**
 * Creates and registers the singleton for `errno`. For gen/errno.ts and kernel-internal.ts
 * only; not exported from the package.
 */
export function defineErrno(errno: number, name: string, message: string): LinuxError {
  if (!Number.isInteger(errno) || errno <= 0) throw new RangeError(`errno ${name} = ${errno} is not a positive integer`);
  if (byErrno.has(errno) || byName.has(name)) throw new Error(`errno ${name} (${errno}) defined twice`);
  const e = new LinuxError(token, errno, name, message);
  byErrno.set(errno, e);
  byName.set(name, e);
  return e;
}

/** Registers `name` as another name of `target` and returns `target` itself. */
export function defineErrnoAlias(name: string, target: LinuxError): LinuxError {
  if (byName.has(name)) throw new Error(`errno name ${name} defined twice`);
  byName.set(name, target);
  return target;
}

/** The singleton for a positive errno number, or undefined if Linux has no such errno. */
export function linuxErrorFromErrno(errno: number): LinuxError | undefined {
  return byErrno.get(errno);
}

/** The singleton for a name ("EBADF", or an alias such as "EWOULDBLOCK"), or undefined. */
export function linuxErrorFromName(name: string): LinuxError | undefined {
  return byName.get(name);
}

/** Whether `v` is one of the LinuxError singletons. */
export function isLinuxError(v: unknown): v is LinuxError {
  return v instanceof LinuxError;
}
