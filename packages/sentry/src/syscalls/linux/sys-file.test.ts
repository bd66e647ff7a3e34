import {
  AT_FDCWD,
  AT_REMOVEDIR,
  EBADF,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOTDIR,
  ENOTEMPTY,
  ERANGE,
  FD_CLOEXEC,
  F_GETFD,
  F_SETFD,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  SEEK_SET,
  SYS_chdir,
  SYS_close,
  SYS_dup2,
  SYS_dup3,
  SYS_fcntl,
  SYS_fstat,
  SYS_getcwd,
  SYS_getdents64,
  SYS_lseek,
  SYS_mkdir,
  SYS_newfstatat,
  SYS_openat,
  SYS_eventfd2,
  SYS_memfd_create,
  SYS_pwritev,
  SYS_preadv,
  SYS_sendfile,
  SYS_pread64,
  SYS_madvise,
  MADV_DONTNEED,
  SYS_pipe2,
  SYS_poll,
  POLLIN,
  EFAULT,
  SYS_read,
  SYS_readlink,
  SYS_renameat2,
  SYS_symlink,
  SYS_unlinkat,
  SYS_write,
  readStruct,
  stat,
} from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { errno, put, record as run } from "../../kernel/test-kernel.js";
import { parseDirents64 } from "../../vfs/file-description.js";

const enc = (s: string) => new TextEncoder().encode(s + "\0");

describe("file syscalls through the VFS", () => {
  it("create, write, seek, read back, fstat", async () => {
    const seen = await run(async (cpu, rec) => {
      const path = await put(cpu, enc("/data.txt"));
      const fd = await cpu.syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL, 0o640);
      rec(fd);
      const msg = await put(cpu, new TextEncoder().encode("0123456789"));
      rec(await cpu.syscall(SYS_write, fd, msg, 10));
      rec(await cpu.syscall(SYS_lseek, fd, 3, SEEK_SET));
      const buf = await put(cpu, new Uint8Array(16));
      rec(await cpu.syscall(SYS_read, fd, buf, 16));
      const got = new Uint8Array(7);
      cpu.as.read(buf, got);
      rec(new TextDecoder().decode(got));
      const st = await put(cpu, new Uint8Array(256));
      rec(await cpu.syscall(SYS_fstat, fd, st));
      const raw = new Uint8Array(stat.size);
      cpu.as.read(st, raw);
      const s = readStruct(stat, raw);
      rec([s.st_size, s.st_mode & 0o7777]);
      rec(await cpu.syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL, 0o640));
      rec(await cpu.syscall(SYS_close, fd));
      rec(await cpu.syscall(SYS_close, fd));
    });
    expect(seen).toEqual([0n, 10n, 3n, 7n, "3456789", 0n, [10n, 0o640 & ~0o022], errno(EEXIST), 0n, errno(EBADF)]);
  });

  it("directories: mkdir, getdents64, chdir, getcwd, rename, unlink, rmdir", async () => {
    const seen = await run(async (cpu, rec) => {
      const scratch = await put(cpu, new Uint8Array(4096));
      const s = async (text: string) => {
        const a = await put(cpu, enc(text));
        return a;
      };
      rec(await cpu.syscall(SYS_mkdir, await s("/d"), 0o755));
      rec(await cpu.syscall(SYS_mkdir, await s("/d/sub"), 0o755));
      const f = await cpu.syscall(SYS_openat, AT_FDCWD, await s("/d/file"), O_RDWR | O_CREAT, 0o644);
      await cpu.syscall(SYS_close, f);
      const dfd = await cpu.syscall(SYS_openat, AT_FDCWD, await s("/d"), O_RDONLY | O_DIRECTORY, 0);
      const n = await cpu.syscall(SYS_getdents64, dfd, scratch, 4096);
      const buf = new Uint8Array(Number(n));
      cpu.as.read(scratch, buf);
      rec(parseDirents64(buf).map((e) => e.name).sort());
      rec(await cpu.syscall(SYS_chdir, await s("/d/sub")));
      rec(await cpu.syscall(SYS_getcwd, scratch, 4096));
      const cwd = new Uint8Array(7);
      cpu.as.read(scratch, cwd);
      rec(new TextDecoder().decode(cwd));
      rec(await cpu.syscall(SYS_getcwd, scratch, 3));
      rec(await cpu.syscall(SYS_chdir, await s("/d/file")));
      rec(await cpu.syscall(SYS_renameat2, AT_FDCWD, await s("/d/file"), AT_FDCWD, await s("/d/sub/moved"), 0));
      rec(await cpu.syscall(SYS_unlinkat, AT_FDCWD, await s("/d/sub"), AT_REMOVEDIR));
      rec(await cpu.syscall(SYS_unlinkat, AT_FDCWD, await s("moved"), 0));
      rec(await cpu.syscall(SYS_unlinkat, AT_FDCWD, await s("/d/sub"), AT_REMOVEDIR));
      rec(await cpu.syscall(SYS_unlinkat, AT_FDCWD, await s("/d"), 0x1234));
      rec(await cpu.syscall(SYS_newfstatat, AT_FDCWD, await s("/nope"), scratch, 0));
    });
    expect(seen).toEqual([
      0n,
      0n,
      [".", "..", "file", "sub"],
      0n,
      7n,
      "/d/sub\0",
      errno(ERANGE),
      errno(ENOTDIR),
      0n,
      errno(ENOTEMPTY),
      0n,
      0n,
      errno(EINVAL),
      errno(ENOENT),
    ]);
  });

  it("symlinks and readlink", async () => {
    const seen = await run(async (cpu, rec) => {
      const target = await put(cpu, enc("/target/path"));
      const link = await put(cpu, enc("/link"));
      rec(await cpu.syscall(SYS_symlink, target, link));
      const out = await put(cpu, new Uint8Array(64));
      rec(await cpu.syscall(SYS_readlink, link, out, 64));
      const b = new Uint8Array(12);
      cpu.as.read(out, b);
      rec(new TextDecoder().decode(b));
      rec(await cpu.syscall(SYS_readlink, link, out, 4)); // truncated, no NUL
      rec(await cpu.syscall(SYS_readlink, link, out, 0));
    });
    expect(seen).toEqual([0n, 12n, "/target/path", 4n, errno(EINVAL)]);
  });

  it("dup2, dup3 and close-on-exec flags", async () => {
    const seen = await run(async (cpu, rec) => {
      rec(await cpu.syscall(SYS_dup2, 1, 10));
      rec(await cpu.syscall(SYS_fcntl, 10, F_GETFD));
      rec(await cpu.syscall(SYS_dup3, 1, 11, O_CLOEXEC));
      rec(await cpu.syscall(SYS_fcntl, 11, F_GETFD));
      rec(await cpu.syscall(SYS_fcntl, 11, F_SETFD, 0));
      rec(await cpu.syscall(SYS_fcntl, 11, F_GETFD));
      rec(await cpu.syscall(SYS_dup3, 1, 1, 0));
      rec(await cpu.syscall(SYS_dup2, 1, 1));
      rec(await cpu.syscall(SYS_dup2, 99, 5));
    });
    expect(seen).toEqual([10n, 0n, 11n, BigInt(FD_CLOEXEC), 0n, 0n, errno(EINVAL), 1n, errno(EBADF)]);
  });
});

describe("pipes and poll", () => {
  it("a pipe carries bytes; poll sees readability; EOF after the writer closes", async () => {
    const seen = await run(async (cpu, rec) => {
      const fds = await put(cpu, new Uint8Array(8));
      rec(await cpu.syscall(SYS_pipe2, fds, 0));
      const two = new Uint8Array(8);
      cpu.as.read(fds, two);
      const dv = new DataView(two.buffer);
      const r = dv.getInt32(0, true);
      const w = dv.getInt32(4, true);
      const pfd = await put(cpu, new Uint8Array(8));
      const setPoll = (fd: number, events: number) => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setInt32(0, fd, true);
        new DataView(b.buffer).setUint16(4, events, true);
        cpu.as.write(pfd, b);
      };
      const revents = () => {
        const b = new Uint8Array(8);
        cpu.as.read(pfd, b);
        return new DataView(b.buffer).getUint16(6, true);
      };
      setPoll(r, POLLIN);
      rec(await cpu.syscall(SYS_poll, pfd, 1, 0)); // nothing to read yet
      const msg = await put(cpu, new TextEncoder().encode("ping"));
      rec(await cpu.syscall(SYS_write, w, msg, 4));
      rec(await cpu.syscall(SYS_poll, pfd, 1, -1));
      rec(revents());
      const buf = await put(cpu, new Uint8Array(16));
      rec(await cpu.syscall(SYS_read, r, buf, 16));
      rec(await cpu.syscall(SYS_close, w));
      rec(await cpu.syscall(SYS_read, r, buf, 16));
      rec(await cpu.syscall(SYS_poll, pfd, 1, 5)); // bad pointer check below
      rec(await cpu.syscall(SYS_poll, 0x10, 1, 0));
    });
    expect(seen).toEqual([0n, 0n, 4n, 1n, POLLIN, 4n, 0n, 0n, 1n, errno(EFAULT)]);
  });
});

describe("vectored I/O, sendfile, utimensat, madvise", () => {
  it("pwritev/preadv move data at an offset; sendfile copies between files", async () => {
    const seen = await run(async (cpu, rec) => {
      const path = await put(cpu, enc("/v.txt"));
      const fd = await cpu.syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT, 0o644);
      const a = await put(cpu, new TextEncoder().encode("hello "));
      const b = await put(cpu, new TextEncoder().encode("world"));
      const iov = await put(cpu, new Uint8Array(32));
      const v = new Uint8Array(32);
      const dv = new DataView(v.buffer);
      dv.setBigUint64(0, a, true);
      dv.setBigUint64(8, 6n, true);
      dv.setBigUint64(16, b, true);
      dv.setBigUint64(24, 5n, true);
      cpu.as.write(iov, v);
      rec(await cpu.syscall(SYS_pwritev, fd, iov, 2, 0));
      const out = await put(cpu, new Uint8Array(16));
      const riov = await put(cpu, new Uint8Array(16));
      const r = new Uint8Array(16);
      new DataView(r.buffer).setBigUint64(0, out, true);
      new DataView(r.buffer).setBigUint64(8, 11n, true);
      cpu.as.write(riov, r);
      rec(await cpu.syscall(SYS_preadv, fd, riov, 1, 0));
      const got = new Uint8Array(11);
      cpu.as.read(out, got);
      rec(new TextDecoder().decode(got));
      const path2 = await put(cpu, enc("/copy.txt"));
      const fd2 = await cpu.syscall(SYS_openat, AT_FDCWD, path2, O_RDWR | O_CREAT, 0o644);
      const offp = await put(cpu, new Uint8Array(8));
      rec(await cpu.syscall(SYS_sendfile, fd2, fd, offp, 100));
      rec(await cpu.syscall(SYS_pread64, fd2, out, 16, 0));
    });
    expect(seen).toEqual([11n, 11n, "hello world", 11n, 11n]);
  });

  it("MADV_DONTNEED zeroes anonymous memory; bad advice is EINVAL", async () => {
    const seen = await run(async (cpu, rec) => {
      const m = await put(cpu, new TextEncoder().encode("dirty"));
      rec(await cpu.syscall(SYS_madvise, m, 4096, MADV_DONTNEED));
      const b = new Uint8Array(5);
      cpu.as.read(m, b);
      rec([...b]);
      rec(await cpu.syscall(SYS_madvise, m, 4096, 12345));
      rec(await cpu.syscall(SYS_madvise, m + 1n, 4096, MADV_DONTNEED));
    });
    expect(seen).toEqual([0n, [0, 0, 0, 0, 0], errno(EINVAL), errno(EINVAL)]);
  });
});

describe("eventfd and memfd", () => {
  it("eventfd2 counts; memfd_create gives an anonymous read-write file", async () => {
    const seen = await run(async (cpu, rec) => {
      const efd = await cpu.syscall(SYS_eventfd2, 3, 0);
      const b = await put(cpu, new Uint8Array(8));
      const eight = new Uint8Array(8);
      new DataView(eight.buffer).setBigUint64(0, 4n, true);
      cpu.as.write(b, eight);
      rec(await cpu.syscall(SYS_write, efd, b, 8));
      rec(await cpu.syscall(SYS_read, efd, b, 8));
      cpu.as.read(b, eight);
      rec(new DataView(eight.buffer).getBigUint64(0, true));
      rec(await cpu.syscall(SYS_eventfd2, 0, 0x12345));
      const name = await put(cpu, enc("scratch"));
      const mfd = await cpu.syscall(SYS_memfd_create, name, 0);
      const msg = await put(cpu, new TextEncoder().encode("in memory"));
      rec(await cpu.syscall(SYS_write, mfd, msg, 9));
      rec(await cpu.syscall(SYS_lseek, mfd, 0, SEEK_SET));
      const out = await put(cpu, new Uint8Array(16));
      rec(await cpu.syscall(SYS_read, mfd, out, 16));
      const got = new Uint8Array(9);
      cpu.as.read(out, got);
      rec(new TextDecoder().decode(got));
      rec(await cpu.syscall(SYS_memfd_create, name, 0x100));
    });
    expect(seen).toEqual([8n, 8n, 7n, errno(EINVAL), 9n, 0n, 9n, "in memory", errno(EINVAL)]);
  });
});
