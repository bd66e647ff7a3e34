import { describe, expect, it } from "vitest";
import { IPAddress } from "../../address.js";
import { ErrAlreadyBound, ErrBadAddress, ErrConnectionRefused, ErrNotConnected, ErrPortInUse, ErrWouldBlock, isNetError } from "../../errors.js";
import { IP_PROTOCOL_UDP } from "../../header/ipv4.js";
import { buildUdp, UdpView } from "../../header/udp.js";
import { Harness, LOCAL, pattern, REMOTE } from "../../test-util.js";
import { EVENT_ERR, EVENT_IN } from "../../waiter.js";
import type { Datagram } from "./endpoint.js";

describe("UDP endpoints", () => {
  it("binds, receives with the source address, and signals readability", () => {
    const h = new Harness();
    const u = h.stack.newUdpEndpoint();
    expect(u.bind({ port: 53 })).toBeUndefined();
    let events = 0;
    u.waiter.subscribe(EVENT_IN, () => events++);
    h.sendIp(IP_PROTOCOL_UDP, buildUdp({ sourcePort: 3333, destinationPort: 53 }, pattern(20), REMOTE, LOCAL));
    expect(events).toBe(1);
    expect(u.readiness() & EVENT_IN).toBe(EVENT_IN);
    const d = u.recvFrom() as Datagram;
    expect(d.from.address.equals(REMOTE)).toBe(true);
    expect(d.from.port).toBe(3333);
    expect(d.to.equals(LOCAL)).toBe(true);
    expect([...d.data]).toEqual([...pattern(20)]);
    expect(u.recvFrom()).toBe(ErrWouldBlock);
  });

  it("sends from an ephemeral port with a valid checksum", () => {
    const h = new Harness();
    const u = h.stack.newUdpEndpoint();
    expect(u.sendTo(pattern(5), { address: REMOTE, port: 7 })).toBe(5);
    const ip = h.nextIp();
    const v = UdpView.parse(ip?.payload ?? new Uint8Array(0));
    expect(v?.destinationPort).toBe(7);
    expect(v?.sourcePort).toBe(u.local.port);
    expect(u.local.port).toBeGreaterThanOrEqual(32768);
    expect(v?.checksumValid(LOCAL, REMOTE)).toBe(true);
  });

  it("reports bind conflicts and bad addresses as error values", () => {
    const h = new Harness();
    const a = h.stack.newUdpEndpoint();
    const b = h.stack.newUdpEndpoint();
    expect(a.bind({ port: 99 })).toBeUndefined();
    expect(a.bind({ port: 100 })).toBe(ErrAlreadyBound);
    expect(b.bind({ port: 99 })).toBe(ErrPortInUse);
    expect(b.bind({ address: IPAddress.v4(1, 2, 3, 4), port: 100 })).toBe(ErrBadAddress);
    expect(b.sendTo(pattern(1))).toBe(ErrNotConnected);
    a.close();
    expect(b.bind({ port: 99 })).toBeUndefined();
  });

  it("filters by peer when connected and learns ICMP port unreachable", () => {
    const h = new Harness();
    const u = h.stack.newUdpEndpoint();
    expect(u.connect({ address: REMOTE, port: 53 })).toBeUndefined();
    const port = u.local.port;
    h.sendIp(IP_PROTOCOL_UDP, buildUdp({ sourcePort: 54, destinationPort: port }, pattern(1), REMOTE, LOCAL));
    expect(u.recvFrom()).toBe(ErrWouldBlock);
    h.link.drain(); // port unreachable for the stray datagram
    expect(u.sendTo(pattern(3))).toBe(3);
    const sent = h.nextIp();
    let errs = 0;
    u.waiter.subscribe(EVENT_ERR, () => errs++);
    // The peer answers with port unreachable quoting our datagram.
    const quoted = sent?.bytes.subarray(0, 28) ?? new Uint8Array(0);
    const icmp = new Uint8Array(8 + quoted.length);
    icmp[0] = 3;
    icmp[1] = 3;
    icmp.set(quoted, 8);
    let sum = 0;
    for (let i = 0; i < icmp.length; i += 2) sum += ((icmp[i] ?? 0) << 8) | (icmp[i + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const c = ~sum & 0xffff;
    icmp[2] = c >> 8;
    icmp[3] = c & 0xff;
    h.sendIp(1, icmp);
    expect(errs).toBe(1);
    expect(u.recvFrom()).toBe(ErrConnectionRefused);
    expect(u.recvFrom()).toBe(ErrWouldBlock);
  });

  it("drops datagrams beyond the receive buffer", () => {
    const h = new Harness({ udp: { receiveBufferSize: 100 } });
    const u = h.stack.newUdpEndpoint();
    u.bind({ port: 9 });
    for (let i = 0; i < 5; i++) h.sendIp(IP_PROTOCOL_UDP, buildUdp({ sourcePort: 1, destinationPort: 9 }, pattern(40), REMOTE, LOCAL));
    expect(h.stack.stats.udp.receiveBufferErrors).toBe(3);
    expect(isNetError(u.recvFrom())).toBe(false);
  });

  it("talks to itself through a local address", () => {
    const h = new Harness();
    const a = h.stack.newUdpEndpoint();
    const b = h.stack.newUdpEndpoint();
    b.bind({ port: 5000 });
    expect(a.sendTo(pattern(10), { address: LOCAL, port: 5000 })).toBe(10);
    expect(b.recvFrom()).toBe(ErrWouldBlock);
    h.clock.runDue();
    const d = b.recvFrom() as Datagram;
    expect(d.from.port).toBe(a.local.port);
    expect(h.link.read()).toBeUndefined();
  });
});

describe("UDP IP options", () => {
  it("sends with the endpoint's TTL and TOS", () => {
    const h = new Harness();
    const u = h.stack.newUdpEndpoint();
    u.ipOptions = { ttl: 3, tos: 0x10 };
    u.sendTo(pattern(1), { address: REMOTE, port: 9 });
    const ip = h.nextIp();
    expect(ip?.ttl).toBe(3);
    expect(ip?.tos).toBe(0x10);
  });
});
