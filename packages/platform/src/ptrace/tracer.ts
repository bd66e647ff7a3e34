/**
 * The tracer's run loop: one per process, on the thread that owns kernel state (Node's main
 * thread). It is the ptrace tracer of every stub, and its wait is one native call that returns
 * the next report of any running context, or LOOP when libuv has I/O ready or a timer due (see
 * docs/architecture.md, "Platform").
 *
 * States: **idle** (no context running; the native idle watcher wakes us through
 * `tracerSetIdleCallback` if a stopped context is killed from outside) and **driving** (an
 * async loop: wait → deliver the event to its context → one microtask hop so the woken task can
 * answer and resume → wait again). Driving yields to the event loop with setImmediate when the
 * native wait says so; it goes idle when nothing runs.
 *
 * Concurrency: everything here runs on the tracer thread. `running` and each context's state
 * change only in `resumed` (called by a context right after its native resume) and `deliver`.
 */
import { native } from "../native.js";
import type { PtraceContext } from "./context.js";

const C = native.ptraceConstants;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Tracer {
  private readonly out = new Int32Array(3);
  private readonly contexts = new Map<number, PtraceContext>();
  /** Contexts resumed whose next report has not been delivered. */
  private running = 0;
  private driving = false;
  private scheduled = false;
  private readonly driveNow = (): void => {
    this.scheduled = false;
    void this.drive();
  };

  constructor() {
    native.tracerSetIdleCallback(() => this.kick());
  }

  register(ctx: PtraceContext): void {
    this.contexts.set(ctx.tid, ctx);
  }

  /** Forgets a context whose host thread is gone (its report was collected or it was reaped). */
  unregister(ctx: PtraceContext, wasRunning: boolean): void {
    if (this.contexts.get(ctx.tid) === ctx) this.contexts.delete(ctx.tid);
    if (wasRunning) this.running--;
  }

  /** Called by a context right after it resumed its host thread. */
  resumed(): void {
    this.running++;
    this.kick();
  }

  /** Makes sure the run loop will look for reports (soon, from a microtask). */
  kick(): void {
    if (this.driving || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.driveNow);
  }

  private async drive(): Promise<void> {
    if (this.driving) return;
    this.driving = true;
    try {
      for (;;) {
        const kind = native.ptraceWait(this.out, true);
        if (kind === C.EVENT_NONE) {
          // A task that just got its event may be a few microtasks from resuming.
          for (let hop = 0; hop < 3 && this.running === 0; hop++) await null;
          if (this.running > 0) continue;
          native.ptraceIdle();
          return;
        }
        if (kind === C.EVENT_LOOP) {
          await yieldToLoop();
          continue;
        }
        const ctx = this.deliver(kind);
        await null;
        // If the woken task has not resumed after one hop it is busy (an async handler) or
        // blocked: let its microtasks and the event loop run before blocking for the others.
        if (ctx !== undefined && ctx.awaitingHandler && this.running > 0) await yieldToLoop();
      }
    } catch (e) {
      // A failed wait is a platform bug: every pending switchToApp() rejects with it (the
      // sentry then fails the sandbox loudly); the Node process itself does not go down.
      for (const ctx of this.contexts.values()) ctx.fail(e);
      process.emitWarning(`ptrace platform: the tracer's wait failed: ${String(e)}`);
    } finally {
      this.driving = false;
    }
  }

  private deliver(kind: number): PtraceContext | undefined {
    const tid = this.out[0] ?? 0;
    const detail = this.out[2] ?? 0;
    const ctx = this.contexts.get(tid);
    if (ctx === undefined) return undefined;  // the zygote, or a tracee never registered
    if (ctx.state === "running") this.running--;
    ctx.report(kind, detail);
    if (kind === C.EVENT_EXIT || kind === C.EVENT_KILLED) this.contexts.delete(tid);
    return ctx;
  }
}
