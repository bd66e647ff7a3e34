/** Shared setup for TCP trace tests: an established connection with the test as the peer. */
import { expect } from "vitest";
import { Harness, REMOTE } from "../../test-util.js";
import type { StackOptions } from "../../stack/stack.js";
import type { TcpEndpoint } from "./endpoint.js";
import { TcpState } from "./state.js";

export interface Conn {
  h: Harness;
  ep: TcpEndpoint;
  /** Our next sequence number (the peer's view of it). */
  iss: number;
  /** The peer's next sequence number. */
  peerSeq: number;
}

/** Actively opens to REMOTE:443; the peer advertises `mss` and `window`. */
export function establish(opts: Omit<StackOptions, "clock"> = {}, mss = 1000, window = 65535): Conn {
  const h = new Harness(opts);
  const ep = h.stack.newTcpEndpoint();
  expect(ep.connect({ address: REMOTE, port: 443 })).toBeUndefined();
  const syn = h.nextTcp();
  h.remotePort = 443;
  h.localPort = syn.srcPort;
  h.sendTcp({ seq: 5000, ack: syn.seq + 1, flags: "S.", options: { mss }, window });
  h.nextTcp(); // the handshake's ACK
  expect(ep.currentState).toBe(TcpState.Established);
  return { h, ep, iss: (syn.seq + 1) >>> 0, peerSeq: 5001 };
}
