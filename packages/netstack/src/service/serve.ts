/**
 * The netstack process: one Stack on the host's clock, a loopback NIC (always), a TAP NIC when
 * given one, and netstack.capnp served on one Unix socket until the sandbox closes it.
 *
 * NICs: 1 is "lo" (127.0.0.1/8, ::1/128); 2 is "eth0" over the TAP (the stack's own random,
 * locally administered MAC; the address and default gateway from the flags).
 * Packets to the stack's own addresses go through lo (Stack.setLocalDelivery), as on Linux.
 * `logPackets` records one NIC in pcap format: eth0 (Ethernet frames) when there is a TAP,
 * else lo (raw IP), written synchronously to the file (a debugging aid, not a fast path).
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { rpcOverFd } from "@runsc-ts/platform";
import type { RpcLogger } from "@runsc-ts/proto";
import { IPAddress, LinkAddress } from "../address.js";
import type { LinkEndpoint } from "../link/endpoint.js";
import { LoopbackEndpoint } from "../link/loopback.js";
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapWriter, SnifferEndpoint } from "../link/pcap.js";
import { TapEndpoint } from "../link/tap.js";
import { Stack, type StackOptions } from "../stack/stack.js";
import { HostClock } from "./host-clock.js";
import { NetstackServer, type InterfaceInfo } from "./server.js";

export interface NetstackLogger extends RpcLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ServeNetstackOptions {
  /** A connected SOCK_STREAM Unix socket to the sandbox; taken over. */
  readonly fd: number;
  /** A TAP descriptor (IFF_TAP | IFF_NO_PI) for eth0; taken over. */
  readonly tapFd?: number | undefined;
  /** eth0's address and prefix length. */
  readonly address?: { readonly address: string; readonly prefixLength: number } | undefined;
  /** Default gateway through eth0. */
  readonly gateway?: string | undefined;
  /** Absolute path of a pcap file to write. */
  readonly logPackets?: string | undefined;
  readonly log: NetstackLogger;
  /** Stack tunables (tests and benchmarks: SACK off, buffer sizes). */
  readonly stackOptions?: Omit<StackOptions, "clock" | "seed">;
}

/** A configured stack with its NICs, before it is served (also used in-process by tests). */
export interface HostStack {
  readonly stack: Stack;
  readonly clock: HostClock;
  readonly interfaces: InterfaceInfo[];
  readonly tap: TapEndpoint | undefined;
  /** Closes the TAP, the pcap file and the clock. */
  close(): void;
}

export class NetstackConfigError extends Error {}

/** A locally administered, unicast MAC (first octet x2, x6, xA or xE). */
export function randomMac(): LinkAddress {
  const b = randomBytes(6);
  b[0] = ((b[0] as number) & 0xfc) | 0x02;
  return LinkAddress.fromBytes(b) as LinkAddress;
}

/** Builds the stack the process serves. Throws NetstackConfigError for a bad address or gateway. */
export function createHostStack(opts: Omit<ServeNetstackOptions, "fd">): HostStack {
  const clock = new HostClock();
  const stack = new Stack({ ...opts.stackOptions, clock, seed: randomBytes(4).readUInt32LE(0) });
  let pcapFd: number | undefined;
  const pcap = (linkType: number): PcapWriter | undefined => {
    if (opts.logPackets === undefined) return undefined;
    const fd = fs.openSync(opts.logPackets, "w", 0o644);
    pcapFd = fd;
    return new PcapWriter((bytes) => fs.writeSync(fd, bytes), clock, linkType);
  };
  const interfaces: InterfaceInfo[] = [];
  let tap: TapEndpoint | undefined;
  const cleanup = (): void => {
    tap?.close();
    if (pcapFd !== undefined) fs.closeSync(pcapFd);
    pcapFd = undefined;
    clock.stop();
  };
  try {
    if (opts.tapFd !== undefined) {
      try {
        tap = new TapEndpoint({ fd: opts.tapFd, linkAddress: randomMac(), onError: (err) => opts.log.error({ err: err.message }, "TAP link failed") });
      } catch (e) {
        throw new NetstackConfigError(`--tap-fd ${opts.tapFd}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    // lo: every packet the stack sends itself. Counted, and (without a TAP) recorded once, on
    // the way out: a sniffer's inbound side would record each packet a second time.
    const lo = new LoopbackEndpoint(clock);
    const loPcap = tap === undefined ? pcap(LINKTYPE_RAW) : undefined;
    let loFrames = 0;
    let loBytes = 0;
    const loCounted: LinkEndpoint = {
      mtu: lo.mtu,
      headerKind: lo.headerKind,
      linkAddress: lo.linkAddress,
      attach: (d) => lo.attach(d),
      writePackets: (frames) => {
        loFrames += frames.length;
        for (const f of frames) {
          loBytes += f.length;
          loPcap?.write(f);
        }
        return lo.writePackets(frames);
      },
    };
    stack.createNic(1, loCounted);
    stack.setLocalDelivery(1);
    stack.addAddress(1, IPAddress.v4(127, 0, 0, 1), 8);
    stack.addAddress(1, IPAddress.parse("::1") as IPAddress, 128);
    interfaces.push({
      nicId: 1,
      name: "lo",
      loopback: true,
      mtu: lo.mtu,
      hwAddr: new Uint8Array(0),
      counters: () => ({ rxBytes: loBytes, rxPackets: loFrames, txBytes: loBytes, txPackets: loFrames, txDropped: 0 }),
    });
    if (tap !== undefined) {
      const t = tap;
      const tapPcap = pcap(LINKTYPE_ETHERNET);
      stack.createNic(2, tapPcap === undefined ? t : new SnifferEndpoint(t, tapPcap));
      interfaces.push({
        nicId: 2,
        name: "eth0",
        loopback: false,
        mtu: t.mtu,
        hwAddr: t.linkAddress.bytes,
        counters: () => ({ rxBytes: t.stats.rxBytes, rxPackets: t.stats.rxFrames, txBytes: t.stats.txBytes, txPackets: t.stats.txFrames, txDropped: t.stats.txDropped }),
      });
      if (opts.address !== undefined) {
        const a = IPAddress.parse(opts.address.address);
        if (a === undefined || stack.addAddress(2, a, opts.address.prefixLength) !== undefined) {
          throw new NetstackConfigError(`cannot assign ${opts.address.address}/${opts.address.prefixLength} to eth0`);
        }
      }
      if (opts.gateway !== undefined) {
        const g = IPAddress.parse(opts.gateway);
        if (g === undefined) throw new NetstackConfigError(`bad gateway ${opts.gateway}`);
        const any = g.version === 4 ? IPAddress.v4Any : IPAddress.v6Any;
        stack.addRoute({ destination: any, prefixLen: 0, gateway: g, nicId: 2 });
      }
    } else if (opts.address !== undefined || opts.gateway !== undefined) {
      throw new NetstackConfigError("an address or gateway needs a TAP NIC");
    }
  } catch (e) {
    cleanup();
    throw e;
  }
  return { stack, clock, interfaces, tap, close: cleanup };
}

/**
 * Serves netstack.capnp on `fd` until the connection ends (the sandbox closed it, or sent
 * garbage, which aborts it), then closes every endpoint and the TAP and returns.
 */
export async function serveNetstack(opts: ServeNetstackOptions): Promise<void> {
  const host = createHostStack(opts);
  const server = new NetstackServer({
    stack: host.stack,
    interfaces: host.interfaces,
    onNotifyFailed: (err) => opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, "readiness notification failed"),
  });
  const conn = rpcOverFd(opts.fd, { bootstrap: server.bootstrap(), logger: opts.log });
  opts.log.info({ interfaces: host.interfaces.map((i) => i.name), address: opts.address?.address, gateway: opts.gateway }, "netstack serving");
  const reason = await conn.closed();
  server.close();
  host.close();
  if (reason === undefined) opts.log.info({}, "netstack connection closed; exiting");
  else opts.log.warn({ err: reason.message }, "netstack connection ended abnormally; exiting");
}
