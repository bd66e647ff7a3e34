import { describe, expect, it } from "vitest";
import { IPAddress } from "../address.js";
import { checksumAdd, checksumFold, internetChecksum, checksumVerifies, pseudoHeaderSum } from "./checksum.js";

describe("internet checksum (RFC 1071)", () => {
  it("matches the RFC 1071 §3 worked example", () => {
    const data = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(checksumFold(checksumAdd(0, data))).toBe(0xddf2);
    expect(internetChecksum(data)).toBe(0x220d);
  });

  it("pads an odd trailing byte with zero", () => {
    expect(checksumAdd(0, Uint8Array.of(0x12))).toBe(0x1200);
    expect(internetChecksum(Uint8Array.of(0x12, 0x34, 0x56))).toBe(~(0x1234 + 0x5600) & 0xffff);
  });

  it("verifies a buffer that carries its own checksum", () => {
    const b = Uint8Array.of(0x45, 0x00, 0x00, 0x1c, 0, 0, 0, 0);
    const c = internetChecksum(b);
    b[6] = c >> 8;
    b[7] = c & 0xff;
    expect(checksumVerifies(b)).toBe(true);
    b[0] = 0x44;
    expect(checksumVerifies(b)).toBe(false);
  });

  it("is all ones for an empty buffer's complement", () => {
    expect(internetChecksum(new Uint8Array(0))).toBe(0xffff);
  });

  it("folds the IPv4 and IPv6 pseudo-headers differently", () => {
    const a = IPAddress.v4(10, 0, 0, 1);
    const b = IPAddress.v4(10, 0, 0, 2);
    expect(pseudoHeaderSum(a, b, 6, 20)).toBe(0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 20);
    const a6 = IPAddress.parse("::1") as IPAddress;
    expect(pseudoHeaderSum(a6, a6, 17, 0x10008)).toBe(2 + 1 + 0x0008 + 17);
  });
});
