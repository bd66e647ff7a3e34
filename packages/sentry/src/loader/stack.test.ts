import { AUXV, E2BIG } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { buildStack, type StackImage } from "./stack.js";

const enc = (s: string) => new TextEncoder().encode(s);
const TOP = 0x7fff_ffff_e000n;

function build(argv: string[], envp: string[], maxBytes = 1 << 20): StackImage {
  const r = buildStack({
    top: TOP,
    argv: argv.map(enc),
    envp: envp.map(enc),
    execfn: enc("/bin/prog"),
    random: new Uint8Array(16).fill(0xab),
    auxv: [
      { type: AUXV.AT_PAGESZ, value: 4096n },
      { type: AUXV.AT_ENTRY, value: 0x401000n },
    ],
    maxBytes,
  });
  if (!("sp" in r)) throw new Error(r.name);
  return r;
}

/** Reads the image as the program would: memory at address a. */
function reader(img: StackImage) {
  const dv = new DataView(img.bytes.buffer);
  const word = (a: bigint) => dv.getBigUint64(Number(a - img.sp), true);
  const cstr = (a: bigint) => {
    const off = Number(a - img.sp);
    const end = img.bytes.indexOf(0, off);
    return new TextDecoder().decode(img.bytes.subarray(off, end));
  };
  return { word, cstr };
}

describe("buildStack", () => {
  it("puts argc at a 16-byte aligned sp, then argv, envp and auxv as the ABI says", () => {
    const img = build(["prog", "-l", "x y"], ["A=1", "PATH=/bin"]);
    expect(img.sp % 16n).toBe(0n);
    expect(img.sp + BigInt(img.bytes.length)).toBe(TOP);
    const { word, cstr } = reader(img);
    expect(word(img.sp)).toBe(3n);
    expect(img.argvAddr).toBe(img.sp + 8n);
    expect([0, 1, 2].map((i) => cstr(word(img.argvAddr + BigInt(8 * i)))).join("|")).toBe("prog|-l|x y");
    expect(word(img.argvAddr + 24n)).toBe(0n);
    expect(img.envpAddr).toBe(img.argvAddr + 32n);
    expect(cstr(word(img.envpAddr))).toBe("A=1");
    expect(cstr(word(img.envpAddr + 8n))).toBe("PATH=/bin");
    expect(word(img.envpAddr + 16n)).toBe(0n);
    const aux = new Map<number, bigint>();
    for (let a = img.auxvAddr; ; a += 16n) {
      const type = Number(word(a));
      aux.set(type, word(a + 8n));
      if (type === AUXV.AT_NULL) break;
    }
    expect(aux.get(AUXV.AT_PAGESZ)).toBe(4096n);
    expect(aux.get(AUXV.AT_ENTRY)).toBe(0x401000n);
    expect(cstr(aux.get(AUXV.AT_EXECFN) ?? 0n)).toBe("/bin/prog");
    expect(cstr(aux.get(AUXV.AT_PLATFORM) ?? 0n)).toBe("x86_64");
    const rnd = Number((aux.get(AUXV.AT_RANDOM) ?? 0n) - img.sp);
    expect([...img.bytes.subarray(rnd, rnd + 16)]).toEqual(new Array(16).fill(0xab));
  });

  it("lays strings out contiguously: argv strings, then envp strings (for /proc/pid/cmdline)", () => {
    const img = build(["a", "bb"], ["C=3"]);
    const off = (a: bigint) => Number(a - img.sp);
    expect(new TextDecoder().decode(img.bytes.subarray(off(img.argStart), off(img.argEnd)))).toBe("a\0bb\0");
    expect(img.argEnd).toBe(img.envStart);
    expect(new TextDecoder().decode(img.bytes.subarray(off(img.envStart), off(img.envEnd)))).toBe("C=3\0");
  });

  it("handles empty argv and envp", () => {
    const img = build([], []);
    const { word } = reader(img);
    expect(word(img.sp)).toBe(0n);
    expect(word(img.argvAddr)).toBe(0n);
    expect(word(img.envpAddr)).toBe(0n);
  });

  it("returns E2BIG past the limit", () => {
    const r = buildStack({
      top: TOP,
      argv: [new Uint8Array(5000)],
      envp: [],
      execfn: enc("/x"),
      random: new Uint8Array(16),
      auxv: [],
      maxBytes: 4096,
    });
    expect(r).toBe(E2BIG);
  });

  it("rejects a misaligned top or a short random buffer as a caller bug", () => {
    const base = { argv: [], envp: [], execfn: enc("/x"), auxv: [], maxBytes: 1 << 20 };
    expect(() => buildStack({ ...base, top: TOP + 8n, random: new Uint8Array(16) })).toThrow(RangeError);
    expect(() => buildStack({ ...base, top: TOP, random: new Uint8Array(3) })).toThrow(RangeError);
  });
});
