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
 * Offloads: when the device was opened with IFF_VNET_HDR, every frame carries a virtio_net_hdr
 * and the endpoint asks the kernel (TUNSETOFFLOAD) for partial checksums and large TCP segments
 * (TSO4/TSO6). Linux then hands over up to 64 KiB of a TCP stream as one segment (one read, one
 * trip through the stack, one ACK per two of them) instead of ~45; the endpoint completes the
 * partial checksum (virtio's NEEDS_CSUM: the field holds the pseudo-header sum) so the layers
 * above see an ordinary, fully checksummed packet and verify it as usual. The endpoint also
 * advertises `gsoMaxBytes`: TCP may hand it one large segment (a GSO burst) with its checksum
 * left partial, which goes out behind a TSO header for the kernel to cut into MSS-sized
 * segments. Other outbound frames get a zero header (no offload asked). Headers are gathered in
 * front of the frame by writev, without a copy.
 *
 * Ownership: the endpoint owns the descriptor given to it and closes it in `close()`.
 */
import { native, type FdWatcher } from "@runsc-ts/platform";
import type { LinkAddress } from "../address.js";
import { checksumAdd, checksumFinish } from "../header/checksum.js";
import type { GsoInfo, LinkDispatcher, LinkEndpoint } from "./endpoint.js";

/** Ethernet header bytes in front of every frame on a TAP. */
const ETHERNET_HEADER = 14;
/** struct virtio_net_hdr (the size TUNSETVNETHDRSZ defaults to). */
const VNET_HDR = 10;
const VNET_F_NEEDS_CSUM = 1;
const VNET_GSO_TCPV4 = 1;
const VNET_GSO_TCPV6 = 4;
/** The largest frame an offloading TAP hands over: a 64 KiB IP packet behind Ethernet. */
const MAX_OFFLOAD_FRAME = 65535 + ETHERNET_HEADER + 4;
const ZERO_VNET_HDR = new Uint8Array(VNET_HDR);

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
  /**
   * Whether frames carry a virtio_net_hdr (IFF_VNET_HDR). "auto" (the default) asks the device
   * (TUNGETIFF); a descriptor that is not a TUN/TAP device (a socket in tests) has none.
   */
  vnetHeader?: boolean | "auto";
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
  /** Large TCP segments the kernel handed over whole (offloading TAPs). */
  rxOffloaded: number;
  /** Frames with a virtio header that does not fit them (dropped). */
  rxBadVnet: number;
}

export class TapEndpoint implements LinkEndpoint {
  readonly headerKind = "ethernet" as const;
  readonly mtu: number;
  readonly linkAddress: LinkAddress;
  readonly stats: TapStats = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, txDropped: 0, rxRunts: 0, rxOffloaded: 0, rxBadVnet: 0 };
  /** Frames carry a virtio_net_hdr and the kernel may send large, partially checksummed ones. */
  readonly offloads: boolean;
  /** With offloads, the stack may hand over one large TCP segment for the kernel to cut (TSO). */
  readonly gsoMaxBytes: number;
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
    const tunFlags = deviceFlags(this.fd);
    const C = native.constants;
    this.offloads = opts.vnetHeader === "auto" || opts.vnetHeader === undefined ? tunFlags !== undefined && (tunFlags & C.IFF_VNET_HDR) !== 0 : opts.vnetHeader;
    // Only a real device takes offload requests (tests give sockets that carry the header).
    if (this.offloads && tunFlags !== undefined) native.tunSetOffload(this.fd, C.TUN_F_CSUM | C.TUN_F_TSO4 | C.TUN_F_TSO6);
    // A 64 KiB IP packet less the largest IP and TCP headers.
    this.gsoMaxBytes = this.offloads ? 65535 - 60 - 60 : 0;
    const batch = opts.batch ?? (this.offloads ? 16 : 64);
    this.maxBatches = opts.maxBatchesPerWakeup ?? 8;
    // Room for a VLAN tag and then some: a frame longer than the stride is truncated by the
    // kernel and then dropped by the network layer's length checks.
    this.stride = this.offloads ? VNET_HDR + MAX_OFFLOAD_FRAME : this.mtu + ETHERNET_HEADER + 18;
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

  writePackets(frames: readonly Uint8Array[], gso?: GsoInfo): number {
    if (this.closed) {
      this.stats.txDropped += frames.length;
      return 0;
    }
    let sent = 0;
    try {
      if (!this.offloads) sent = native.writePackets(this.fd, frames);
      else if (gso === undefined) sent = native.writePackets(this.fd, frames, ZERO_VNET_HDR);
      else for (const f of frames) sent += native.writePackets(this.fd, [f], gsoHeader(f, gso));
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
        const start = i * this.stride;
        let frame = this.buf.subarray(start, start + len);
        if (this.offloads) {
          const f = this.unwrapVnet(frame);
          if (f === undefined) continue;
          frame = f;
        }
        if (frame.length < ETHERNET_HEADER) {
          this.stats.rxRunts++;
          continue;
        }
        this.stats.rxFrames++;
        this.stats.rxBytes += frame.length;
        this.dispatcher?.deliverFrame(frame);
        if (this.closed) return;
      }
      if (n < this.lengths.length) return;
    }
  }

  /**
   * The frame behind a virtio_net_hdr, with a partial checksum completed: the 16-bit field at
   * csum_start + csum_offset holds the pseudo-header sum; the Internet checksum over everything
   * from csum_start is written there (0 becomes 0xffff, as Linux does, so UDP stays valid).
   */
  private unwrapVnet(raw: Uint8Array): Uint8Array | undefined {
    if (raw.length < VNET_HDR) {
      this.stats.rxRunts++;
      return undefined;
    }
    const frame = raw.subarray(VNET_HDR);
    const flags = raw[0] as number;
    if ((raw[1] as number) !== 0) this.stats.rxOffloaded++;
    if ((flags & VNET_F_NEEDS_CSUM) !== 0) {
      const start = (raw[6] as number) | ((raw[7] as number) << 8);
      const field = start + ((raw[8] as number) | ((raw[9] as number) << 8));
      if (start < ETHERNET_HEADER || field + 2 > frame.length) {
        this.stats.rxBadVnet++;
        return undefined;
      }
      const sum = checksumFinish(checksumAdd(0, frame, start, frame.length)) || 0xffff;
      frame[field] = sum >> 8;
      frame[field + 1] = sum & 0xff;
    }
    return frame;
  }

  private fail(err: Error): void {
    this.watcher.stop();
    this.onError?.(err);
  }
}

/** The IFF_* flags of the TUN/TAP device `fd` is attached to; undefined if it is not one. */
function deviceFlags(fd: number): number | undefined {
  try {
    return native.tunGetFlags(fd);
  } catch {
    return undefined;
  }
}

/**
 * The virtio_net_hdr for a GSO frame: TSO for IPv4 or IPv6, segments of `mss`, and a partial
 * checksum (the TCP checksum field holds the pseudo-header sum; the kernel finishes each
 * segment's). Fields are little-endian (legacy virtio on x86).
 */
function gsoHeader(frame: Uint8Array, gso: GsoInfo): Uint8Array {
  const h = new Uint8Array(VNET_HDR);
  const transport = ETHERNET_HEADER + gso.ipHeaderLength;
  const tcpHeader = (((frame[transport + 12] ?? 0x50) >> 4) & 0x0f) * 4;
  const put16 = (at: number, v: number): void => {
    h[at] = v & 0xff;
    h[at + 1] = (v >> 8) & 0xff;
  };
  h[0] = VNET_F_NEEDS_CSUM;
  h[1] = gso.ipVersion === 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
  put16(2, transport + tcpHeader);
  put16(4, gso.mss);
  put16(6, transport);
  put16(8, 16); // offsetof(struct tcphdr, check)
  return h;
}
