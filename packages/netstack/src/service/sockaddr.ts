/**
 * netstack.capnp's SockAddr to and from the stack's addresses. The sentry has already copied and
 * length-checked the guest's sockaddr; these checks are the netstack's own (it assumes the
 * sentry may be compromised): exact address lengths, the socket's family, IPv4-mapped IPv6.
 */
import { AF_INET, AF_INET6, EAFNOSUPPORT, EINVAL, type LinuxError } from "@runsc-ts/abi";
import type { netstack } from "@runsc-ts/proto";
import { IPAddress } from "../address.js";

/** A socket's domain: AF_INET, or AF_INET6 with or without IPV6_V6ONLY. */
export interface Domain {
  readonly family: typeof AF_INET | typeof AF_INET6;
  readonly v6only: boolean;
}

export interface Decoded {
  address: IPAddress;
  port: number;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** `::ffff:a.b.c.d` as the IPv4 address a.b.c.d, else undefined. */
export function unmapV4(bytes: Uint8Array): IPAddress | undefined {
  if (bytes.length !== 16) return undefined;
  for (let i = 0; i < 12; i++) if (bytes[i] !== MAPPED_PREFIX[i]) return undefined;
  return IPAddress.v4(bytes[12] as number, bytes[13] as number, bytes[14] as number, bytes[15] as number);
}

/** Decodes `sa` for a socket of `domain`. */
export function decodeSockAddr(sa: netstack.SockAddr, domain: Domain): Decoded | LinuxError {
  const bytes = sa.addr.toUint8Array();
  const port = sa.port;
  if (sa.family === AF_INET) {
    if (domain.family !== AF_INET) return EINVAL;
    if (bytes.length !== 4) return EINVAL;
    return { address: IPAddress.fromBytes(bytes) as IPAddress, port };
  }
  if (sa.family === AF_INET6) {
    if (domain.family !== AF_INET6) return EAFNOSUPPORT;
    if (bytes.length !== 16) return EINVAL;
    const v4 = unmapV4(bytes);
    if (v4 !== undefined) {
      if (domain.v6only) return EINVAL;
      return { address: v4, port };
    }
    return { address: IPAddress.fromBytes(bytes) as IPAddress, port };
  }
  return EAFNOSUPPORT;
}

/** Fills `out` with `address`:`port` as a socket of `domain` reports it (IPv4 mapped on AF_INET6). */
export function encodeSockAddr(out: netstack.SockAddr, domain: Domain, address: IPAddress | undefined, port: number): void {
  out.port = port;
  if (domain.family === AF_INET) {
    out.family = AF_INET;
    const b = out._initAddr(4);
    if (address !== undefined && address.version === 4) b.copyBuffer(address.bytes);
    return;
  }
  out.family = AF_INET6;
  const b = out._initAddr(16);
  if (address === undefined) return;
  if (address.version === 6) {
    b.copyBuffer(address.bytes);
  } else {
    const mapped = new Uint8Array(16);
    mapped.set(MAPPED_PREFIX);
    mapped.set(address.bytes, 12);
    b.copyBuffer(mapped);
  }
}
