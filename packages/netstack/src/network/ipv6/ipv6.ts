/**
 * IPv6 as a host (RFC 8200): receive validation, the extension-header walk (§4: Hop-by-Hop
 * only first, Destination Options, Routing with Segments Left 0, Fragment), reassembly
 * (§4.5, with the same bounded, overlap-rejecting reassembler as IPv4 and a 60 s timeout),
 * and local delivery of TCP, UDP and ICMPv6. Sending fragments to the link MTU (the source
 * is the only fragmenter in IPv6) unless the caller forbids it.
 *
 * Options are processed by their action bits (§4.2): unknown options are skipped, or drop
 * the datagram (with a Parameter Problem unless the action or a multicast destination
 * says not to). A routing header with Segments Left > 0 is refused (we do not forward),
 * as is an unknown upper layer (Parameter Problem code 1). On Ethernet links next hops are
 * resolved by Neighbor Discovery (`ndp.ts`).
 */
import { ErrMessageTooLong, type NetError } from "../../errors.js";
import { ICMPV6_TIME_EXCEEDED } from "../../header/icmp.js";
import { IP_PROTOCOL_ICMPV6 } from "../../header/ipv4.js";
import { IPV6_HEADER_SIZE, IPv6View, buildIPv6, encodeIPv6Header } from "../../header/ipv6.js";
import { IPAddress } from "../../address.js";
import type { Nic } from "../../stack/nic.js";
import type { Route, Stack } from "../../stack/stack.js";
import { inPlace, type PacketInfo, type SendOptions } from "../ipv4/ipv4.js";
import { Reassembler } from "../ipv4/reassembly.js";
import { Icmpv6 } from "./icmpv6.js";

const NH_HOP_BY_HOP = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_NONE = 59;
const NH_DEST_OPTS = 60;
/** Extension headers we do not process (ESP, AH, Mobility, HIP, Shim6, experiments). */
const UNSUPPORTED_EXTENSIONS = new Set([50, 51, 135, 139, 140, 253, 254]);
/** Reassembly timeout (RFC 8200 §4.5: 60 seconds). */
const REASSEMBLY_TIMEOUT_MS = 60_000;
const MAX_EXTENSION_HEADERS = 32;

type Verdict = { kind: "ok" } | { kind: "drop" } | { kind: "problem"; code: number; pointer: number };

export class IPv6Protocol {
  readonly icmp: Icmpv6;
  readonly reassembler: Reassembler;

  constructor(private readonly stack: Stack) {
    this.icmp = new Icmpv6(stack);
    this.reassembler = new Reassembler(stack.clock, stack.stats.ip6, { ...stack.config.ipv4.reassembly, timeoutMs: REASSEMBLY_TIMEOUT_MS }, (quoted) => {
      if (quoted.length < IPV6_HEADER_SIZE) return;
      const source = IPAddress.fromBytes(quoted.subarray(8, 24)) as IPAddress;
      const destination = IPAddress.fromBytes(quoted.subarray(24, 40)) as IPAddress;
      const nic = stack.nicOwning(destination);
      if (nic === undefined) return;
      this.icmp.sendError({ nic, source, destination, protocol: quoted[6] ?? 0, ttl: 0, broadcast: false, datagram: quoted }, ICMPV6_TIME_EXCEEDED, 1, 0);
    });
  }

  handlePacket(nic: Nic, bytes: Uint8Array): void {
    const stats = this.stack.stats.ip6;
    stats.received++;
    const v = IPv6View.parse(bytes);
    if (v === undefined) {
      stats.malformed++;
      return;
    }
    const src = v.source;
    if (src.isMulticast()) {
      stats.martianSource++;
      return;
    }
    const dst = v.destination;
    const multicast = dst.isMulticast();
    if (!multicast && this.stack.nicOwning(dst) === undefined) {
      stats.notForUs++;
      return;
    }
    const b = v.bytes;
    const info: PacketInfo = { nic, source: src, destination: dst, protocol: v.nextHeader, ttl: v.hopLimit, broadcast: multicast, datagram: b };
    let nh = v.nextHeader;
    /** Offset of the byte holding `nh` (for Parameter Problem pointers and patching). */
    let nhAt = 6;
    let off = IPV6_HEADER_SIZE;
    for (let count = 0; ; count++) {
      if (count > MAX_EXTENSION_HEADERS) {
        stats.badExtension++;
        return;
      }
      if (nh === NH_HOP_BY_HOP || nh === NH_DEST_OPTS) {
        if (nh === NH_HOP_BY_HOP && off !== IPV6_HEADER_SIZE) {
          this.problem(info, { kind: "problem", code: 1, pointer: nhAt });
          return;
        }
        if (off + 8 > b.length) return this.malformed();
        const len = ((b[off + 1] ?? 0) + 1) * 8;
        if (off + len > b.length) return this.malformed();
        const verdict = processOptions(b, off + 2, off + len, multicast);
        if (verdict.kind !== "ok") {
          this.problem(info, verdict);
          return;
        }
        nhAt = off;
        nh = b[off] ?? 0;
        off += len;
        continue;
      }
      if (nh === NH_ROUTING) {
        if (off + 8 > b.length) return this.malformed();
        const len = ((b[off + 1] ?? 0) + 1) * 8;
        if (off + len > b.length) return this.malformed();
        if ((b[off + 3] ?? 0) !== 0) {
          // Segments Left > 0: we would have to forward (§4.4).
          this.problem(info, { kind: "problem", code: 0, pointer: off + 2 });
          return;
        }
        nhAt = off;
        nh = b[off] ?? 0;
        off += len;
        continue;
      }
      if (nh === NH_FRAGMENT) {
        if (off + 8 > b.length) return this.malformed();
        const word = ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0);
        const fragOffset = word & 0xfff8;
        const more = (word & 1) !== 0;
        const next = b[off] ?? 0;
        if (fragOffset === 0 && !more) {
          // An atomic fragment (RFC 6946): process in place.
          nhAt = off;
          nh = next;
          off += 8;
          continue;
        }
        const id = (((b[off + 4] ?? 0) << 24) | ((b[off + 5] ?? 0) << 16) | ((b[off + 6] ?? 0) << 8) | (b[off + 7] ?? 0)) >>> 0;
        // The unfragmentable part with the Fragment header cut out (its next header patched in).
        const header = Uint8Array.from(b.subarray(0, off));
        header[nhAt] = next;
        const r = this.reassembler.add({
          key: `${src.key}|${dst.key}|${id}`,
          offset: fragOffset,
          more,
          data: b.subarray(off + 8),
          header,
          maxEnd: 0xffff - (off - IPV6_HEADER_SIZE),
        });
        if (r === undefined) return;
        const whole = new Uint8Array(r.header.length + r.payload.length);
        whole.set(r.header);
        whole.set(r.payload, r.header.length);
        const plen = whole.length - IPV6_HEADER_SIZE;
        whole[4] = (plen >> 8) & 0xff;
        whole[5] = plen & 0xff;
        this.handlePacket(nic, whole);
        return;
      }
      break;
    }
    if (nh === NH_NONE) return;
    if (UNSUPPORTED_EXTENSIONS.has(nh)) {
      stats.unsupportedExtension++;
      return;
    }
    info.protocol = nh;
    stats.delivered++;
    const payload = b.subarray(off);
    if (nh === IP_PROTOCOL_ICMPV6) {
      this.icmp.handle(info, payload);
      return;
    }
    if (!this.stack.deliverTransport(info, payload)) {
      stats.unknownProtocol++;
      this.icmp.sendParameterProblem(info, 1, nhAt);
    }
  }

  /**
   * Sends `payload` along `route`. A payload that does not fit the MTU is split with a
   * Fragment header (RFC 8200 §4.5) unless `dontFragment` (IPV6_DONTFRAG) is set.
   */
  send(route: Route, nextHeader: number, payload: Uint8Array, opts: SendOptions = {}): NetError | undefined {
    const stats = this.stack.stats.ip6;
    const gso = opts.gsoMss !== undefined && !route.local;
    const mtu = route.local || gso ? 65575 : route.nic.mtu;
    const fields = { hopLimit: opts.ttl ?? this.stack.config.ipv4.defaultTtl, trafficClass: opts.tos ?? 0, source: route.localAddress, destination: route.remoteAddress };
    if (payload.length > 0xffff) {
      stats.mtuExceeded++;
      return ErrMessageTooLong;
    }
    if (IPV6_HEADER_SIZE + payload.length <= mtu) {
      stats.sent++;
      let pkt = inPlace(payload, IPV6_HEADER_SIZE, opts);
      if (pkt === undefined) {
        pkt = new Uint8Array(IPV6_HEADER_SIZE + payload.length);
        pkt.set(payload, IPV6_HEADER_SIZE);
      }
      encodeIPv6Header(pkt, { ...fields, nextHeader }, payload.length);
      if (gso) route.nic.writeIPv6(route.nextHop, pkt, { ipVersion: 6, mss: opts.gsoMss as number, ipHeaderLength: IPV6_HEADER_SIZE });
      else this.emit(route, pkt);
      return undefined;
    }
    const chunk = Math.floor((mtu - IPV6_HEADER_SIZE - 8) / 8) * 8;
    if (opts.dontFragment === true || chunk <= 0) {
      stats.mtuExceeded++;
      return ErrMessageTooLong;
    }
    const id = this.stack.rng.nextU32();
    stats.sent++;
    for (let off = 0; off < payload.length; off += chunk) {
      const part = payload.subarray(off, Math.min(off + chunk, payload.length));
      const more = off + part.length < payload.length;
      const frag = new Uint8Array(8 + part.length);
      frag[0] = nextHeader;
      frag[2] = (off >> 8) & 0xff;
      frag[3] = (off & 0xf8) | (more ? 1 : 0);
      frag[4] = (id >>> 24) & 0xff;
      frag[5] = (id >>> 16) & 0xff;
      frag[6] = (id >>> 8) & 0xff;
      frag[7] = id & 0xff;
      frag.set(part, 8);
      stats.fragmentsSent++;
      this.emit(route, buildIPv6({ ...fields, nextHeader: NH_FRAGMENT }, frag));
    }
    return undefined;
  }

  private emit(route: Route, pkt: Uint8Array): void {
    if (route.local) {
      const lo = this.stack.localDelivery;
      if (lo !== undefined) lo.writeIPv6(route.remoteAddress, pkt);
      else this.stack.clock.schedule(0, () => this.handlePacket(route.nic, pkt));
      return;
    }
    route.nic.writeIPv6(route.nextHop, pkt);
  }

  private malformed(): void {
    this.stack.stats.ip6.badExtension++;
  }

  private problem(info: PacketInfo, v: Verdict): void {
    this.stack.stats.ip6.badExtension++;
    if (v.kind === "problem") this.icmp.sendParameterProblem(info, v.code, v.pointer);
  }
}

/**
 * Walks the TLV options in b[from, to) (RFC 8200 §4.2). Unknown options act on the two
 * high bits of their type: 00 skip, 01 discard, 10 discard and report, 11 discard and
 * report unless the destination was multicast.
 */
function processOptions(b: Uint8Array, from: number, to: number, multicast: boolean): Verdict {
  let i = from;
  while (i < to) {
    const type = b[i] ?? 0;
    if (type === 0) {
      i++;
      continue;
    }
    if (i + 2 > to) return { kind: "drop" };
    const len = b[i + 1] ?? 0;
    if (i + 2 + len > to) return { kind: "drop" };
    // PadN (1) and Router Alert (5) are understood; everything else is unknown here.
    if (type !== 1 && type !== 5) {
      switch (type >> 6) {
        case 0:
          break;
        case 1:
          return { kind: "drop" };
        case 2:
          return { kind: "problem", code: 2, pointer: i };
        default:
          return multicast ? { kind: "drop" } : { kind: "problem", code: 2, pointer: i };
      }
    }
    i += 2 + len;
  }
  return { kind: "ok" };
}
