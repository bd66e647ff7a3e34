/**
 * Port reservations per transport protocol. A reservation is (address or family wildcard,
 * port). On one port: the dual-stack wildcard conflicts with everything; the IPv4 wildcard
 * with IPv4 reservations; the IPv6-only wildcard with IPv6 ones; a specific address with
 * itself and its family's wildcards. (So AF_INET 0.0.0.0:80 and a V6ONLY [::]:80 coexist,
 * as on Linux.) Ephemeral ports are chosen from [32768, 61000) like Linux's default range,
 * starting at a seeded random offset and probing sequentially (RFC 6056 §3.3.1, alg. 1).
 */
import { wildcardKey, type AddressFamily, type IPAddress } from "../address.js";
import { ErrNoPortAvailable, ErrPortInUse, type NetError } from "../errors.js";
import type { Prng } from "../random.js";

export const EPHEMERAL_FIRST = 32768;
export const EPHEMERAL_LAST = 60999;

/** The reservation key of `address` (undefined or unspecified = the family's wildcard). */
export function reservationKey(address: IPAddress | undefined, family: AddressFamily): string {
  return address === undefined || address.isUnspecified() ? wildcardKey(family) : address.key;
}

function isV4Key(k: string): boolean {
  return k === "*4" || (!k.startsWith("*") && !k.includes(":"));
}

function isV6Key(k: string): boolean {
  return k === "*6" || (!k.startsWith("*") && k.includes(":"));
}

function conflicts(existing: string, wanted: string): boolean {
  if (existing === "*" || wanted === "*") return true;
  if (existing === wanted) return true;
  if (wanted === "*4") return isV4Key(existing);
  if (wanted === "*6") return isV6Key(existing);
  if (existing === "*4") return isV4Key(wanted);
  if (existing === "*6") return isV6Key(wanted);
  return false;
}

export class PortManager {
  /** protocol -> port -> reservation keys with counts. */
  private readonly byProto = new Map<number, Map<number, Map<string, number>>>();

  constructor(private readonly rng: Prng) {}

  isAvailable(protocol: number, address: IPAddress | undefined, port: number, family: AddressFamily = "dual"): boolean {
    const m = this.byProto.get(protocol)?.get(port);
    if (m === undefined) return true;
    const wanted = reservationKey(address, family);
    for (const k of m.keys()) if (conflicts(k, wanted)) return false;
    return true;
  }

  /**
   * Reserves `port` (or, with port 0, an ephemeral one) on `address` (undefined = the
   * family's wildcard). Returns the reserved port.
   */
  reserve(protocol: number, address: IPAddress | undefined, port: number, family: AddressFamily = "dual"): number | NetError {
    let p = port;
    if (p === 0) {
      const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
      const offset = this.rng.intBetween(0, span);
      let found = -1;
      for (let i = 0; i < span; i++) {
        const cand = EPHEMERAL_FIRST + ((offset + i) % span);
        if (this.isAvailable(protocol, address, cand, family)) {
          found = cand;
          break;
        }
      }
      if (found < 0) return ErrNoPortAvailable;
      p = found;
    } else if (!this.isAvailable(protocol, address, p, family)) {
      return ErrPortInUse;
    }
    let ports = this.byProto.get(protocol);
    if (ports === undefined) this.byProto.set(protocol, (ports = new Map()));
    let keys = ports.get(p);
    if (keys === undefined) ports.set(p, (keys = new Map()));
    const key = reservationKey(address, family);
    keys.set(key, (keys.get(key) ?? 0) + 1);
    return p;
  }

  release(protocol: number, address: IPAddress | undefined, port: number, family: AddressFamily = "dual"): void {
    const ports = this.byProto.get(protocol);
    const keys = ports?.get(port);
    if (ports === undefined || keys === undefined) return;
    const key = reservationKey(address, family);
    const n = (keys.get(key) ?? 0) - 1;
    if (n > 0) keys.set(key, n);
    else keys.delete(key);
    if (keys.size === 0) ports.delete(port);
  }
}
