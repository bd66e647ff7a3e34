import { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_SETUID, EINVAL, EPERM } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { ALL_CAPABILITIES, Credentials, capabilityBit } from "./credentials.js";
import { UNCHANGED, capabilitiesAfterExec, setCapabilities, setFsId, setGroups, setId, setReIds, setResIds } from "./setid.js";

const user = Credentials.forIds(1000, 1000);

describe("set*id rules", () => {
  it("lets an unprivileged process move only among its own ids", () => {
    const c = user.with({ suid: 2000 });
    expect(setResIds(c, "uid", UNCHANGED, 2000, UNCHANGED, false)).toMatchObject({ uid: 1000, euid: 2000, suid: 2000, fsuid: 2000 });
    expect(setResIds(c, "uid", 3000, UNCHANGED, UNCHANGED, false)).toBe(EPERM);
    expect(setId(c, "uid", 2000, false)).toMatchObject({ uid: 1000, euid: 2000, suid: 2000 });
    expect(setId(c, "uid", 3000, false)).toBe(EPERM);
    expect(setReIds(c, "uid", 2000, UNCHANGED, false)).toBe(EPERM); // real may become only uid or euid
    expect(setGroups(c, [1])).toBe(EPERM);
  });

  it("drops capabilities when root leaves uid 0, unless keepcaps; euid moves the effective set", () => {
    const root = Credentials.root();
    const dropped = setId(root, "uid", 1000, false) as Credentials;
    expect([dropped.permitted, dropped.effective]).toEqual([0n, 0n]);
    const kept = setId(root, "uid", 1000, true) as Credentials;
    expect([kept.permitted, kept.effective]).toEqual([ALL_CAPABILITIES, 0n]);
    const euidOnly = setResIds(root, "uid", UNCHANGED, 1000, UNCHANGED, false) as Credentials;
    expect([euidOnly.permitted, euidOnly.effective]).toEqual([ALL_CAPABILITIES, 0n]);
    const back = setResIds(euidOnly, "uid", UNCHANGED, 0, UNCHANGED, false) as Credentials;
    expect(back.effective).toBe(ALL_CAPABILITIES);
    const fs = setFsId(root, "uid", 1000);
    expect(fs.effective & capabilityBit(CAP_CHOWN)).toBe(0n);
    expect(fs.effective & capabilityBit(CAP_SETUID)).not.toBe(0n);
  });

  it("rejects ids that are not ids, and oversized group lists", () => {
    expect(setId(Credentials.root(), "uid", UNCHANGED, false)).toBe(EINVAL);
    expect(setGroups(Credentials.root(), new Array(65537).fill(1))).toBe(EINVAL);
    expect(setGroups(Credentials.root(), [3, 1, 2])).toMatchObject({ groups: [1, 2, 3] });
  });
});

describe("capabilities", () => {
  it("capset can only drop, and execve gives root its bounding set back and others their ambient set", () => {
    const root = Credentials.root();
    const less = setCapabilities(root, capabilityBit(CAP_SETUID), capabilityBit(CAP_SETUID), 0n) as Credentials;
    expect(less.permitted).toBe(capabilityBit(CAP_SETUID));
    expect(setCapabilities(less, 0n, capabilityBit(CAP_CHOWN), 0n)).toBe(EPERM);
    expect(setCapabilities(less, capabilityBit(CAP_CHOWN), capabilityBit(CAP_SETUID), 0n)).toBe(EPERM);
    expect(capabilitiesAfterExec(less).effective).toBe(ALL_CAPABILITIES);
    const ambient = user.with({ permitted: capabilityBit(CAP_DAC_OVERRIDE), ambient: capabilityBit(CAP_DAC_OVERRIDE) });
    expect(capabilitiesAfterExec(ambient).effective).toBe(capabilityBit(CAP_DAC_OVERRIDE));
    expect(capabilitiesAfterExec(user.with({ permitted: ALL_CAPABILITIES, effective: ALL_CAPABILITIES })).effective).toBe(0n);
  });
});
