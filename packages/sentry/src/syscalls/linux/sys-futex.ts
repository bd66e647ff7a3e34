/** futex(2): WAIT, WAKE and their BITSET forms; the PI and requeue operations are ENOSYS. */
import {
  EAGAIN,
  EFAULT,
  EINVAL,
  ENOSYS,
  ERESTARTSYS,
  ETIMEDOUT,
  FUTEX_CLOCK_REALTIME,
  FUTEX_PRIVATE_FLAG,
  FUTEX_WAIT,
  FUTEX_WAIT_BITSET,
  FUTEX_WAKE,
  FUTEX_WAKE_BITSET,
  type LinuxError,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";
import { readTimespec } from "./sys-time.js";

const BITSET_MATCH_ANY = 0xffff_ffff;

/** A relative (WAIT) or absolute (WAIT_BITSET) timeout in ms from now; -1 for none. */
function timeoutMs(t: Task, addr: bigint, absolute: boolean, realtime: boolean): number | LinuxError {
  if (addr === 0n) return -1;
  const ns = readTimespec(t, addr);
  if (isLinuxError(ns)) return ns;
  if (!absolute) return Number(ns / 1_000_000n);
  const c = t.kernel.clock.now();
  const now = realtime ? BigInt(c.sec) * 1_000_000_000n + BigInt(c.nsec) : process.hrtime.bigint() - t.kernel.bootTime;
  return ns > now ? Number((ns - now) / 1_000_000n) : 0;
}

export async function sysFutex(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const addr = a.pointer(0);
  const op = a.int(1);
  const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  const val = a.uint(2);
  const isPrivate = (op & FUTEX_PRIVATE_FLAG) !== 0;
  if (addr % 4n !== 0n) return EINVAL;
  switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      const bitset = cmd === FUTEX_WAIT ? BITSET_MATCH_ANY : a.uint(5);
      if (bitset === 0) return EINVAL;
      const ms = timeoutMs(t, a.pointer(3), cmd === FUTEX_WAIT_BITSET, (op & FUTEX_CLOCK_REALTIME) !== 0);
      if (isLinuxError(ms)) return ms;
      const word = t.mm.copyIn(addr, 4);
      if (isLinuxError(word)) return EFAULT;
      if (new DataView(word.buffer).getUint32(0, true) !== val) return EAGAIN;
      if (ms === 0) return ETIMEDOUT;
      if (t.interrupter.interrupted) return ERESTARTSYS;
      return new Promise<SyscallValue>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const finish = (r: SyscallValue) => {
          clearTimeout(timer);
          remove();
          stopListening();
          resolve(r);
        };
        const remove = t.kernel.futexes.enqueue(t.mm.futexKey(addr, isPrivate), bitset, () => finish(0));
        const stopListening = t.interrupter.onInterrupt(() => finish(ERESTARTSYS));
        if (ms > 0) timer = setTimeout(() => finish(ETIMEDOUT), ms);
      });
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      const bitset = cmd === FUTEX_WAKE ? BITSET_MATCH_ANY : a.uint(5);
      if (bitset === 0) return EINVAL;
      return t.kernel.futexes.wake(t.mm.futexKey(addr, isPrivate), Math.max(0, a.int(2)), bitset);
    }
    default:
      return ENOSYS;
  }
}
