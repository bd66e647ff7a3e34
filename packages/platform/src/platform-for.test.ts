import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { native } from "./native.js";
import { PlatformUnavailableError, platformFor } from "./platform-for.js";
import { processesInGroup } from "./ptrace/test-programs.js";
import { PtracePlatform } from "./ptrace/ptrace-platform.js";

describe("platformFor", () => {
  it("starts the ptrace platform", () => {
    const p = platformFor("ptrace");
    expect(p.name).toBe("ptrace");
    expect(p).toBeInstanceOf(PtracePlatform);
    const zygote = (p as PtracePlatform).zygote;
    p.close();
    expect(processesInGroup(zygote)).toEqual([]);
  });

  it("refuses kvm without the device, naming the alternative in one line", () => {
    const e = (() => {
      try {
        platformFor("kvm", "/nonexistent/kvm");
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(PlatformUnavailableError);
    expect((e as Error).message).toBe("platform kvm: /nonexistent/kvm is not available; use --platform=ptrace");
  });

  it("refuses kvm with the device as not implemented, never a fake", () => {
    const expected = existsSync("/dev/kvm") ? /^platform kvm: not implemented yet; use --platform=ptrace$/ : /is not available/;
    expect(() => platformFor("kvm")).toThrow(expected);
  });

  it("refuses an unknown platform", () => {
    expect(() => platformFor("systrap")).toThrow(/unknown platform "systrap"; use --platform=ptrace/);
  });
});

describe("the ptrace addon's argument checks", () => {
  it("throws TypeError/RangeError before any system call", () => {
    expect(() => native.ptraceResume(0, 0, 0, false)).toThrow(RangeError);
    expect(() => native.ptraceWait(new Int32Array(1), false)).toThrow(TypeError);
    expect(() => native.vmRead(1, new BigUint64Array(1), new Uint8Array(1))).toThrow(RangeError);
    expect(() => native.ptraceInject(1, 0, new BigUint64Array(5))).toThrow(RangeError);
  });

  it("reports an unknown tracee as ESRCH", () => {
    const p = PtracePlatform.start();
    try {
      expect(() => native.ptraceGetRegs(p.zygote)).toThrow(expect.objectContaining({ code: "ESRCH", syscall: "ptraceGetRegs" }));
      expect(() => native.ptraceInterrupt(999_999)).toThrow(expect.objectContaining({ code: "ESRCH" }));
    } finally {
      p.close();
    }
  });
});
