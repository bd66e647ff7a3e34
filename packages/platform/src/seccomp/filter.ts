/**
 * Seccomp policies compiled to classic BPF (bpf.ts): an allowlist keyed by system call number,
 * each entry an action or a list of argument rules, and a default for everything else.
 *
 * The program:
 *
 *   1. `seccomp_data.arch` must be AUDIT_ARCH_X86_64, else `badArch` (KILL_PROCESS by default):
 *      a 32-bit `int 0x80` call has other numbers and must never be matched against this list;
 *   2. a number with __X32_SYSCALL_BIT (the x32 ABI, same arch value) gets `badArch` too;
 *   3. a binary search over the sorted numbers (`jge` to split, `ja` to reach the upper half, so
 *      no conditional jump is ever long), with small linear leaves: `jeq nr; ret action`;
 *   4. numbers with argument rules jump to a block after the search: the first rule whose
 *      conditions all hold gives its action, else the entry's `otherwise`, else the default.
 *
 * Arguments are 64-bit; BPF loads 32-bit words, so a condition compares the high and the low
 * word of `seccomp_data.args[i]` (little-endian) separately.
 */
import {
  AUDIT_ARCH_X86_64,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRAP,
  __X32_SYSCALL_BIT,
  seccomp_data,
  type LinuxError,
} from "@runsc-ts/abi";
import { BpfAssembler, BpfError, type Label } from "./bpf.js";

/** What the kernel does with a system call (SECCOMP_RET_*). */
export type SeccompAction =
  | { readonly kind: "allow" }
  | { readonly kind: "errno"; readonly errno: number }
  | { readonly kind: "killProcess" }
  | { readonly kind: "killThread" }
  | { readonly kind: "trap" }
  | { readonly kind: "log" };

export const ALLOW: SeccompAction = Object.freeze({ kind: "allow" });
export const KILL_PROCESS: SeccompAction = Object.freeze({ kind: "killProcess" });
export const KILL_THREAD: SeccompAction = Object.freeze({ kind: "killThread" });
export const TRAP: SeccompAction = Object.freeze({ kind: "trap" });

/** Fail the call with `e` (its errno; 1..4095). */
export function errnoAction(e: LinuxError): SeccompAction {
  return Object.freeze({ kind: "errno", errno: e.errno });
}

/** The SECCOMP_RET_* value of `a`. */
export function actionValue(a: SeccompAction): number {
  switch (a.kind) {
    case "allow":
      return SECCOMP_RET_ALLOW;
    case "errno":
      if (!Number.isInteger(a.errno) || a.errno < 1 || a.errno > 4095) throw new BpfError(`errno action ${a.errno} is not in 1..4095`);
      return (SECCOMP_RET_ERRNO | a.errno) >>> 0;
    case "killProcess":
      return SECCOMP_RET_KILL_PROCESS >>> 0;
    case "killThread":
      return SECCOMP_RET_KILL_THREAD;
    case "trap":
      return SECCOMP_RET_TRAP;
    case "log":
      return SECCOMP_RET_LOG;
  }
}

/** `(args[arg] & mask) == value`, all 64-bit (mask defaults to all ones: plain equality). */
export interface ArgCondition {
  readonly arg: number;
  readonly value: bigint;
  readonly mask?: bigint;
}

export interface ArgRule {
  /** Every condition must hold (none: always). */
  readonly when: readonly ArgCondition[];
  readonly action: SeccompAction;
}

/** A system call's entry: one action, or rules tried in order and a fallback. */
export type SyscallEntry = SeccompAction | { readonly rules: readonly ArgRule[]; readonly otherwise?: SeccompAction };

export interface SeccompPolicy {
  /** Entries by x86-64 system call number. */
  readonly syscalls: ReadonlyMap<number, SyscallEntry>;
  /** For every number not in `syscalls`. */
  readonly defaultAction: SeccompAction;
  /** For another architecture or the x32 ABI (default KILL_PROCESS). */
  readonly badArch?: SeccompAction;
}

/** Numbers a leaf of the search compares linearly. */
const LEAF = 4;
const U64 = (1n << 64n) - 1n;

function isRules(e: SyscallEntry): e is { readonly rules: readonly ArgRule[]; readonly otherwise?: SeccompAction } {
  return "rules" in e;
}

/** Compiles `policy` to a seccomp program (struct sock_filter array). Throws BpfError for a bad policy. */
export function compileSeccompPolicy(policy: SeccompPolicy): Uint8Array {
  const a = new BpfAssembler();
  const dflt = actionValue(policy.defaultAction);
  const bad = actionValue(policy.badArch ?? KILL_PROCESS);
  const entries = [...policy.syscalls.entries()].sort(([x], [y]) => x - y);
  for (const [nr] of entries) {
    if (!Number.isInteger(nr) || nr < 0 || nr >= __X32_SYSCALL_BIT) throw new BpfError(`system call number ${nr} is not an x86-64 number`);
  }

  a.ldAbs(seccomp_data.fields.arch.offset);
  a.jeq(AUDIT_ARCH_X86_64, 1, 0);
  a.ret(bad);
  a.ldAbs(seccomp_data.fields.nr.offset);
  a.jset(__X32_SYSCALL_BIT, 0, 1);
  a.ret(bad);

  const ruleBlocks: { label: Label; nr: number; entry: { readonly rules: readonly ArgRule[]; readonly otherwise?: SeccompAction } }[] = [];
  const search = (part: (readonly [number, SyscallEntry])[]): void => {
    if (part.length <= LEAF) {
      for (const [nr, entry] of part) {
        a.jeq(nr, 0, 1);
        if (isRules(entry)) {
          const label = a.label(`rules for ${nr}`);
          ruleBlocks.push({ label, nr, entry });
          a.ja(label);
        } else {
          a.ret(actionValue(entry));
        }
      }
      a.ret(dflt);
      return;
    }
    const mid = part.length >> 1;
    const upper = a.label(`numbers >= ${(part[mid] as readonly [number, SyscallEntry])[0]}`);
    a.jge((part[mid] as readonly [number, SyscallEntry])[0], 0, 1);
    a.ja(upper);
    search(part.slice(0, mid));
    a.bind(upper);
    search(part.slice(mid));
  };
  search(entries);

  const argWord = (arg: number, high: boolean): number => seccomp_data.fields.args.offset + arg * 8 + (high ? 4 : 0);
  for (const { label, nr, entry } of ruleBlocks) {
    a.bind(label);
    entry.rules.forEach((rule, r) => {
      const next = a.label(`rule ${r + 1} of ${nr}`);
      for (const c of rule.when) {
        if (!Number.isInteger(c.arg) || c.arg < 0 || c.arg > 5) throw new BpfError(`rule ${r} of system call ${nr}: argument ${c.arg} is not 0..5`);
        const mask = c.mask ?? U64;
        if (c.value < 0n || c.value > U64 || mask < 0n || mask > U64) throw new BpfError(`rule ${r} of system call ${nr}: value or mask is not a 64-bit unsigned integer`);
        if ((c.value & ~mask) !== 0n) throw new BpfError(`rule ${r} of system call ${nr}: value 0x${c.value.toString(16)} has bits outside mask 0x${mask.toString(16)}; it can never match`);
        for (const high of [true, false]) {
          const shift = high ? 32n : 0n;
          const m = Number((mask >> shift) & 0xffff_ffffn);
          const v = Number((c.value >> shift) & 0xffff_ffffn);
          if (m === 0) continue; // nothing of this word is compared
          a.ldAbs(argWord(c.arg, high));
          if (m !== 0xffff_ffff) a.and(m);
          a.jeq(v, 0, next);
        }
      }
      a.ret(actionValue(rule.action));
      a.bind(next);
    });
    a.ret(actionValue(entry.otherwise ?? policy.defaultAction));
  }
  return a.assemble();
}
