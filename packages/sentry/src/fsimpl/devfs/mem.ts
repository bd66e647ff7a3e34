/**
 * The memory character devices (Linux's drivers/char/mem.c, major 1): null (3), zero (5),
 * full (7), random (8), urandom (9). random and urandom read from node:crypto's CSPRNG, which
 * never blocks once the host is seeded, matching Linux ≥ 5.6 where /dev/random no longer
 * blocks after initialisation. Writes to them are accepted and discarded (user-space
 * "entropy" does not feed the host pool).
 */
import { randomFillSync } from "node:crypto";
import { ENOSPC, type LinuxError } from "@runsc-ts/abi";
import type { CharDevice, DeviceRegistry } from "../../vfs/device.js";
import type { FileDescriptionImpl } from "../../vfs/file-description.js";

export const MEM_MAJOR = 1;
export const NULL_MINOR = 3;
export const ZERO_MINOR = 5;
export const FULL_MINOR = 7;
export const RANDOM_MINOR = 8;
export const URANDOM_MINOR = 9;

/** Largest single randomFillSync request (node caps it at 2^31-1 bytes). */
const RANDOM_CHUNK = 1 << 20;

type ReadFn = (dst: Uint8Array) => number;
type WriteFn = (src: Uint8Array) => number | LinuxError;

function memDevice(read: ReadFn, write: WriteFn): CharDevice {
  const impl: FileDescriptionImpl = {
    seekable: true,
    read: (dst) => Promise.resolve(read(dst)),
    write: (src) => Promise.resolve(write(src)),
    // mem.c's null_lseek: the position stays 0 whatever is asked.
    seek: () => Promise.resolve(0),
  };
  return { open: () => impl };
}

const discard: WriteFn = (src) => src.length;
const zeros: ReadFn = (dst) => {
  dst.fill(0);
  return dst.length;
};
const random: ReadFn = (dst) => {
  for (let off = 0; off < dst.length; off += RANDOM_CHUNK) randomFillSync(dst, off, Math.min(RANDOM_CHUNK, dst.length - off));
  return dst.length;
};

/** Registers null, zero, full, random and urandom under major 1. */
export function registerMemDevices(reg: DeviceRegistry): void {
  reg.registerChar(MEM_MAJOR, NULL_MINOR, memDevice(() => 0, discard));
  reg.registerChar(MEM_MAJOR, ZERO_MINOR, memDevice(zeros, discard));
  reg.registerChar(MEM_MAJOR, FULL_MINOR, memDevice(zeros, () => ENOSPC));
  reg.registerChar(MEM_MAJOR, RANDOM_MINOR, memDevice(random, discard));
  reg.registerChar(MEM_MAJOR, URANDOM_MINOR, memDevice(random, discard));
}
