/**
 * eventfd(2): a 64-bit counter. read takes it (or 1 of it with EFD_SEMAPHORE) and blocks while it
 * is zero; write adds to it and blocks while the sum would pass 2^64 - 2.
 */
import { EAGAIN, EINVAL, EPOLLIN, EPOLLOUT, type LinuxError } from "@runsc-ts/abi";
import { type EventMask, WaitQueue } from "../../kernel/waiter.js";
import type { FileDescriptionImpl } from "../../vfs/file-description.js";

const MAX = 0xffff_ffff_ffff_fffen;

export class EventFd implements FileDescriptionImpl {
  readonly seekable = false;
  readonly waitQueue = new WaitQueue();

  constructor(
    private value: bigint,
    private readonly semaphore: boolean,
  ) {}

  read(dst: Uint8Array): Promise<number | LinuxError> {
    if (dst.length < 8) return Promise.resolve(EINVAL);
    if (this.value === 0n) return Promise.resolve(EAGAIN);
    const out = this.semaphore ? 1n : this.value;
    this.value -= out;
    new DataView(dst.buffer, dst.byteOffset, 8).setBigUint64(0, out, true);
    this.waitQueue.notify(EPOLLOUT);
    return Promise.resolve(8);
  }

  write(src: Uint8Array): Promise<number | LinuxError> {
    if (src.length < 8) return Promise.resolve(EINVAL);
    const add = new DataView(src.buffer, src.byteOffset, 8).getBigUint64(0, true);
    if (add === 0xffff_ffff_ffff_ffffn) return Promise.resolve(EINVAL);
    if (MAX - this.value < add) return Promise.resolve(EAGAIN);
    this.value += add;
    if (add > 0n) this.waitQueue.notify(EPOLLIN);
    return Promise.resolve(8);
  }

  readiness(mask: EventMask): EventMask {
    return mask & ((this.value > 0n ? EPOLLIN : 0) | (this.value < MAX ? EPOLLOUT : 0));
  }
}
