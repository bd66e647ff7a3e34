// Helpers shared by platform's tests (not part of the package: test-*.ts is excluded from the
// build).
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect } from "vitest";

import type { FdStreamHandler } from "@runsc-ts/proto";

/** The descriptors open in this process, as their numbers (sorted). */
export function openFds(): number[] {
  // readdirSync's own directory descriptor is listed while it reads; it is the same number in
  // every snapshot, so comparisons are unaffected.
  return fs
    .readdirSync("/proc/self/fd")
    .map(Number)
    .sort((a, b) => a - b);
}

/** Registers hooks asserting that the enclosing describe() group leaks no descriptor. */
export function expectNoFdLeaks(): void {
  let before: number[] = [];
  beforeAll(() => {
    before = openFds();
  });
  afterAll(async () => {
    await new Promise((resolve) => setImmediate(resolve)); // let pending closes run
    expect(openFds()).toEqual(before);
  });
}

let tempCount = 0;

/** Opens a fresh temporary file holding `content` for reading; the file is already unlinked. */
export function openTempFile(content: string): number {
  const file = path.join(os.tmpdir(), `runsc-ts-platform-${process.pid}-${tempCount++}`);
  fs.writeFileSync(file, content);
  const fd = fs.openSync(file, "r");
  fs.unlinkSync(file);
  return fd;
}

/** The whole content of the file open as `fd` (read with pread from offset 0). */
export function readFd(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (let pos = 0; ; ) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    pos += n;
  }
  return Buffer.concat(chunks).toString();
}

/** A deterministic byte pattern (xorshift32), so that data comparisons are exact. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** What a handler saw: data calls (bytes copied) and end calls. */
export interface Recording {
  readonly handler: FdStreamHandler;
  readonly data: { bytes: Uint8Array; fds: number[] }[];
  readonly ends: (Error | undefined)[];
  /** Resolves at the first end() call. */
  readonly ended: Promise<Error | undefined>;
}

export function record(onData?: (bytes: Uint8Array, fds: number[]) => void): Recording {
  const data: { bytes: Uint8Array; fds: number[] }[] = [];
  const ends: (Error | undefined)[] = [];
  let resolveEnded: (e: Error | undefined) => void = () => {};
  const ended = new Promise<Error | undefined>((resolve) => {
    resolveEnded = resolve;
  });
  const handler: FdStreamHandler = {
    data(bytes, fds) {
      data.push({ bytes: bytes.slice(), fds });
      onData?.(bytes, fds);
    },
    end(error?: Error) {
      ends.push(error);
      resolveEnded(error);
    },
  };
  return { handler, data, ends, ended };
}

/** All bytes a recording received, concatenated. */
export function received(r: Recording): Buffer {
  return Buffer.concat(r.data.map((d) => d.bytes));
}

/** Resolves when `predicate` holds, checking after each event-loop turn. */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

const peerScript = fileURLToPath(new URL("./test-peer.mjs", import.meta.url));

/** A child node process running test-peer.mjs in `mode`, with `fd` as its fd 3. */
export function spawnPeer(mode: string, fd: number, shellPrefix?: string): ChildProcess {
  const stdio: ("ignore" | "pipe" | "inherit" | number)[] = ["ignore", "pipe", "inherit", fd];
  if (shellPrefix === undefined) return spawn(process.execPath, [peerScript, mode], { stdio });
  return spawn("/bin/sh", ["-c", `${shellPrefix}; exec "$0" "$1" "$2"`, process.execPath, peerScript, mode], { stdio });
}

/** The child's stdout and exit code, once it has exited. */
export function finished(child: ChildProcess): Promise<{ stdout: string; code: number | null }> {
  let stdout = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (s: string) => (stdout += s));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ stdout, code }));
  });
}
