/**
 * Fragment reassembly for IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5), with
 * bounded memory and an overlap policy
 * in the spirit of RFC 5722: a fragment that overlaps another (and is not an exact duplicate)
 * poisons the whole datagram — it is dropped, and later fragments with the same key are
 * discarded until the key's timer expires. An exact duplicate (same offset, length and bytes)
 * is ignored on its own, since links do duplicate frames.
 *
 * Other rejections (each drops the datagram): a non-final fragment whose length is not a
 * multiple of 8, a fragment ending past 65535 bytes of payload, or fragments that disagree on
 * the total length.
 *
 * Bounds: at most `maxDatagrams` datagrams in progress and `maxBytes` bytes held in total; a
 * fragment that would exceed either is dropped. Each datagram has `timeoutMs` (Linux's
 * ipfrag_time is 30 s) from its first fragment to complete.
 */
import type { Cancel, Clock } from "../../clock.js";

/** The counters a reassembler updates (a subset of the IPv4 and IPv6 stats trees). */
export interface ReassemblyCounters {
  fragmentsReceived: number;
  reassembled: number;
  reassemblyOverlap: number;
  reassemblyDuplicate: number;
  reassemblyMalformed: number;
  reassemblyTimeout: number;
  reassemblyLimit: number;
}

/** One fragment, described independently of the IP version. */
export interface FragmentInfo {
  /** Identifies the datagram (addresses, identification, and for IPv4 the protocol). */
  key: string;
  /** Byte offset of `data` in the reassembled payload. */
  offset: number;
  /** More fragments follow. */
  more: boolean;
  data: Uint8Array;
  /** Headers to put in front of the reassembled payload (taken from the offset-0 fragment). */
  header: Uint8Array;
  /** Largest allowed end offset of the payload. */
  maxEnd: number;
}

export interface ReassemblyConfig {
  timeoutMs: number;
  maxDatagrams: number;
  maxBytes: number;
}

export const DEFAULT_REASSEMBLY_CONFIG: ReassemblyConfig = { timeoutMs: 30_000, maxDatagrams: 256, maxBytes: 4 * 1024 * 1024 };

interface Fragment {
  start: number;
  end: number;
  data: Uint8Array;
}

interface Datagram {
  key: string;
  fragments: Fragment[];
  /** Payload length, once the last fragment (MF=0) has been seen. */
  total: number | undefined;
  held: number;
  /** Header of the fragment at offset 0 (for delivery and ICMP quoting). */
  firstHeader: Uint8Array | undefined;
  poisoned: boolean;
  cancelTimer: Cancel;
}

export interface Reassembled {
  /** Header of the first fragment (total length and fragment fields are stale). */
  header: Uint8Array;
  payload: Uint8Array;
}

export class Reassembler {
  private readonly datagrams = new Map<string, Datagram>();
  private heldBytes = 0;

  constructor(
    private readonly clock: Clock,
    private readonly stats: ReassemblyCounters,
    private readonly config: ReassemblyConfig = DEFAULT_REASSEMBLY_CONFIG,
    /** Called on timeout when the first fragment had arrived (for ICMP time exceeded). */
    private readonly onTimeout: (firstHeaderAndData: Uint8Array) => void = () => {},
  ) {}

  get inProgress(): number {
    return this.datagrams.size;
  }

  get bytesHeld(): number {
    return this.heldBytes;
  }

  /** Accepts one fragment; returns the whole datagram when it completes. */
  add(v: FragmentInfo): Reassembled | undefined {
    this.stats.fragmentsReceived++;
    const key = v.key;
    const start = v.offset;
    const data = v.data;
    const end = start + data.length;
    let d = this.datagrams.get(key);
    if (d?.poisoned === true) {
      this.stats.reassemblyOverlap++;
      return undefined;
    }
    const malformed = (v.more && (data.length === 0 || data.length % 8 !== 0)) || end > v.maxEnd;
    if (malformed) {
      this.stats.reassemblyMalformed++;
      if (d !== undefined) this.drop(d, false);
      return undefined;
    }
    if (d === undefined) {
      if (this.datagrams.size >= this.config.maxDatagrams || this.heldBytes + data.length > this.config.maxBytes) {
        this.stats.reassemblyLimit++;
        return undefined;
      }
      const nd: Datagram = { key, fragments: [], total: undefined, held: 0, firstHeader: undefined, poisoned: false, cancelTimer: () => {} };
      nd.cancelTimer = this.clock.schedule(this.config.timeoutMs, () => this.expire(nd));
      this.datagrams.set(key, nd);
      d = nd;
    } else if (this.heldBytes + data.length > this.config.maxBytes) {
      this.stats.reassemblyLimit++;
      return undefined;
    }
    if (!v.more) {
      if ((d.total !== undefined && d.total !== end) || d.fragments.some((f) => f.end > end)) {
        this.stats.reassemblyMalformed++;
        this.drop(d, false);
        return undefined;
      }
      d.total = end;
    } else if (d.total !== undefined && end > d.total) {
      this.stats.reassemblyMalformed++;
      this.drop(d, false);
      return undefined;
    }
    for (const f of d.fragments) {
      if (f.start >= end || start >= f.end) continue;
      if (f.start === start && f.end === end && bytesEqual(f.data, data)) {
        this.stats.reassemblyDuplicate++;
        return undefined;
      }
      this.stats.reassemblyOverlap++;
      this.drop(d, true);
      return undefined;
    }
    d.fragments.push({ start, end, data: Uint8Array.from(data) });
    d.held += data.length;
    this.heldBytes += data.length;
    if (start === 0) d.firstHeader = Uint8Array.from(v.header);
    return this.tryComplete(d);
  }

  private tryComplete(d: Datagram): Reassembled | undefined {
    if (d.total === undefined || d.firstHeader === undefined || d.held !== d.total) return undefined;
    // No overlaps were admitted, so held == total means the fragments tile [0, total).
    const payload = new Uint8Array(d.total);
    for (const f of d.fragments) payload.set(f.data, f.start);
    const header = d.firstHeader;
    this.drop(d, false);
    this.stats.reassembled++;
    return { header, payload };
  }

  private drop(d: Datagram, poison: boolean): void {
    this.heldBytes -= d.held;
    d.held = 0;
    d.fragments = [];
    if (poison) {
      d.poisoned = true;
      return; // keep the tombstone until the timer fires
    }
    d.cancelTimer();
    this.datagrams.delete(d.key);
  }

  private expire(d: Datagram): void {
    if (this.datagrams.get(d.key) !== d) return;
    if (!d.poisoned) {
      this.stats.reassemblyTimeout++;
      const first = d.fragments.find((f) => f.start === 0);
      if (first !== undefined && d.firstHeader !== undefined) {
        const quoted = new Uint8Array(d.firstHeader.length + Math.min(8, first.data.length));
        quoted.set(d.firstHeader);
        quoted.set(first.data.subarray(0, 8), d.firstHeader.length);
        this.onTimeout(quoted);
      }
    }
    this.heldBytes -= d.held;
    this.datagrams.delete(d.key);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
