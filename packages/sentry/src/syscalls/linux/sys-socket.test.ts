// The socket calls' argument checks from the program's side (the fake platform); behaviour with
// real programs is in e2e/do/processes.test.ts.
import {
  AF_INET,
  AF_UNIX,
  EAFNOSUPPORT,
  EAGAIN,
  EBADF,
  ECONNREFUSED,
  EFAULT,
  EINVAL,
  ENOPROTOOPT,
  ENOTSOCK,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SYS_bind,
  SYS_close,
  SYS_connect,
  SYS_getsockopt,
  SYS_recvfrom,
  SYS_sendmsg,
  SYS_sendto,
  SYS_socket,
  SYS_socketpair,
} from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { errno, put, record } from "../../kernel/test-kernel.js";

const u64 = (...v: bigint[]) => new Uint8Array(new BigUint64Array(v).buffer);

describe("socket calls reject bad arguments like Linux", () => {
  it("families, addresses, descriptors that are not sockets", async () => {
    const seen = await record(async (cpu, rec) => {
      rec(await cpu.syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
      const s = await cpu.syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0);
      const addr = await put(cpu, new Uint8Array(256));
      rec(await cpu.syscall(SYS_bind, s, addr, 1));
      rec(await cpu.syscall(SYS_bind, s, addr, 111));
      cpu.as.write(addr, Uint8Array.of(AF_INET, 0, 0x2f, 0x78));
      rec(await cpu.syscall(SYS_bind, s, addr, 4));
      rec(await cpu.syscall(SYS_bind, s, 0xdead0000, 10));
      rec(await cpu.syscall(SYS_sendto, 1, addr, 1, 0, 0, 0)); // fd 1 is a file, not a socket
      rec(await cpu.syscall(SYS_sendto, 77, addr, 1, 0, 0, 0));
      rec(await cpu.syscall(SYS_getsockopt, s, SOL_SOCKET, 12345, addr, addr + 100n));
      rec(await cpu.syscall(SYS_recvfrom, s, 0xdead0000, 10, 0x40 /* MSG_DONTWAIT */, 0, 0));
      rec(await cpu.syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, 0xdead0000));
      rec(await cpu.syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0)); // the failed pair leaked no fds
      rec(await cpu.syscall(SYS_close, s));
    });
    // The failed socketpair closed what it had installed: the next socket takes fd 2 again.
    expect(seen).toEqual([errno(EAFNOSUPPORT), errno(EINVAL), errno(EINVAL), errno(EINVAL), errno(EFAULT), errno(ENOTSOCK), errno(EBADF), errno(ENOPROTOOPT), errno(EAGAIN), errno(EFAULT), 2n, 0n]);
  });

  it("malformed control messages in sendmsg", async () => {
    const seen = await record(async (cpu, rec) => {
      const pair = await put(cpu, new Uint8Array(8));
      await cpu.syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, pair);
      const fds = new Uint8Array(8);
      cpu.as.read(pair, fds);
      const a = new DataView(fds.buffer).getInt32(0, true);
      const data = await put(cpu, new TextEncoder().encode("x"));
      const iov = await put(cpu, u64(data, 1n));
      const send = async (control: Uint8Array) => {
        const c = await put(cpu, control);
        const msg = await put(cpu, u64(0n, 0n, iov, 1n, c, BigInt(control.length), 0n));
        return cpu.syscall(SYS_sendmsg, a, msg, 0);
      };
      const cmsg = (len: bigint, level: number, type: number, ...ints: number[]) => {
        const b = new Uint8Array(16 + 4 * ints.length + 8);
        const dv = new DataView(b.buffer);
        dv.setBigUint64(0, len, true);
        dv.setInt32(8, level, true);
        dv.setInt32(12, type, true);
        ints.forEach((v, i) => dv.setInt32(16 + 4 * i, v, true));
        return b;
      };
      rec(await send(cmsg(8n, SOL_SOCKET, 1, 0)));           // shorter than its header
      rec(await send(cmsg(4096n, SOL_SOCKET, 1, 0)));        // longer than the buffer
      rec(await send(cmsg(20n, 99, 1, 0)));                  // unknown level
      rec(await send(cmsg(20n, SOL_SOCKET, 1, 999)));        // not a descriptor
      rec(await send(cmsg(20n, SOL_SOCKET, 1, a)));          // a good one
      rec(await connectNowhere(cpu));
    });
    expect(seen).toEqual([errno(EINVAL), errno(EINVAL), errno(EINVAL), errno(EBADF), 1n, errno(ECONNREFUSED)]);
  });
});

async function connectNowhere(cpu: Parameters<Parameters<typeof record>[0]>[0]): Promise<bigint> {
  const s = await cpu.syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
  const addr = await put(cpu, Uint8Array.of(AF_UNIX, 0, 0, ...new TextEncoder().encode("nobody")));
  return cpu.syscall(SYS_connect, s, addr, 9);
}
