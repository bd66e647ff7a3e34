/**
 * The initial process stack an ELF program starts with (Linux's create_elf_tables), built as
 * bytes to be copied to the top of the new stack:
 *
 *     high   execfn string ("AT_EXECFN"), then the envp and argv strings
 *            "x86_64" (AT_PLATFORM), 16 random bytes (AT_RANDOM)
 *            padding to 16 bytes
 *            auxv pairs ... AT_NULL
 *            envp pointers ... NULL
 *            argv pointers ... NULL
 *     sp ->  argc                                         (sp is 16-byte aligned)
 */
import { AUXV, E2BIG } from "@runsc-ts/abi";
import type { LinuxError } from "@runsc-ts/abi";

export interface AuxEntry {
  readonly type: number;
  readonly value: bigint;
}

export interface StackInput {
  /** Address one past the top of the stack (exclusive). Must be 16-byte aligned. */
  readonly top: bigint;
  readonly argv: readonly Uint8Array[];
  readonly envp: readonly Uint8Array[];
  /** The path execve was given (AT_EXECFN). */
  readonly execfn: Uint8Array;
  /** 16 random bytes for AT_RANDOM. */
  readonly random: Uint8Array;
  /** Entries before AT_RANDOM/AT_EXECFN/AT_PLATFORM, which are added here, and AT_NULL. */
  readonly auxv: readonly AuxEntry[];
  /** Upper bound on the whole block (the stack rlimit share Linux allows: 1/4 of RLIMIT_STACK). */
  readonly maxBytes: number;
}

export interface StackImage {
  /** The bytes for [sp, top). */
  readonly bytes: Uint8Array;
  readonly sp: bigint;
  readonly argvAddr: bigint;
  readonly envpAddr: bigint;
  readonly auxvAddr: bigint;
  /** Where the argument and environment strings are ([argStart, envEnd) is /proc/pid/cmdline+environ). */
  readonly argStart: bigint;
  readonly argEnd: bigint;
  readonly envStart: bigint;
  readonly envEnd: bigint;
}

const PLATFORM = new TextEncoder().encode("x86_64\0");

/** Lays out the initial stack. Returns E2BIG if it would exceed `maxBytes`. */
export function buildStack(input: StackInput): StackImage | LinuxError {
  if (input.top % 16n !== 0n) throw new RangeError("stack top must be 16-byte aligned");
  if (input.random.length !== 16) throw new RangeError("AT_RANDOM needs 16 bytes");
  const strBytes = (xs: readonly Uint8Array[]): number => xs.reduce((n, s) => n + s.length + 1, 0);
  const argBytes = strBytes(input.argv);
  const envBytes = strBytes(input.envp);
  const execfnBytes = input.execfn.length + 1;
  const auxCount = input.auxv.length + 4; // + AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL
  const ptrWords = 1 + input.argv.length + 1 + input.envp.length + 1 + 2 * auxCount;
  const stringsEnd = 8; // Linux keeps one NULL word at the very top
  const upper = stringsEnd + execfnBytes + envBytes + argBytes + PLATFORM.length + 16;
  const total = alignUp(upper, 16) + alignUp(ptrWords * 8, 16);
  if (total > input.maxBytes) return E2BIG;

  const top = input.top;
  // Strings, from the top down: execfn, then envp strings, then argv strings (so that argv
  // strings sit below envp strings and both read in order upwards, as on Linux).
  let cursor = top - BigInt(stringsEnd);
  const execfnAddr = (cursor -= BigInt(execfnBytes));
  const envStart = (cursor -= BigInt(envBytes));
  const argStart = (cursor -= BigInt(argBytes));
  const platformAddr = (cursor -= BigInt(PLATFORM.length));
  const randomAddr = (cursor -= 16n);
  cursor &= ~15n;
  const sp = (cursor - BigInt(ptrWords * 8)) & ~15n;

  const size = Number(top - sp);
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  const at = (addr: bigint): number => Number(addr - sp);
  const putStrings = (addr: bigint, xs: readonly Uint8Array[]): bigint[] => {
    const ptrs: bigint[] = [];
    let a = addr;
    for (const s of xs) {
      ptrs.push(a);
      bytes.set(s, at(a));
      a += BigInt(s.length + 1); // the NUL is already zero
    }
    return ptrs;
  };
  bytes.set(input.execfn, at(execfnAddr));
  const envPtrs = putStrings(envStart, input.envp);
  const argPtrs = putStrings(argStart, input.argv);
  bytes.set(PLATFORM, at(platformAddr));
  bytes.set(input.random, at(randomAddr));

  let w = 0;
  const word = (v: bigint): void => {
    dv.setBigUint64(w, v, true);
    w += 8;
  };
  word(BigInt(input.argv.length));
  const argvAddr = sp + 8n;
  for (const p of argPtrs) word(p);
  word(0n);
  const envpAddr = sp + BigInt(w);
  for (const p of envPtrs) word(p);
  word(0n);
  const auxvAddr = sp + BigInt(w);
  for (const e of input.auxv) {
    word(BigInt(e.type));
    word(e.value);
  }
  word(BigInt(AUXV.AT_RANDOM));
  word(randomAddr);
  word(BigInt(AUXV.AT_EXECFN));
  word(execfnAddr);
  word(BigInt(AUXV.AT_PLATFORM));
  word(platformAddr);
  word(BigInt(AUXV.AT_NULL));
  word(0n);
  return {
    bytes,
    sp,
    argvAddr,
    envpAddr,
    auxvAddr,
    argStart,
    argEnd: argStart + BigInt(argBytes),
    envStart,
    envEnd: envStart + BigInt(envBytes),
  };
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
