/**
 * Task credentials: the ids and capability sets that permission checks consult.
 *
 * A `Credentials` value is immutable, as Linux's `struct cred` is once published: a task that
 * changes its ids (setuid(2), capset(2), execve of a setuid binary) gets a new object, so a
 * credentials reference captured by an in-flight operation never changes under it across an
 * `await`. Derive a changed copy with `with()`.
 *
 * Capability sets are bigints with bit `CAP_x` set (cap numbers up to CAP_LAST_CAP = 40 do not
 * fit in 32-bit bitwise operations). Only the initial user namespace exists for now, so
 * `hasCapability` consults the effective set alone.
 */
import { CAP_LAST_CAP } from "@runsc-ts/abi";

/** Linux's KUID/KGID overflow value: what an id that does not map reads as. */
export const OVERFLOW_ID = 65534;

/** Every capability up to CAP_LAST_CAP. */
export const ALL_CAPABILITIES: bigint = (1n << BigInt(CAP_LAST_CAP + 1)) - 1n;

/** The bit for capability `cap` in a capability set. */
export function capabilityBit(cap: number): bigint {
  if (!Number.isInteger(cap) || cap < 0 || cap > CAP_LAST_CAP) throw new RangeError(`capability ${cap} out of range`);
  return 1n << BigInt(cap);
}

export interface CredentialFields {
  readonly uid: number;
  readonly euid: number;
  readonly suid: number;
  readonly fsuid: number;
  readonly gid: number;
  readonly egid: number;
  readonly sgid: number;
  readonly fsgid: number;
  /** Supplementary groups (setgroups(2)). */
  readonly groups: readonly number[];
  readonly permitted: bigint;
  readonly effective: bigint;
  readonly inheritable: bigint;
  readonly bounding: bigint;
  readonly ambient: bigint;
}

export class Credentials implements CredentialFields {
  readonly uid: number;
  readonly euid: number;
  readonly suid: number;
  readonly fsuid: number;
  readonly gid: number;
  readonly egid: number;
  readonly sgid: number;
  readonly fsgid: number;
  readonly groups: readonly number[];
  readonly permitted: bigint;
  readonly effective: bigint;
  readonly inheritable: bigint;
  readonly bounding: bigint;
  readonly ambient: bigint;

  constructor(f: CredentialFields) {
    for (const id of [f.uid, f.euid, f.suid, f.fsuid, f.gid, f.egid, f.sgid, f.fsgid, ...f.groups]) {
      if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new RangeError(`invalid uid/gid ${id}`);
    }
    this.uid = f.uid;
    this.euid = f.euid;
    this.suid = f.suid;
    this.fsuid = f.fsuid;
    this.gid = f.gid;
    this.egid = f.egid;
    this.sgid = f.sgid;
    this.fsgid = f.fsgid;
    this.groups = Object.freeze([...f.groups]);
    this.permitted = f.permitted & ALL_CAPABILITIES;
    this.effective = f.effective & ALL_CAPABILITIES;
    this.inheritable = f.inheritable & ALL_CAPABILITIES;
    this.bounding = f.bounding & ALL_CAPABILITIES;
    this.ambient = f.ambient & ALL_CAPABILITIES;
    Object.freeze(this);
  }

  /** uid 0 with every capability: the credentials of the container's init by default. */
  static root(): Credentials {
    return Credentials.forIds(0, 0, [], ALL_CAPABILITIES);
  }

  /** All four uids = `uid`, all four gids = `gid`; capability sets `caps` (none by default). */
  static forIds(uid: number, gid: number, groups: readonly number[] = [], caps = 0n): Credentials {
    return new Credentials({
      uid, euid: uid, suid: uid, fsuid: uid,
      gid, egid: gid, sgid: gid, fsgid: gid,
      groups,
      permitted: caps, effective: caps, inheritable: 0n, bounding: ALL_CAPABILITIES, ambient: 0n,
    });
  }

  /** A copy with `changes` applied. */
  with(changes: Partial<CredentialFields>): Credentials {
    return new Credentials({ ...this.fields(), ...changes });
  }

  fields(): CredentialFields {
    return {
      uid: this.uid, euid: this.euid, suid: this.suid, fsuid: this.fsuid,
      gid: this.gid, egid: this.egid, sgid: this.sgid, fsgid: this.fsgid,
      groups: this.groups,
      permitted: this.permitted, effective: this.effective, inheritable: this.inheritable,
      bounding: this.bounding, ambient: this.ambient,
    };
  }

  /** Whether capability `cap` (CAP_*) is in the effective set. */
  hasCapability(cap: number): boolean {
    return (this.effective & capabilityBit(cap)) !== 0n;
  }

  /** Whether `gid` is the filesystem gid or a supplementary group (Linux's in_group_p). */
  inGroup(gid: number): boolean {
    return this.fsgid === gid || this.groups.includes(gid);
  }
}
