/**
 * A link over a TAP device: Ethernet II frames read from and written to a TAP descriptor opened
 * with IFF_TAP | IFF_NO_PI (platform's `native.tunOpen`, or one a parent process passes with
 * `--tap-fd`). The stack is a separate host on the TAP's wire: it has its own MAC address, and
 * the kernel's side of the device (with the address the host gives it) is its neighbour.
 *
 * This is one of the two places in the netstack that touch the host (the other is `service/`):
 * reading is driven by the platform's FdWatcher (a libuv poll on the descriptor, on this
 * thread's event loop), so frames arrive as ordinary event-loop callbacks and never re-enter a
 * stack call. A readable descriptor is drained in batches of `batch` frames (one native call per
 * batch), at most `maxBatchesPerWakeup` batches before yielding back to the loop, so a flood on
 * the wire cannot starve timers and RPC. Writes go out at once, one write(2) per frame; a TAP
 * write does not block (the kernel queues or drops), and a frame the kernel refuses is counted,
 * not retried: loss is TCP's business.
 *
 * Ownership: the endpoint owns the descriptor given to it and closes it in `close()`.
 */
import { native, type FdWatcher } from "@runsc-ts/platform";
import type { LinkAddress } from "../address.js";
import type { LinkDispatcher, LinkEndpoint } from "./endpoint.js";

/** Ethernet header bytes in front of every frame on a TAP. */
const ETHERNET_HEADER = 14;

export interface TapOptions {
  /** A TAP descriptor (IFF_TAP | IFF_NO_PI). The endpoint takes ownership. */
  fd: number;
  /** The stack's own MAC address on this wire (not the kernel device's). */
  linkAddress: LinkAddress;
  /** IP MTU; default 1500. Must not exceed the device's MTU. */
  mtu?: number;
  /** Frames per native read; default 64. */
  batch?: number;
  /** Batches read per wake-up before yielding to the event loop; default 8. */
  maxBatchesPerWakeup?: number;
  /** Called once if reading fails for good (the device went away); the link is then dead. */
  onError?: (err: Error) => void;
}

export interface TapStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames the kernel did not take (queue full, device down). */
  txDropped: number;
  /** Frames shorter than an Ethernet header. */
  rxRunts: number;
}

export class TapEndpoint implements LinkEndpoint {
  readonly headerKind = "ethernet" as const;
  readonly mtu: number;
  readonly linkAddress: LinkAddress;
  readonly stats: TapStats = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, txDropped: 0, rxRunts: 0 };
  private readonly fd: number;
  private readonly stride: number;
  private readonly buf: Uint8Array;
  private readonly lengths: Int32Array;
  private readonly maxBatches: number;
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly watcher: FdWatcher;
  private dispatcher: LinkDispatcher | undefined;
  private closed = false;

  constructor(opts: TapOptions) {
    this.fd = opts.fd;
    this.mtu = opts.mtu ?? 1500;
    this.linkAddress = opts.linkAddress;
    this.onError = opts.onError;
    const batch = opts.batch ?? 64;
    this.maxBatches = opts.maxBatchesPerWakeup ?? 8;
    // Room for a VLAN tag and then some: a frame longer than the stride is truncated by the
    // kernel and then dropped by the network layer's length checks.
    this.stride = this.mtu + ETHERNET_HEADER + 18;
    this.buf = new Uint8Array(this.stride * batch);
    this.lengths = new Int32Array(batch);
    native.setNonblock(this.fd, true);
    this.watcher = new native.FdWatcher(this.fd, (status) => this.onReadable(status));
  }

  attach(dispatcher: LinkDispatcher | undefined): void {
    if (this.closed) return;
    this.dispatcher = dispatcher;
    if (dispatcher === undefined) this.watcher.stop();
    else this.watcher.start(native.constants.POLL_READABLE);
  }

  writePackets(frames: readonly Uint8Array[]): number {
    if (this.closed) {
      this.stats.txDropped += frames.length;
      return 0;
    }
    let sent = 0;
    try {
      sent = native.writePackets(this.fd, frames);
    } catch {
      // EIO while the device is down, ENOBUFS...: a lost frame, as on a real wire.
      sent = 0;
    }
    for (let i = 0; i < sent; i++) this.stats.txBytes += (frames[i] as Uint8Array).length;
    this.stats.txFrames += sent;
    this.stats.txDropped += frames.length - sent;
    return frames.length;
  }

  /** Stops reading and closes the descriptor. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dispatcher = undefined;
    this.watcher.close();
    native.close(this.fd);
  }

  /** Whether the event loop is kept alive by this link (it is, while attached). */
  unref(): void {
    this.watcher.unref();
  }

  private onReadable(status: number): void {
    if (this.closed) return;
    if (status < 0) {
      this.fail(new Error(`TAP descriptor ${this.fd} reported an error (status ${status})`));
      return;
    }
    for (let b = 0; b < this.maxBatches; b++) {
      let n: number;
      try {
        n = native.readPackets(this.fd, this.buf, this.stride, this.lengths);
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      for (let i = 0; i < n; i++) {
        const len = this.lengths[i] as number;
        if (len === 0 && i === 0 && n === 1) {
          this.fail(new Error(`TAP descriptor ${this.fd} reached end of file`));
          return;
        }
        if (len < ETHERNET_HEADER) {
          this.stats.rxRunts++;
          continue;
        }
        this.stats.rxFrames++;
        this.stats.rxBytes += len;
        const start = i * this.stride;
        this.dispatcher?.deliverFrame(this.buf.subarray(start, start + len));
        if (this.closed) return;
      }
      if (n < this.lengths.length) return;
    }
  }

  private fail(err: Error): void {
    this.watcher.stop();
    this.onError?.(err);
  }
}
