/**
 * timerfd (timerfd_create(2)): a timer whose expirations are counted and read as a u64; and
 * signalfd (signalfd(2)): pending signals of a mask read as struct signalfd_siginfo.
 */
import { EAGAIN, EINVAL, EPOLLIN, type LinuxError, encodeStruct, readStruct, siginfo_sigchld, siginfo_timer, signalfd_siginfo, siginfo_sigfault, siginfo_rt, SIGCHLD, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SI_TIMER } from "@runsc-ts/abi";
import type { SigSet, SignalInfo } from "../../kernel/signals.js";
import type { IntervalTimer } from "../../kernel/timers.js";
import { type EventMask, WaitQueue } from "../../kernel/waiter.js";
import type { FileDescriptionImpl } from "../../vfs/file-description.js";

export class TimerFd implements FileDescriptionImpl {
  readonly seekable = false;
  readonly waitQueue = new WaitQueue();
  /** Expirations since the last read. */
  private count = 0n;
  /** The timer (Kernel-thread event-loop timer); set by the creator. */
  timer: IntervalTimer | undefined;

  constructor(readonly clock: number) {}

  /** The timer fired, `1 + missed` times. */
  expired(times: number): void {
    this.count += BigInt(times);
    this.waitQueue.notify(EPOLLIN);
  }

  /** A new setting discards the expirations not read yet (timerfd_settime). */
  reset(): void {
    this.count = 0n;
  }

  read(dst: Uint8Array): Promise<number | LinuxError> {
    if (dst.length < 8) return Promise.resolve(EINVAL);
    if (this.count === 0n) return Promise.resolve(EAGAIN);
    new DataView(dst.buffer, dst.byteOffset, 8).setBigUint64(0, this.count, true);
    this.count = 0n;
    return Promise.resolve(8);
  }

  readiness(mask: EventMask): EventMask {
    return mask & (this.count > 0n ? EPOLLIN : 0);
  }

  release(): void {
    this.timer?.cancel();
  }
}

/** Where a signalfd takes signals from: the reading task's queues (its own, then its process's). */
export interface SignalSource {
  /** Takes the next pending signal in `mask`, or undefined. */
  take(mask: SigSet): SignalInfo | undefined;
  /** Whether a signal in `mask` is pending. */
  pending(mask: SigSet): boolean;
  /** Notified with EPOLLIN when a signal is queued. */
  readonly queue: WaitQueue;
}

export class SignalFd implements FileDescriptionImpl {
  readonly seekable = false;

  constructor(
    public mask: SigSet,
    private readonly source: SignalSource,
  ) {}

  get waitQueue(): WaitQueue {
    return this.source.queue;
  }

  read(dst: Uint8Array): Promise<number | LinuxError> {
    if (dst.length < signalfd_siginfo.size) return Promise.resolve(EINVAL);
    let n = 0;
    while (n + signalfd_siginfo.size <= dst.length) {
      const info = this.source.take(this.mask);
      if (info === undefined) break;
      dst.set(toSignalfdInfo(info), n);
      n += signalfd_siginfo.size;
    }
    return Promise.resolve(n === 0 ? EAGAIN : n);
  }

  readiness(mask: EventMask): EventMask {
    return mask & (this.source.pending(this.mask) ? EPOLLIN : 0);
  }
}

const FAULTS = new Set([SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP]);

/** struct signalfd_siginfo from a siginfo_t: the fields of the union arm the signal uses. */
export function toSignalfdInfo(info: SignalInfo): Uint8Array {
  const b = info.bytes;
  const common = { ssi_signo: info.signo, ssi_errno: new DataView(b.buffer, b.byteOffset).getInt32(4, true), ssi_code: info.code };
  if (info.signo === SIGCHLD && info.code > 0) {
    const c = readStruct(siginfo_sigchld, b);
    return encodeStruct(signalfd_siginfo, { ...common, ssi_pid: c.si_pid, ssi_uid: c.si_uid, ssi_status: c.si_status, ssi_utime: c.si_utime, ssi_stime: c.si_stime });
  }
  if (FAULTS.has(info.signo) && info.code > 0) {
    const f = readStruct(siginfo_sigfault, b);
    return encodeStruct(signalfd_siginfo, { ...common, ssi_addr: f.si_addr });
  }
  if (info.code === SI_TIMER) {
    const tm = readStruct(siginfo_timer, b);
    return encodeStruct(signalfd_siginfo, { ...common, ssi_tid: tm.si_tid, ssi_overrun: tm.si_overrun, ssi_int: Number(BigInt.asIntN(32, tm.si_value)), ssi_ptr: tm.si_value });
  }
  const r = readStruct(siginfo_rt, b);
  return encodeStruct(signalfd_siginfo, { ...common, ssi_pid: r.si_pid, ssi_uid: r.si_uid, ssi_int: Number(BigInt.asIntN(32, r.si_value)), ssi_ptr: r.si_value });
}
