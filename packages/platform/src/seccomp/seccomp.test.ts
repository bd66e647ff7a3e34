import { describe, expect, it } from "vitest";
import {
  BPF_ABS,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_RET,
  BPF_W,
  EACCES,
  EPERM,
  SECCOMP_RET_ALLOW,
  SYS_dup,
  SYS_exit,
  SYS_exit_group,
  SYS_getpid,
  SYS_getppid,
  SYS_getpriority,
  SYS_getuid,
  SYS_ptrace,
  SYS_write,
  __X32_SYSCALL_BIT,
} from "@runsc-ts/abi";
import { native } from "../native.js";
import { BpfAssembler, BpfError } from "./bpf.js";
import { ALLOW, KILL_PROCESS, compileSeccompPolicy, errnoAction, type SeccompPolicy, type SyscallEntry } from "./filter.js";

const SIGSYS = 31;
const I386_GETPID = 20;

function build(f: (a: BpfAssembler) => void): Uint8Array {
  const a = new BpfAssembler();
  f(a);
  return a.assemble();
}

describe("BpfAssembler", () => {
  it("encodes struct sock_filter little-endian with resolved forward labels", () => {
    const prog = build((a) => {
      const yes = a.label("yes");
      a.ldAbs(0).jeq(39, yes, 0).ret(0).bind(yes).ret(SECCOMP_RET_ALLOW);
    });
    const v = new DataView(prog.buffer);
    expect(prog.length).toBe(32);
    expect([v.getUint16(0, true), v.getUint32(4, true)]).toEqual([BPF_LD | BPF_W | BPF_ABS, 0]);
    expect([v.getUint16(8, true), v.getUint8(10), v.getUint8(11), v.getUint32(12, true)]).toEqual([BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 39]);
    expect(v.getUint16(16, true)).toBe(BPF_RET | BPF_K);
    expect(v.getUint32(28, true)).toBe(SECCOMP_RET_ALLOW);
  });

  it("reaches exactly 255 instructions with a conditional jump", () => {
    expect(() =>
      build((a) => {
        const far = a.label("far");
        a.ldAbs(0).jeq(1, far, 0);
        for (let i = 0; i < 255; i++) a.ret(0);
        a.bind(far).ret(1);
      }),
    ).not.toThrow();
  });

  const malformed: [string, (a: BpfAssembler) => void, RegExp][] = [
    ["a conditional jump of 256", (a) => {
      const far = a.label("far");
      a.ldAbs(0).jeq(1, 0, far);
      for (let i = 0; i < 256; i++) a.ret(0);
      a.bind(far).ret(1);
    }, /instruction 1 jumps to label 'far' 256 instructions ahead; a conditional jump reaches at most 255/],
    ["a numeric skip of 256", (a) => {
      a.ldAbs(0).jeq(1, 256, 0);
      for (let i = 0; i < 300; i++) a.ret(0);
    }, /instruction 1 skips 256 instructions; a conditional jump skips 0 to 255/],
    ["a skip past the end", (a) => a.ldAbs(0).jeq(1, 1, 0).ret(0), /instruction 1 skips 1 instructions, past the end/],
    ["an unbound label", (a) => a.ldAbs(0).jeq(1, a.label("nowhere"), 0).ret(0), /label 'nowhere', which is never bound/],
    ["a backward jump", (a) => {
      const top = a.label("top");
      a.bind(top).ldAbs(0).ja(top).ret(0);
    }, /jumps back to label 'top' \(instruction 0\): BPF jumps only forward/],
    ["a label at the end", (a) => {
      const end = a.label("end");
      a.ldAbs(0).jeq(1, end, 0).ret(0).bind(end);
    }, /label 'end' past the end of the program/],
    ["a label bound twice", (a) => {
      const l = a.label("twice");
      a.bind(l).ret(0).bind(l);
    }, /label 'twice' is bound twice/],
    ["a negative constant", (a) => a.ret(-1), /constant -1 is not a 32-bit unsigned integer/],
    ["a constant of 2^32", (a) => a.ret(2 ** 32), /constant 4294967296 is not a 32-bit unsigned integer/],
    ["a fractional constant", (a) => a.jeq(1.5, 0, 0), /constant 1.5 is not a 32-bit unsigned integer/],
    ["a load past seccomp_data", (a) => a.ldAbs(64), /offset 64 is not a 32-bit word of seccomp_data/],
    ["a misaligned load", (a) => a.ldAbs(2), /offset 2 is not a 32-bit word/],
    ["an empty program", () => undefined, /empty program/],
    ["a program that falls off its end", (a) => a.ldAbs(0), /instruction 0 is not a return/],
    ["more than BPF_MAXINSNS instructions", (a) => {
      for (let i = 0; i < 4097; i++) a.ret(0);
    }, /program of 4097 instructions; the kernel takes at most 4096/],
  ];
  it.each(malformed)("refuses %s with a clear error", (_what, f, message) => {
    let err: unknown;
    try {
      build(f);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as Error).message).toMatch(message);
  });
});

/** What the probe child itself needs after the filter is in: writing results and exiting. */
const PROBE_NEEDS: [number, SyscallEntry][] = [[SYS_write, ALLOW], [SYS_exit, ALLOW], [SYS_exit_group, ALLOW]];

function policy(extra: [number, SyscallEntry][], defaultAction = errnoAction(EPERM)): SeccompPolicy {
  return { syscalls: new Map([...PROBE_NEEDS, ...extra]), defaultAction };
}

describe("compileSeccompPolicy", () => {
  it("refuses numbers that are not x86-64 system calls, bad errnos and impossible conditions", () => {
    expect(() => compileSeccompPolicy(policy([[-1, ALLOW]]))).toThrow(/system call number -1/);
    expect(() => compileSeccompPolicy(policy([[__X32_SYSCALL_BIT + 1, ALLOW]]))).toThrow(/is not an x86-64 number/);
    expect(() => compileSeccompPolicy(policy([[SYS_getpid, { kind: "errno", errno: 4096 }]]))).toThrow(/errno action 4096/);
    expect(() => compileSeccompPolicy(policy([[SYS_dup, { rules: [{ when: [{ arg: 6, value: 0n }], action: ALLOW }] }]]))).toThrow(/argument 6 is not 0..5/);
    expect(() => compileSeccompPolicy(policy([[SYS_dup, { rules: [{ when: [{ arg: 0, value: 3n, mask: 1n }], action: ALLOW }] }]]))).toThrow(/bits outside mask/);
  });

  it("allows what is listed and answers the default for the rest, in a real child", () => {
    const prog = compileSeccompPolicy(policy([[SYS_getpid, ALLOW], [SYS_getppid, errnoAction(EACCES)]]));
    const r = native.seccompProbe(prog, 0, [{ nr: SYS_getpid }, { nr: SYS_getppid }, { nr: SYS_getuid }]);
    expect(r.installErrno).toBe(0);
    expect(r.results[0]?.ret).toBeGreaterThan(0);
    expect(r.results.slice(1)).toEqual([{ ret: -1, errno: EACCES.errno }, { ret: -1, errno: EPERM.errno }]);
    expect([r.code, r.signal]).toEqual([0, null]);
  });

  it("kills the process for a KILL_PROCESS entry", () => {
    const prog = compileSeccompPolicy(policy([[SYS_getpid, ALLOW], [SYS_ptrace, KILL_PROCESS]]));
    const r = native.seccompProbe(prog, 0, [{ nr: SYS_getpid }, { nr: SYS_ptrace, args: [0] }, { nr: SYS_getpid }]);
    expect(r.results).toHaveLength(1);
    expect(r.signal).toBe(SIGSYS);
  });

  it("kills a 32-bit int 0x80 call and an x32 call even when their number is allowed", () => {
    const prog = compileSeccompPolicy(policy([[SYS_getpid, ALLOW], [I386_GETPID, ALLOW]]));
    const i386 = native.seccompProbe(prog, 0, [{ nr: SYS_getpid }, { nr: I386_GETPID, abi: "i386" }]);
    expect(i386.results).toHaveLength(1);
    expect(i386.signal).toBe(SIGSYS);
    const x32 = native.seccompProbe(prog, 0, [{ nr: SYS_getpid }, { nr: SYS_getpid, abi: "x32" }]);
    expect(x32.results).toHaveLength(1);
    expect(x32.signal).toBe(SIGSYS);
    // With the arch check answering ALLOW the child survives both (int 0x80 works; an x32 call
    // is ENOSYS on kernels built without x32), so the kills above are the check's doing.
    const open = compileSeccompPolicy({ syscalls: new Map(), defaultAction: ALLOW, badArch: ALLOW });
    const plain = native.seccompProbe(open, 0, [{ nr: I386_GETPID, abi: "i386" }, { nr: SYS_getpid, abi: "x32" }]);
    expect(plain.results).toHaveLength(2);
    expect(plain.results[0]?.ret).toBeGreaterThan(0);
    expect([null, 0]).toContain(plain.signal);
  });

  it("matches arguments on all 64 bits, with masks, first rule first", () => {
    const prog = compileSeccompPolicy(
      policy([
        [SYS_getpriority, { rules: [{ when: [{ arg: 0, value: 0n }, { arg: 1, value: 0n }], action: ALLOW }], otherwise: errnoAction(EACCES) }],
        [SYS_dup, { rules: [{ when: [{ arg: 0, value: 0n, mask: 1n }], action: ALLOW }, { when: [{ arg: 0, value: 1n }], action: errnoAction(EPERM) }], otherwise: errnoAction(EACCES) }],
      ]),
    );
    const r = native.seccompProbe(prog, 0, [
      { nr: SYS_getpriority, args: [0, 0] },
      { nr: SYS_getpriority, args: [0, 1n << 32n] }, // the low word alone matches
      { nr: SYS_dup, args: [2] },
      { nr: SYS_dup, args: [1] },
      { nr: SYS_dup, args: [3] },
    ]);
    expect(r.results[0]?.errno).toBe(0);
    expect(r.results[1]).toEqual({ ret: -1, errno: EACCES.errno });
    expect(r.results[2]?.ret).toBeGreaterThanOrEqual(0);
    expect(r.results[3]).toEqual({ ret: -1, errno: EPERM.errno });
    expect(r.results[4]).toEqual({ ret: -1, errno: EACCES.errno });
  });

  it("compiles a policy of every system call number without a long conditional jump, and each still matches", () => {
    const all: [number, SyscallEntry][] = [];
    for (let nr = 0; nr < 460; nr++) {
      if (nr === SYS_write || nr === SYS_exit || nr === SYS_exit_group) continue;
      all.push([nr, nr % 2 === 0 ? errnoAction(EACCES) : { rules: [{ when: [{ arg: 0, value: 7n }], action: errnoAction(EPERM) }] }]);
    }
    const prog = compileSeccompPolicy(policy(all));
    expect(prog.length / 8).toBeLessThan(4096);
    const calls = [SYS_getpid, SYS_getppid, SYS_getuid, 450, 459].map((nr) => ({ nr, args: [7] }));
    const r = native.seccompProbe(prog, 0, calls);
    expect(r.results.map((x) => x.errno)).toEqual(calls.map((c) => (c.nr % 2 === 0 ? EACCES.errno : EPERM.errno)));
  });
});
