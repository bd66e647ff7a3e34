import { ENOEXEC } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { BINPRM_BUF_SIZE, parseShebang } from "./script.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

function parse(s: string | Uint8Array) {
  const r = parseShebang(typeof s === "string" ? enc(s) : s);
  if (r === undefined || !("interpreter" in r)) return r;
  return { interpreter: dec(r.interpreter), arg: dec(r.arg) };
}

describe("parseShebang", () => {
  it("ignores files that do not start with #!", () => {
    expect(parse("root:x:0:0\n")).toBeUndefined();
    expect(parse("#")).toBeUndefined();
    expect(parse("")).toBeUndefined();
  });
  it("reads the interpreter", () => {
    expect(parse("#!/bin/sh\necho\n")).toEqual({ interpreter: "/bin/sh", arg: undefined });
  });
  it("keeps everything after the interpreter as one argument, trimmed, as Linux does", () => {
    expect(parse("#!  /usr/bin/env   python3 -u  \n")).toEqual({ interpreter: "/usr/bin/env", arg: "python3 -u" });
    expect(parse("#!/bin/sh\t-e\n")).toEqual({ interpreter: "/bin/sh", arg: "-e" });
  });
  it("returns ENOEXEC for an empty interpreter line", () => {
    expect(parseShebang(enc("#!\n"))).toBe(ENOEXEC);
    expect(parseShebang(enc("#!   \t \n"))).toBe(ENOEXEC);
  });
  it("accepts a script without a trailing newline", () => {
    expect(parse("#!/bin/true")).toEqual({ interpreter: "/bin/true", arg: undefined });
  });
  it("refuses an interpreter path cut off by the 256-byte buffer", () => {
    expect(parseShebang(enc(`#!/${"a".repeat(BINPRM_BUF_SIZE)}`))).toBe(ENOEXEC);
  });
  it("accepts a long argument cut off by the buffer (Linux truncates it)", () => {
    const r = parse(`#!/bin/sh ${"x".repeat(400)}`);
    expect(r).toMatchObject({ interpreter: "/bin/sh" });
  });
});
