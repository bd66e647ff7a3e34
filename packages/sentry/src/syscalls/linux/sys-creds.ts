/**
 * Changing credentials: setuid/setgid and their re/res/fs forms, setgroups, capget/capset. The
 * rules are in kernel/auth/setid.ts; these handlers read the arguments and install the result.
 * Credentials are per task (per thread), as on Linux's system calls; glibc applies a change to
 * every thread itself.
 */
import {
  EFAULT,
  EINVAL,
  EPERM,
  ESRCH,
  type LinuxError,
  _LINUX_CAPABILITY_VERSION_1,
  _LINUX_CAPABILITY_VERSION_2,
  _LINUX_CAPABILITY_VERSION_3,
  isLinuxError,
  readStruct,
  user_cap_header,
  writeField,
} from "@runsc-ts/abi";
import type { Credentials } from "../../kernel/auth/credentials.js";
import { NGROUPS_MAX, setCapabilities, setFsId, setGroups, setId, setReIds, setResIds } from "../../kernel/auth/setid.js";
import type { Task } from "../../kernel/task.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

function install(t: Task, c: Credentials | LinuxError): SyscallValue {
  if (isLinuxError(c)) return c;
  t.creds = c;
  return 0;
}

export const sysSetuid = (t: Task, a: SyscallArgs): SyscallValue => install(t, setId(t.creds, "uid", a.uint(0), t.keepCaps));
export const sysSetgid = (t: Task, a: SyscallArgs): SyscallValue => install(t, setId(t.creds, "gid", a.uint(0), t.keepCaps));
export const sysSetreuid = (t: Task, a: SyscallArgs): SyscallValue => install(t, setReIds(t.creds, "uid", a.uint(0), a.uint(1), t.keepCaps));
export const sysSetregid = (t: Task, a: SyscallArgs): SyscallValue => install(t, setReIds(t.creds, "gid", a.uint(0), a.uint(1), t.keepCaps));
export const sysSetresuid = (t: Task, a: SyscallArgs): SyscallValue => install(t, setResIds(t.creds, "uid", a.uint(0), a.uint(1), a.uint(2), t.keepCaps));
export const sysSetresgid = (t: Task, a: SyscallArgs): SyscallValue => install(t, setResIds(t.creds, "gid", a.uint(0), a.uint(1), a.uint(2), t.keepCaps));

/** setfsuid(2): always returns the previous fsuid; changes it only when allowed. */
export function sysSetfsuid(t: Task, a: SyscallArgs): SyscallValue {
  const old = t.creds.fsuid;
  t.creds = setFsId(t.creds, "uid", a.uint(0));
  return old;
}

export function sysSetfsgid(t: Task, a: SyscallArgs): SyscallValue {
  const old = t.creds.fsgid;
  t.creds = setFsId(t.creds, "gid", a.uint(0));
  return old;
}

/** setgroups(2). */
export function sysSetgroups(t: Task, a: SyscallArgs): SyscallValue {
  const n = a.int(0);
  if (n < 0 || n > NGROUPS_MAX) return EINVAL;
  const raw = t.mm.copyIn(a.pointer(1), n * 4);
  if (isLinuxError(raw)) return EFAULT;
  const dv = new DataView(raw.buffer);
  const groups = Array.from({ length: n }, (_, i) => dv.getUint32(4 * i, true));
  return install(t, setGroups(t.creds, groups));
}

/** How many __user_cap_data_struct a capget/capset header's version takes (0: unknown version). */
function capDataCount(version: number): number {
  if (version === _LINUX_CAPABILITY_VERSION_1) return 1;
  if (version === _LINUX_CAPABILITY_VERSION_2 || version === _LINUX_CAPABILITY_VERSION_3) return 2;
  return 0;
}

/** Reads the header; for an unknown version, writes the version we prefer back and says EINVAL. */
function readCapHeader(t: Task, addr: bigint): { count: number; pid: number } | LinuxError {
  const raw = t.mm.copyIn(addr, user_cap_header.size);
  if (isLinuxError(raw)) return EFAULT;
  const h = readStruct(user_cap_header, raw);
  const count = capDataCount(h.version);
  if (count === 0) {
    writeField(user_cap_header, "version", raw, 0, _LINUX_CAPABILITY_VERSION_3);
    return t.mm.copyOut(addr, raw) ?? EINVAL;
  }
  if (h.pid < 0) return EINVAL;
  return { count, pid: h.pid };
}

/** capget(2). A null data pointer only checks (and, for an unknown version, reports) the version. */
export function sysCapget(t: Task, a: SyscallArgs): SyscallValue {
  const h = readCapHeader(t, a.pointer(0));
  // With no data pointer, capget only reports the preferred version: EINVAL is then success.
  if (a.pointer(1) === 0n) return h === EINVAL ? 0 : isLinuxError(h) ? h : 0;
  if (isLinuxError(h)) return h;
  const target = h.pid === 0 ? t : t.kernel.tasks.get(h.pid);
  if (target === undefined) return ESRCH;
  const c = target.creds;
  const out = new Uint8Array(12 * h.count);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < h.count; i++) {
    const shift = BigInt(32 * i);
    dv.setUint32(12 * i, Number((c.effective >> shift) & 0xffff_ffffn), true);
    dv.setUint32(12 * i + 4, Number((c.permitted >> shift) & 0xffff_ffffn), true);
    dv.setUint32(12 * i + 8, Number((c.inheritable >> shift) & 0xffff_ffffn), true);
  }
  return t.mm.copyOut(a.pointer(1), out) ?? 0;
}

/** capset(2): only the caller's own sets (pid 0 or its own tid). */
export function sysCapset(t: Task, a: SyscallArgs): SyscallValue {
  const h = readCapHeader(t, a.pointer(0));
  if (isLinuxError(h)) return h;
  if (h.pid !== 0 && h.pid !== t.tid) return EPERM;
  const raw = t.mm.copyIn(a.pointer(1), 12 * h.count);
  if (isLinuxError(raw)) return EFAULT;
  const dv = new DataView(raw.buffer);
  const sets = [0n, 0n, 0n];
  for (let i = 0; i < h.count; i++) {
    for (let k = 0; k < 3; k++) sets[k] = (sets[k] as bigint) | (BigInt(dv.getUint32(12 * i + 4 * k, true)) << BigInt(32 * i));
  }
  const [effective, permitted, inheritable] = sets as [bigint, bigint, bigint];
  return install(t, setCapabilities(t.creds, effective, permitted, inheritable));
}
