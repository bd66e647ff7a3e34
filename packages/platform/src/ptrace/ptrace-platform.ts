/**
 * PtracePlatform: owns the zygote stub and the tracer run loop. One per process: ptrace
 * requests must come from the thread that started the zygote, and that is the thread that owns
 * kernel state (Node's main thread).
 *
 * Lifecycle: `PtracePlatform.start()` spawns the zygote (native/stub/stub.c: a new session,
 * PR_SET_PDEATHSIG, PTRACE_TRACEME, its own seccomp filter, then everything but the stub page
 * unmapped). `newAddressSpace()` injects a fork into the zygote. `close()` kills every stub.
 * PTRACE_O_EXITKILL kills them all if this process dies first.
 */
import { SYS_fork } from "@runsc-ts/abi";
import { native, nativeBuildDir } from "../native.js";
import type { Platform } from "../platform.js";
import { FdChannel, PtraceAddressSpace } from "./address-space.js";
import type { PtraceContext } from "./context.js";
import { Tracer } from "./tracer.js";

/** The stub binary built by native's install script. */
export const stubPath = `${nativeBuildDir}/stub/runsc-stub`;

/** Options of {@link PtracePlatform.start}. */
export interface PtraceOptions {
  /**
   * Bind each context to the tracer thread's current CPU when it switches to the application
   * (default true): a trapped syscall is then a local context switch, not a cross-CPU wakeup —
   * faster and far steadier on a busy machine (docs/architecture.md, "Platform"). The price:
   * contexts that compute without syscalls share the tracer's CPU instead of spreading out.
   */
  readonly pinContexts?: boolean;
}

let tracer: Tracer | undefined;
let current: PtracePlatform | undefined;

export class PtracePlatform implements Platform {
  readonly name = "ptrace";
  private readonly spaces = new Set<PtraceAddressSpace>();
  private readonly zygoteArgs = new BigUint64Array(6);
  private closed = false;

  private constructor(
    /** The zygote's pid: also the process group of every stub. */
    readonly zygote: number,
    private readonly tracer: Tracer,
    /** Our end of the stubs' channel: host FDs to map are sent here (FdChannel). */
    private readonly channel: FdChannel,
  ) {}

  /** Starts the platform (one per process at a time); the calling thread becomes the tracer. */
  static start(options: PtraceOptions = {}): PtracePlatform {
    if (current !== undefined) throw new Error("the ptrace platform is already running in this process");
    const { SOCK_SEQPACKET, SOCK_CLOEXEC } = native.constants;
    const [ours, theirs] = native.socketpair(SOCK_SEQPACKET | SOCK_CLOEXEC);
    let zygote: number;
    try {
      zygote = native.ptraceStart(stubPath, theirs);
    } catch (e) {
      native.close(ours);
      throw e;
    } finally {
      native.close(theirs);
    }
    native.ptraceSetPinning(options.pinContexts ?? true);
    tracer ??= new Tracer();
    current = new PtracePlatform(zygote, tracer, new FdChannel(ours));
    return current;
  }

  /** Every live address space, forks included (for tests and diagnostics). */
  get addressSpaces(): ReadonlySet<PtraceAddressSpace> {
    return this.spaces;
  }

  newAddressSpace(): { addressSpace: PtraceAddressSpace; context: PtraceContext } {
    if (this.closed) throw new Error("the ptrace platform is closed");
    const [r, pid] = native.ptraceInject(this.zygote, SYS_fork, this.zygoteArgs);
    if (pid <= 0) throw new Error(`fork of the zygote stub failed: ${String(r)}`);
    const as = new PtraceAddressSpace(pid, this.tracer, this.spaces, this.channel);
    try {
      return { addressSpace: as, context: as.newContext() };
    } catch (e) {
      as.destroy();
      throw e;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const as of [...this.spaces]) as.destroy();
    native.ptraceStop();
    this.channel.close();
    current = undefined;
  }
}
