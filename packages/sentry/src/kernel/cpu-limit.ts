/**
 * RLIMIT_CPU (setrlimit(2)): SIGXCPU when the process's CPU time reaches the soft limit and every
 * second after that while it keeps running, SIGKILL at the hard limit. A soft limit of 0 counts
 * as one second, as on Linux. The clock is the process's CPU time as the host accounts its
 * threads, sampled like the other CPU-time timers (timers.ts).
 */
import { RLIMIT_CPU, SIGKILL, SIGXCPU, SI_KERNEL } from "@runsc-ts/abi";
import { INFINITY } from "./limits.js";
import { killInfo } from "./signals.js";
import { sendSignal } from "./task-signals.js";
import type { ThreadGroup } from "./thread-group.js";
import { IntervalTimer } from "./timers.js";

const SECOND = 1_000_000_000n;

/** (Re)arms `tg`'s RLIMIT_CPU timer from its limits: after they change, and for a new process. */
export function applyCpuLimit(tg: ThreadGroup): void {
  tg.timers.cpuLimit?.cancel();
  tg.timers.cpuLimit = undefined;
  const limit = tg.limits.get(RLIMIT_CPU);
  if (typeof limit !== "object" || !("cur" in limit)) return;
  const seconds = (v: bigint): bigint | undefined => (v === INFINITY ? undefined : (v === 0n ? 1n : v) * SECOND);
  const soft = seconds(limit.cur);
  const hard = seconds(limit.max);
  const first = soft !== undefined && (hard === undefined || soft < hard) ? soft : hard;
  if (first === undefined) return;
  const clock = (): bigint => tg.usage().runtime;
  const timer = new IntervalTimer(
    clock,
    () => {
      const now = clock();
      if (hard !== undefined && now >= hard) {
        sendSignal(tg, killInfo(SIGKILL, 0, 0, SI_KERNEL));
        return;
      }
      sendSignal(tg, killInfo(SIGXCPU, 0, 0, SI_KERNEL));
      timer.set(hard !== undefined && hard - now < SECOND ? hard - now : SECOND, 0n);
    },
    () => tg.tasks.size,
  );
  const now = clock();
  timer.set(first > now ? first - now : 1n, 0n);
  tg.timers.cpuLimit = timer;
}
