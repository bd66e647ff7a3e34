/**
 * Credential changes, as Linux computes them (kernel/sys.c, security/commoncap.c): the set*id
 * family's permission rules and their effect on capabilities, capset's rules, and execve's
 * capability transition. Each function takes the old credentials and returns the new ones or
 * an errno; nothing here has side effects.
 */
import {
  CAP_CHOWN,
  CAP_DAC_OVERRIDE,
  CAP_DAC_READ_SEARCH,
  CAP_FOWNER,
  CAP_FSETID,
  CAP_LINUX_IMMUTABLE,
  CAP_MAC_OVERRIDE,
  CAP_MKNOD,
  CAP_SETGID,
  CAP_SETPCAP,
  CAP_SETUID,
  EINVAL,
  EPERM,
  type LinuxError,
} from "@runsc-ts/abi";
import { type Credentials, capabilityBit } from "./credentials.js";

/** -1 as a uid_t/gid_t argument: leave the id as it is. */
export const UNCHANGED = 0xffff_ffff;

/** The capabilities that follow the filesystem uid (Linux's CAP_FS_MASK). */
const FS_CAPS = [CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_LINUX_IMMUTABLE, CAP_MAC_OVERRIDE, CAP_MKNOD].reduce(
  (m, c) => m | capabilityBit(c),
  0n,
);

/** Linux's NGROUPS_MAX. */
export const NGROUPS_MAX = 65536;

function validId(id: number): boolean {
  return id !== UNCHANGED && Number.isInteger(id) && id >= 0 && id < UNCHANGED;
}

/**
 * The capability side effects of a uid change (cap_emulate_setxuid and the fsuid fixup): leaving
 * uid 0 everywhere drops the permitted and effective sets (unless keepcaps), leaving euid 0 drops
 * the effective set, regaining euid 0 restores it from permitted; fsuid moves the filesystem
 * capabilities with it.
 */
function fixCapsForUidChange(old: Credentials, next: Credentials, keepCaps: boolean): Credentials {
  let { permitted, effective, ambient } = next;
  const wasRoot = old.uid === 0 || old.euid === 0 || old.suid === 0;
  const isRoot = next.uid === 0 || next.euid === 0 || next.suid === 0;
  if (wasRoot && !isRoot) {
    if (!keepCaps) {
      permitted = 0n;
      effective = 0n;
    }
    ambient = 0n;
  }
  if (old.euid === 0 && next.euid !== 0) effective = 0n;
  if (old.euid !== 0 && next.euid === 0) effective = permitted;
  if (old.fsuid === 0 && next.fsuid !== 0) effective &= ~FS_CAPS;
  if (old.fsuid !== 0 && next.fsuid === 0) effective |= permitted & FS_CAPS;
  return next.with({ permitted, effective, ambient });
}

const one = (v: number, ...of: number[]): boolean => of.includes(v);

/** setresuid(2) (and setresgid(2) with `gid`). */
export function setResIds(c: Credentials, kind: "uid" | "gid", r: number, e: number, s: number, keepCaps: boolean): Credentials | LinuxError {
  const cur = kind === "uid" ? [c.uid, c.euid, c.suid] : [c.gid, c.egid, c.sgid];
  for (const id of [r, e, s]) if (id !== UNCHANGED && !validId(id)) return EINVAL;
  const privileged = c.hasCapability(kind === "uid" ? CAP_SETUID : CAP_SETGID);
  if (!privileged && [r, e, s].some((id) => id !== UNCHANGED && !one(id, ...cur))) return EPERM;
  const [nr, ne, ns] = [r, e, s].map((id, i) => (id === UNCHANGED ? (cur[i] as number) : id)) as [number, number, number];
  if (kind === "gid") return c.with({ gid: nr, egid: ne, sgid: ns, fsgid: ne });
  return fixCapsForUidChange(c, c.with({ uid: nr, euid: ne, suid: ns, fsuid: ne }), keepCaps);
}

/** setreuid(2) (and setregid(2)). */
export function setReIds(c: Credentials, kind: "uid" | "gid", r: number, e: number, keepCaps: boolean): Credentials | LinuxError {
  const [ruid, euid, suid] = kind === "uid" ? [c.uid, c.euid, c.suid] : [c.gid, c.egid, c.sgid];
  if ((r !== UNCHANGED && !validId(r)) || (e !== UNCHANGED && !validId(e))) return EINVAL;
  const privileged = c.hasCapability(kind === "uid" ? CAP_SETUID : CAP_SETGID);
  if (!privileged) {
    if (r !== UNCHANGED && !one(r, ruid, euid)) return EPERM;
    if (e !== UNCHANGED && !one(e, ruid, euid, suid)) return EPERM;
  }
  const nr = r === UNCHANGED ? ruid : r;
  const ne = e === UNCHANGED ? euid : e;
  // The saved id follows the effective one when the real one is set, or the effective one is
  // set to something other than the old real id.
  const ns = r !== UNCHANGED || (e !== UNCHANGED && e !== ruid) ? ne : suid;
  if (kind === "gid") return c.with({ gid: nr, egid: ne, sgid: ns, fsgid: ne });
  return fixCapsForUidChange(c, c.with({ uid: nr, euid: ne, suid: ns, fsuid: ne }), keepCaps);
}

/** setuid(2) (and setgid(2)). */
export function setId(c: Credentials, kind: "uid" | "gid", id: number, keepCaps: boolean): Credentials | LinuxError {
  if (!validId(id)) return EINVAL;
  const [real, , saved] = kind === "uid" ? [c.uid, c.euid, c.suid] : [c.gid, c.egid, c.sgid];
  let next: Credentials;
  if (c.hasCapability(kind === "uid" ? CAP_SETUID : CAP_SETGID)) {
    next = kind === "uid" ? c.with({ uid: id, euid: id, suid: id, fsuid: id }) : c.with({ gid: id, egid: id, sgid: id, fsgid: id });
  } else if (id === real || id === saved) {
    next = kind === "uid" ? c.with({ euid: id, fsuid: id }) : c.with({ egid: id, fsgid: id });
  } else {
    return EPERM;
  }
  return kind === "uid" ? fixCapsForUidChange(c, next, keepCaps) : next;
}

/** setfsuid(2) (and setfsgid(2)): the new credentials (unchanged when not allowed). */
export function setFsId(c: Credentials, kind: "uid" | "gid", id: number): Credentials {
  const allowed = kind === "uid" ? [c.uid, c.euid, c.suid, c.fsuid] : [c.gid, c.egid, c.sgid, c.fsgid];
  if (!validId(id)) return c;
  if (!c.hasCapability(kind === "uid" ? CAP_SETUID : CAP_SETGID) && !allowed.includes(id)) return c;
  if (kind === "gid") return c.with({ fsgid: id });
  return fixCapsForUidChange(c, c.with({ fsuid: id }), true);
}

/** setgroups(2). */
export function setGroups(c: Credentials, groups: readonly number[]): Credentials | LinuxError {
  if (!c.hasCapability(CAP_SETGID)) return EPERM;
  if (groups.length > NGROUPS_MAX) return EINVAL;
  if (groups.some((g) => !validId(g))) return EINVAL;
  return c.with({ groups: [...groups].sort((a, b) => a - b) });
}

/** capset(2)'s rules for the calling thread's new sets. */
export function setCapabilities(c: Credentials, effective: bigint, permitted: bigint, inheritable: bigint): Credentials | LinuxError {
  if ((permitted & ~c.permitted) !== 0n) return EPERM;
  if ((effective & ~permitted) !== 0n) return EPERM;
  const mayRaise = c.hasCapability(CAP_SETPCAP) ? c.bounding : c.permitted;
  if ((inheritable & ~(c.inheritable | mayRaise)) !== 0n) return EPERM;
  if ((inheritable & ~(c.inheritable | c.bounding)) !== 0n) return EPERM;
  return c.with({ effective, permitted, inheritable, ambient: c.ambient & permitted & inheritable });
}

/**
 * execve's capability transition for a file without capabilities or set-id bits: a root process
 * (real or effective uid 0) gets its bounding set (and inheritable) permitted, effective when
 * its euid is 0; any other keeps only its ambient set.
 */
export function capabilitiesAfterExec(c: Credentials): Credentials {
  if (c.uid === 0 || c.euid === 0) {
    const permitted = c.bounding | c.inheritable | c.ambient;
    return c.with({ permitted, effective: c.euid === 0 ? permitted : c.ambient });
  }
  return c.with({ permitted: c.ambient, effective: c.ambient });
}
