/**
 * Initial sequence numbers after RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey), where M is a 4-microsecond timer from the injected clock and F a
 * keyed hash of the connection identifier. The hash here is a keyed 32-bit mix seeded from
 * the stack's PRNG: it separates connections and defeats naive prediction, but it is not a
 * cryptographic PRF (listed under "Not implemented" in the README).
 */
import type { IPAddress } from "../../address.js";
import { seq, type Seq } from "../../seqnum/seqnum.js";

export class IsnGenerator {
  constructor(private readonly secret: readonly [number, number, number, number]) {}

  generate(nowMs: number, local: IPAddress, localPort: number, remote: IPAddress, remotePort: number): Seq {
    let h = this.secret[0] ^ 0x811c9dc5;
    const feed = (b: number): void => {
      h = Math.imul(h ^ (b & 0xff), 0x01000193) >>> 0;
    };
    for (const b of local.bytes) feed(b);
    for (const b of remote.bytes) feed(b);
    feed(localPort >> 8);
    feed(localPort);
    feed(remotePort >> 8);
    feed(remotePort);
    h ^= this.secret[1];
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b ^ this.secret[2]) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35 ^ this.secret[3]) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    const m = Math.floor(nowMs * 250) >>> 0;
    return seq(h + m);
  }
}
