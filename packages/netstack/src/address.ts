/**
 * Immutable network and link addresses. Each carries its raw bytes (network order) and a
 * canonical string `key` used for map lookups, so two equal addresses always share a key.
 */

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address. */
export class IPAddress {
  /** Sum of the address as 16-bit words (for pseudo-header checksums), computed once. */
  private wordSum = -1;

  private constructor(
    private readonly raw: Uint8Array,
    /** Canonical text form; equal addresses have equal keys. */
    readonly key: string,
  ) {}

  /**
   * IPv4 addresses seen on packets are interned (a bounded table), so parsing a header does
   * not allocate and format a fresh address each time.
   */
  private static readonly v4Cache = new Map<number, IPAddress>();
  private static readonly V4_CACHE_LIMIT = 4096;

  private static internV4(a: number, b: number, c: number, d: number): IPAddress {
    const n = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    const hit = IPAddress.v4Cache.get(n);
    if (hit !== undefined) return hit;
    const raw = Uint8Array.of(a, b, c, d);
    const addr = new IPAddress(raw, formatV4(raw));
    if (IPAddress.v4Cache.size >= IPAddress.V4_CACHE_LIMIT) IPAddress.v4Cache.clear();
    IPAddress.v4Cache.set(n, addr);
    return addr;
  }

  /** Builds from raw bytes (copied). Returns undefined unless the length is 4 or 16. */
  static fromBytes(bytes: Uint8Array): IPAddress | undefined {
    if (bytes.length === 4) return IPAddress.internV4(bytes[0] ?? 0, bytes[1] ?? 0, bytes[2] ?? 0, bytes[3] ?? 0);
    if (bytes.length !== 16) return undefined;
    const copy = Uint8Array.from(bytes);
    return new IPAddress(copy, formatV6(copy));
  }

  /** Builds an IPv4 address from its four octets. */
  static v4(a: number, b: number, c: number, d: number): IPAddress {
    return IPAddress.internV4(a & 0xff, b & 0xff, c & 0xff, d & 0xff);
  }

  /** The address's 16-bit words summed (not folded), for checksums. */
  checksumWords(): number {
    if (this.wordSum < 0) {
      let s = 0;
      for (let i = 0; i < this.raw.length; i += 2) s += ((this.raw[i] ?? 0) << 8) | (this.raw[i + 1] ?? 0);
      this.wordSum = s;
    }
    return this.wordSum;
  }

  /** Builds an IPv4 address from a 32-bit unsigned integer. */
  static fromUint32(n: number): IPAddress {
    return IPAddress.v4((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }

  /** Parses dotted-quad IPv4 or RFC 4291 text IPv6. Returns undefined on bad input. */
  static parse(text: string): IPAddress | undefined {
    if (text.includes(":")) return parseV6(text);
    const parts = text.split(".");
    if (parts.length !== 4) return undefined;
    const raw = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const p = parts[i] ?? "";
      if (!/^\d{1,3}$/.test(p)) return undefined;
      const v = Number(p);
      if (v > 255) return undefined;
      raw[i] = v;
    }
    return IPAddress.internV4(raw[0] ?? 0, raw[1] ?? 0, raw[2] ?? 0, raw[3] ?? 0);
  }

  static readonly v4Any = IPAddress.v4(0, 0, 0, 0);
  static readonly v4Broadcast = IPAddress.v4(255, 255, 255, 255);
  static readonly v6Any = IPAddress.fromBytes(new Uint8Array(16)) as IPAddress;

  get version(): 4 | 6 {
    return this.raw.length === 4 ? 4 : 6;
  }

  /** A copy of the raw bytes. */
  get bytes(): Uint8Array {
    return Uint8Array.from(this.raw);
  }

  /** Writes the raw bytes into `dst` at `offset`. */
  writeTo(dst: Uint8Array, offset: number): void {
    dst.set(this.raw, offset);
  }

  /** IPv4 only: the address as an unsigned 32-bit integer. */
  toUint32(): number {
    const r = this.raw;
    return (((r[0] ?? 0) << 24) | ((r[1] ?? 0) << 16) | ((r[2] ?? 0) << 8) | (r[3] ?? 0)) >>> 0;
  }

  equals(other: IPAddress): boolean {
    return this.key === other.key;
  }

  isUnspecified(): boolean {
    return this.raw.every((b) => b === 0);
  }

  isV4Broadcast(): boolean {
    return this.raw.length === 4 && this.raw.every((b) => b === 255);
  }

  isMulticast(): boolean {
    const first = this.raw[0] ?? 0;
    return this.raw.length === 4 ? (first & 0xf0) === 0xe0 : first === 0xff;
  }

  isLoopback(): boolean {
    if (this.raw.length === 4) return this.raw[0] === 127;
    return this.raw.subarray(0, 15).every((b) => b === 0) && this.raw[15] === 1;
  }

  /** True if this address lies in `prefix`/`prefixLen` (same version required). */
  inSubnet(prefix: IPAddress, prefixLen: number): boolean {
    if (prefix.raw.length !== this.raw.length) return false;
    let bits = prefixLen;
    for (let i = 0; i < this.raw.length && bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if (((this.raw[i] ?? 0) & mask) !== ((prefix.raw[i] ?? 0) & mask)) return false;
    }
    return true;
  }

  /** IPv4: the directed broadcast address of the subnet containing this address. */
  subnetBroadcast(prefixLen: number): IPAddress {
    const host = prefixLen >= 32 ? 0 : 0xffffffff >>> prefixLen;
    return IPAddress.fromUint32((this.toUint32() | host) >>> 0);
  }

  toString(): string {
    return this.key;
  }
}

function formatV4(r: Uint8Array): string {
  return `${r[0]}.${r[1]}.${r[2]}.${r[3]}`;
}

function formatV6(r: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((r[i] ?? 0) << 8) | (r[i + 1] ?? 0));
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

function parseV6(text: string): IPAddress | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? "");
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "") : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const raw = new Uint8Array(16);
  groups.forEach((g, i) => {
    raw[2 * i] = g >> 8;
    raw[2 * i + 1] = g & 0xff;
  });
  return IPAddress.fromBytes(raw);
}

/** A 6-byte Ethernet (MAC) address. */
export class LinkAddress {
  private constructor(
    private readonly raw: Uint8Array,
    readonly key: string,
  ) {}

  static fromBytes(bytes: Uint8Array): LinkAddress | undefined {
    if (bytes.length !== 6) return undefined;
    const copy = Uint8Array.from(bytes);
    return new LinkAddress(copy, [...copy].map((b) => b.toString(16).padStart(2, "0")).join(":"));
  }

  static parse(text: string): LinkAddress | undefined {
    const parts = text.split(":");
    if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return undefined;
    return LinkAddress.fromBytes(Uint8Array.from(parts.map((p) => parseInt(p, 16))));
  }

  static readonly broadcast = LinkAddress.fromBytes(new Uint8Array(6).fill(0xff)) as LinkAddress;
  static readonly zero = LinkAddress.fromBytes(new Uint8Array(6)) as LinkAddress;

  get bytes(): Uint8Array {
    return Uint8Array.from(this.raw);
  }

  writeTo(dst: Uint8Array, offset: number): void {
    dst.set(this.raw, offset);
  }

  equals(other: LinkAddress): boolean {
    return this.key === other.key;
  }

  /** Whether the 6 bytes at `offset` in `b` are this address (no allocation: per-frame path). */
  equalsBytes(b: Uint8Array, offset = 0): boolean {
    if (b.length < offset + 6) return false;
    const r = this.raw;
    for (let i = 0; i < 6; i++) if (b[offset + i] !== r[i]) return false;
    return true;
  }

  toString(): string {
    return this.key;
  }
}

/**
 * Which IP versions an endpoint serves: "ipv4" (an AF_INET socket), "ipv6" (AF_INET6 with
 * IPV6_V6ONLY) or "dual" (AF_INET6 without it). It decides which addresses an endpoint
 * may use and which wildcard its unbound address means.
 */
export type AddressFamily = "ipv4" | "ipv6" | "dual";

/** True if an endpoint of `family` may use `addr`. */
export function familyAllows(family: AddressFamily, addr: IPAddress): boolean {
  return family === "dual" || (family === "ipv4") === (addr.version === 4);
}

/** The demux/port key of the wildcard address for `family`. */
export function wildcardKey(family: AddressFamily): string {
  return family === "ipv4" ? "*4" : family === "ipv6" ? "*6" : "*";
}
