import { describe, expect, it } from "vitest";
import { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_LAST_CAP, CAP_SYS_ADMIN } from "@runsc-ts/abi";
import { ALL_CAPABILITIES, Credentials, capabilityBit } from "./credentials.js";

describe("Credentials", () => {
  it("gives root every capability up to CAP_LAST_CAP", () => {
    const root = Credentials.root();
    expect(root.hasCapability(CAP_SYS_ADMIN)).toBe(true);
    expect(root.hasCapability(CAP_LAST_CAP)).toBe(true);
    expect(ALL_CAPABILITIES).toBe((1n << BigInt(CAP_LAST_CAP + 1)) - 1n);
  });

  it("gives an ordinary user no capabilities", () => {
    const u = Credentials.forIds(1000, 1000, [10, 20]);
    expect(u.hasCapability(CAP_DAC_OVERRIDE)).toBe(false);
    expect(u.inGroup(1000)).toBe(true);
    expect(u.inGroup(20)).toBe(true);
    expect(u.inGroup(30)).toBe(false);
  });

  it("derives changed copies without touching the original", () => {
    const u = Credentials.forIds(1000, 1000);
    const v = u.with({ fsuid: 0, effective: capabilityBit(CAP_CHOWN) });
    expect(u.fsuid).toBe(1000);
    expect(v.fsuid).toBe(0);
    expect(v.hasCapability(CAP_CHOWN)).toBe(true);
    expect(Object.isFrozen(v)).toBe(true);
    expect(Object.isFrozen(v.groups)).toBe(true);
  });

  it("rejects invalid ids and capability numbers", () => {
    expect(() => Credentials.forIds(-1, 0)).toThrow(RangeError);
    expect(() => Credentials.forIds(0xffffffff, 0)).toThrow(RangeError);
    expect(() => capabilityBit(CAP_LAST_CAP + 1)).toThrow(RangeError);
  });
});
