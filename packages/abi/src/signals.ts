/**
 * Signal names. The numbers are the generated `SIGHUP`, ... constants; SIGRTMIN..SIGRTMAX are
 * the kernel's (32..64), not glibc's (which reserves the first two for itself).
 */
import { SIGNAL_NAMES, SIGRTMAX, SIGRTMIN } from "./gen/signals.js";

const numberByName = new Map<string, number>();
for (const [n, name] of Object.entries(SIGNAL_NAMES)) numberByName.set(name, Number(n));

/**
 * The name of signal `sig`: "SIGABRT" for 6 (the header's first name for a shared number),
 * "SIGRTMIN", "SIGRTMIN+3", ..., "SIGRTMAX" for the real-time signals, undefined for a number
 * that is not a signal.
 */
export function signalName(sig: number): string | undefined {
  if (!Number.isInteger(sig) || sig < 1 || sig > SIGRTMAX) return undefined;
  if (sig === SIGRTMAX) return "SIGRTMAX";
  if (sig > SIGRTMIN) return `SIGRTMIN+${sig - SIGRTMIN}`;
  return Object.hasOwn(SIGNAL_NAMES, sig) ? SIGNAL_NAMES[sig] : undefined;
}

/** The inverse of signalName ("SIGCHLD" -> 17, "SIGRTMIN+2" -> 34); undefined if unknown. */
export function signalNumber(name: string): number | undefined {
  if (name === "SIGRTMAX") return SIGRTMAX;
  const rt = /^SIGRTMIN\+([1-9][0-9]*)$/.exec(name);
  if (rt !== null) {
    const n = SIGRTMIN + Number(rt[1]);
    return n < SIGRTMAX ? n : undefined;
  }
  return numberByName.get(name);
}
