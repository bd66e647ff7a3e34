import { describe, expect, it } from "vitest";
import { IPAddress } from "../../address.js";
import { ManualClock } from "../../clock.js";
import { ErrInvalidArgument, ErrPortInUse, ErrWouldBlock, isNetError } from "../../errors.js";
import { IcmpView, ICMPV4_ECHO_REQUEST, ICMPV6_ECHO_REQUEST } from "../../header/icmp.js";
import { ChannelEndpoint, connectChannels } from "../../link/channel.js";
import { Stack } from "../../stack/stack.js";
import { Harness, pattern, REMOTE } from "../../test-util.js";
import type { EchoReply } from "./endpoint.js";

function echoRequest(type: number, seqNo: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[0] = type;
  m[6] = seqNo >> 8;
  m[7] = seqNo & 0xff;
  m.set(data, 8);
  return m;
}

describe("ICMP echo sockets", () => {
  it("pings another stack over IPv4 and IPv6 and gets the replies", () => {
    const clock = new ManualClock();
    const la = new ChannelEndpoint();
    const lb = new ChannelEndpoint();
    connectChannels(clock, la, lb, 1);
    const a = new Stack({ clock, seed: 1 });
    const b = new Stack({ clock, seed: 2 });
    a.createNic(1, la);
    b.createNic(1, lb);
    a.addAddress(1, IPAddress.v4(10, 0, 0, 1), 24);
    b.addAddress(1, IPAddress.v4(10, 0, 0, 2), 24);
    a.addAddress(1, IPAddress.parse("fd00::1") as IPAddress, 64);
    b.addAddress(1, IPAddress.parse("fd00::2") as IPAddress, 64);

    for (const [version, type, dst] of [
      [4, ICMPV4_ECHO_REQUEST, IPAddress.v4(10, 0, 0, 2)],
      [6, ICMPV6_ECHO_REQUEST, IPAddress.parse("fd00::2") as IPAddress],
    ] as const) {
      const ping = a.newIcmpEndpoint(version);
      expect(ping.sendTo(echoRequest(type, 7, pattern(56)), dst)).toBe(64);
      expect(ping.recvFrom()).toBe(ErrWouldBlock);
      clock.advance(2);
      const r = ping.recvFrom() as EchoReply;
      expect(isNetError(r)).toBe(false);
      expect(r.from.equals(dst)).toBe(true);
      const v = IcmpView.parse(r.data);
      expect(v?.ident).toBe(ping.identifier);
      expect(v?.sequence).toBe(7);
      expect([...(v?.payload ?? [])]).toEqual([...pattern(56)]);
    }
  });

  it("demultiplexes replies by identifier and ignores unknown ones", () => {
    const h = new Harness();
    const p1 = h.stack.newIcmpEndpoint(4);
    const p2 = h.stack.newIcmpEndpoint(4);
    expect(p1.bind({ ident: 100 })).toBeUndefined();
    expect(p2.bind({ ident: 100 })).toBe(ErrPortInUse);
    expect(p2.bind({ ident: 101 })).toBeUndefined();
    p1.sendTo(echoRequest(ICMPV4_ECHO_REQUEST, 1, pattern(4)), REMOTE);
    const req = h.nextIp();
    const v = IcmpView.parse(req?.payload ?? new Uint8Array(0));
    expect(v?.ident).toBe(100);
    expect(v?.checksumValidV4()).toBe(true);
  });

  it("rejects messages that are not echo requests", () => {
    const h = new Harness();
    const p = h.stack.newIcmpEndpoint(4);
    expect(p.sendTo(echoRequest(13, 1, pattern(4)), REMOTE)).toBe(ErrInvalidArgument);
    expect(p.sendTo(new Uint8Array(4), REMOTE)).toBe(ErrInvalidArgument);
  });
});
