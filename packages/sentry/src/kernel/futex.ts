/**
 * Futexes (futex(2)): wait queues keyed by the memory a futex word lives in. A private futex
 * (FUTEX_PRIVATE_FLAG, or any word in private memory) is keyed by (memory manager, address); a
 * word in a shared mapping by (the mapped object, offset in it), so processes that map the same
 * file, or share an anonymous mapping across fork, wait and wake on the same queue.
 *
 * WAIT checks the word and sleeps atomically with respect to WAKE because both run on the
 * kernel thread with no await between the check and the enqueue.
 */
import type { FutexKey } from "../mm/memory-manager.js";

interface Waiter {
  readonly bitset: number;
  wake(): void;
}

export class FutexManager {
  private readonly queues = new Map<object | string, Map<bigint, Waiter[]>>();

  /** Enqueues a waiter on `key`; returns a function that removes it again. */
  enqueue(key: FutexKey, bitset: number, wake: () => void): () => void {
    let byAddr = this.queues.get(key.space);
    if (byAddr === undefined) {
      byAddr = new Map();
      this.queues.set(key.space, byAddr);
    }
    let q = byAddr.get(key.offset);
    if (q === undefined) {
      q = [];
      byAddr.set(key.offset, q);
    }
    const w: Waiter = { bitset, wake };
    q.push(w);
    return () => {
      const list = byAddr.get(key.offset);
      if (list === undefined) return;
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
      this.prune(key, byAddr, list);
    };
  }

  /** Wakes up to `n` waiters on `key` whose bitset intersects `bitset`. Returns how many. */
  wake(key: FutexKey, n: number, bitset: number): number {
    const byAddr = this.queues.get(key.space);
    const q = byAddr?.get(key.offset);
    if (byAddr === undefined || q === undefined) return 0;
    let woken = 0;
    for (let i = 0; i < q.length && woken < n; ) {
      const w = q[i] as Waiter;
      if ((w.bitset & bitset) === 0) {
        i++;
        continue;
      }
      q.splice(i, 1);
      w.wake();
      woken++;
    }
    this.prune(key, byAddr, q);
    return woken;
  }

  private prune(key: FutexKey, byAddr: Map<bigint, Waiter[]>, q: Waiter[]): void {
    if (q.length > 0) return;
    byAddr.delete(key.offset);
    if (byAddr.size === 0) this.queues.delete(key.space);
  }
}
