// Test helper: compiles and runs small C programs against the system headers, so tests can
// compare the generated tables with values obtained independently (through glibc's headers,
// or from the running kernel), not with themselves.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Compiles `source` with the system C compiler, runs it with `args`, returns its stdout. */
export function runC(source: string, args: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "abi-test-"));
  try {
    const src = join(dir, "t.c");
    const exe = join(dir, "t");
    writeFileSync(src, source);
    execFileSync(process.env["CC"] ?? "cc", ["-std=gnu11", "-w", "-o", exe, src], { stdio: ["ignore", "pipe", "pipe"] });
    return execFileSync(exe, args, { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Evaluates C integer expressions with `includes` (glibc headers, _GNU_SOURCE defined) and
 * any `prelude` code placed after them.
 * Returns key -> value as a signed 64-bit bigint.
 */
export function cIntegers(
  includes: readonly string[],
  exprs: Readonly<Record<string, string>>,
  prelude = "",
): Map<string, bigint> {
  const keys = Object.keys(exprs);
  const src = [
    "#define _GNU_SOURCE 1",
    ...includes.map((h) => `#include <${h}>`),
    "#include <stdio.h>",
    prelude,
    "int main(void) {",
    ...keys.map((k) => `  printf("%s %lld\\n", "${k}", (long long)(${exprs[k]}));`),
    "  return 0;",
    "}",
  ].join("\n");
  const out = new Map<string, bigint>();
  for (const line of runC(src).trim().split("\n")) {
    const [k = "", v = ""] = line.split(" ");
    out.set(k, BigInt(v));
  }
  return out;
}

/** Parses "0a1bff..." into bytes. */
export function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** C source for a function `dump(const void *p, size_t n)` printing n bytes as hex and a newline. */
export const C_DUMP =
  'static void dump(const void *p, unsigned long n) { const unsigned char *b = p; ' +
  'for (unsigned long i = 0; i < n; i++) printf("%02x", b[i]); printf("\\n"); }';
