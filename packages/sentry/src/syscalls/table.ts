/**
 * The system call table: one entry per x86-64 syscall number, each with a support level, so that
 * what we implement, partly implement and refuse is data — printed by `runsc-ts help syscalls`
 * and the docs from this same source.
 *
 * The table is generic over the task type so that it carries no dependency on the kernel.
 */
import { ENOSYS, type LinuxError, SYSCALL_MAX, syscallName, syscallNumber } from "@runsc-ts/abi";
import type { SyscallArgs } from "./args.js";

/**
 * What a handler returns: the value for rax (a number or a 64-bit bigint), or a LinuxError
 * (returned to the application as -errno). Handlers never throw for an errno; an exception is a
 * sentry bug.
 */
export type SyscallValue = number | bigint | LinuxError;

export type SyscallHandler<T> = (t: T, args: SyscallArgs) => SyscallValue | Promise<SyscallValue>;

/** How completely a system call is implemented. */
export type SupportLevel = "supported" | "partial" | "unimplemented";

export interface SyscallEntry<T> {
  readonly number: number;
  readonly name: string;
  readonly support: SupportLevel;
  /** Absent for unimplemented calls, which fail with `errno`. */
  readonly handler?: SyscallHandler<T>;
  /** For unimplemented calls: the errno returned (ENOSYS unless Linux itself answers otherwise). */
  readonly errno: LinuxError;
  /** What is missing or different, for partial and unimplemented calls. */
  readonly note?: string;
}

export type EntrySpec<T> = Omit<SyscallEntry<T>, "number" | "errno"> & { errno?: LinuxError };

/** A fully implemented syscall. */
export function supported<T>(name: string, handler: SyscallHandler<T>): EntrySpec<T> {
  return { name, support: "supported", handler };
}

/** Implemented with documented gaps. */
export function partial<T>(name: string, handler: SyscallHandler<T>, note: string): EntrySpec<T> {
  return { name, support: "partial", handler, note };
}

/** Not implemented: always fails with `errno` (ENOSYS by default). */
export function unimplemented<T>(name: string, note: string, errno: LinuxError = ENOSYS): EntrySpec<T> {
  return { name, support: "unimplemented", errno, note };
}

export class SyscallTable<T> {
  private readonly entries: Array<SyscallEntry<T> | undefined>;

  /** Builds the table; throws on an unknown name or a name given twice (a sentry bug). */
  constructor(specs: ReadonlyArray<EntrySpec<T>>) {
    this.entries = new Array<SyscallEntry<T> | undefined>(SYSCALL_MAX + 1).fill(undefined);
    for (const s of specs) {
      const nr = syscallNumber(s.name);
      if (nr === undefined) throw new Error(`syscall table: unknown system call "${s.name}"`);
      if (this.entries[nr] !== undefined) throw new Error(`syscall table: "${s.name}" listed twice`);
      const entry: SyscallEntry<T> = { ...s, number: nr, errno: s.errno ?? ENOSYS };
      this.entries[nr] = entry;
    }
  }

  /**
   * The entry for a syscall number. Numbers the table does not list (and numbers that are not
   * syscalls at all) get an unimplemented entry answering ENOSYS.
   */
  lookup(nr: number): SyscallEntry<T> {
    const e = Number.isInteger(nr) && nr >= 0 && nr <= SYSCALL_MAX ? this.entries[nr] : undefined;
    if (e !== undefined) return e;
    return { number: nr, name: syscallName(nr) ?? `syscall_${nr}`, support: "unimplemented", errno: ENOSYS, note: "not implemented yet" };
  }

  /** Every x86-64 syscall with its support level, in number order (for reports). */
  report(): SyscallEntry<T>[] {
    const out: SyscallEntry<T>[] = [];
    for (let nr = 0; nr <= SYSCALL_MAX; nr++) {
      if (syscallName(nr) === undefined) continue;
      out.push(this.lookup(nr));
    }
    return out;
  }

  /** Counts per support level over every x86-64 syscall. */
  summary(): Record<SupportLevel, number> {
    const counts: Record<SupportLevel, number> = { supported: 0, partial: 0, unimplemented: 0 };
    for (const e of this.report()) counts[e.support]++;
    return counts;
  }
}

/** The compatibility report as text: one line per syscall. */
export function formatReport<T>(table: SyscallTable<T>): string {
  const lines = table.report().map((e) => {
    const level = e.support.padEnd(13);
    const errno = e.support === "unimplemented" ? ` (${e.errno.name})` : "";
    const note = e.note !== undefined ? `  ${e.note}` : "";
    return `${String(e.number).padStart(3)}  ${e.name.padEnd(24)} ${level}${errno}${note}`;
  });
  const s = table.summary();
  lines.push(`${s.supported} supported, ${s.partial} partial, ${s.unimplemented} unimplemented`);
  return lines.join("\n") + "\n";
}
