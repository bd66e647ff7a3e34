/**
 * The x86-64 signal frame: what the kernel pushes on the user stack to run a handler, and what
 * rt_sigreturn(2) reads back (Linux's arch/x86/kernel/signal_64.c layout, our own code).
 *
 *     high  ┌──────────────────────────┐ ← the interrupted rsp, less the 128-byte red zone
 *           │ XSAVE area + FP_XSTATE_MAGIC2 (64-byte aligned)   │ ← uc_mcontext.fpstate
 *           ├──────────────────────────┤
 *           │ siginfo_t (128)           │ ← rsi
 *           │ struct ucontext (304)     │ ← rdx
 *     low   │ return address (restorer) │ ← rsp at handler entry; (rsp + 8) % 16 == 0
 *           └──────────────────────────┘
 */
import {
  EFAULT,
  EINVAL,
  ENOMEM,
  EPERM,
  FP_XSTATE_MAGIC1,
  FP_XSTATE_MAGIC2,
  type LinuxError,
  MINSIGSTKSZ,
  SIGBUS,
  SIGSEGV,
  SA_ONSTACK,
  SS_AUTODISARM,
  SS_DISABLE,
  SS_ONSTACK,
  UC_FP_XSTATE,
  UC_SIGCONTEXT_SS,
  UC_STRICT_RESTORE_SS,
  isLinuxError,
  readStruct,
  stack_t,
  ucontext,
  writeStruct,
} from "@runsc-ts/abi";
import { REG } from "@runsc-ts/platform";
import type { SigAction, SigSet, SignalInfo } from "./signals.js";

/** sigaltstack(2)'s stack: disabled unless `flags` lacks SS_DISABLE. */
export interface AltStack {
  readonly sp: bigint;
  readonly size: bigint;
  readonly flags: number;
}

export const NO_ALT_STACK: AltStack = Object.freeze({ sp: 0n, size: 0n, flags: SS_DISABLE });

/** What frame setup and sigreturn need of a task. */
export interface SignalContext {
  readonly context: {
    readonly regs: BigUint64Array;
    getFpState(): Uint8Array;
    setFpState(s: Uint8Array): void;
  };
  readonly mm: {
    copyIn(addr: bigint, len: number): Uint8Array | LinuxError;
    copyOut(addr: bigint, data: Uint8Array): void | LinuxError;
  };
  signalMask: SigSet;
  altStack: AltStack;
}

const RED_ZONE = 128n;
const UC_OFFSET = 8;
const INFO_OFFSET = UC_OFFSET + ucontext.size;
const FRAME_SIZE = INFO_OFFSET + 128;
const LEGACY_FP_SIZE = 512;
/** The XSAVE header's XSTATE_BV (the components present), right after the legacy area. */
const XSTATE_BV_OFFSET = 512;
/** Where the fpx_sw_bytes sit in the legacy area (fxsave's software-reserved bytes). */
const SW_BYTES_OFFSET = 464;
/** eflags bits a handler may change through its frame (Linux's FIX_EFLAGS). */
const FIX_EFLAGS = 0x50dd5n;
/** Cleared for the handler: the direction and trap flags, RF. */
const HANDLER_CLEARS = 0x10500n;

/** Whether `sp` is on the alternate stack (sigaltstack's SS_ONSTACK). */
export function onAltStack(s: AltStack, sp: bigint): boolean {
  if ((s.flags & SS_DISABLE) !== 0 || (s.flags & SS_AUTODISARM) !== 0) return false;
  return sp > s.sp && sp - s.sp <= s.size;
}

/** The stack_t sigaltstack reports: the flags say whether the caller is on the stack. */
export function altStackReport(s: AltStack, sp: bigint): Uint8Array {
  const b = new Uint8Array(stack_t.size);
  const disabled = (s.flags & SS_DISABLE) !== 0;
  const flags = disabled ? SS_DISABLE : (onAltStack(s, sp) ? SS_ONSTACK : 0) | (s.flags & SS_AUTODISARM);
  writeStruct(stack_t, b, 0, { ss_sp: disabled ? 0n : s.sp, ss_size: disabled ? 0n : s.size, ss_flags: flags });
  return b;
}

/** sigaltstack(2)'s update: the new stack, or the errno Linux gives. */
export function parseAltStack(current: AltStack, sp: bigint, b: Uint8Array): AltStack | LinuxError {
  const s = readStruct(stack_t, b);
  if (onAltStack(current, sp)) return EPERM;
  const mode = s.ss_flags & ~SS_AUTODISARM;
  if (mode !== 0 && mode !== SS_DISABLE && mode !== SS_ONSTACK) return EINVAL;
  if (mode === SS_DISABLE) return NO_ALT_STACK;
  if (s.ss_size < BigInt(MINSIGSTKSZ)) return ENOMEM;
  return { sp: s.ss_sp, size: s.ss_size, flags: s.ss_flags & SS_AUTODISARM };
}

/**
 * Pushes a frame for `info` handled by `act` and points the registers at the handler.
 * `oldMask` is the mask the handler's return restores. EFAULT if the stack cannot take the
 * frame (the caller then kills the task with SIGSEGV, as Linux does).
 */
export function setupFrame(t: SignalContext, info: SignalInfo, act: SigAction, oldMask: SigSet): LinuxError | undefined {
  const regs = t.context.regs;
  const interruptedSp = regs[REG.rsp] as bigint;
  const wasOnAltStack = onAltStack(t.altStack, interruptedSp);
  let sp = interruptedSp - RED_ZONE;
  const useAlt = (act.flags & SA_ONSTACK) !== 0 && (t.altStack.flags & SS_DISABLE) === 0 && !wasOnAltStack;
  if (useAlt) sp = t.altStack.sp + t.altStack.size;

  let fp: Uint8Array;
  try {
    fp = t.context.getFpState();
  } catch {
    return EFAULT;
  }
  const xsave = fp.length > LEGACY_FP_SIZE;
  const fpBytes = fp.length + (xsave ? 4 : 0);
  const fpAddr = (sp - BigInt(fpBytes)) & ~63n;
  const frame = ((fpAddr - BigInt(FRAME_SIZE)) & ~15n) - 8n;
  if (frame <= 0n) return EFAULT;

  const buf = new Uint8Array(Number(fpAddr - frame) + fpBytes);
  const dv = new DataView(buf.buffer);
  dv.setBigUint64(0, act.restorer, true);
  const stackFlags = (t.altStack.flags & SS_DISABLE) !== 0 ? SS_DISABLE : wasOnAltStack ? SS_ONSTACK : t.altStack.flags & SS_AUTODISARM;
  writeStruct(ucontext, buf, UC_OFFSET, {
    uc_flags: BigInt(UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | (xsave ? UC_FP_XSTATE : 0)),
    uc_link: 0n,
    uc_stack: { ss_sp: t.altStack.sp, ss_flags: stackFlags, ss_size: t.altStack.size },
    uc_mcontext: {
      ...savedRegisters(regs),
      cs: Number(regs[REG.cs]),
      ss: Number(regs[REG.ss]),
      oldmask: oldMask,
      cr2: faultAddress(info),
      fpstate: fpAddr,
    },
    uc_sigmask: oldMask,
  });
  buf.set(info.bytes.subarray(0, 128), INFO_OFFSET);
  const fpOff = Number(fpAddr - frame);
  buf.set(fp, fpOff);
  if (xsave) {
    const sw = fpOff + SW_BYTES_OFFSET;
    dv.setUint32(sw, FP_XSTATE_MAGIC1, true);
    dv.setUint32(sw + 4, fp.length + 4, true);
    dv.setBigUint64(sw + 8, dv.getBigUint64(fpOff + XSTATE_BV_OFFSET, true), true);
    dv.setUint32(sw + 16, fp.length, true);
    dv.setUint32(fpOff + fp.length, FP_XSTATE_MAGIC2, true);
  }
  if (t.mm.copyOut(frame, buf) !== undefined) return EFAULT;

  regs[REG.rdi] = BigInt(info.signo);
  regs[REG.rsi] = frame + BigInt(INFO_OFFSET);
  regs[REG.rdx] = frame + BigInt(UC_OFFSET);
  regs[REG.rax] = 0n;
  regs[REG.rsp] = frame;
  regs[REG.rip] = act.handler;
  regs[REG.eflags] = (regs[REG.eflags] as bigint) & ~HANDLER_CLEARS;
  regs[REG.orig_rax] = 0xffff_ffff_ffff_ffffn;
  if (useAlt && (t.altStack.flags & SS_AUTODISARM) !== 0) t.altStack = { ...t.altStack, flags: SS_DISABLE };
  return undefined;
}

/**
 * rt_sigreturn(2): restores the registers, signal mask, alternate stack and FP state saved by
 * `setupFrame` (the handler's `ret` popped the return address, so the frame is at rsp - 8).
 * Returns the restored rax (the syscall's "result"), or EFAULT for a frame that cannot be read.
 */
export function restoreFrame(t: SignalContext, unblockable: SigSet): bigint | LinuxError {
  const regs = t.context.regs;
  const frame = (regs[REG.rsp] as bigint) - 8n;
  const raw = t.mm.copyIn(frame + BigInt(UC_OFFSET), ucontext.size);
  if (isLinuxError(raw)) return EFAULT;
  const uc = readStruct(ucontext, raw);
  const sc = uc.uc_mcontext;
  for (const name of GENERAL) regs[REG[name]] = sc[name];
  regs[REG.eflags] = ((regs[REG.eflags] as bigint) & ~FIX_EFLAGS) | (sc.eflags & FIX_EFLAGS);
  regs[REG.orig_rax] = 0xffff_ffff_ffff_ffffn;
  t.signalMask = uc.uc_sigmask & ~unblockable;
  const alt = parseAltStack(t.altStack, regs[REG.rsp] as bigint, raw.subarray(16, 16 + stack_t.size));
  if (!isLinuxError(alt)) t.altStack = alt;
  if (sc.fpstate !== 0n) {
    const r = restoreFp(t, sc.fpstate);
    if (r !== undefined) return r;
  }
  return sc.rax;
}

function restoreFp(t: SignalContext, addr: bigint): LinuxError | undefined {
  let current: Uint8Array;
  try {
    current = t.context.getFpState();
  } catch {
    return EFAULT;
  }
  const legacy = t.mm.copyIn(addr, LEGACY_FP_SIZE);
  if (isLinuxError(legacy)) return EFAULT;
  const ldv = new DataView(legacy.buffer);
  const next = new Uint8Array(current);
  const size = ldv.getUint32(SW_BYTES_OFFSET + 16, true);
  let full: Uint8Array | undefined;
  if (ldv.getUint32(SW_BYTES_OFFSET, true) === FP_XSTATE_MAGIC1 && size === current.length) {
    const all = t.mm.copyIn(addr, size + 4);
    if (!isLinuxError(all) && new DataView(all.buffer).getUint32(size, true) === FP_XSTATE_MAGIC2) full = all.subarray(0, size);
  }
  if (full !== undefined) {
    next.set(full);
  } else {
    // A legacy (fxsave-only) image: x87 and SSE from the frame, the rest back to its init state.
    next.set(legacy);
    if (next.length > LEGACY_FP_SIZE) new DataView(next.buffer).setBigUint64(XSTATE_BV_OFFSET, 3n, true);
  }
  try {
    t.context.setFpState(next);
  } catch {
    return EFAULT; // the host refused the image (reserved bits): a corrupt frame
  }
  return undefined;
}

const GENERAL = ["r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx", "rdx", "rax", "rcx", "rsp", "rip"] as const;

function savedRegisters(regs: BigUint64Array): Record<(typeof GENERAL)[number] | "eflags", bigint> {
  const out = {} as Record<(typeof GENERAL)[number] | "eflags", bigint>;
  for (const name of GENERAL) out[name] = regs[REG[name]] as bigint;
  out.eflags = regs[REG.eflags] as bigint;
  return out;
}

/** cr2 for a fault: si_addr of a kernel-raised SIGSEGV/SIGBUS (the fault address), else 0. */
function faultAddress(info: SignalInfo): bigint {
  if ((info.signo !== SIGSEGV && info.signo !== SIGBUS) || info.code <= 0) return 0n;
  return new DataView(info.bytes.buffer, info.bytes.byteOffset).getBigUint64(16, true);
}
