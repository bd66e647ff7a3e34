import {
  EBADF,
  EFAULT,
  EINVAL,
  ENOMEM,
  ENOSYS,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PR_GET_NAME,
  PR_SET_NAME,
  PROT_READ,
  PROT_WRITE,
  RLIMIT_AS,
  SIGSEGV,
  SYS_brk,
  SYS_chdir,
  SYS_close,
  SYS_mkdir,
  SYS_exit_group,
  SYS_getpid,
  SYS_getppid,
  SYS_gettid,
  SYS_mmap,
  SYS_mremap,
  SYS_munmap,
  SYS_prctl,
  SYS_read,
  SYS_uname,
  SYS_uselib,
  SYS_write,
  SYS_writev,
  syscallName,
} from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { linuxSyscalls } from "../syscalls/linux/table.js";
import { SyscallTable, supported } from "../syscalls/table.js";
import type { Task } from "./task.js";
import { boot, errno, put } from "./test-kernel.js";
import { shellExitCode } from "./thread-group.js";


describe("the kernel runs a program's syscalls", () => {
  it("writes to a file and exits with exit_group's status", async () => {
    const { kernel, task, readOut } = await boot(async (cpu) => {
      const msg = new TextEncoder().encode("hello, sandbox\n");
      const addr = await put(cpu, msg);
      expect(await cpu.syscall(SYS_write, 1, addr, msg.length)).toBe(BigInt(msg.length));
      await cpu.syscall(SYS_exit_group, 3);
    });
    await kernel.run(task);
    expect(shellExitCode(await task.tg.waitExit())).toBe(3);
    expect(await readOut()).toBe("hello, sandbox\n");
    expect(kernel.tasks.size).toBe(0);
  });

  it("pins the root and cwd dentries while the process lives; chdir moves the pin; exit drops both", async () => {
    // (Assertions inside the program would be the program's failure, not the test's: record.)
    const seen: unknown[] = [];
    const { kernel, task } = await boot(async (cpu) => {
      const path = await put(cpu, new TextEncoder().encode("/sub\0"));
      seen.push(await cpu.syscall(SYS_mkdir, path, 0o755), await cpu.syscall(SYS_chdir, path));
      seen.push(task.fs.cwd.dentry.name, task.fs.cwd.dentry.refCount, task.fs.root.dentry.refCount);
      await cpu.syscall(SYS_exit_group, 0);
    });
    const root = task.fs.root.dentry;
    expect(root.refCount).toBe(3); // the mount, the task's root, its cwd
    const run = kernel.run(task);
    await task.tg.waitExit();
    await run;
    // After chdir: the cwd's pin moved to /sub; the root keeps the mount's and the task root's.
    expect(seen).toEqual([0n, 0n, "sub", 1, 2]);
    expect(root.children.get("sub")?.refCount).toBe(0);
    expect(root.refCount).toBe(1); // the mount's, only
  });

  it("reports ids: pid = tid of the first task, no parent", async () => {
    const seen: bigint[] = [];
    const { kernel, task } = await boot(async (cpu) => {
      seen.push(await cpu.syscall(SYS_getpid), await cpu.syscall(SYS_gettid), await cpu.syscall(SYS_getppid));
      await cpu.syscall(SYS_exit_group, 0);
    });
    await kernel.run(task);
    expect(seen).toEqual([BigInt(task.tid), BigInt(task.tid), 0n]);
  });

  it("returns ENOSYS for unimplemented and unknown syscalls, and keeps running", async () => {
    const seen: bigint[] = [];
    const { kernel, task } = await boot(async (cpu) => {
      seen.push(await cpu.syscall(SYS_uselib, 0), await cpu.syscall(100_000), await cpu.syscall(-1));
      await cpu.syscall(SYS_exit_group, 0);
    });
    await kernel.run(task);
    expect(seen).toEqual([errno(ENOSYS), errno(ENOSYS), errno(ENOSYS)]);
  });

  it("gives EFAULT for bad pointers and EBADF for bad descriptors", async () => {
    const seen: bigint[] = [];
    const { kernel, task } = await boot(async (cpu) => {
      seen.push(await cpu.syscall(SYS_write, 1, 0x1000, 10));
      seen.push(await cpu.syscall(SYS_write, 99, 0x1000, 10));
      seen.push(await cpu.syscall(SYS_read, 1, 0xffff_ffff_ffff_0000n, 10));
      seen.push(await cpu.syscall(SYS_uname, 0));
      seen.push(await cpu.syscall(SYS_writev, 1, 0, 2000));
      await cpu.syscall(SYS_exit_group, 0);
    });
    await kernel.run(task);
    expect(seen).toEqual([errno(EFAULT), errno(EBADF), errno(EFAULT), errno(EFAULT), errno(EINVAL)]);
  });

  it("manages memory: brk grows, mmap and munmap, writes to unmapped memory fault", async () => {
    const seen: bigint[] = [];
    const { kernel, task } = await boot(async (cpu) => {
      const a = await cpu.syscall(SYS_mmap, 0x5000_0000, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      seen.push(a);
      cpu.as.write(a, new TextEncoder().encode("abc"));
      seen.push(await cpu.syscall(SYS_write, 1, a, 3));
      seen.push(await cpu.syscall(SYS_munmap, a, 8192));
      seen.push(await cpu.syscall(SYS_write, 1, a, 3));
      seen.push(await cpu.syscall(SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      await cpu.syscall(SYS_exit_group, 0);
    });
    task.mm.brkStart = task.mm.brk = 0x1000_0000n;
    await kernel.run(task);
    expect(seen).toEqual([0x5000_0000n, 3n, 0n, errno(EFAULT), errno(EINVAL)]);
  });

  it("moves the break with brk(2)", async () => {
    const seen: bigint[] = [];
    const { kernel, task } = await boot(async (cpu) => {
      seen.push(await cpu.syscall(SYS_brk, 0));
      seen.push(await cpu.syscall(SYS_brk, 0x1000_5000n));
      cpu.as.write(0x1000_4000n, new Uint8Array([1]));
      seen.push(await cpu.syscall(SYS_write, 1, 0x1000_4000n, 1));
      seen.push(await cpu.syscall(SYS_brk, 0x0fff_0000n)); // below the start: unchanged
      await cpu.syscall(SYS_exit_group, 0);
    });
    task.mm.brkStart = task.mm.brk = 0x1000_0000n;
    await kernel.run(task);
    expect(seen).toEqual([0x1000_0000n, 0x1000_5000n, 1n, 0x1000_5000n]);
  });

  it("holds mmap, mremap and brk to RLIMIT_AS, counting what a MAP_FIXED mapping replaces", async () => {
    const seen: bigint[] = [];
    const { kernel, task } = await boot(async (cpu) => {
      const rw = PROT_READ | PROT_WRITE;
      const anon = MAP_PRIVATE | MAP_ANONYMOUS;
      const used = task.mm.vmBytes(); // what boot mapped (the program's pages)
      task.tg.limits.set(RLIMIT_AS, { cur: used + 0x10000n, max: used + 0x10000n }, false);
      seen.push(await cpu.syscall(SYS_mmap, 0x5000_0000, 0x10000, rw, anon | MAP_FIXED, -1, 0)); // exactly the limit
      seen.push(await cpu.syscall(SYS_mmap, 0, 0x1000, rw, anon, -1, 0)); // one page over
      seen.push(await cpu.syscall(SYS_mmap, 0x5000_0000, 0x10000, PROT_READ, anon | MAP_FIXED, -1, 0)); // replaces: no growth
      seen.push(await cpu.syscall(SYS_mremap, 0x5000_0000, 0x10000, 0x11000, 0, 0)); // grows past it
      seen.push(await cpu.syscall(SYS_brk, 0x1000_1000n)); // refused: the break stays
      seen.push(await cpu.syscall(SYS_munmap, 0x5000_0000, 0x1000));
      seen.push(await cpu.syscall(SYS_brk, 0x1000_1000n)); // room for one page now
      await cpu.syscall(SYS_exit_group, 0);
    });
    task.mm.brkStart = task.mm.brk = 0x1000_0000n;
    await kernel.run(task);
    expect(seen).toEqual([0x5000_0000n, errno(ENOMEM), 0x5000_0000n, errno(ENOMEM), 0x1000_0000n, 0n, 0x1000_1000n]);
  });

  it("sets and reads the thread name with prctl", async () => {
    let name = "";
    const { kernel, task } = await boot(async (cpu) => {
      const a = await put(cpu, new TextEncoder().encode("a-very-long-thread-name\0"));
      await cpu.syscall(SYS_prctl, PR_SET_NAME, a);
      await cpu.syscall(SYS_prctl, PR_GET_NAME, a + 100n);
      const b = new Uint8Array(16);
      cpu.as.read(a + 100n, b);
      name = new TextDecoder().decode(b.subarray(0, b.indexOf(0)));
      await cpu.syscall(SYS_exit_group, 0);
    });
    await kernel.run(task);
    expect(name).toBe("a-very-long-thr");
  });

  it("kills the process with SIGSEGV on an unhandled fault (no core bit: no core file is written)", async () => {
    const { kernel, task } = await boot(async (cpu) => {
      await cpu.fault(0n);
    });
    await kernel.run(task);
    const status = await task.tg.waitExit();
    expect(status & 0x7f).toBe(SIGSEGV);
    expect(status & 0x80).toBe(0);
    expect(shellExitCode(status)).toBe(128 + SIGSEGV);
  });

  it("fails the sandbox loudly when a handler throws (a sentry bug), without crashing", async () => {
    const table = new SyscallTable<Task>([
      supported("getpid", () => {
        throw new Error("boom");
      }),
      supported("exit_group", () => 0),
    ]);
    const { kernel, task } = await boot(async (cpu) => {
      await cpu.syscall(SYS_getpid);
      await cpu.syscall(SYS_close, 0);
    }, table);
    await kernel.run(task);
    expect(kernel.bug?.message).toMatch(/getpid \(tid \d+\) threw: Error: boom/);
    expect(shellExitCode(await task.tg.waitExit())).toBe(128);
  });
});

describe("random arguments at every implemented syscall", () => {
  it("always get a value or an errno, never an exception", async () => {
    const table = linuxSyscalls();
    // exit ends the task; the sleeping and waiting calls would sleep for the random time asked
    // (correctly): they get their own tests.
    const skip = new Set(["exit", "exit_group", "nanosleep", "clock_nanosleep", "poll", "ppoll", "select", "pselect6"]);
    let seed = 0x5eed;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const word = (): bigint => {
      switch (rand() % 6) {
        case 0:
          return 0n;
        case 1:
          return BigInt(rand() % 4096);
        case 2:
          return 0xffff_ffff_ffff_ffffn;
        case 3:
          return 0x5000_0000n + BigInt(rand() % 8192);
        case 4:
          return BigInt(rand()) << 32n;
        default:
          return BigInt(rand());
      }
    };
    const { kernel, task } = await boot(async () => {});
    task.mm.brkStart = task.mm.brk = 0x1000_0000n;
    task.mm.mmap(0x5000_0000n, 8192n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    let calls = 0;
    for (const entry of table.report()) {
      if (entry.handler === undefined || skip.has(entry.name)) continue;
      for (let i = 0; i < 100; i++) {
        const args = [word(), word(), word(), word(), word(), word()];
        // A call may block correctly (a read of an empty pipe): give each 50 ms, then move on.
        const r = await Promise.race([kernel.syscall(task, entry.number, args), new Promise((res) => setTimeout(() => res(0), 50))]);
        expect(["number", "bigint", "object"], `${syscallName(entry.number)}`).toContain(typeof r);
        calls++;
      }
    }
    expect(kernel.bug).toBeUndefined();
    expect(calls).toBeGreaterThan(500);
  });
});
