/**
 * Register indices into a user_regs_struct held as a BigUint64Array (`ctx.regs[REG.rax]`).
 * The indices come from the addon, compiled from <sys/user.h>.
 */
import { native } from "../native.js";

const C = native.ptraceConstants;

function reg(name: string): number {
  const v = C[`REG_${name}`];
  if (v === undefined) throw new Error(`native addon lacks REG_${name}`);
  return v;
}

/** Element index of each register in user_regs_struct. */
export const REG = Object.freeze({
  r15: reg("r15"),
  r14: reg("r14"),
  r13: reg("r13"),
  r12: reg("r12"),
  rbp: reg("rbp"),
  rbx: reg("rbx"),
  r11: reg("r11"),
  r10: reg("r10"),
  r9: reg("r9"),
  r8: reg("r8"),
  rax: reg("rax"),
  rcx: reg("rcx"),
  rdx: reg("rdx"),
  rsi: reg("rsi"),
  rdi: reg("rdi"),
  orig_rax: reg("orig_rax"),
  rip: reg("rip"),
  cs: reg("cs"),
  eflags: reg("eflags"),
  rsp: reg("rsp"),
  ss: reg("ss"),
  fs_base: reg("fs_base"),
  gs_base: reg("gs_base"),
  ds: reg("ds"),
  es: reg("es"),
  fs: reg("fs"),
  gs: reg("gs"),
});

export type RegName = keyof typeof REG;

/** The registers that carry a syscall's arguments, in order. */
export const SYSCALL_ARG_REGS: readonly number[] = [REG.rdi, REG.rsi, REG.rdx, REG.r10, REG.r8, REG.r9];
