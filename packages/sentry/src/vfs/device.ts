/**
 * Character devices: what opening a device node does. A device node in any filesystem
 * (tmpfs, devfs) names a (major, minor) pair; opening it looks the pair up here (Linux's
 * chrdev map). Unregistered devices open with ENXIO.
 */
import { ENXIO, type LinuxError } from "@runsc-ts/abi";
import type { OpenOptions } from "./filesystem.js";
import type { FileDescriptionImpl } from "./file-description.js";

export interface CharDevice {
  open(opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> | FileDescriptionImpl | LinuxError;
}

export class DeviceRegistry {
  private readonly chars = new Map<string, CharDevice>();

  registerChar(major: number, minor: number, dev: CharDevice): void {
    const key = `${major}:${minor}`;
    if (this.chars.has(key)) throw new Error(`character device ${key} registered twice`);
    this.chars.set(key, dev);
  }

  async openChar(major: number, minor: number, opts: OpenOptions): Promise<FileDescriptionImpl | LinuxError> {
    const d = this.chars.get(`${major}:${minor}`);
    if (d === undefined) return ENXIO;
    return d.open(opts);
  }
}
