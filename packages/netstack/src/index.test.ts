import { describe, expect, it } from "vitest";
import * as netstack from "./index.js";

describe("public API", () => {
  it("exports the stack, endpoints, clock, links and error values", () => {
    expect(typeof netstack.Stack).toBe("function");
    expect(typeof netstack.ManualClock).toBe("function");
    expect(typeof netstack.ChannelEndpoint).toBe("function");
    expect(typeof netstack.LoopbackEndpoint).toBe("function");
    expect(typeof netstack.ImpairedEndpoint).toBe("function");
    expect(typeof netstack.header.TcpView).toBe("function");
    expect(typeof netstack.seqnum.seqLT).toBe("function");
    expect(netstack.isNetError(netstack.ErrWouldBlock)).toBe(true);
    expect(Object.isFrozen(netstack.ErrWouldBlock)).toBe(true);
    expect(netstack.TcpState.Established).toBe("ESTABLISHED");
  });
});
