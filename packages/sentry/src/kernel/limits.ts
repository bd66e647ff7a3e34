/**
 * Resource limits (getrlimit/setrlimit/prlimit64): a thread group's table, with Linux's defaults
 * for a new init process.
 */
import {
  EINVAL,
  EPERM,
  type LinuxError,
  RLIMIT_AS,
  RLIMIT_CORE,
  RLIMIT_CPU,
  RLIMIT_DATA,
  RLIMIT_FSIZE,
  RLIMIT_LOCKS,
  RLIMIT_MEMLOCK,
  RLIMIT_MSGQUEUE,
  RLIMIT_NICE,
  RLIMIT_NOFILE,
  RLIMIT_NPROC,
  RLIMIT_RSS,
  RLIMIT_RTPRIO,
  RLIMIT_RTTIME,
  RLIMIT_SIGPENDING,
  RLIMIT_STACK,
  RLIM_INFINITY,
} from "@runsc-ts/abi";

export interface Rlimit {
  readonly cur: bigint;
  readonly max: bigint;
}

/** RLIM_INFINITY as an unsigned 64-bit value. */
export const INFINITY = BigInt.asUintN(64, BigInt(RLIM_INFINITY));

/** The RLIMIT_* names, indexed by number (for the OCI spec's "RLIMIT_NOFILE" strings). */
export const RLIMIT_NAMES: Readonly<Record<string, number>> = {
  RLIMIT_CPU,
  RLIMIT_FSIZE,
  RLIMIT_DATA,
  RLIMIT_STACK,
  RLIMIT_CORE,
  RLIMIT_RSS,
  RLIMIT_NPROC,
  RLIMIT_NOFILE,
  RLIMIT_MEMLOCK,
  RLIMIT_AS,
  RLIMIT_LOCKS,
  RLIMIT_SIGPENDING,
  RLIMIT_MSGQUEUE,
  RLIMIT_NICE,
  RLIMIT_RTPRIO,
  RLIMIT_RTTIME,
};

const RLIM_NLIMITS = Object.keys(RLIMIT_NAMES).length;

export class Limits {
  private readonly table: Rlimit[];

  /** Linux's defaults for init (8 MiB stack, 1024 files, 8 MiB locked memory ...). */
  constructor(from?: Limits) {
    if (from !== undefined) {
      this.table = [...from.table];
      return;
    }
    this.table = Array.from({ length: RLIM_NLIMITS }, () => ({ cur: INFINITY, max: INFINITY }));
    this.table[RLIMIT_STACK] = { cur: 8n << 20n, max: INFINITY };
    this.table[RLIMIT_CORE] = { cur: 0n, max: INFINITY };
    this.table[RLIMIT_NOFILE] = { cur: 1024n, max: 4096n };
    this.table[RLIMIT_MEMLOCK] = { cur: 8n << 20n, max: 8n << 20n };
    this.table[RLIMIT_NPROC] = { cur: 63_000n, max: 63_000n };
    this.table[RLIMIT_SIGPENDING] = { cur: 63_000n, max: 63_000n };
    this.table[RLIMIT_MSGQUEUE] = { cur: 819_200n, max: 819_200n };
    this.table[RLIMIT_NICE] = { cur: 0n, max: 0n };
    this.table[RLIMIT_RTPRIO] = { cur: 0n, max: 0n };
  }

  get(resource: number): Rlimit | LinuxError {
    const l = this.table[resource];
    return l ?? EINVAL;
  }

  /** The soft limit as a number (clamped), for the common checks (RLIMIT_NOFILE). */
  cur(resource: number): number {
    const l = this.table[resource];
    if (l === undefined) return Number.MAX_SAFE_INTEGER;
    return l.cur > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(l.cur);
  }

  /**
   * setrlimit semantics: soft ≤ hard, and raising the hard limit needs CAP_SYS_RESOURCE
   * (`privileged`). Returns the old value.
   */
  set(resource: number, next: Rlimit, privileged: boolean): Rlimit | LinuxError {
    const old = this.table[resource];
    if (old === undefined) return EINVAL;
    if (next.cur > next.max) return EINVAL;
    if (next.max > old.max && !privileged) return EPERM;
    this.table[resource] = next;
    return old;
  }
}
