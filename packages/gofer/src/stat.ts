/**
 * Host structs (statx, statfs, linux_dirent64), as the native calls fill them, read with abi's
 * generated layouts and copied into the schema's structs.
 */
import {
  AT_EMPTY_PATH,
  AT_SYMLINK_NOFOLLOW,
  STATX_BASIC_STATS,
  STATX_BTIME,
  S_IFMT,
  linux_dirent64,
  statfs as statfsLayout,
  statx as statxLayout,
} from "@runsc-ts/abi";
import type { common } from "@runsc-ts/proto";
import { native } from "@runsc-ts/platform";

const SX = statxLayout.fields;
const TS = SX.stx_atime.layout.fields;
const SF = statfsLayout.fields;
const DE = linux_dirent64.fields;

/** What `fstat` and walks ask for. */
export const STATX_WANTED = STATX_BASIC_STATS | STATX_BTIME;

/** A statx result: the raw struct, read through a DataView. */
export class HostStat {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get mode(): number {
    return this.view.getUint16(SX.stx_mode.offset, true);
  }
  get type(): number {
    return this.mode & S_IFMT;
  }
  get ino(): bigint {
    return this.view.getBigUint64(SX.stx_ino.offset, true);
  }
  get devMajor(): number {
    return this.view.getUint32(SX.stx_dev_major.offset, true);
  }
  get devMinor(): number {
    return this.view.getUint32(SX.stx_dev_minor.offset, true);
  }
  /** Same inode on the same device. */
  sameFile(other: HostStat): boolean {
    return this.ino === other.ino && this.devMajor === other.devMajor && this.devMinor === other.devMinor;
  }
}

/** statx(2) of an O_PATH (or any) descriptor itself, not following a symlink it refers to. */
export function statFd(fd: number): HostStat {
  const buf = new Uint8Array(statxLayout.size);
  native.statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_WANTED, buf);
  return new HostStat(buf);
}

/** statx(2) of `name` in directory `dirFd`, not following a final symlink. */
export function statAt(dirFd: number, name: Uint8Array): HostStat {
  const buf = new Uint8Array(statxLayout.size);
  native.statx(dirFd, name, AT_SYMLINK_NOFOLLOW, STATX_WANTED, buf);
  return new HostStat(buf);
}

/** Copies a host statx into the schema's Statx. */
export function fillStatx(out: common.Statx, st: HostStat): void {
  const v = st.view;
  const u32 = (o: number): number => v.getUint32(o, true);
  const u64 = (o: number): bigint => v.getBigUint64(o, true);
  out.mask = u32(SX.stx_mask.offset);
  out.blksize = u32(SX.stx_blksize.offset);
  out.attributes = u64(SX.stx_attributes.offset);
  out.nlink = u32(SX.stx_nlink.offset);
  out.uid = u32(SX.stx_uid.offset);
  out.gid = u32(SX.stx_gid.offset);
  out.mode = v.getUint16(SX.stx_mode.offset, true);
  out.ino = u64(SX.stx_ino.offset);
  out.size = u64(SX.stx_size.offset);
  out.blocks = u64(SX.stx_blocks.offset);
  out.attributesMask = u64(SX.stx_attributes_mask.offset);
  const times: Array<[{ sec: bigint; nsec: number }, number]> = [
    [out.atime, SX.stx_atime.offset],
    [out.btime, SX.stx_btime.offset],
    [out.ctime, SX.stx_ctime.offset],
    [out.mtime, SX.stx_mtime.offset],
  ];
  for (const [t, off] of times) {
    t.sec = v.getBigInt64(off + TS.tv_sec.offset, true);
    t.nsec = u32(off + TS.tv_nsec.offset);
  }
  out.rdevMajor = u32(SX.stx_rdev_major.offset);
  out.rdevMinor = u32(SX.stx_rdev_minor.offset);
  out.devMajor = u32(SX.stx_dev_major.offset);
  out.devMinor = u32(SX.stx_dev_minor.offset);
  out.mntId = u64(SX.stx_mnt_id.offset);
}

/** fstatfs(2) of a descriptor (O_PATH is fine), copied into the schema's Statfs. */
export function fillStatfs(out: common.Statfs, fd: number): void {
  const buf = new Uint8Array(statfsLayout.size);
  native.fstatfs(fd, buf);
  const v = new DataView(buf.buffer);
  const u64 = (o: number): bigint => BigInt.asUintN(64, v.getBigInt64(o, true));
  out.type = u64(SF.f_type.offset);
  out.bsize = u64(SF.f_bsize.offset);
  out.blocks = u64(SF.f_blocks.offset);
  out.bfree = u64(SF.f_bfree.offset);
  out.bavail = u64(SF.f_bavail.offset);
  out.files = u64(SF.f_files.offset);
  out.ffree = u64(SF.f_ffree.offset);
  out.fsid0 = v.getUint32(SF.f_fsid.offset, true);
  out.fsid1 = v.getUint32(SF.f_fsid.offset + 4, true);
  out.namelen = u64(SF.f_namelen.offset);
  out.frsize = u64(SF.f_frsize.offset);
  out.flags = u64(SF.f_flags.offset);
}

/** One linux_dirent64 record. */
export interface HostDirent {
  readonly ino: bigint;
  /** d_off: signed on the host; the schema carries it as the same 64 bits unsigned. */
  readonly off: bigint;
  readonly type: number;
  readonly name: Uint8Array;
}

/** Parses `length` bytes of linux_dirent64 records from `buf`. */
export function parseDirents(buf: Uint8Array, length: number): HostDirent[] {
  const v = new DataView(buf.buffer, buf.byteOffset, length);
  const out: HostDirent[] = [];
  for (let pos = 0; pos + DE.d_name.offset <= length; ) {
    const reclen = v.getUint16(pos + DE.d_reclen.offset, true);
    if (reclen < DE.d_name.offset || pos + reclen > length) break; // cannot happen with a sane kernel
    const nameStart = pos + DE.d_name.offset;
    let nameEnd = nameStart;
    while (nameEnd < pos + reclen && buf[nameEnd] !== 0) nameEnd++;
    out.push({
      ino: v.getBigUint64(pos + DE.d_ino.offset, true),
      off: BigInt.asUintN(64, v.getBigInt64(pos + DE.d_off.offset, true)),
      type: v.getUint8(pos + DE.d_type.offset),
      name: buf.slice(nameStart, nameEnd),
    });
    pos += reclen;
  }
  return out;
}
