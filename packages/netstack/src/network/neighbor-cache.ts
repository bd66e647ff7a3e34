/**
 * A bounded neighbor cache shared by ARP (RFC 826) and IPv6 Neighbor Discovery (RFC 4861):
 * IP address -> link address, with resolution on demand.
 *
 * Bounds: at most `cacheSize` entries (the least recently used non-static one is evicted),
 * at most `pendingPerEntry` packets queued behind an unresolved address (the oldest is
 * dropped, like Linux's unres_qlen). An unanswered solicitation is retried `maxRetries`
 * times, `retransmitMs` apart; then the queued packets are dropped and counted. Learned
 * entries expire after `reachableMs`. (NUD's STALE/DELAY/PROBE states are not modelled.)
 */
import type { IPAddress, LinkAddress } from "../address.js";
import type { Cancel, Clock } from "../clock.js";

export interface NeighborConfig {
  cacheSize: number;
  reachableMs: number;
  retransmitMs: number;
  maxRetries: number;
  pendingPerEntry: number;
}

export interface NeighborCounters {
  resolveFailures: number;
  queueDrops: number;
  cacheEvictions: number;
}

interface Entry {
  ip: IPAddress;
  mac: LinkAddress | undefined;
  expires: number;
  pending: Uint8Array[];
  retries: number;
  cancelRetry: Cancel | undefined;
  static: boolean;
}

export class NeighborCache {
  /** Insertion order doubles as LRU order (re-inserted on use). */
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly config: NeighborConfig,
    private readonly counters: NeighborCounters,
    /** Sends one solicitation for `ip`; false if it cannot (no source address). */
    private readonly solicit: (ip: IPAddress) => boolean,
    /** Transmits a resolved packet. */
    private readonly transmit: (mac: LinkAddress, packet: Uint8Array) => void,
  ) {}

  get size(): number {
    return this.cache.size;
  }

  addStatic(ip: IPAddress, mac: LinkAddress): void {
    this.put({ ip, mac, expires: Infinity, pending: [], retries: 0, cancelRetry: undefined, static: true });
  }

  /** The cached link address for `ip`, if resolved and not expired. */
  lookup(ip: IPAddress): LinkAddress | undefined {
    const e = this.cache.get(ip.key);
    if (e?.mac === undefined) return undefined;
    if (e.expires <= this.clock.nowMs()) {
      this.cache.delete(ip.key);
      return undefined;
    }
    return e.mac;
  }

  has(ip: IPAddress): boolean {
    return this.cache.has(ip.key);
  }

  /** Transmits `packet` to `ip`, resolving it first if needed. */
  send(ip: IPAddress, packet: Uint8Array): void {
    const mac = this.lookup(ip);
    if (mac !== undefined) {
      const e = this.cache.get(ip.key) as Entry;
      this.cache.delete(ip.key);
      this.cache.set(ip.key, e);
      this.transmit(mac, packet);
      return;
    }
    let e = this.cache.get(ip.key);
    if (e === undefined) {
      e = { ip, mac: undefined, expires: Infinity, pending: [], retries: 0, cancelRetry: undefined, static: false };
      this.put(e);
      this.request(e);
      if (this.cache.get(ip.key) !== e) {
        this.counters.queueDrops++;
        return;
      }
    }
    if (e.pending.length >= this.config.pendingPerEntry) {
      e.pending.shift();
      this.counters.queueDrops++;
    }
    e.pending.push(packet);
  }

  /**
   * Records `ip` at `mac`: updates an existing (non-static) entry, or creates one when
   * `create` (the RFC 826 "merge" rule: only when we were the target). Flushes any queue.
   */
  learn(ip: IPAddress, mac: LinkAddress, create: boolean): void {
    let e = this.cache.get(ip.key);
    if (e?.static === true) return;
    if (e === undefined) {
      if (!create) return;
      e = { ip, mac: undefined, expires: 0, pending: [], retries: 0, cancelRetry: undefined, static: false };
      this.put(e);
    }
    e.mac = mac;
    e.expires = this.clock.nowMs() + this.config.reachableMs;
    e.cancelRetry?.();
    e.cancelRetry = undefined;
    e.retries = 0;
    for (const p of e.pending.splice(0)) this.transmit(mac, p);
  }

  private request(e: Entry): void {
    if (!this.solicit(e.ip)) {
      this.fail(e);
      return;
    }
    e.cancelRetry = this.clock.schedule(this.config.retransmitMs, () => {
      e.cancelRetry = undefined;
      if (e.mac !== undefined) return;
      if (++e.retries > this.config.maxRetries) this.fail(e);
      else this.request(e);
    });
  }

  private fail(e: Entry): void {
    this.counters.resolveFailures++;
    this.counters.queueDrops += e.pending.length;
    e.pending = [];
    if (this.cache.get(e.ip.key) === e) this.cache.delete(e.ip.key);
  }

  private put(e: Entry): void {
    this.cache.delete(e.ip.key);
    while (this.cache.size >= this.config.cacheSize) {
      let victim: Entry | undefined;
      for (const x of this.cache.values()) {
        if (!x.static) {
          victim = x;
          break;
        }
      }
      if (victim === undefined) return;
      victim.cancelRetry?.();
      this.counters.queueDrops += victim.pending.length;
      this.cache.delete(victim.ip.key);
      this.counters.cacheEvictions++;
    }
    this.cache.set(e.ip.key, e);
  }
}
