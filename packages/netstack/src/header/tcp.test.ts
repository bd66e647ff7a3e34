import { describe, expect, it } from "vitest";
import { IPAddress } from "../address.js";
import { buildTcp, encodeTcpOptions, parseTcpOptions, TcpView, TCP_FLAG_ACK, TCP_FLAG_SYN } from "./tcp.js";

const A = IPAddress.v4(10, 0, 0, 1);
const B = IPAddress.v4(10, 0, 0, 2);

describe("TCP header", () => {
  it("round-trips fields, options and payload with a valid checksum", () => {
    const options = encodeTcpOptions({ mss: 1460, windowScale: 7, sackPermitted: true, timestamp: { value: 0xdeadbeef, echo: 1 } });
    expect(options.length % 4).toBe(0);
    const seg = buildTcp(
      { sourcePort: 40000, destinationPort: 80, seq: 0xfffffff0, ack: 5, flags: TCP_FLAG_SYN | TCP_FLAG_ACK, window: 65535, options },
      Uint8Array.of(1, 2, 3),
      A,
      B,
    );
    const v = TcpView.parse(seg);
    expect(v).toBeDefined();
    if (v === undefined) return;
    expect(v.sourcePort).toBe(40000);
    expect(v.destinationPort).toBe(80);
    expect(v.seq).toBe(0xfffffff0);
    expect(v.ack).toBe(5);
    expect(v.has(TCP_FLAG_SYN) && v.has(TCP_FLAG_ACK)).toBe(true);
    expect(v.window).toBe(65535);
    expect(v.dataOffset).toBe(20 + options.length);
    expect([...v.payload]).toEqual([1, 2, 3]);
    expect(v.checksumValid(A, B)).toBe(true);
    expect(v.checksumValid(B, B)).toBe(false);
    expect(parseTcpOptions(v.rawOptions)).toEqual({ mss: 1460, windowScale: 7, sackPermitted: true, timestamp: { value: 0xdeadbeef, echo: 1 } });
  });

  it("rejects a data offset below 5 words or past the buffer", () => {
    const seg = buildTcp({ sourcePort: 1, destinationPort: 2, seq: 0, ack: 0, flags: 0, window: 0 }, new Uint8Array(0), A, B);
    expect(TcpView.parse(seg.subarray(0, 19))).toBeUndefined();
    const low = Uint8Array.from(seg);
    low[12] = 4 << 4;
    expect(TcpView.parse(low)).toBeUndefined();
    const high = Uint8Array.from(seg);
    high[12] = 6 << 4;
    expect(TcpView.parse(high)).toBeUndefined();
  });
});

describe("TCP options", () => {
  it("parses SACK blocks", () => {
    const o = encodeTcpOptions({ sackBlocks: [{ start: 100, end: 200 }, { start: 0xfffffff0, end: 10 }] });
    expect(parseTcpOptions(o)?.sackBlocks).toEqual([{ start: 100, end: 200 }, { start: 0xfffffff0, end: 10 }]);
  });

  it("fits at most 4 SACK blocks, or 3 beside a timestamp, in 40 bytes", () => {
    const blocks = Array.from({ length: 6 }, (_, i) => ({ start: i * 100, end: i * 100 + 50 }));
    const plain = encodeTcpOptions({ sackBlocks: blocks });
    expect(plain.length).toBe(36);
    expect(parseTcpOptions(plain)?.sackBlocks?.length).toBe(4);
    const withTs = encodeTcpOptions({ sackBlocks: blocks, timestamp: { value: 1, echo: 2 } });
    expect(withTs.length).toBe(40);
    expect(parseTcpOptions(withTs)?.sackBlocks?.length).toBe(3);
    expect(parseTcpOptions(withTs)?.timestamp).toEqual({ value: 1, echo: 2 });
  });

  it("stops at EOL and skips unknown options", () => {
    expect(parseTcpOptions(Uint8Array.of(30, 4, 0, 0, 2, 4, 5, 0xb4, 0, 99, 99))).toEqual({ mss: 1460 });
  });

  it("clamps an absurd window shift to 14 (RFC 7323 §2.3)", () => {
    expect(parseTcpOptions(Uint8Array.of(3, 3, 200, 1))?.windowScale).toBe(14);
  });

  it.each([
    ["a length byte of 0", [2, 0, 0, 0]],
    ["a length byte of 1", [30, 1, 0, 0]],
    ["a missing length byte", [1, 1, 1, 2]],
    ["an option running past the end", [2, 4, 5]],
    ["an MSS of the wrong length", [2, 3, 5, 1]],
    ["a window scale of the wrong length", [3, 4, 1, 1]],
    ["SACK-permitted with a body", [4, 3, 0, 1]],
    ["a SACK block of 7 bytes", [5, 9, 0, 0, 0, 0, 0, 0, 0]],
    ["an empty SACK option", [5, 2, 1, 1]],
    ["a timestamp of the wrong length", [8, 6, 0, 0, 0, 0, 1, 1]],
    ["a repeated MSS", [2, 4, 1, 0, 2, 4, 1, 0]],
  ])("rejects %s", (_name, bytes) => {
    expect(parseTcpOptions(Uint8Array.from(bytes))).toBeUndefined();
  });

  it("never fails on random option bytes (it parses or rejects)", () => {
    let x = 12345;
    for (let n = 0; n < 2000; n++) {
      const len = n % 41;
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        b[i] = (x >>> 16) & 0xff;
      }
      const r = parseTcpOptions(b);
      expect(r === undefined || typeof r === "object").toBe(true);
    }
  });
});
