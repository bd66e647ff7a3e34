import {
  EBADF,
  EEXIST,
  EFAULT,
  EINVAL,
  ELOOP,
  ENOENT,
  EPERM,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLLOUT,
  EPOLLPRI,
  SYS_close,
  SYS_epoll_create,
  SYS_epoll_create1,
  SYS_epoll_ctl,
  SYS_epoll_pwait2,
  SYS_epoll_wait,
  SYS_pipe2,
  SYS_read,
  SYS_write,
} from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { errno, put, record } from "../../kernel/test-kernel.js";
import type { FakeCpu } from "../../kernel/test-platform.js";

/** A program's view of epoll: ctl with an event struct, wait into a buffer it decodes. */
async function epollKit(cpu: FakeCpu) {
  const ev = await put(cpu, new Uint8Array(12));
  const outAddr = await put(cpu, new Uint8Array(12 * 8));
  const fds = await put(cpu, new Uint8Array(8));
  return {
    ctl: async (epfd: bigint | number, op: number, fd: bigint | number, events = 0, data = 0n) => {
      const b = new Uint8Array(12);
      new DataView(b.buffer).setUint32(0, events >>> 0, true);
      new DataView(b.buffer).setBigUint64(4, data, true);
      cpu.as.write(ev, b);
      return cpu.syscall(SYS_epoll_ctl, epfd, op, fd, ev);
    },
    /** Returns [events, data] pairs, or the raw result when it is an error. */
    wait: async (epfd: bigint | number, max = 8, timeout = 0) => {
      const n = await cpu.syscall(SYS_epoll_wait, epfd, outAddr, max, timeout);
      if (n > 64n) return n;
      const b = new Uint8Array(12 * Number(n));
      cpu.as.read(outAddr, b);
      const dv = new DataView(b.buffer);
      return Array.from({ length: Number(n) }, (_, i) => [dv.getUint32(12 * i, true), dv.getBigUint64(12 * i + 4, true)]);
    },
    pipe: async () => {
      await cpu.syscall(SYS_pipe2, fds, 0);
      const b = new Uint8Array(8);
      cpu.as.read(fds, b);
      const dv = new DataView(b.buffer);
      return { r: dv.getInt32(0, true), w: dv.getInt32(4, true) };
    },
    write: async (fd: number, n: number) => cpu.syscall(SYS_write, fd, await put(cpu, new Uint8Array(n).fill(0x61)), n),
    read: async (fd: number, n: number) => cpu.syscall(SYS_read, fd, await put(cpu, new Uint8Array(n)), n),
  };
}

describe("epoll", () => {
  it("level-triggered: reports while readable, with the caller's data, until drained", async () => {
    const seen = await record(async (cpu, rec) => {
      const k = await epollKit(cpu);
      const ep = await cpu.syscall(SYS_epoll_create1, EPOLL_CLOEXEC);
      const { r, w } = await k.pipe();
      rec(await k.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 0x1122_3344_5566_7788n));
      rec(await k.wait(ep));
      await k.write(w, 10);
      rec(await k.wait(ep));
      rec(await k.wait(ep));
      await k.read(r, 10);
      rec(await k.wait(ep));
      // The write end is writable at once, so it is ready first; each reports its own data.
      rec(await k.ctl(ep, EPOLL_CTL_ADD, w, EPOLLOUT, 7n));
      await k.write(w, 1);
      rec(await k.wait(ep));
      rec(await k.wait(ep, 1));
      rec(await k.wait(ep, 1)); // level-triggered interests rotate through a short buffer
    });
    const data = 0x1122_3344_5566_7788n;
    expect(seen).toEqual([0n, [], [[EPOLLIN, data]], [[EPOLLIN, data]], [], 0n, [[EPOLLOUT, 7n], [EPOLLIN, data]], [[EPOLLOUT, 7n]], [[EPOLLIN, data]]]);
  });

  it("edge-triggered reports once per new write; one-shot disarms until EPOLL_CTL_MOD", async () => {
    const seen = await record(async (cpu, rec) => {
      const k = await epollKit(cpu);
      const ep = await cpu.syscall(SYS_epoll_create, 1);
      const a = await k.pipe();
      const b = await k.pipe();
      await k.ctl(ep, EPOLL_CTL_ADD, a.r, (EPOLLIN | EPOLLET) >>> 0, 1n);
      await k.ctl(ep, EPOLL_CTL_ADD, b.r, EPOLLIN | EPOLLONESHOT, 2n);
      await k.write(a.w, 1);
      rec(await k.wait(ep));
      rec(await k.wait(ep));
      await k.write(a.w, 1);
      rec(await k.wait(ep));
      await k.write(b.w, 1);
      rec(await k.wait(ep));
      await k.write(b.w, 1);
      rec(await k.wait(ep));
      rec(await k.ctl(ep, EPOLL_CTL_MOD, b.r, EPOLLIN | EPOLLONESHOT, 3n));
      rec(await k.wait(ep));
    });
    expect(seen).toEqual([[[EPOLLIN, 1n]], [], [[EPOLLIN, 1n]], [[EPOLLIN, 2n]], [], 0n, [[EPOLLIN, 3n]]]);
  });

  it("reports hang-up unasked, drops interests of closed descriptions, and nests", async () => {
    const seen = await record(async (cpu, rec) => {
      const k = await epollKit(cpu);
      const ep = await cpu.syscall(SYS_epoll_create1, 0);
      const outer = await cpu.syscall(SYS_epoll_create1, 0);
      const a = await k.pipe();
      await k.ctl(ep, EPOLL_CTL_ADD, a.r, EPOLLPRI, 5n);
      rec(await k.ctl(outer, EPOLL_CTL_ADD, ep, EPOLLIN, 9n));
      rec(await k.wait(outer));
      await cpu.syscall(SYS_close, a.w);
      rec(await k.wait(outer));
      rec(await k.wait(ep));
      await cpu.syscall(SYS_close, a.r);
      rec(await k.wait(ep));
      rec(await k.wait(outer));
      // The fd number is free again: a new pipe there can be added afresh.
      const b = await k.pipe();
      rec(b.r === a.r ? await k.ctl(ep, EPOLL_CTL_ADD, b.r, EPOLLIN) : "fd not reused");
    });
    expect(seen).toEqual([0n, [], [[EPOLLIN, 9n]], [[EPOLLHUP, 5n]], [], [], 0n]);
  });

  it("waits out a timeout when nothing is ready (epoll_wait and epoll_pwait2)", async () => {
    const seen = await record(async (cpu, rec) => {
      const k = await epollKit(cpu);
      const ep = await cpu.syscall(SYS_epoll_create1, 0);
      const a = await k.pipe();
      await k.ctl(ep, EPOLL_CTL_ADD, a.r, EPOLLIN);
      const t0 = Date.now();
      rec(await k.wait(ep, 8, 20));
      const ts = new Uint8Array(16);
      new DataView(ts.buffer).setBigInt64(8, 20_000_000n, true);
      rec(await cpu.syscall(SYS_epoll_pwait2, ep, await put(cpu, new Uint8Array(12)), 1, await put(cpu, ts), 0, 8));
      rec(Date.now() - t0 >= 30);
    });
    expect(seen).toEqual([[], 0n, true]);
  });

  it("checks its arguments in Linux's order", async () => {
    const seen = await record(async (cpu, rec) => {
      const k = await epollKit(cpu);
      rec(await cpu.syscall(SYS_epoll_create, 0));
      rec(await cpu.syscall(SYS_epoll_create1, 1));
      const ep = await cpu.syscall(SYS_epoll_create1, 0);
      const ep2 = await cpu.syscall(SYS_epoll_create1, 0);
      const { r } = await k.pipe();
      rec(await k.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN));
      rec(await k.ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN)); // twice
      rec(await k.ctl(ep, EPOLL_CTL_MOD, 99, EPOLLIN)); // bad fd
      rec(await k.ctl(ep, EPOLL_CTL_DEL, r));
      rec(await k.ctl(ep, EPOLL_CTL_DEL, r)); // gone
      rec(await k.ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN)); // gone
      rec(await k.ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN)); // itself
      rec(await k.ctl(r, EPOLL_CTL_ADD, ep, EPOLLIN)); // not an epoll
      rec(await k.ctl(ep, EPOLL_CTL_ADD, 1, EPOLLIN)); // /out, a regular file
      rec(await k.ctl(ep, 42, r, EPOLLIN)); // unknown op
      rec(await k.ctl(ep, EPOLL_CTL_ADD, r, (EPOLLIN | EPOLLPRI | EPOLLEXCLUSIVE) >>> 0)); // PRI is not exclusive-ok
      rec(await k.ctl(ep, EPOLL_CTL_ADD, r, (EPOLLIN | EPOLLEXCLUSIVE) >>> 0));
      rec(await k.ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN)); // exclusive interests cannot be modified
      rec(await cpu.syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, r, 0x10)); // unmapped event
      rec(await k.ctl(ep, EPOLL_CTL_ADD, ep2, EPOLLIN));
      rec(await k.ctl(ep2, EPOLL_CTL_ADD, ep, EPOLLIN)); // a cycle
      rec(await k.wait(ep, 0));
      rec(await k.wait(r, 1));
      rec(await k.wait(77, 1));
    });
    expect(seen).toEqual([
      errno(EINVAL),
      errno(EINVAL),
      0n,
      errno(EEXIST),
      errno(EBADF),
      0n,
      errno(ENOENT),
      errno(ENOENT),
      errno(EINVAL),
      errno(EINVAL),
      errno(EPERM),
      errno(EINVAL),
      errno(EINVAL),
      0n,
      errno(EINVAL),
      errno(EFAULT),
      0n,
      errno(ELOOP),
      errno(EINVAL),
      errno(EINVAL),
      errno(EBADF),
    ]);
  });
});
