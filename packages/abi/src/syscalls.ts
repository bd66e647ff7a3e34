/**
 * Syscall numbers by name and names by number (x86-64, from asm/unistd_64.h). The numbers
 * themselves are the generated `SYS_read`, `SYS_write`, ... constants.
 */
import { SYSCALL_NAMES } from "./gen/syscalls.js";

const nameByNumber = new Map<number, string>();
const numberByName = new Map<string, number>();
for (const [nr, name] of Object.entries(SYSCALL_NAMES)) {
  nameByNumber.set(Number(nr), name);
  numberByName.set(name, Number(nr));
}

/** The syscall's name without a prefix ("getppid"), or undefined if `nr` is not a syscall. */
export function syscallName(nr: number): string | undefined {
  return nameByNumber.get(nr);
}

/** The syscall's number ("getppid" -> 110), or undefined if there is no such syscall. */
export function syscallNumber(name: string): number | undefined {
  return numberByName.get(name);
}

/** The highest syscall number in the table. */
export const SYSCALL_MAX: number = Math.max(...nameByNumber.keys());
