// native/src/tun.cc: TUNSETIFF, and packet-at-a-time reads and writes. Needs root (CAP_NET_ADMIN)
// for the TAP device; CI runs as root, so a missing capability fails here rather than skipping.
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";

import { native } from "./native.js";
import { expectNoFdLeaks } from "./test-util.js";

const C = native.constants;
const SEQPACKET = C.SOCK_SEQPACKET | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK;

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception");
}

describe("tunOpen", () => {
  expectNoFdLeaks();

  it("creates a TAP device that lives as long as its descriptor", () => {
    const want = `rtsu${process.pid % 100000}`;
    const [fd, name] = native.tunOpen(want, C.IFF_TAP | C.IFF_NO_PI);
    try {
      expect(name).toBe(want);
      expect(fs.existsSync(`/sys/class/net/${name}`)).toBe(true);
      // ARPHRD_ETHER: a TAP carries Ethernet frames.
      expect(fs.readFileSync(`/sys/class/net/${name}/type`, "utf8").trim()).toBe("1");
      expect(native.getNonblock(fd)).toBe(true);
      expect(native.getCloexec(fd)).toBe(true);
      // Nothing is queued on a device that is down.
      expect(native.readPackets(fd, new Uint8Array(2048), 2048, new Int32Array(1))).toBe(0);
    } finally {
      native.close(fd);
    }
    expect(fs.existsSync(`/sys/class/net/${want}`)).toBe(false);
  });

  it("reports a device's flags (TUNGETIFF) and takes offload requests (TUNSETOFFLOAD)", () => {
    const [fd] = native.tunOpen("rtsv%d", C.IFF_TAP | C.IFF_NO_PI | C.IFF_VNET_HDR);
    try {
      const flags = native.tunGetFlags(fd);
      expect(flags & (C.IFF_TAP | C.IFF_NO_PI | C.IFF_VNET_HDR)).toBe(C.IFF_TAP | C.IFF_NO_PI | C.IFF_VNET_HDR);
      native.tunSetOffload(fd, C.TUN_F_CSUM | C.TUN_F_TSO4 | C.TUN_F_TSO6);
      expect(catchError(() => native.tunSetOffload(fd, 0x100))).toBeInstanceOf(RangeError);
    } finally {
      native.close(fd);
    }
    const [a, b] = native.socketpair(SEQPACKET);
    expect(catchError(() => native.tunGetFlags(a))).toMatchObject({ syscall: "ioctl" });
    native.close(a);
    native.close(b);
  });

  it("lets the kernel number the device", () => {
    const [fd, name] = native.tunOpen("rtsn%d", C.IFF_TAP | C.IFF_NO_PI);
    native.close(fd);
    expect(name).toMatch(/^rtsn\d+$/);
  });

  it("validates its arguments before any system call", () => {
    expect(catchError(() => native.tunOpen("x".repeat(16), C.IFF_TAP))).toBeInstanceOf(RangeError);
    expect(catchError(() => native.tunOpen("a\0b", C.IFF_TAP))).toBeInstanceOf(RangeError);
    expect(catchError(() => native.tunOpen("t", C.IFF_TAP | C.IFF_TUN))).toBeInstanceOf(RangeError);
    expect(catchError(() => native.tunOpen("t", C.IFF_NO_PI))).toBeInstanceOf(RangeError);
    expect(catchError(() => native.tunOpen("t", -1))).toBeInstanceOf(RangeError);
    expect(catchError(() => native.tunOpen(7 as unknown as string, C.IFF_TAP))).toBeInstanceOf(TypeError);
  });

  it("reports a name that cannot be a device as a SystemError from the ioctl", () => {
    // "/" is not allowed in interface names: TUNSETIFF fails with EINVAL.
    expect(catchError(() => native.tunOpen("a/b", C.IFF_TAP))).toMatchObject({ code: "EINVAL", syscall: "ioctl" });
  });
});

describe("readPackets and writePackets", () => {
  expectNoFdLeaks();

  function withPair(body: (a: number, b: number) => void): void {
    const [a, b] = native.socketpair(SEQPACKET);
    try {
      body(a, b);
    } finally {
      native.close(a);
      native.close(b);
    }
  }

  it("moves several packets per call and keeps their boundaries", () => {
    withPair((a, b) => {
      const packets = [1, 100, 1500].map((n) => new Uint8Array(n).fill(n & 0xff));
      expect(native.writePackets(a, packets)).toBe(3);
      const buf = new Uint8Array(4 * 2048);
      const lengths = new Int32Array(4);
      expect(native.readPackets(b, buf, 2048, lengths)).toBe(3);
      expect([...lengths.subarray(0, 3)]).toEqual([1, 100, 1500]);
      expect(buf[2048 + 99]).toBe(100);
      expect(buf[2 * 2048 + 1499]).toBe(1500 & 0xff);
      expect(native.readPackets(b, buf, 2048, lengths)).toBe(0);
    });
  });

  it("writes subarrays in place and stops when the socket would block", () => {
    withPair((a, b) => {
      const big = new Uint8Array(3000).fill(7).subarray(1000, 1010);
      expect(native.writePackets(a, [big])).toBe(1);
      const buf = new Uint8Array(64);
      const lengths = new Int32Array(1);
      expect(native.readPackets(b, buf, 64, lengths)).toBe(1);
      expect(lengths[0]).toBe(10);
      let sent = 0;
      const chunk = new Uint8Array(60000);
      for (let i = 0; i < 1000; i++) {
        const n = native.writePackets(a, [chunk, chunk]);
        sent += n;
        if (n < 2) break;
      }
      expect(sent).toBeGreaterThan(0);
      expect(native.writePackets(a, [chunk])).toBe(0);
    });
  });

  it("gathers a prefix in front of each packet when given one", () => {
    withPair((a, b) => {
      expect(native.writePackets(a, [Uint8Array.of(7), Uint8Array.of(8, 9)], Uint8Array.of(0, 0))).toBe(2);
      const buf = new Uint8Array(2 * 16);
      const lengths = new Int32Array(2);
      expect(native.readPackets(b, buf, 16, lengths)).toBe(2);
      expect([...buf.subarray(0, lengths[0])]).toEqual([0, 0, 7]);
      expect([...buf.subarray(16, 16 + (lengths[1] as number))]).toEqual([0, 0, 8, 9]);
      expect(catchError(() => native.writePackets(a, [Uint8Array.of(1)], "x" as unknown as Uint8Array))).toBeInstanceOf(TypeError);
    });
  });

  it("reports end of file as one packet of length 0", () => {
    const [a, b] = native.socketpair(SEQPACKET);
    native.close(a);
    const lengths = new Int32Array(2).fill(-1);
    expect(native.readPackets(b, new Uint8Array(128), 64, lengths)).toBe(1);
    expect(lengths[0]).toBe(0);
    native.close(b);
  });

  it("validates its arguments", () => {
    withPair((a) => {
      expect(catchError(() => native.readPackets(a, new Uint8Array(100), 64, new Int32Array(2)))).toBeInstanceOf(RangeError);
      expect(catchError(() => native.readPackets(a, new Uint8Array(100), 64, new Int32Array(0)))).toBeInstanceOf(RangeError);
      expect(catchError(() => native.readPackets(a, new Uint8Array(100), 0, new Int32Array(1)))).toBeInstanceOf(RangeError);
      expect(catchError(() => native.readPackets(a, new Uint8Array(100), 64, new Uint32Array(1) as unknown as Int32Array))).toBeInstanceOf(TypeError);
      expect(catchError(() => native.readPackets(a, "x" as unknown as Uint8Array, 64, new Int32Array(1)))).toBeInstanceOf(TypeError);
      expect(catchError(() => native.writePackets(a, ["x" as unknown as Uint8Array]))).toBeInstanceOf(TypeError);
      expect(catchError(() => native.writePackets(a, undefined as unknown as Uint8Array[]))).toBeInstanceOf(TypeError);
    });
  });

  it("throws EBADF for a closed descriptor", () => {
    const [a, b] = native.socketpair(SEQPACKET);
    native.close(a);
    native.close(b);
    expect(catchError(() => native.writePackets(a, [new Uint8Array(1)]))).toMatchObject({ code: "EBADF", syscall: "write" });
    expect(catchError(() => native.readPackets(a, new Uint8Array(64), 64, new Int32Array(1)))).toMatchObject({ code: "EBADF", syscall: "read" });
  });
});
