/**
 * devfs: the /dev a container sees, built as gVisor builds its devtmpfs: a tmpfs populated at
 * creation with device nodes, directories and symlinks, whose character devices open through
 * a DeviceRegistry holding the memory devices (mem.ts).
 *
 * Contents (runc's default /dev, minus what arrives later):
 *   null zero full random urandom   crw-rw-rw- 1,3 1,5 1,7 1,8 1,9
 *   fd -> /proc/self/fd, stdin/stdout/stderr -> /proc/self/fd/0,1,2, core -> /proc/kcore
 *   pts/ (devpts mounts here), shm/ (01777; a tmpfs is mounted here by the loader), mqueue/
 *   ptmx -> pts/ptmx
 */
import { S_IFCHR, S_IFDIR, S_IFLNK, S_ISVTX, isLinuxError, type LinuxError } from "@runsc-ts/abi";
import type { Clock } from "../../kernel/time.js";
import { makeDev } from "../../vfs/constants.js";
import { DeviceRegistry } from "../../vfs/device.js";
import { TmpDirectory } from "../tmpfs/directory.js";
import { TmpFilesystem } from "../tmpfs/filesystem.js";
import { FULL_MINOR, MEM_MAJOR, NULL_MINOR, RANDOM_MINOR, URANDOM_MINOR, ZERO_MINOR, registerMemDevices } from "./mem.js";

export interface DevfsOptions {
  readonly clock?: Clock;
  /** The registry to use; a fresh one with the memory devices by default. */
  readonly devices?: DeviceRegistry;
}

const MEM_NODES: readonly [string, number][] = [
  ["null", NULL_MINOR],
  ["zero", ZERO_MINOR],
  ["full", FULL_MINOR],
  ["random", RANDOM_MINOR],
  ["urandom", URANDOM_MINOR],
];

const SYMLINKS: readonly [string, string][] = [
  ["fd", "/proc/self/fd"],
  ["stdin", "/proc/self/fd/0"],
  ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"],
  ["core", "/proc/kcore"],
  ["ptmx", "pts/ptmx"],
];

const DIRS: readonly [string, number][] = [
  ["pts", 0o755],
  ["shm", 0o777 | S_ISVTX],
  ["mqueue", 0o777 | S_ISVTX],
];

function must<T>(v: T | LinuxError, what: string): T {
  if (isLinuxError(v)) throw new Error(`devfs: creating ${what}: ${v.name}`);
  return v;
}

/** A new devfs instance (a populated tmpfs, root mode 0755). */
export async function createDevfs(opts: DevfsOptions = {}): Promise<TmpFilesystem> {
  let devices = opts.devices;
  if (devices === undefined) {
    devices = new DeviceRegistry();
    registerMemDevices(devices);
  }
  const fs = new TmpFilesystem({ ...(opts.clock === undefined ? {} : { clock: opts.clock }), devices, rootMode: 0o755 });
  const root: TmpDirectory = fs.rootDir;
  const owner = { uid: 0, gid: 0 };
  for (const [name, minor] of MEM_NODES) {
    must(await root.mknod(name, { mode: S_IFCHR | 0o666, ...owner }, makeDev(MEM_MAJOR, minor)), name);
  }
  for (const [name, target] of SYMLINKS) must(await root.symlink(name, target, { mode: S_IFLNK | 0o777, ...owner }), name);
  for (const [name, mode] of DIRS) must(await root.mkdir(name, { mode: S_IFDIR | mode, ...owner }), name);
  return fs;
}
