/**
 * The link layer's contract. A `LinkEndpoint` moves whole frames; the NIC above it is its
 * single `LinkDispatcher`. Frames of a "none" link are bare IP packets (the version nibble
 * says which); frames of an "ethernet" link start with an Ethernet II header.
 *
 * Ownership: a frame passed to `writePackets` belongs to the link from then on (the caller
 * must not modify it). A frame delivered to `deliverFrame` is only valid during the call; a
 * layer that keeps bytes copies them.
 *
 * Concurrency: single-threaded; endpoints never deliver inbound frames re-entrantly from
 * inside `writePackets` (delivery that loops back goes through the clock).
 */
import type { LinkAddress } from "../address.js";
import type { NetError } from "../errors.js";

export type LinkHeaderKind = "none" | "ethernet";

export interface LinkDispatcher {
  deliverFrame(frame: Uint8Array): void;
}

/**
 * A frame that carries one large TCP segment for the link (or the kernel behind it) to cut
 * into `mss`-sized ones: generic segmentation offload. Only links that advertise
 * `gsoMaxBytes` are given such frames.
 */
export interface GsoInfo {
  readonly ipVersion: 4 | 6;
  /** Payload bytes per segment once cut. */
  readonly mss: number;
  /** Bytes of the IP header (the TCP header follows it). */
  readonly ipHeaderLength: number;
}

export interface LinkEndpoint {
  /** Largest network-layer packet the link carries (excluding any link header). */
  readonly mtu: number;
  /**
   * Largest TCP payload one GSO frame may carry; absent or 0 when the link cannot take them.
   * Wrappers (sniffer, impairment) do not pass it on, so they never see GSO frames.
   */
  readonly gsoMaxBytes?: number;
  readonly headerKind: LinkHeaderKind;
  /** The link's own address, for Ethernet links. */
  readonly linkAddress: LinkAddress | undefined;
  /** Sets (or with undefined, clears) the receiver of inbound frames. */
  attach(dispatcher: LinkDispatcher | undefined): void;
  /**
   * Queues frames for transmission; returns how many were accepted, or an error. With `gso`,
   * every frame is a GSO frame described by it (only on links with `gsoMaxBytes`).
   */
  writePackets(frames: readonly Uint8Array[], gso?: GsoInfo): number | NetError;
}
