/**
 * The six argument registers of a system call, with decoders that apply the kernel's own
 * truncation rules (an `int` argument is the low 32 bits, sign-extended; a pointer or size is the
 * whole 64-bit register).
 */
export class SyscallArgs {
  /** Raw register values (rdi, rsi, rdx, r10, r8, r9), each as an unsigned 64-bit bigint. */
  readonly raw: readonly [bigint, bigint, bigint, bigint, bigint, bigint];

  constructor(raw: readonly bigint[]) {
    if (raw.length !== 6) throw new RangeError(`a system call has 6 argument registers, got ${raw.length}`);
    this.raw = raw.map((r) => BigInt.asUintN(64, r)) as unknown as SyscallArgs["raw"];
  }

  private reg(i: number): bigint {
    const r = this.raw[i];
    if (r === undefined) throw new RangeError(`argument index ${i} out of range`);
    return r;
  }

  /** A C `int` (an FD, a flag word): the low 32 bits, signed. */
  int(i: number): number {
    return Number(BigInt.asIntN(32, this.reg(i)));
  }

  /** A C `unsigned int`: the low 32 bits. */
  uint(i: number): number {
    return Number(BigInt.asUintN(32, this.reg(i)));
  }

  /** A C `long` / `off_t` / `ssize_t`: the whole register, signed. */
  long(i: number): bigint {
    return BigInt.asIntN(64, this.reg(i));
  }

  /** A C `unsigned long` / `size_t`: the whole register. */
  ulong(i: number): bigint {
    return this.reg(i);
  }

  /** A user-space address. */
  pointer(i: number): bigint {
    return this.reg(i);
  }

  /**
   * A `size_t` that callers want as a number: values above 2^53 are clamped to
   * Number.MAX_SAFE_INTEGER (no real buffer is that large; the copy will fault first).
   */
  sizeT(i: number): number {
    const v = this.reg(i);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
}
