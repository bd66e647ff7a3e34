/**
 * Parsers for flag and argument values. Each takes the raw string and returns a typed value or
 * throws commander's `InvalidArgumentError`, which commander turns into
 * `option '--io-fd <fd>' argument 'x' is invalid. <our reason>` — one line, exit status 1.
 *
 * Repeatable flags take `(value, previous)` and accumulate.
 */
import { isIP } from "node:net";
import { constants as osConstants } from "node:os";
import { InvalidArgumentError } from "commander";

/** A host file descriptor number named by a flag. */
export type Fd = number & { readonly __brand: "Fd" };

/** A Linux signal number (1..64). */
export type Signal = number & { readonly __brand: "Signal" };

/** Largest FD number we accept: the kernel's fd numbers are C ints. */
const MAX_FD = 2 ** 31 - 1;

/**
 * Highest Linux signal number (`_NSIG - 1` on x86-64).
 * TODO: take this from @runsc-ts/abi once it exports its generated signal constants.
 */
const MAX_SIGNAL = 64;

const DECIMAL = /^[0-9]+$/;

/** Parses a decimal non-negative integer FD: `"3"` → 3. Rejects signs, hex, fractions, blanks. */
export function parseFd(value: string): Fd {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > MAX_FD) {
    throw new InvalidArgumentError("A file descriptor is a non-negative integer (e.g. 3).");
  }
  return n as Fd;
}

/** A repeatable FD-list flag: `--io-fds 3,4 --io-fds 5` → [3, 4, 5]. */
export function collectFds(value: string, previous: readonly Fd[] | undefined): Fd[] {
  const items = value.split(",");
  if (items.some((item) => item === "")) {
    throw new InvalidArgumentError("Expected a comma-separated list of file descriptors (e.g. 3,4,5).");
  }
  return [...(previous ?? []), ...items.map(parseFd)];
}

/** Parses a count (`--preserve-fds 2`): a decimal non-negative integer. */
export function parseCount(value: string): number {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > MAX_FD) throw new InvalidArgumentError("Expected a non-negative integer.");
  return n;
}

/** Parses a positive process ID. */
export function parsePid(value: string): number {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_FD) {
    throw new InvalidArgumentError("A process ID is a positive integer.");
  }
  return n;
}

/**
 * Parses a signal the way `runc kill` does: a name with or without the `SIG` prefix, in any case
 * (`KILL`, `SIGKILL`, `kill`), or a number 1..64 (`9`). Names come from the host's signal table
 * (Node's `os.constants.signals`), which on Linux is the kernel's. Real-time signals are given
 * by number.
 */
export function parseSignal(value: string): Signal {
  if (DECIMAL.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= MAX_SIGNAL) return n as Signal;
  } else {
    const upper = value.toUpperCase();
    const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
    const n = (osConstants.signals as Readonly<Record<string, number | undefined>>)[name];
    if (n !== undefined) return n as Signal;
  }
  throw new InvalidArgumentError(`Give a signal name (KILL or SIGKILL) or a number from 1 to ${MAX_SIGNAL}.`);
}

/** The signal's name (`SIGKILL`), or `SIG<n>` for one without a name (real-time signals). */
export function signalName(signal: Signal): string {
  for (const [name, n] of Object.entries(osConstants.signals)) {
    if (n === signal) return name;
  }
  return `SIG${signal}`;
}

/**
 * Container IDs become directory names under `--root`, so they are restricted as runc restricts
 * them: letters, digits and `_ + - .`, and never `.` or `..`.
 */
export function parseContainerId(value: string): string {
  if (!/^[A-Za-z0-9_+.-]{1,1024}$/.test(value) || value === "." || value === "..") {
    throw new InvalidArgumentError("A container ID uses only letters, digits and _ + - . (and is not . or ..).");
  }
  return value;
}

/** A repeatable `KEY=VALUE` environment flag, kept in OCI `process.env` form. */
export function collectEnv(value: string, previous: readonly string[] | undefined): string[] {
  if (!/^[^=]+=/.test(value)) {
    throw new InvalidArgumentError("Environment entries are KEY=VALUE.");
  }
  return [...(previous ?? []), value];
}

/** `--user UID[:GID]` as numbers. */
export interface UserSpec {
  readonly uid: number;
  readonly gid: number | undefined;
}

const MAX_ID = 2 ** 32 - 2; // (uid_t)-1 means "no change" to the kernel.

/** Parses `UID[:GID]` (numeric, like runc's `exec --user`). */
export function parseUser(value: string): UserSpec {
  const match = /^([0-9]+)(?::([0-9]+))?$/.exec(value);
  const uid = match?.[1] === undefined ? NaN : Number(match[1]);
  const gid = match?.[2] === undefined ? undefined : Number(match[2]);
  if (!Number.isSafeInteger(uid) || uid > MAX_ID || (gid !== undefined && gid > MAX_ID)) {
    throw new InvalidArgumentError("Expected UID[:GID], numeric (e.g. 1000 or 1000:1000).");
  }
  return { uid, gid };
}

/** An interface address with its prefix length: `10.0.0.2/24`, `fd00::2/64`. */
export interface InterfaceAddress {
  readonly address: string;
  readonly family: 4 | 6;
  readonly prefixLength: number;
}

/** Parses `ADDR/LEN` for IPv4 or IPv6. */
export function parseInterfaceAddress(value: string): InterfaceAddress {
  const slash = value.lastIndexOf("/");
  const address = slash < 0 ? value : value.slice(0, slash);
  const lengthText = slash < 0 ? "" : value.slice(slash + 1);
  const family = isIP(address);
  const prefixLength = DECIMAL.test(lengthText) ? Number(lengthText) : NaN;
  if (family === 0 || !(prefixLength <= (family === 4 ? 32 : 128))) {
    throw new InvalidArgumentError("Expected ADDRESS/PREFIX-LENGTH (e.g. 10.0.0.2/24 or fd00::2/64).");
  }
  return { address, family: family === 4 ? 4 : 6, prefixLength };
}

/** Parses an IPv4 or IPv6 address (no prefix). */
export function parseIpAddress(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError("Expected an IPv4 or IPv6 address.");
  return value;
}
