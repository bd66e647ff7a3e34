/**
 * Futexes (futex(2)): wait queues keyed by (memory, address). WAIT checks the word and sleeps
 * atomically with respect to WAKE because both run on the kernel thread with no await between
 * the check and the enqueue.
 */
import type { MemoryManager } from "../mm/memory-manager.js";

interface Waiter {
  readonly bitset: number;
  wake(): void;
}

export class FutexManager {
  /** Waiters per memory manager (private futexes; shared ones are keyed the same way for now). */
  private readonly queues = new WeakMap<MemoryManager, Map<bigint, Waiter[]>>();

  /** Enqueues a waiter on (mm, addr); returns a function that removes it again. */
  enqueue(mm: MemoryManager, addr: bigint, bitset: number, wake: () => void): () => void {
    let byAddr = this.queues.get(mm);
    if (byAddr === undefined) {
      byAddr = new Map();
      this.queues.set(mm, byAddr);
    }
    let q = byAddr.get(addr);
    if (q === undefined) {
      q = [];
      byAddr.set(addr, q);
    }
    const w: Waiter = { bitset, wake };
    q.push(w);
    return () => {
      const list = byAddr.get(addr);
      if (list === undefined) return;
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) byAddr.delete(addr);
    };
  }

  /** Wakes up to `n` waiters on (mm, addr) whose bitset intersects `bitset`. Returns how many. */
  wake(mm: MemoryManager, addr: bigint, n: number, bitset: number): number {
    const byAddr = this.queues.get(mm);
    const q = byAddr?.get(addr);
    if (q === undefined) return 0;
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
    if (q.length === 0) byAddr?.delete(addr);
    return woken;
  }
}
