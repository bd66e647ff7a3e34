import type { IPAddress } from "../address.js";

/** A transport address: IP address and port. */
export interface FullAddress {
  address: IPAddress;
  port: number;
}

/** What bind() takes: either part may be left out (wildcard address, ephemeral port). */
export interface BindAddress {
  address?: IPAddress;
  port?: number;
}

export function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 0xffff;
}
