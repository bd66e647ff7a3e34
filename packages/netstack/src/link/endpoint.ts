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

export interface LinkEndpoint {
  /** Largest network-layer packet the link carries (excluding any link header). */
  readonly mtu: number;
  readonly headerKind: LinkHeaderKind;
  /** The link's own address, for Ethernet links. */
  readonly linkAddress: LinkAddress | undefined;
  /** Sets (or with undefined, clears) the receiver of inbound frames. */
  attach(dispatcher: LinkDispatcher | undefined): void;
  /** Queues frames for transmission; returns how many were accepted, or an error. */
  writePackets(frames: readonly Uint8Array[]): number | NetError;
}
