/**
 * Signal dispositions and masks: rt_sigaction, rt_sigprocmask, sigaltstack. Bookkeeping only
 * until signal delivery lands (the dispositions are stored and reported back exactly).
 */
import {
  EFAULT,
  EINVAL,
  SIGKILL,
  SIGSTOP,
  SIG_BLOCK,
  SIG_SETMASK,
  SIG_UNBLOCK,
  SS_AUTODISARM,
  SS_DISABLE,
  isLinuxError,
  sigaction,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

const NSIG = 64;
const UNBLOCKABLE = (1n << BigInt(SIGKILL - 1)) | (1n << BigInt(SIGSTOP - 1));

/** rt_sigaction(2). */
export function sysRtSigaction(t: Task, a: SyscallArgs): SyscallValue {
  const sig = a.int(0);
  if (a.ulong(3) !== 8n) return EINVAL;
  if (sig < 1 || sig > NSIG) return EINVAL;
  const actAddr = a.pointer(1);
  const oldAddr = a.pointer(2);
  const table = t.tg.sigactions;
  const old = table[sig - 1] ?? new Uint8Array(sigaction.size);
  let next: Uint8Array | undefined;
  if (actAddr !== 0n) {
    if (sig === SIGKILL || sig === SIGSTOP) return EINVAL;
    const b = t.mm.copyIn(actAddr, sigaction.size);
    if (isLinuxError(b)) return EFAULT;
    next = b;
  }
  if (oldAddr !== 0n) {
    const w = t.mm.copyOut(oldAddr, old);
    if (w !== undefined) return w;
  }
  if (next !== undefined) table[sig - 1] = next;
  return 0;
}

/** rt_sigprocmask(2). */
export function sysRtSigprocmask(t: Task, a: SyscallArgs): SyscallValue {
  if (a.ulong(3) !== 8n) return EINVAL;
  const how = a.int(0);
  const setAddr = a.pointer(1);
  const oldAddr = a.pointer(2);
  let set: bigint | undefined;
  if (setAddr !== 0n) {
    const b = t.mm.copyIn(setAddr, 8);
    if (isLinuxError(b)) return EFAULT;
    set = new DataView(b.buffer).getBigUint64(0, true);
  }
  if (oldAddr !== 0n) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, t.signalMask, true);
    const w = t.mm.copyOut(oldAddr, b);
    if (w !== undefined) return w;
  }
  if (set === undefined) return 0;
  switch (how) {
    case SIG_BLOCK:
      t.signalMask |= set;
      break;
    case SIG_UNBLOCK:
      t.signalMask &= ~set;
      break;
    case SIG_SETMASK:
      t.signalMask = set;
      break;
    default:
      return EINVAL;
  }
  t.signalMask &= ~UNBLOCKABLE;
  return 0;
}

/** sigaltstack(2): remembers the alternate stack (24-byte stack_t). */
export function sysSigaltstack(t: Task, a: SyscallArgs): SyscallValue {
  const ssAddr = a.pointer(0);
  const oldAddr = a.pointer(1);
  if (oldAddr !== 0n) {
    const w = t.mm.copyOut(oldAddr, t.altStack ?? defaultAltStack());
    if (w !== undefined) return w;
  }
  if (ssAddr !== 0n) {
    const b = t.mm.copyIn(ssAddr, 24);
    if (isLinuxError(b)) return EFAULT;
    const flags = new DataView(b.buffer).getInt32(8, true);
    if ((flags & ~(SS_DISABLE | SS_AUTODISARM)) !== 0) return EINVAL;
    t.altStack = b;
  }
  return 0;
}

function defaultAltStack(): Uint8Array {
  const b = new Uint8Array(24);
  new DataView(b.buffer).setInt32(8, SS_DISABLE, true);
  return b;
}
