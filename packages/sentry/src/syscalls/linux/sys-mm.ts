/** Memory: brk, mmap (anonymous, and private file mappings by copy), munmap, mprotect. */
import {
  EACCES,
  EBADF,
  EINVAL,
  ENODEV,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  PROT_READ,
  PROT_WRITE,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import { PAGE_SIZE, pageUp } from "../../mm/memory-manager.js";
import { isReg } from "../../vfs/stat.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

/** brk(2): returns the (possibly unchanged) break; never an errno. */
export function sysBrk(t: Task, a: SyscallArgs): SyscallValue {
  return t.mm.setBrk(a.pointer(0));
}

/**
 * mmap(2). File mappings are private copies: the range is mapped anonymous and filled from the
 * file, which is exactly MAP_PRIVATE's contract until someone writes the file afterwards (the
 * mapping does not see that). Shared writable file mappings are not supported yet (ENODEV).
 */
export async function sysMmap(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const addr = a.pointer(0);
  const length = a.ulong(1);
  const prot = a.int(2);
  const flags = a.int(3);
  const type = flags & MAP_TYPE;
  if (type !== MAP_PRIVATE && type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE) return EINVAL;
  if ((flags & MAP_ANONYMOUS) !== 0) return t.mm.mmap(addr, length, prot, flags);
  const offset = a.ulong(5);
  if (offset % PAGE_SIZE !== 0n) return EINVAL;
  const file = t.fdTable.get(a.int(4));
  if (file === undefined) return EBADF;
  if (!file.readable) return EACCES;
  if (type !== MAP_PRIVATE && (prot & PROT_WRITE) !== 0) {
    if (!file.writable) return EACCES;
    return ENODEV;
  }
  if (!isReg(file.inode.mode)) return ENODEV;
  const len = pageUp(length);
  if (len === 0n) return EINVAL;
  const flagsAnon = (flags & ~MAP_SHARED & ~MAP_TYPE) | MAP_PRIVATE | MAP_ANONYMOUS;
  const at = t.mm.mmap(addr, len, PROT_READ | PROT_WRITE, flagsAnon, file.vd.dentry.name);
  if (isLinuxError(at)) return at;
  // Copy the file's bytes in; past its end the mapping stays zero (Linux would SIGBUS there).
  const chunk = 1 << 20;
  for (let done = 0n; done < len; ) {
    const n = Number(len - done < BigInt(chunk) ? len - done : BigInt(chunk));
    const buf = new Uint8Array(n);
    const got = await file.pread(buf, Number(offset + done));
    if (isLinuxError(got)) {
      t.mm.munmap(at, len);
      return got;
    }
    if (got === 0) break;
    const w = t.mm.copyOut(at + done, buf.subarray(0, got));
    if (w !== undefined) {
      t.mm.munmap(at, len);
      return w;
    }
    done += BigInt(got);
    if (got < n) break;
  }
  if (prot !== (PROT_READ | PROT_WRITE)) {
    const p = t.mm.mprotect(at, len, prot);
    if (p !== undefined) {
      t.mm.munmap(at, len);
      return p;
    }
  }
  return at;
}

export function sysMunmap(t: Task, a: SyscallArgs): SyscallValue {
  return t.mm.munmap(a.pointer(0), a.ulong(1)) ?? 0;
}

export function sysMprotect(t: Task, a: SyscallArgs): SyscallValue {
  return t.mm.mprotect(a.pointer(0), a.ulong(1), a.int(2)) ?? 0;
}
