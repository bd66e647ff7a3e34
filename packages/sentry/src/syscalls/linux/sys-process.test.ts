import { EINVAL, EPERM, ESRCH, SYS_getpgid, SYS_getpgrp, SYS_getpid, SYS_getsid, SYS_setpgid, SYS_setsid } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { errno, record } from "../../kernel/test-kernel.js";

describe("process groups and sessions from the program's side", () => {
  it("the sandbox's first process leads its session and group, and cannot leave them", async () => {
    const seen = await record(async (cpu, rec) => {
      const pid = await cpu.syscall(SYS_getpid);
      rec((await cpu.syscall(SYS_getpgrp)) === pid);
      rec((await cpu.syscall(SYS_getpgid, 0)) === pid);
      rec((await cpu.syscall(SYS_getpgid, pid)) === pid);
      rec((await cpu.syscall(SYS_getsid, 0)) === pid);
      rec(await cpu.syscall(SYS_setsid));
      rec(await cpu.syscall(SYS_setpgid, 0, 0));
      rec(await cpu.syscall(SYS_setpgid, 0, -1));
      rec(await cpu.syscall(SYS_setpgid, 4242, 0));
      rec(await cpu.syscall(SYS_getpgid, 4242));
      rec(await cpu.syscall(SYS_getsid, -1));
    });
    expect(seen).toEqual([true, true, true, true, errno(EPERM), errno(EPERM), errno(EINVAL), errno(ESRCH), errno(ESRCH), errno(ESRCH)]);
  });
});
