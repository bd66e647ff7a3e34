import { describe, expect, it } from "vitest";
import * as errors from "../errors.js";
import { errnoOf, mappedNetErrors } from "./errno.js";

describe("errnoOf", () => {
  it("maps every NetError the stack defines", () => {
    const all = Object.values(errors).filter((v): v is errors.NetError => v instanceof errors.NetError);
    expect(all.length).toBeGreaterThan(20);
    const mapped = new Set(mappedNetErrors());
    expect(all.filter((e) => !mapped.has(e)).map((e) => e.name)).toEqual([]);
  });

  it("gives Linux's errno for the failures a socket caller sees", () => {
    expect(errnoOf(errors.ErrWouldBlock)).toBe(11);
    expect(errnoOf(errors.ErrConnectionRefused)).toBe(111);
    expect(errnoOf(errors.ErrPortInUse)).toBe(98);
    expect(errnoOf(errors.ErrNotConnected)).toBe(107);
    expect(errnoOf(errors.ErrClosedForSend)).toBe(32);
  });
});
