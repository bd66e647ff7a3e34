import { describe, expect, it } from "vitest";
import { parsePivotHelper } from "./confine.js";

describe("parsePivotHelper", () => {
  it("reads PID:FD", () => {
    expect(parsePivotHelper("123:7")).toEqual({ pid: 123, fd: 7 });
  });

  it.each(["", "0:3", "12", "12:", ":3", "-1:3", "1:-3", "1:3:4", "1.5:3", "x:3", "12345678901:3"])("refuses %j", (v) => {
    expect(parsePivotHelper(v)).toBeUndefined();
  });
});
