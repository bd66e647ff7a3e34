/** The route table: longest-prefix match over (destination, prefix) -> NIC and optional gateway. */
import type { IPAddress } from "../address.js";

export interface RouteEntry {
  destination: IPAddress;
  prefixLen: number;
  /** Next hop; absent for on-link destinations. */
  gateway?: IPAddress;
  nicId: number;
}

export class RouteTable {
  private entries: RouteEntry[] = [];

  add(e: RouteEntry): void {
    this.entries.push(e);
    // Longest prefix first; stable for equal lengths, so earlier entries win ties.
    this.entries.sort((a, b) => b.prefixLen - a.prefixLen);
  }

  remove(pred: (e: RouteEntry) => boolean): number {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => !pred(e));
    return before - this.entries.length;
  }

  /** The most specific entry covering `dst` (optionally restricted to one NIC). */
  lookup(dst: IPAddress, nicId?: number): RouteEntry | undefined {
    return this.entries.find((e) => (nicId === undefined || e.nicId === nicId) && dst.inSubnet(e.destination, e.prefixLen));
  }

  list(): readonly RouteEntry[] {
    return this.entries;
  }
}
