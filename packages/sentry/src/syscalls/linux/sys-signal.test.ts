// The signal, process-life and timer syscalls' argument checks, from the program's side (the
// fake platform: no host processes). Behaviour with real programs is in e2e/do/processes.test.ts.
import {
  E2BIG,
  ECHILD,
  EFAULT,
  EINVAL,
  ENOENT,
  EPERM,
  ESRCH,
  P_ALL,
  SIGKILL,
  SIGUSR1,
  SYS_alarm,
  SYS_clone3,
  SYS_execve,
  SYS_getitimer,
  SYS_getpid,
  SYS_kill,
  SYS_rt_sigaction,
  SYS_rt_sigpending,
  SYS_rt_sigprocmask,
  SYS_rt_sigtimedwait,
  SYS_setitimer,
  SYS_tgkill,
  SYS_timer_create,
  SYS_timer_delete,
  SYS_timer_gettime,
  SYS_timer_settime,
  SYS_wait4,
  SYS_waitid,
  WEXITED,
} from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { errno, put, record } from "../../kernel/test-kernel.js";

const u64 = (...v: bigint[]) => new Uint8Array(new BigUint64Array(v).buffer);

describe("signal syscalls reject bad arguments like Linux", () => {
  it("rt_sigaction, rt_sigprocmask, rt_sigpending", async () => {
    const seen = await record(async (cpu, rec) => {
      const buf = await put(cpu, new Uint8Array(64));
      rec(await cpu.syscall(SYS_rt_sigaction, 0, buf, 0, 8));
      rec(await cpu.syscall(SYS_rt_sigaction, 65, buf, 0, 8));
      rec(await cpu.syscall(SYS_rt_sigaction, SIGUSR1, buf, 0, 4));
      rec(await cpu.syscall(SYS_rt_sigaction, SIGKILL, buf, 0, 8));
      rec(await cpu.syscall(SYS_rt_sigaction, SIGKILL, 0, buf, 8)); // reading SIGKILL's is fine
      rec(await cpu.syscall(SYS_rt_sigaction, SIGUSR1, 0xdead0000, 0, 8));
      rec(await cpu.syscall(SYS_rt_sigprocmask, 7, buf, 0, 8));
      rec(await cpu.syscall(SYS_rt_sigprocmask, 0, 0xdead0000, 0, 8));
      rec(await cpu.syscall(SYS_rt_sigprocmask, 0, buf, 0, 16));
      rec(await cpu.syscall(SYS_rt_sigpending, buf, 16));
      rec(await cpu.syscall(SYS_rt_sigtimedwait, buf, 0, 0, 9));
    });
    expect(seen).toEqual([errno(EINVAL), errno(EINVAL), errno(EINVAL), errno(EINVAL), 0n, errno(EFAULT), errno(EINVAL), errno(EFAULT), errno(EINVAL), errno(EINVAL), errno(EINVAL)]);
  });

  it("kill and tgkill: bad signals, missing targets; signal 0 probes", async () => {
    const seen = await record(async (cpu, rec) => {
      const pid = await cpu.syscall(SYS_getpid);
      rec(await cpu.syscall(SYS_kill, pid, 65));
      rec(await cpu.syscall(SYS_kill, pid, -1));
      rec(await cpu.syscall(SYS_kill, 4242, 0));
      rec(await cpu.syscall(SYS_kill, pid, 0));
      rec(await cpu.syscall(SYS_kill, -4242, SIGUSR1));
      rec(await cpu.syscall(SYS_kill, -1, SIGUSR1)); // nobody else to signal
      rec(await cpu.syscall(SYS_tgkill, 0, pid, SIGUSR1));
      rec(await cpu.syscall(SYS_tgkill, pid, 4242, 0));
      rec(await cpu.syscall(SYS_tgkill, 4242, pid, 0));
    });
    expect(seen).toEqual([errno(EINVAL), errno(EINVAL), errno(ESRCH), 0n, errno(ESRCH), errno(ESRCH), errno(EINVAL), errno(ESRCH), errno(ESRCH)]);
  });
});

describe("process-life syscalls reject bad arguments like Linux", () => {
  it("clone3: struct sizes, unknown trailing bytes, stack pairs, set_tid", async () => {
    const seen = await record(async (cpu, rec) => {
      const args = (fields: bigint[], extra = 0) => put(cpu, new Uint8Array([...u64(...fields, ...new Array(11 - fields.length).fill(0n)), ...new Array(extra).fill(1)]));
      rec(await cpu.syscall(SYS_clone3, await args([]), 32));
      rec(await cpu.syscall(SYS_clone3, await args([]), 8192));
      rec(await cpu.syscall(SYS_clone3, await args([], 8), 96));
      rec(await cpu.syscall(SYS_clone3, await args([0n, 0n, 0n, 0n, 17n, 0x1000n, 0n]), 88)); // stack without size
      rec(await cpu.syscall(SYS_clone3, await args([0n, 0n, 0n, 0n, 99n]), 88));
      rec(await cpu.syscall(SYS_clone3, await args([0n, 0n, 0n, 0n, 17n, 0n, 0n, 0n, 0x1000n, 1n]), 88));
      rec(await cpu.syscall(SYS_clone3, await args([0x800n /* CLONE_SIGHAND without CLONE_VM */, 0n, 0n, 0n, 17n]), 88));
      rec(await cpu.syscall(SYS_clone3, 0xdead0000, 88));
    });
    expect(seen).toEqual([errno(EINVAL), errno(EINVAL), errno(E2BIG), errno(EINVAL), errno(EINVAL), errno(EPERM), errno(EINVAL), errno(EFAULT)]);
  });

  it("execve: bad pointers and missing files leave the caller running", async () => {
    const seen = await record(async (cpu, rec) => {
      const path = await put(cpu, new TextEncoder().encode("/no/such/program\0"));
      const empty = await put(cpu, new Uint8Array(1));
      const argv = await put(cpu, u64(0xdead0000n, 0n));
      rec(await cpu.syscall(SYS_execve, 0xdead0000, 0, 0));
      rec(await cpu.syscall(SYS_execve, empty, 0, 0));
      rec(await cpu.syscall(SYS_execve, path, 0, 0));
      rec(await cpu.syscall(SYS_execve, path, argv, 0));
    });
    expect(seen).toEqual([errno(EFAULT), errno(ENOENT), errno(ENOENT), errno(EFAULT)]);
  });

  it("wait4 and waitid: no children, bad options", async () => {
    const seen = await record(async (cpu, rec) => {
      const buf = await put(cpu, new Uint8Array(256));
      rec(await cpu.syscall(SYS_wait4, -1, buf, 0, 0));
      rec(await cpu.syscall(SYS_wait4, -1, buf, 0x100, 0));
      rec(await cpu.syscall(SYS_wait4, -0x8000_0000, buf, 0, 0));
      rec(await cpu.syscall(SYS_waitid, P_ALL, 0, buf, WEXITED, 0));
      rec(await cpu.syscall(SYS_waitid, P_ALL, 0, buf, 0, 0));
      rec(await cpu.syscall(SYS_waitid, 9, 0, buf, WEXITED, 0));
      rec(await cpu.syscall(SYS_waitid, 1 /* P_PID */, 0, buf, WEXITED, 0));
    });
    expect(seen).toEqual([errno(ECHILD), errno(EINVAL), errno(ESRCH), errno(ECHILD), errno(EINVAL), errno(EINVAL), errno(EINVAL)]);
  });
});

describe("timers", () => {
  it("alarm reports the seconds left, and itimers and POSIX timers check their arguments", async () => {
    const seen = await record(async (cpu, rec) => {
      const buf = await put(cpu, new Uint8Array(64));
      rec(await cpu.syscall(SYS_alarm, 100));
      rec(await cpu.syscall(SYS_alarm, 0));
      rec(await cpu.syscall(SYS_setitimer, 3, buf, 0));
      rec(await cpu.syscall(SYS_getitimer, 0, 0xdead0000));
      cpu.as.write(buf, u64(0n, 2_000_000n, 0n, 0n)); // it_interval.tv_usec out of range
      rec(await cpu.syscall(SYS_setitimer, 0, buf, 0));
      rec(await cpu.syscall(SYS_timer_create, -5 /* a CPU clock id counting nothing (kind 3) */, 0, buf));
      rec(await cpu.syscall(SYS_timer_create, (~999 << 3) | 6 /* the CPU clock of thread 999, not ours */, 0, buf));
      rec(await cpu.syscall(SYS_timer_create, 1, 0, buf));
      const idBytes = new Uint8Array(4);
      cpu.as.read(buf, idBytes);
      rec(new DataView(idBytes.buffer).getInt32(0, true));
      rec(await cpu.syscall(SYS_timer_settime, 99, 0, buf, 0));
      cpu.as.write(buf + 32n, u64(0n, 0n, 5n, 0n));
      rec(await cpu.syscall(SYS_timer_settime, 0, 0, buf + 32n, 0));
      rec(await cpu.syscall(SYS_timer_gettime, 0, buf));
      const cur = new Uint8Array(32);
      cpu.as.read(buf, cur);
      rec(new DataView(cur.buffer).getBigInt64(16, true) >= 4n);
      rec(await cpu.syscall(SYS_timer_delete, 0));
      rec(await cpu.syscall(SYS_timer_delete, 0));
    });
    expect(seen).toEqual([0n, 100n, errno(EINVAL), errno(EFAULT), errno(EINVAL), errno(EINVAL), errno(EINVAL), 0n, 0, errno(EINVAL), 0n, 0n, true, 0n, errno(EINVAL)]);
  });
});
