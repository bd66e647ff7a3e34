import { EAGAIN, EINVAL, EPOLLIN, EPOLLOUT } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { EventFd } from "./eventfd.js";

const u64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};
const val = (b: Uint8Array) => new DataView(b.buffer).getBigUint64(0, true);

describe("eventfd", () => {
  it("adds on write and takes the whole count on read", async () => {
    const e = new EventFd(2n, false);
    expect(await e.write(u64(3n))).toBe(8);
    const b = new Uint8Array(8);
    expect(await e.read(b)).toBe(8);
    expect(val(b)).toBe(5n);
    expect(await e.read(b)).toBe(EAGAIN);
  });
  it("takes one at a time with EFD_SEMAPHORE", async () => {
    const e = new EventFd(2n, true);
    const b = new Uint8Array(8);
    await e.read(b);
    expect(val(b)).toBe(1n);
    expect(e.readiness(EPOLLIN | EPOLLOUT)).toBe(EPOLLIN | EPOLLOUT);
    await e.read(b);
    expect(e.readiness(EPOLLIN | EPOLLOUT)).toBe(EPOLLOUT);
  });
  it("refuses short buffers, the all-ones value, and overflow", async () => {
    const e = new EventFd(0n, false);
    expect(await e.read(new Uint8Array(4))).toBe(EINVAL);
    expect(await e.write(u64(0xffff_ffff_ffff_ffffn))).toBe(EINVAL);
    expect(await e.write(u64(0xffff_ffff_ffff_fffen))).toBe(8);
    expect(await e.write(u64(1n))).toBe(EAGAIN);
    expect(e.readiness(EPOLLOUT)).toBe(0);
  });
});
