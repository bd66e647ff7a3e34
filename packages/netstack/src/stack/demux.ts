/**
 * Transport demultiplexing by 5-tuple. Endpoints register under a key with optional
 * wildcards; lookup tries the most specific key first: (local addr, local port, remote addr,
 * remote port), then (local addr, local port), then the wildcard of the packet's IP version
 * ("*4"/"*6", single-family endpoints), then the dual-stack wildcard "*".
 */
import { wildcardKey, type AddressFamily, type IPAddress } from "../address.js";
import { ErrPortInUse, type NetError } from "../errors.js";

export interface TransportId {
  localAddress: IPAddress | undefined;
  localPort: number;
  remoteAddress: IPAddress | undefined;
  remotePort: number;
  /** Which wildcard an undefined `localAddress` means; "dual" if absent. */
  family?: AddressFamily;
}

function key(protocol: number, la: string, lp: number, ra: string, rp: number): string {
  return `${protocol}|${la}|${lp}|${ra}|${rp}`;
}

function idKey(protocol: number, id: TransportId): string {
  const la = id.localAddress === undefined || id.localAddress.isUnspecified() ? wildcardKey(id.family ?? "dual") : id.localAddress.key;
  const ra = id.remoteAddress === undefined || id.remoteAddress.isUnspecified() ? "*" : id.remoteAddress.key;
  return key(protocol, la, id.localPort, ra, id.remotePort);
}

export class TransportDemuxer<E> {
  private readonly table = new Map<string, E>();

  register(protocol: number, id: TransportId, endpoint: E): NetError | undefined {
    const k = idKey(protocol, id);
    if (this.table.has(k)) return ErrPortInUse;
    this.table.set(k, endpoint);
    return undefined;
  }

  unregister(protocol: number, id: TransportId, endpoint: E): void {
    const k = idKey(protocol, id);
    if (this.table.get(k) === endpoint) this.table.delete(k);
  }

  lookup(protocol: number, local: IPAddress, localPort: number, remote: IPAddress, remotePort: number): E | undefined {
    return (
      this.table.get(key(protocol, local.key, localPort, remote.key, remotePort)) ??
      this.table.get(key(protocol, local.key, localPort, "*", 0)) ??
      this.table.get(key(protocol, local.version === 4 ? "*4" : "*6", localPort, "*", 0)) ??
      this.table.get(key(protocol, "*", localPort, "*", 0))
    );
  }

  get size(): number {
    return this.table.size;
  }
}
