/**
 * The logger factory: one pino root logger per process, created by `runCli` from the global flags
 * and handed to the command's action; components take children (`log.child({ component })`).
 *
 * Rules (see README "Logging"):
 *  - Logs go only to a destination named by a flag, never to fd 1 or 2: a container's stdio
 *    belongs to the container. With no destination the logger is silent and writes nowhere.
 *  - A destination is a file path or `fd:N` (an inherited FD; the logger writes to it but never
 *    closes it). Files are opened append-only, O_CLOEXEC (Node's default), mode 0640.
 *  - `--log` gets info and above (debug and above with `--debug`); `--debug-log` gets debug and
 *    above. Given both, each gets its own level.
 *  - Writes are synchronous (`pino.destination({ sync: true })`): a crash loses nothing.
 *  - JSON records use runc's field names — `level` as a label, `msg`, `time` as RFC 3339 — so
 *    containerd and podman, which read the runtime's `--log` for the last error, understand them.
 *  - If a destination fails (EPIPE, ENOSPC), its records are dropped from then on; logging never
 *    crashes the process and never falls back to stdout/stderr.
 */
import { closeSync, openSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError } from "commander";
import pino, { type DestinationStream, type Logger, type StreamEntry } from "pino";
import { CliError } from "./errors.js";
import { type Fd, parseFd } from "./flags.js";
import { TextLineStream } from "./log-text.js";

export type { Logger } from "pino";

export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Where log records go: a file (opened by us) or an inherited FD (`fd:N`). */
export type LogDestination =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "fd"; readonly fd: Fd };

/**
 * Parses a `--log`/`--debug-log` value: `fd:N` names an inherited FD, anything else is a file
 * path (made absolute against the current directory). To log to a file literally named `fd:3`,
 * write `./fd:3`.
 */
export function parseLogDestination(value: string): LogDestination {
  if (value === "") throw new InvalidArgumentError("A log destination is a file path or fd:N.");
  if (value.startsWith("fd:")) return { kind: "fd", fd: parseFd(value.slice(3)) };
  return { kind: "file", path: resolve(value) };
}

export interface LoggerOptions {
  /** Receives info and above, or debug and above with `debug`. */
  readonly log?: LogDestination | undefined;
  /** Receives debug and above. */
  readonly debugLog?: LogDestination | undefined;
  readonly format: LogFormat;
  readonly debug: boolean;
}

/** The process's root logger and the files it holds open. */
export interface RootLogger {
  readonly logger: Logger;
  /** Stops writing and closes the files this logger opened (not `fd:N` FDs). Idempotent. */
  close(): void;
}

/** One open destination: drops records once closed or broken instead of throwing. */
class Output implements DestinationStream {
  readonly #dest: ReturnType<typeof pino.destination>;
  #ownedFd: Fd | undefined;
  #open = true;

  constructor(fd: Fd, owned: boolean) {
    this.#dest = pino.destination({ dest: fd, sync: true });
    this.#dest.on("error", () => {
      this.#open = false;
    });
    this.#ownedFd = owned ? fd : undefined;
  }

  write(line: string): void {
    if (this.#open) this.#dest.write(line);
  }

  close(): void {
    this.#open = false;
    const fd = this.#ownedFd;
    this.#ownedFd = undefined;
    if (fd !== undefined) closeSync(fd);
  }
}

function openOutput(destination: LogDestination): Output {
  if (destination.kind === "fd") return new Output(destination.fd, false);
  let fd: number;
  try {
    fd = openSync(destination.path, "a", 0o640);
  } catch (err) {
    throw new CliError(`cannot open log file: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new Output(fd as Fd, true);
}

function sameDestination(a: LogDestination, b: LogDestination): boolean {
  return a.kind === "fd" ? b.kind === "fd" && a.fd === b.fd : b.kind === "file" && a.path === b.path;
}

const BASE_OPTIONS = {
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
} satisfies pino.LoggerOptions;

/** A logger that writes nowhere, at any level it is later set to. */
export function silentLogger(): Logger {
  return pino({ ...BASE_OPTIONS, level: "silent" }, { write: () => undefined });
}

/**
 * Creates the process's root logger. Call once per process (`runCli` does), then hand out
 * `logger.child({ component })`.
 */
export function createLogger(options: LoggerOptions): RootLogger {
  const wanted: { readonly destination: LogDestination; readonly level: pino.Level }[] = [];
  if (options.debugLog !== undefined) wanted.push({ destination: options.debugLog, level: "debug" });
  const { log } = options;
  if (log !== undefined && !wanted.some((w) => sameDestination(w.destination, log))) {
    wanted.push({ destination: log, level: options.debug ? "debug" : "info" });
  }
  if (wanted.length === 0) return { logger: silentLogger(), close: () => undefined };

  const outputs: Output[] = [];
  const streams: StreamEntry[] = [];
  try {
    for (const { destination, level } of wanted) {
      const output = openOutput(destination);
      outputs.push(output);
      streams.push({ level, stream: options.format === "text" ? new TextLineStream(output) : output });
    }
  } catch (err) {
    for (const o of outputs) o.close();
    throw err;
  }
  const level = streams.some((s) => s.level === "debug") ? "debug" : "info";
  const [first] = streams;
  const destination = streams.length === 1 && first !== undefined ? first.stream : pino.multistream(streams);
  return {
    logger: pino({ ...BASE_OPTIONS, level }, destination),
    close: () => {
      for (const o of outputs) o.close();
    },
  };
}
