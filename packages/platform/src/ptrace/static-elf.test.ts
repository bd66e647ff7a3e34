import { describe, expect, it } from "vitest";
import { loadStaticElf } from "./static-elf.js";
import { programImage, freshPlatformEachTest } from "./test-programs.js";

const platform = freshPlatformEachTest();

describe("loadStaticElf (the tests' loader)", () => {
  const good = (): Uint8Array => Uint8Array.from(programImage("echo"));  // a copy

  const cases: [string, (b: Uint8Array) => Uint8Array, RegExp][] = [
    ["garbage", () => Uint8Array.from({ length: 100 }, (_, i) => i), /not an ELF file/],
    ["an empty file", () => new Uint8Array(0), /not an ELF file/],
    ["a 32-bit ELF", (b) => ((b[4] = 1), b), /not an x86-64 ELF64 file/],
    ["a shared object", (b) => ((b[16] = 3), b), /not a static position-dependent executable/],
    ["program headers past the end", (b) => (new DataView(b.buffer).setBigUint64(32, 1n << 40n, true), b), /truncated program headers/],
    ["a file cut short", (b) => b.subarray(0, 200), /segment beyond the end of the file/],
  ];
  for (const [what, mangle, message] of cases) {
    it(`refuses ${what} with a clear error`, () => {
      const { addressSpace, context } = platform().newAddressSpace();
      expect(() => loadStaticElf(addressSpace, context, mangle(good()))).toThrow(message);
    });
  }
});
