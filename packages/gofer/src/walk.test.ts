import { EINVAL, ENAMETOOLONG } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { enc } from "./test-util.js";
import { checkName } from "./walk.js";

describe("checkName", () => {
  it("accepts one component of any bytes but '/' and NUL", () => {
    for (const ok of ["a", "...", ".hidden", "..x", "x..", " ", "名前"]) expect(checkName(enc(ok))).toBeUndefined();
    expect(checkName(new Uint8Array([0xff, 0xfe]))).toBeUndefined();
    expect(checkName(new Uint8Array(255).fill(0x61))).toBeUndefined();
  });

  it("refuses '.', '..', the empty name, '/' and NUL with EINVAL", () => {
    for (const bad of [".", "..", "", "/", "a/b", "a/", "/a"]) expect(checkName(enc(bad))).toBe(EINVAL);
    expect(checkName(new Uint8Array([0x61, 0x00]))).toBe(EINVAL);
  });

  it("refuses names past NAME_MAX with ENAMETOOLONG", () => {
    expect(checkName(new Uint8Array(256).fill(0x61))).toBe(ENAMETOOLONG);
  });
});
