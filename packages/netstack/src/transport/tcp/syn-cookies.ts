/**
 * SYN cookies: when a listener's SYN queue is full, answer with a SYN-ACK whose ISS encodes
 * what we would have stored, and rebuild the connection from the client's ACK. Keeps a
 * flooded listener reachable without state per SYN.
 *
 * Encoding (our own, in the spirit of the classic scheme): ISS = t(5 bits) | m(3 bits) |
 * h(24 bits), where t is a 64-second time slot, m indexes a table of MSS values (the
 * largest not above the peer's), and h a keyed hash of the 4-tuple, the client's ISN, t
 * and m. A cookie is valid in its slot and the next. Window scaling, timestamps and SACK
 * cannot be carried, so a cookie connection runs without them.
 */
import type { IPAddress } from "../../address.js";
import { seq, type Seq } from "../../seqnum/seqnum.js";

export const COOKIE_MSS_TABLE = [536, 1024, 1220, 1360, 1440, 1460, 4312, 8960] as const;
const SLOT_MS = 64_000;

export interface CookieInput {
  local: IPAddress;
  localPort: number;
  remote: IPAddress;
  remotePort: number;
  /** The client's ISN (SEG.SEQ of its SYN). */
  clientIsn: number;
}

export class SynCookies {
  constructor(private readonly secret: readonly [number, number]) {}

  /** The cookie ISS for a SYN, and the MSS it promises. */
  make(nowMs: number, c: CookieInput, peerMss: number): { iss: Seq; mss: number } {
    let m = 0;
    for (let i = 0; i < COOKIE_MSS_TABLE.length; i++) if ((COOKIE_MSS_TABLE[i] ?? 0) <= peerMss) m = i;
    const t = slot(nowMs);
    const iss = ((t << 27) | (m << 24) | this.hash(c, t, m)) >>> 0;
    return { iss: seq(iss), mss: COOKIE_MSS_TABLE[m] ?? 536 };
  }

  /** Checks the cookie echoed in an ACK (SEG.ACK - 1); returns the MSS it encodes. */
  check(nowMs: number, c: CookieInput, cookie: number): number | undefined {
    const t = cookie >>> 27;
    const m = (cookie >>> 24) & 7;
    const now = slot(nowMs);
    if (t !== now && t !== ((now + 31) & 31)) return undefined;
    if ((cookie & 0xffffff) !== this.hash(c, t, m)) return undefined;
    return COOKIE_MSS_TABLE[m];
  }

  private hash(c: CookieInput, t: number, m: number): number {
    let h = this.secret[0] ^ 0x811c9dc5;
    const feed = (b: number): void => {
      h = Math.imul(h ^ (b & 0xff), 0x01000193) >>> 0;
    };
    for (const b of c.local.bytes) feed(b);
    for (const b of c.remote.bytes) feed(b);
    for (const v of [c.localPort >> 8, c.localPort, c.remotePort >> 8, c.remotePort, c.clientIsn >>> 24, c.clientIsn >>> 16, c.clientIsn >>> 8, c.clientIsn, t, m]) feed(v);
    h ^= this.secret[1];
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    return (h ^ (h >>> 16)) & 0xffffff;
  }
}

function slot(nowMs: number): number {
  return Math.floor(nowMs / SLOT_MS) & 31;
}
