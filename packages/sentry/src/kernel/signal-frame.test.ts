import { EFAULT, EINVAL, ENOMEM, EPERM, FP_XSTATE_MAGIC1, SA_ONSTACK, SIGUSR1, SS_DISABLE, SS_ONSTACK, encodeStruct, stack_t } from "@runsc-ts/abi";
import { REG } from "@runsc-ts/platform";
import { describe, expect, it } from "vitest";
import { NO_ALT_STACK, type SignalContext, altStackReport, onAltStack, parseAltStack, restoreFrame, setupFrame } from "./signal-frame.js";
import { UNBLOCKABLE, killInfo, sigBit } from "./signals.js";

/** A task-shaped context over a flat memory [base, base + size). */
function fakeTask(base: bigint, size: number, fpSize = 1024): SignalContext & { mem: Uint8Array; fp: Uint8Array } {
  const mem = new Uint8Array(size);
  const inRange = (addr: bigint, len: number) => addr >= base && addr + BigInt(len) <= base + BigInt(size);
  const fp = new Uint8Array(fpSize).map((_, i) => i & 0xff);
  const t = {
    mem,
    fp,
    context: {
      regs: new BigUint64Array(27),
      getFpState: () => t.fp.slice(),
      setFpState: (s: Uint8Array) => {
        t.fp = s.slice();
      },
    },
    mm: {
      copyIn: (addr: bigint, len: number) => (inRange(addr, len) ? mem.slice(Number(addr - base), Number(addr - base) + len) : EFAULT),
      copyOut: (addr: bigint, data: Uint8Array) => {
        if (!inRange(addr, data.length)) return EFAULT;
        mem.set(data, Number(addr - base));
        return undefined;
      },
    },
    signalMask: sigBit(SIGUSR1),
    altStack: NO_ALT_STACK,
  };
  return t;
}

const ACTION = { handler: 0x40_1000n, flags: 0, restorer: 0x40_2000n, mask: 0n };

describe("the x86-64 signal frame", () => {
  it("points the registers at the handler and sigreturn restores everything", () => {
    const t = fakeTask(0x10000n, 0x10000);
    const regs = t.context.regs;
    regs.forEach((_, i) => (regs[i] = BigInt(i * 3 + 1)));
    regs[REG.rsp] = 0x1f000n;
    regs[REG.rip] = 0x40_5000n;
    const before = regs.slice();
    const fpBefore = t.fp.slice();
    expect(setupFrame(t, killInfo(SIGUSR1, 3, 0), ACTION, t.signalMask)).toBeUndefined();
    const frame = regs[REG.rsp] as bigint;
    expect((frame + 8n) % 16n).toBe(0n);
    expect(frame < 0x1f000n - 128n).toBe(true); // below the red zone
    expect(regs[REG.rip]).toBe(ACTION.handler);
    expect(regs[REG.rdi]).toBe(BigInt(SIGUSR1));
    const info = t.mm.copyIn(regs[REG.rsi] as bigint, 4) as Uint8Array;
    expect(new DataView(info.buffer).getInt32(0, true)).toBe(SIGUSR1);
    const ret = t.mm.copyIn(frame, 8) as Uint8Array;
    expect(new DataView(ret.buffer).getBigUint64(0, true)).toBe(ACTION.restorer);

    // The handler runs (clobbering registers and FP state), then returns: ret pops the restorer.
    regs.fill(7n);
    regs[REG.rsp] = frame + 8n;
    t.fp.fill(0);
    t.signalMask = ~0n;
    const rax = restoreFrame(t, UNBLOCKABLE);
    expect(rax).toBe(before[REG.rax]);
    for (const r of ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip", "r8", "r15"] as const) expect(regs[REG[r]]).toBe(before[REG[r]]);
    expect(t.signalMask).toBe(sigBit(SIGUSR1));
    expect(t.fp).toEqual(fpBefore.map((b, i) => (i >= 464 && i < 464 + 20 ? t.fp[i]! : b)));
    expect(new DataView(t.fp.buffer).getUint32(464, true)).toBe(FP_XSTATE_MAGIC1);
  });

  it("switches to the alternate stack for SA_ONSTACK, once", () => {
    const t = fakeTask(0x10000n, 0x20000);
    t.altStack = { sp: 0x20000n, size: 0x8000n, flags: 0 };
    t.context.regs[REG.rsp] = 0x1f000n;
    expect(setupFrame(t, killInfo(SIGUSR1, 3, 0), { ...ACTION, flags: SA_ONSTACK }, 0n)).toBeUndefined();
    const sp = t.context.regs[REG.rsp] as bigint;
    expect(onAltStack(t.altStack, sp)).toBe(true);
    // A nested signal stays on the alternate stack, below the first frame.
    expect(setupFrame(t, killInfo(SIGUSR1, 3, 0), { ...ACTION, flags: SA_ONSTACK }, 0n)).toBeUndefined();
    expect((t.context.regs[REG.rsp] as bigint) < sp).toBe(true);
    const report = altStackReport(t.altStack, t.context.regs[REG.rsp] as bigint);
    expect(new DataView(report.buffer).getInt32(8, true)).toBe(SS_ONSTACK);
  });

  it("fails with EFAULT when the stack cannot hold the frame, and sigreturn on garbage too", () => {
    const t = fakeTask(0x10000n, 0x1000);
    t.context.regs[REG.rsp] = 0x900000n;
    expect(setupFrame(t, killInfo(SIGUSR1, 3, 0), ACTION, 0n)).toBe(EFAULT);
    t.context.regs[REG.rsp] = 0x10n;
    expect(restoreFrame(t, UNBLOCKABLE)).toBe(EFAULT);
  });

  it("validates sigaltstack like Linux", () => {
    const ss = (sp: bigint, size: bigint, flags: number) => encodeStruct(stack_t, { ss_sp: sp, ss_size: size, ss_flags: flags });
    expect(parseAltStack(NO_ALT_STACK, 0n, ss(0x1000n, 100n, 0))).toBe(ENOMEM);
    expect(parseAltStack(NO_ALT_STACK, 0n, ss(0x1000n, 0x10000n, 0x42))).toBe(EINVAL);
    expect(parseAltStack(NO_ALT_STACK, 0n, ss(0n, 0n, SS_DISABLE))).toEqual(NO_ALT_STACK);
    const alt = parseAltStack(NO_ALT_STACK, 0n, ss(0x1000n, 0x10000n, 0));
    expect(alt).toEqual({ sp: 0x1000n, size: 0x10000n, flags: 0 });
    // Changing it while running on it is EPERM.
    expect(parseAltStack(alt as never, 0x2000n, ss(0n, 0n, SS_DISABLE))).toBe(EPERM);
  });
});
