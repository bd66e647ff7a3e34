/**
 * A minimal loader for static, position-dependent ELF executables (ET_EXEC, x86-64), for the
 * platform's tests and benchmark only: it maps each PT_LOAD segment by injecting mmap into the
 * address space, copies the file bytes with process_vm_writev, applies the segment's
 * protection, maps a stack, and points the context's registers at the entry. No auxv, no argv:
 * the programs in native/programs take their scenario in %rdi.
 *
 * The sentry's ELF loader (a later issue) does the same through the same AddressSpace calls,
 * plus PIE/interpreter handling, the initial stack (argv, envp, auxv) and its own VMA map.
 */
import {
  ELFCLASS64,
  EM_X86_64,
  ET_EXEC,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PF_R,
  PF_W,
  PF_X,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  PT_LOAD,
} from "@runsc-ts/abi";
import type { AddressSpace, Context } from "../platform.js";
import { REG } from "./regs.js";

const PAGE = 0x1000n;
const down = (v: bigint): bigint => v & ~(PAGE - 1n);
const up = (v: bigint): bigint => (v + PAGE - 1n) & ~(PAGE - 1n);

export interface LoadOptions {
  /** The value of %rdi at the entry (the test programs' scenario). */
  readonly rdi?: bigint;
  readonly stackTop?: bigint;
  readonly stackSize?: bigint;
}

export interface LoadedImage {
  readonly entry: bigint;
  readonly stackTop: bigint;
  /** The mapped ranges [start, end) of the segments. */
  readonly segments: readonly (readonly [bigint, bigint])[];
}

/** Loads `image` into `as` and sets up `ctx` to start at its entry. Throws on a bad image. */
export function loadStaticElf(as: AddressSpace, ctx: Context, image: Uint8Array, options: LoadOptions = {}): LoadedImage {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < 64 || v.getUint32(0, false) !== 0x7f454c46) throw new Error("not an ELF file");
  if (image[4] !== ELFCLASS64 || v.getUint16(18, true) !== EM_X86_64) throw new Error("not an x86-64 ELF64 file");
  if (v.getUint16(16, true) !== ET_EXEC) throw new Error("not a static position-dependent executable (ET_EXEC)");
  const entry = v.getBigUint64(24, true);
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  const loads: { vaddr: bigint; offset: number; filesz: number; memsz: bigint; flags: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + 56 > image.length) throw new Error("truncated program headers");
    if (v.getUint32(o, true) !== PT_LOAD) continue;
    const offset = Number(v.getBigUint64(o + 8, true));
    const filesz = Number(v.getBigUint64(o + 32, true));
    if (offset + filesz > image.length) throw new Error("segment beyond the end of the file");
    loads.push({ flags: v.getUint32(o + 4, true), vaddr: v.getBigUint64(o + 16, true), offset, filesz, memsz: v.getBigUint64(o + 40, true) });
  }
  if (loads.length === 0) throw new Error("no PT_LOAD segment");
  const segments: [bigint, bigint][] = [];
  for (const s of loads) {
    const start = down(s.vaddr);
    const end = up(s.vaddr + s.memsz);
    const r = as.mmap(start, end - start, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    if (typeof r !== "bigint") throw new Error(`mmap of a segment at 0x${start.toString(16)}: ${r.name}`);
    segments.push([start, end]);
  }
  for (const s of loads) {
    if (s.filesz > 0 && as.write(s.vaddr, image.subarray(s.offset, s.offset + s.filesz)) !== s.filesz) {
      throw new Error(`short write of a segment at 0x${s.vaddr.toString(16)}`);
    }
  }
  for (const s of loads) {
    const prot = (s.flags & PF_R ? PROT_READ : 0) | (s.flags & PF_W ? PROT_WRITE : 0) | (s.flags & PF_X ? PROT_EXEC : 0);
    const start = down(s.vaddr);
    const e = as.mprotect(start, up(s.vaddr + s.memsz) - start, prot);
    if (e !== undefined) throw new Error(`mprotect of a segment: ${e.name}`);
  }
  const stackTop = options.stackTop ?? 0x7ffff0000000n;
  const stackSize = options.stackSize ?? 0x20000n;
  const sr = as.mmap(stackTop - stackSize, stackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  if (typeof sr !== "bigint") throw new Error(`mmap of the stack: ${sr.name}`);
  const r = ctx.regs;
  for (const i of [REG.rax, REG.rbx, REG.rcx, REG.rdx, REG.rsi, REG.rdi, REG.rbp, REG.r8, REG.r9, REG.r10, REG.r11, REG.r12, REG.r13, REG.r14, REG.r15]) {
    r[i] = 0n;
  }
  r[REG.rip] = entry;
  r[REG.rsp] = stackTop - 16n;
  r[REG.rdi] = options.rdi ?? 0n;
  r[REG.orig_rax] = BigInt.asUintN(64, -1n);
  r[REG.fs_base] = 0n;
  r[REG.gs_base] = 0n;
  return { entry, stackTop, segments };
}
