import { describe, expect, it } from "vitest";
import { collectEnv, collectFds, parseContainerId, parseFd, parseInterfaceAddress, parseSignal, parseUser, signalName } from "./flags.js";

describe("parseFd", () => {
  it("accepts decimal non-negative integers", () => {
    expect([parseFd("0"), parseFd("3"), parseFd("2147483647")]).toEqual([0, 3, 2147483647]);
  });

  it.each(["-1", "1e3", "0x10", "3 ", "", "2147483648", "NaN"])("rejects %j", (value) => {
    expect(() => parseFd(value)).toThrow("A file descriptor is a non-negative integer (e.g. 3).");
  });
});

describe("collectFds", () => {
  it("accumulates comma lists across repeats", () => {
    expect(collectFds("7", collectFds("3,4", undefined))).toEqual([3, 4, 7]);
  });
});

describe("parseSignal", () => {
  it.each([
    ["KILL", 9], ["SIGKILL", 9], ["9", 9], ["term", 15], ["SigHup", 1], ["SIGUSR1", 10], ["SIGCHLD", 17], ["34", 34], ["64", 64],
  ])("parses %s as %d", (value, number) => {
    expect(parseSignal(value)).toBe(number);
  });

  it.each(["0", "65", "", "SIG", "FOO", "-9", "9.0"])("rejects %j", (value) => {
    expect(() => parseSignal(value)).toThrow("Give a signal name (KILL or SIGKILL) or a number from 1 to 64.");
  });

  it("names signals, and real-time ones by number", () => {
    expect(signalName(parseSignal("9"))).toBe("SIGKILL");
    expect(signalName(parseSignal("40"))).toBe("SIG40");
  });
});

describe("parseContainerId", () => {
  it.each(["abc", "a-b_c.d+e", "0123456789abcdef", "..a"])("accepts %s", (id) => {
    expect(parseContainerId(id)).toBe(id);
  });

  it.each([".", "..", "../x", "a/b", "", "a b", "é", "x".repeat(1025)])("rejects %j", (id) => {
    expect(() => parseContainerId(id)).toThrow("A container ID uses only");
  });
});

describe("collectEnv", () => {
  it("keeps KEY=VALUE entries, including empty values and = in values", () => {
    expect(collectEnv("B=x=y", collectEnv("A=", undefined))).toEqual(["A=", "B=x=y"]);
  });

  it.each(["A", "=v", ""])("rejects %j", (value) => {
    expect(() => collectEnv(value, undefined)).toThrow("Environment entries are KEY=VALUE.");
  });
});

describe("parseUser", () => {
  it("parses UID and UID:GID", () => {
    expect(parseUser("1000")).toEqual({ uid: 1000, gid: undefined });
    expect(parseUser("0:5")).toEqual({ uid: 0, gid: 5 });
  });

  it.each(["root", "1000:", ":5", "-1", "4294967295", "1:4294967295"])("rejects %j", (value) => {
    expect(() => parseUser(value)).toThrow("Expected UID[:GID]");
  });
});

describe("parseInterfaceAddress", () => {
  it("parses IPv4 and IPv6 with prefix lengths", () => {
    expect(parseInterfaceAddress("10.0.0.2/24")).toEqual({ address: "10.0.0.2", family: 4, prefixLength: 24 });
    expect(parseInterfaceAddress("fd00::2/128")).toEqual({ address: "fd00::2", family: 6, prefixLength: 128 });
  });

  it.each(["10.0.0.2", "10.0.0.2/", "10.0.0.2/33", "fd00::2/129", "host/24", "10.0.0.2/-1", "10.0.0.2/2x"])("rejects %j", (value) => {
    expect(() => parseInterfaceAddress(value)).toThrow("Expected ADDRESS/PREFIX-LENGTH");
  });
});
