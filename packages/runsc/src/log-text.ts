/**
 * The `--log-format text` formatter: one human-readable line per pino record,
 *
 *     2026-11-29T13:00:00.123Z INFO  gofer: message key=value other="two words"
 *
 * written synchronously to the destination. pino serialises each record to a JSON line and calls
 * `write` once per record; we parse it back and print it as text. (pino-pretty would do this on a
 * worker thread; this process keeps its logging on the main thread, see README.)
 */

/** Anything with a synchronous `write`: a SonicBoom destination in `sync` mode, or a test sink. */
export interface LineSink {
  write(line: string): unknown;
}

/** Fields that have their own place in the line (or, for pid/hostname, none in text). */
const PLACED = new Set(["time", "level", "msg", "component", "pid", "hostname"]);

/** A bare token needs no quotes; anything else is JSON-quoted so the line stays parseable. */
const BARE = /^[^\s"=\\]+$/;

function formatValue(value: unknown): string {
  if (typeof value === "string") return BARE.test(value) ? value : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" || value === null) {
    return String(value);
  }
  return JSON.stringify(value) ?? String(value);
}

function formatTime(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return new Date(value).toISOString();
  return new Date().toISOString();
}

function formatPair(key: string, value: unknown): string {
  // pino's err serializer gives { type, message, stack }: keep it readable and on one line.
  if (key === "err" && typeof value === "object" && value !== null && "message" in value) {
    const err = value as { type?: unknown; message?: unknown; stack?: unknown };
    const text = `${key}=${formatValue(String(err.message))}`;
    return typeof err.stack === "string" ? `${text} stack=${JSON.stringify(err.stack)}` : text;
  }
  return `${key}=${formatValue(value)}`;
}

/** Formats one parsed pino record as a text line (with the trailing newline). */
export function formatTextRecord(record: Readonly<Record<string, unknown>>): string {
  const level = String(record["level"] ?? "").toUpperCase().padEnd(5);
  const component = typeof record["component"] === "string" ? `${record["component"]}: ` : "";
  const msg = String(record["msg"] ?? "").replace(/\n/g, "\\n");
  let line = `${formatTime(record["time"])} ${level} ${component}${msg}`;
  for (const [key, value] of Object.entries(record)) {
    if (!PLACED.has(key)) line += ` ${formatPair(key, value)}`;
  }
  return `${line}\n`;
}

/** A pino destination stream that rewrites each JSON record as a text line into `sink`. */
export class TextLineStream {
  readonly #sink: LineSink;

  constructor(sink: LineSink) {
    this.#sink = sink;
  }

  write(chunk: string): void {
    let record: unknown;
    try {
      record = JSON.parse(chunk);
    } catch {
      this.#sink.write(chunk); // Not ours to lose: pass it through unchanged.
      return;
    }
    if (typeof record === "object" && record !== null && !Array.isArray(record)) {
      this.#sink.write(formatTextRecord(record as Record<string, unknown>));
    } else {
      this.#sink.write(chunk);
    }
  }
}
