/**
 * Test harness: one Stack on a channel link, with the test playing the remote host.
 * `send*` injects packets as if from the wire; `next*` reads what the stack transmitted.
 * Time moves only through `clock.advance`. (Excluded from the build by its name.)
 */
import { expect } from "vitest";
import { IPAddress } from "./address.js";
import { ManualClock } from "./clock.js";
import { buildIPv4, IPv4View, IP_PROTOCOL_TCP } from "./header/ipv4.js";
import { buildTcp, parseTcpOptions, tcpFlagsString, TcpView, type TcpOptions } from "./header/tcp.js";
import { ChannelEndpoint } from "./link/channel.js";
import { Stack, type StackOptions } from "./stack/stack.js";
import { encodeTcpOptions } from "./header/tcp.js";

export const LOCAL = IPAddress.v4(10, 0, 0, 1);
export const REMOTE = IPAddress.v4(10, 0, 0, 2);

export interface SegSpec {
  srcPort?: number;
  dstPort?: number;
  seq: number;
  ack?: number;
  flags: string;
  window?: number;
  payload?: Uint8Array;
  options?: TcpOptions;
}

export interface SeenSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: string;
  window: number;
  payload: Uint8Array;
  options: TcpOptions;
}

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, ".": 0x10, U: 0x20 };

export function flagBits(s: string): number {
  let f = 0;
  for (const ch of s) f |= FLAG_BITS[ch] ?? 0;
  return f;
}

export class Harness {
  readonly clock = new ManualClock();
  readonly link = new ChannelEndpoint({ mtu: 1500 });
  readonly stack: Stack;
  /** Default ports for TCP segments from the remote side. */
  remotePort = 40000;
  localPort = 80;

  constructor(opts: Omit<StackOptions, "clock"> = {}) {
    this.stack = new Stack({ clock: this.clock, seed: 7, ...opts });
    expect(this.stack.createNic(1, this.link)).toBeUndefined();
    expect(this.stack.addAddress(1, LOCAL, 24)).toBeUndefined();
  }

  /** Injects a raw IPv4 datagram from REMOTE. */
  sendIp(protocol: number, payload: Uint8Array, fields: Partial<Parameters<typeof buildIPv4>[0]> = {}): void {
    this.link.inject(buildIPv4({ id: 1, ttl: 64, protocol, source: REMOTE, destination: LOCAL, ...fields }, payload));
  }

  /** Injects a TCP segment from REMOTE. */
  sendTcp(s: SegSpec): void {
    const options = s.options !== undefined ? encodeTcpOptions(s.options) : undefined;
    const seg = buildTcp(
      {
        sourcePort: s.srcPort ?? this.remotePort,
        destinationPort: s.dstPort ?? this.localPort,
        seq: s.seq >>> 0,
        ack: (s.ack ?? 0) >>> 0,
        flags: flagBits(s.flags),
        window: s.window ?? 65535,
        ...(options !== undefined ? { options } : {}),
      },
      s.payload ?? new Uint8Array(0),
      REMOTE,
      LOCAL,
    );
    this.sendIp(IP_PROTOCOL_TCP, seg);
  }

  /** The next transmitted IPv4 datagram, if any (deferred deliveries are run first). */
  nextIp(): IPv4View | undefined {
    this.clock.runDue();
    const f = this.link.read();
    if (f === undefined) return undefined;
    const v = IPv4View.parse(f);
    expect(v?.checksumValid()).toBe(true);
    return v;
  }

  /** The next transmitted TCP segment; fails the test if there is none. */
  nextTcp(): SeenSegment {
    const ip = this.nextIp();
    expect(ip, "expected a segment, got nothing").toBeDefined();
    const v = ip as IPv4View;
    expect(v.protocol).toBe(IP_PROTOCOL_TCP);
    const t = TcpView.parse(v.payload);
    expect(t?.checksumValid(v.source, v.destination)).toBe(true);
    const tcp = t as TcpView;
    return {
      srcPort: tcp.sourcePort,
      dstPort: tcp.destinationPort,
      seq: tcp.seq,
      ack: tcp.ack,
      flags: tcpFlagsString(tcp.flags),
      window: tcp.window,
      payload: Uint8Array.from(tcp.payload),
      options: parseTcpOptions(tcp.rawOptions) ?? {},
    };
  }

  expectNothing(): void {
    const ip = this.nextIp();
    if (ip !== undefined && ip.protocol === IP_PROTOCOL_TCP) {
      const t = TcpView.parse(ip.payload);
      expect.fail(`expected nothing, got ${tcpFlagsString(t?.flags ?? 0)} seq=${t?.seq} ack=${t?.ack} len=${t?.payload.length}`);
    }
    expect(ip).toBeUndefined();
  }
}

/** Deterministic test data. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
