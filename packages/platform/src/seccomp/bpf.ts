/**
 * A classic BPF assembler for seccomp filters (the `struct sock_filter` programs of
 * Documentation/userspace-api/seccomp_filter.rst): the instructions a seccomp filter uses —
 * load a 32-bit word of `struct seccomp_data`, AND with a constant, compare and jump, jump
 * always, return — with forward labels.
 *
 * Classic BPF jumps only forward. A conditional jump encodes each target as an 8-bit count of
 * instructions to skip, so it reaches at most 255 instructions ahead; `ja` has a 32-bit offset.
 * `assemble()` resolves labels and refuses, with a BpfError naming the instruction and label,
 * anything the kernel would reject or that would not mean what was written: an unbound or
 * rebound label, a backward jump, a conditional jump farther than 255, a target past the end,
 * a constant that is not a 32-bit unsigned integer, a load outside `seccomp_data`, a program
 * that is empty, longer than BPF_MAXINSNS or does not end in a return. Callers that need long
 * conditional jumps branch to a nearby `ja` (seccomp/filter.ts does).
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_MAXINSNS,
  BPF_RET,
  BPF_W,
  seccomp_data,
  sock_filter,
} from "@runsc-ts/abi";

/** A malformed program: the message names the instruction and what is wrong with it. */
export class BpfError extends Error {
  override readonly name = "BpfError";
}

/** A place in the program that jumps can target; bound once with `BpfAssembler.bind`. */
export class Label {
  constructor(readonly name: string) {}
}

/** A jump target: a label, or how many instructions to skip (0: the next one). */
export type Target = Label | number;

interface Insn {
  readonly code: number;
  readonly jt: Target;
  readonly jf: Target;
  /** For `ja`: its label. */
  readonly ja?: Label;
  readonly k: number;
}

/** The largest skip a conditional jump encodes. */
export const MAX_CONDITIONAL_JUMP = 255;

export class BpfAssembler {
  private readonly insns: Insn[] = [];
  private readonly bound = new Map<Label, number>();

  /** The number of instructions emitted so far. */
  get length(): number {
    return this.insns.length;
  }

  /** A new, unbound label. */
  label(name: string): Label {
    return new Label(name);
  }

  /** Binds `label` to the next instruction. */
  bind(label: Label): this {
    if (this.bound.has(label)) throw new BpfError(`label '${label.name}' is bound twice (instructions ${this.bound.get(label)} and ${this.insns.length})`);
    this.bound.set(label, this.insns.length);
    return this;
  }

  /** A = the 32-bit word at `offset` in struct seccomp_data. */
  ldAbs(offset: number): this {
    if (!Number.isInteger(offset) || offset < 0 || offset % 4 !== 0 || offset + 4 > seccomp_data.size) {
      throw new BpfError(`instruction ${this.insns.length}: load at offset ${offset} is not a 32-bit word of seccomp_data (${seccomp_data.size} bytes)`);
    }
    return this.emit(BPF_LD | BPF_W | BPF_ABS, 0, 0, offset);
  }

  /** A &= k. */
  and(k: number): this {
    return this.emit(BPF_ALU | BPF_AND | BPF_K, 0, 0, k);
  }

  /** if (A == k) goto jt else goto jf. */
  jeq(k: number, jt: Target, jf: Target): this {
    return this.emit(BPF_JMP | BPF_JEQ | BPF_K, jt, jf, k);
  }

  /** if (A > k) goto jt else goto jf (unsigned). */
  jgt(k: number, jt: Target, jf: Target): this {
    return this.emit(BPF_JMP | BPF_JGT | BPF_K, jt, jf, k);
  }

  /** if (A >= k) goto jt else goto jf (unsigned). */
  jge(k: number, jt: Target, jf: Target): this {
    return this.emit(BPF_JMP | BPF_JGE | BPF_K, jt, jf, k);
  }

  /** if (A & k) goto jt else goto jf. */
  jset(k: number, jt: Target, jf: Target): this {
    return this.emit(BPF_JMP | BPF_JSET | BPF_K, jt, jf, k);
  }

  /** goto label (32-bit offset). */
  ja(label: Label): this {
    this.insns.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, ja: label, k: 0 });
    return this;
  }

  /** return k (a SECCOMP_RET_* action). */
  ret(k: number): this {
    return this.emit(BPF_RET | BPF_K, 0, 0, k);
  }

  private emit(code: number, jt: Target, jf: Target, k: number): this {
    if (!Number.isInteger(k) || k < 0 || k > 0xffff_ffff) {
      throw new BpfError(`instruction ${this.insns.length}: constant ${k} is not a 32-bit unsigned integer`);
    }
    this.insns.push({ code, jt, jf, k });
    return this;
  }

  /** The program as an array of struct sock_filter, in host (little-endian) byte order. */
  assemble(): Uint8Array {
    const n = this.insns.length;
    if (n === 0) throw new BpfError("empty program");
    if (n > BPF_MAXINSNS) throw new BpfError(`program of ${n} instructions; the kernel takes at most ${BPF_MAXINSNS}`);
    const last = this.insns[n - 1] as Insn;
    if ((last.code & 0x07) !== BPF_RET) throw new BpfError(`instruction ${n - 1} is not a return: the program would fall off its end`);
    const out = new Uint8Array(n * sock_filter.size);
    const view = new DataView(out.buffer);
    const skip = (i: number, t: Target | undefined, max: number): number => {
      if (t === undefined) return 0;
      if (typeof t === "number") {
        if (!Number.isInteger(t) || t < 0 || t > max) throw new BpfError(`instruction ${i} skips ${t} instructions; a conditional jump skips 0 to ${max}`);
        if (i + 1 + t >= n) throw new BpfError(`instruction ${i} skips ${t} instructions, past the end of the program`);
        return t;
      }
      const at = this.bound.get(t);
      if (at === undefined) throw new BpfError(`instruction ${i} jumps to label '${t.name}', which is never bound`);
      if (at <= i) throw new BpfError(`instruction ${i} jumps back to label '${t.name}' (instruction ${at}): BPF jumps only forward`);
      if (at >= n) throw new BpfError(`instruction ${i} jumps to label '${t.name}' past the end of the program`);
      const d = at - i - 1;
      if (d > max) throw new BpfError(`instruction ${i} jumps to label '${t.name}' ${d} instructions ahead; a conditional jump reaches at most ${max} (jump to a nearby ja instead)`);
      return d;
    };
    this.insns.forEach((insn, i) => {
      const o = i * sock_filter.size;
      const k = insn.ja !== undefined ? skip(i, insn.ja, 0xffff_ffff) : insn.k;
      const conditional = (insn.code & 0x07) === BPF_JMP && insn.ja === undefined;
      view.setUint16(o + sock_filter.fields.code.offset, insn.code, true);
      view.setUint8(o + sock_filter.fields.jt.offset, conditional ? skip(i, insn.jt, MAX_CONDITIONAL_JUMP) : 0);
      view.setUint8(o + sock_filter.fields.jf.offset, conditional ? skip(i, insn.jf, MAX_CONDITIONAL_JUMP) : 0);
      view.setUint32(o + sock_filter.fields.k.offset, k, true);
    });
    return out;
  }
}
