import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import * as abi from "./index.js";
import {
  AF_INET, SA_RESTART, SA_RESTORER, SA_SIGINFO, SIGUSR1, SIGUSR2, SI_TKILL, S_IFREG, VINTR, VMIN,
  cmsghdr, encodeStruct, epoll_event, flock, linux_dirent64, pollfd, readField, readStruct, sigaction,
  siginfo_kill, sockaddr_in, stat, statx, termios, timespec, writeField, writeStruct,
  type Field, type StructInput, type StructLayout,
} from "./index.js";
import { C_DUMP, cIntegers, hexBytes, runC } from "./test-cc.js";

const layouts = Object.values(abi as Record<string, unknown>).filter(
  (v): v is StructLayout => typeof v === "object" && v !== null && "cType" in v && "fields" in v,
);

/** Deterministic filler values that use every bit of each member. */
function sample(layout: StructLayout, seed: number): Record<string, unknown> {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s;
  };
  const scalarOf = (type: string): number | bigint => {
    switch (type) {
      case "i8": return (next() & 0xff) - 0x80;
      case "u8": return next() & 0xff;
      case "i16": return (next() & 0xffff) - 0x8000;
      case "u16": case "be16": return next() & 0xffff;
      case "i32": return next() | 0;
      case "u32": case "be32": return next();
      case "i64": return BigInt.asIntN(64, (BigInt(next()) << 32n) | BigInt(next()));
      default: return (BigInt(next()) << 32n) | BigInt(next());
    }
  };
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(layout.fields) as [string, Field][]) {
    switch (f.kind) {
      case "scalar": out[name] = scalarOf(f.type); break;
      case "array": out[name] = Array.from({ length: f.count }, () => scalarOf(f.type)); break;
      case "bytes": out[name] = Uint8Array.from({ length: f.size }, () => next() & 0xff); break;
      case "nested": out[name] = sample(f.layout, next()); break;
      case "flex": break;
    }
  }
  return out;
}

describe("generated layouts", () => {
  it("have the sizes the kernel ABI fixes", () => {
    expect(stat.size).toBe(144);
    expect(abi.siginfo.size).toBe(128);
    expect(sigaction.size).toBe(32);
    expect(epoll_event.size).toBe(12);
    expect(epoll_event.fields.data.offset).toBe(4);
    expect(abi.statx.size).toBe(256);
    expect(termios.size).toBe(36);
    expect(abi.user_regs_struct.size).toBe(27 * 8);
    expect(abi.utsname.size).toBe(6 * 65);
    expect(abi.sockaddr_un.size).toBe(110);
    expect(abi.seccomp_data.size).toBe(64);
    expect(abi.clone_args.size).toBe(88);
    expect(abi.open_how.size).toBe(24);
  });

  it("match the C library's definitions of the same structs, compiled at test time", () => {
    // [our layout, C type, {our member: C member expression}]; glibc's structs share the
    // kernel's layout on x86-64 for all of these.
    const cases: [StructLayout, string, Record<string, string>][] = [
      [stat, "struct stat", { st_dev: "st_dev", st_ino: "st_ino", st_nlink: "st_nlink", st_mode: "st_mode",
        st_uid: "st_uid", st_gid: "st_gid", st_rdev: "st_rdev", st_size: "st_size", st_blksize: "st_blksize",
        st_blocks: "st_blocks", st_atime: "st_atim.tv_sec", st_atime_nsec: "st_atim.tv_nsec",
        st_mtime: "st_mtim.tv_sec", st_mtime_nsec: "st_mtim.tv_nsec", st_ctime_nsec: "st_ctim.tv_nsec" }],
      [statx, "struct statx", { stx_mask: "stx_mask", stx_mode: "stx_mode", stx_ino: "stx_ino",
        stx_size: "stx_size", stx_atime: "stx_atime", stx_mtime: "stx_mtime", stx_dev_minor: "stx_dev_minor",
        stx_mnt_id: "stx_mnt_id" }],
      [abi.siginfo_sigchld, "siginfo_t", { si_signo: "si_signo", si_errno: "si_errno", si_code: "si_code",
        si_pid: "si_pid", si_uid: "si_uid", si_status: "si_status", si_utime: "si_utime", si_stime: "si_stime" }],
      [abi.siginfo_sigfault, "siginfo_t", { si_addr: "si_addr", si_addr_lsb: "si_addr_lsb" }],
      [abi.siginfo_rt, "siginfo_t", { si_value: "si_value" }],
      [abi.siginfo_sigpoll, "siginfo_t", { si_band: "si_band", si_fd: "si_fd" }],
      [abi.siginfo_sigsys, "siginfo_t", { si_call_addr: "si_call_addr", si_syscall: "si_syscall", si_arch: "si_arch" }],
      [abi.stack_t, "stack_t", { ss_sp: "ss_sp", ss_flags: "ss_flags", ss_size: "ss_size" }],
      [pollfd, "struct pollfd", { fd: "fd", events: "events", revents: "revents" }],
      [epoll_event, "struct epoll_event", { events: "events", data: "data" }],
      [abi.iovec, "struct iovec", { iov_base: "iov_base", iov_len: "iov_len" }],
      [abi.msghdr, "struct msghdr", { msg_iov: "msg_iov", msg_controllen: "msg_controllen", msg_flags: "msg_flags" }],
      [sockaddr_in, "struct sockaddr_in", { sin_family: "sin_family", sin_port: "sin_port", sin_addr: "sin_addr" }],
      [abi.sockaddr_in6, "struct sockaddr_in6", { sin6_port: "sin6_port", sin6_flowinfo: "sin6_flowinfo",
        sin6_addr: "sin6_addr", sin6_scope_id: "sin6_scope_id" }],
      [abi.sockaddr_un, "struct sockaddr_un", { sun_family: "sun_family", sun_path: "sun_path" }],
      [abi.winsize, "struct winsize", { ws_row: "ws_row", ws_col: "ws_col", ws_ypixel: "ws_ypixel" }],
      [abi.rlimit, "struct rlimit", { rlim_cur: "rlim_cur", rlim_max: "rlim_max" }],
      [abi.rusage, "struct rusage", { ru_utime: "ru_utime", ru_stime: "ru_stime", ru_maxrss: "ru_maxrss", ru_nivcsw: "ru_nivcsw" }],
      [timespec, "struct timespec", { tv_sec: "tv_sec", tv_nsec: "tv_nsec" }],
      [abi.sysinfo, "struct sysinfo", { uptime: "uptime", loads: "loads", procs: "procs", totalhigh: "totalhigh", mem_unit: "mem_unit" }],
      [abi.utsname, "struct utsname", { sysname: "sysname", machine: "machine", domainname: "domainname" }],
      [flock, "struct flock", { l_type: "l_type", l_whence: "l_whence", l_start: "l_start", l_len: "l_len", l_pid: "l_pid" }],
      [abi.statfs, "struct statfs", { f_type: "f_type", f_fsid: "f_fsid", f_namelen: "f_namelen", f_flags: "f_flags", f_spare: "f_spare" }],
      [abi.tms, "struct tms", { tms_utime: "tms_utime", tms_cstime: "tms_cstime" }],
      [abi.sock_filter, "struct sock_filter", { code: "code", jt: "jt", jf: "jf", k: "k" }],
    ];
    const exprs: Record<string, string> = {};
    cases.forEach(([, cType, members], i) => {
      exprs[`${i}:size`] = `sizeof(${cType})`;
      for (const [ours, c] of Object.entries(members)) {
        exprs[`${i}:${ours}:off`] = `__builtin_offsetof(${cType}, ${c})`;
        exprs[`${i}:${ours}:size`] = `sizeof(((${cType} *)0)->${c})`;
      }
    });
    const c = cIntegers(
      ["sys/stat.h", "signal.h", "poll.h", "sys/epoll.h", "sys/uio.h", "sys/socket.h", "netinet/in.h",
        "sys/un.h", "sys/ioctl.h", "sys/resource.h", "time.h", "sys/sysinfo.h", "sys/utsname.h",
        "fcntl.h", "sys/vfs.h", "sys/times.h", "linux/filter.h"],
      exprs,
    );
    cases.forEach(([l, cType, members], i) => {
      expect(`${l.name} (${cType}) size ${l.size}`).toBe(`${l.name} (${cType}) size ${c.get(`${i}:size`)}`);
      for (const ours of Object.keys(members)) {
        const f = l.fields[ours];
        expect(`${l.name}.${ours} @${f?.offset}+${f?.size}`).toBe(
          `${l.name}.${ours} @${c.get(`${i}:${ours}:off`)}+${c.get(`${i}:${ours}:size`)}`,
        );
      }
    });
  });

  it("round-trip every layout: write then read gives the same object", () => {
    expect(layouts.length).toBeGreaterThan(50);
    layouts.forEach((l, i) => {
      const value = sample(l, i + 1);
      const bytes = encodeStruct(l, value as StructInput<StructLayout>);
      expect(bytes.length).toBe(l.size);
      expect(readStruct(l, bytes), l.name).toEqual(value);
    });
  });
});

describe("readStruct over real kernel output", () => {
  it("decodes the stat(2) of a file the test made", () => {
    const dir = mkdtempSync(join(tmpdir(), "abi-stat-"));
    try {
      const file = join(dir, "f");
      writeFileSync(file, "x".repeat(1234));
      const out = runC(
        ["#include <stdio.h>", "#include <sys/stat.h>", C_DUMP,
          "int main(int argc, char **argv) { struct stat st; if (stat(argv[1], &st) != 0) return 1;",
          "  dump(&st, sizeof st);",
          '  printf("%llu %u %lld %lu %ld\\n", (unsigned long long)st.st_ino, st.st_mode, (long long)st.st_size,',
          "    (unsigned long)st.st_nlink, st.st_mtim.tv_nsec); return 0; }"].join("\n"),
        [file],
      ).trim().split("\n");
      const st = readStruct(stat, hexBytes(out[0] ?? ""));
      const [ino, mode, size, nlink, nsec] = (out[1] ?? "").split(" ");
      expect(st.st_ino).toBe(BigInt(ino ?? ""));
      expect(st.st_mode).toBe(Number(mode));
      expect(st.st_mode & 0o170000).toBe(S_IFREG);
      expect(st.st_size).toBe(1234n);
      expect(st.st_size).toBe(BigInt(size ?? ""));
      expect(st.st_nlink).toBe(BigInt(nlink ?? ""));
      expect(st.st_mtime_nsec).toBe(BigInt(nsec ?? ""));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("decodes statx(2), whose timestamps are nested layouts", () => {
    const out = runC(
      ["#define _GNU_SOURCE", "#include <stdio.h>", "#include <fcntl.h>", "#include <sys/stat.h>", C_DUMP,
        "int main(void) { struct statx sx; if (statx(AT_FDCWD, \"/\", 0, STATX_BASIC_STATS, &sx) != 0) return 1;",
        '  dump(&sx, sizeof sx); printf("%u %lld %u\\n", sx.stx_mode, (long long)sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec);',
        "  return 0; }"].join("\n"),
    ).trim().split("\n");
    const sx = readStruct(statx, hexBytes(out[0] ?? ""));
    const [mode, sec, nsec] = (out[1] ?? "").split(" ");
    expect(sx.stx_mode).toBe(Number(mode));
    expect(sx.stx_mtime.tv_sec).toBe(BigInt(sec ?? ""));
    expect(sx.stx_mtime.tv_nsec).toBe(Number(nsec));
  });

  it("decodes the kernel's rt_sigaction(2) record", () => {
    const out = runC(
      ["#define _GNU_SOURCE", "#include <stdio.h>", "#include <signal.h>", "#include <unistd.h>",
        "#include <sys/syscall.h>", C_DUMP,
        "static void h(int s, siginfo_t *i, void *c) { (void)s; (void)i; (void)c; }",
        "int main(void) { struct sigaction sa = {0}; sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO | SA_RESTART;",
        "  sigemptyset(&sa.sa_mask); sigaddset(&sa.sa_mask, SIGUSR2); sigaction(SIGUSR1, &sa, 0);",
        "  unsigned char k[64]; if (syscall(SYS_rt_sigaction, SIGUSR1, 0, k, 8) != 0) return 1;",
        '  dump(k, 32); printf("%lu\\n", (unsigned long)h); return 0; }'].join("\n"),
    ).trim().split("\n");
    const act = readStruct(sigaction, hexBytes(out[0] ?? ""));
    expect(act.sa_handler).toBe(BigInt(out[1] ?? ""));
    expect(act.sa_flags & BigInt(SA_SIGINFO | SA_RESTART)).toBe(BigInt(SA_SIGINFO | SA_RESTART));
    expect(act.sa_flags & BigInt(SA_RESTORER)).toBe(BigInt(SA_RESTORER)); // glibc installs a restorer
    expect(act.sa_restorer).not.toBe(0n);
    expect(act.sa_mask).toBe(1n << BigInt(SIGUSR2 - 1));
  });

  it("decodes TCGETS on a pseudo-terminal as the kernel's struct termios", () => {
    const out = runC(
      ["#define _GNU_SOURCE", "#include <stdio.h>", "#include <stdlib.h>", "#include <fcntl.h>",
        "#include <termios.h>", "#include <sys/ioctl.h>", C_DUMP,
        "int main(void) { int m = posix_openpt(O_RDWR | O_NOCTTY); if (m < 0 || grantpt(m) || unlockpt(m)) return 1;",
        "  int s = open(ptsname(m), O_RDWR | O_NOCTTY); if (s < 0) return 1;",
        "  unsigned char k[64]; if (ioctl(s, TCGETS, k) != 0) return 1; struct termios t; tcgetattr(s, &t);",
        '  dump(k, 36); printf("%u %u %u %u %u %u\\n", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_cc[VINTR], t.c_cc[VMIN]);',
        "  return 0; }"].join("\n"),
    ).trim().split("\n");
    const t = readStruct(termios, hexBytes(out[0] ?? ""));
    const [iflag, oflag, cflag, lflag, vintr, vmin] = (out[1] ?? "").split(" ").map(Number);
    expect([t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag]).toEqual([iflag, oflag, cflag, lflag]);
    expect(t.c_cc[VINTR]).toBe(vintr);
    expect(t.c_cc[VMIN]).toBe(vmin);
  });
});

describe("readStruct and writeStruct", () => {
  it("type 8-byte members as bigint, narrower ones as number, bytes as Uint8Array, nested as objects", () => {
    const st = readStruct(stat, new Uint8Array(stat.size));
    expectTypeOf(st.st_size).toEqualTypeOf<bigint>();
    expectTypeOf(st.st_mode).toEqualTypeOf<number>();
    expectTypeOf(st.__unused).toEqualTypeOf<bigint[]>();
    const sx = readStruct(statx, new Uint8Array(statx.size));
    expectTypeOf(sx.stx_mtime.tv_nsec).toEqualTypeOf<number>();
    expectTypeOf(readStruct(termios, new Uint8Array(36)).c_cc).toEqualTypeOf<Uint8Array>();
    expectTypeOf(readStruct(linux_dirent64, new Uint8Array(24))).not.toHaveProperty("d_name");
    expect(typeof st.st_size).toBe("bigint");
  });

  it("decode signed members as negative numbers and bigints", () => {
    const ts = encodeStruct(timespec, { tv_sec: -1n, tv_nsec: -5 });
    expect(readStruct(timespec, ts)).toEqual({ tv_sec: -1n, tv_nsec: -5n });
    const fl = encodeStruct(flock, { l_type: -1, l_pid: -2 });
    expect(readStruct(flock, fl).l_type).toBe(-1);
    expect(readStruct(flock, fl).l_pid).toBe(-2);
    const si = encodeStruct(siginfo_kill, { si_signo: SIGUSR1, si_code: SI_TKILL, si_pid: 42 });
    expect(readStruct(siginfo_kill, si)).toMatchObject({ si_signo: SIGUSR1, si_code: -6, si_pid: 42 });
    const pf = encodeStruct(pollfd, { fd: -1, events: 0x8000 });
    expect(readStruct(pollfd, pf)).toEqual({ fd: -1, events: -32768, revents: 0 });
  });

  it("accept either reading of the same bits, and read back the member's own", () => {
    const ev = encodeStruct(epoll_event, { events: -1, data: 0xffffffffffffffffn });
    expect(readStruct(epoll_event, ev)).toEqual({ events: 0xffffffff, data: 0xffffffffffffffffn });
    const ev2 = encodeStruct(epoll_event, { events: 0x80000001 | 0, data: 7 });
    expect(readStruct(epoll_event, ev2)).toEqual({ events: 0x80000001, data: 7n });
  });

  it("write big-endian members in network byte order", () => {
    const b = encodeStruct(sockaddr_in, { sin_family: AF_INET, sin_port: 8080, sin_addr: { s_addr: 0x7f000001 } });
    expect([...b.subarray(0, 8)]).toEqual([AF_INET, 0, 0x1f, 0x90, 127, 0, 0, 1]);
    expect(readStruct(sockaddr_in, b)).toMatchObject({ sin_port: 8080, sin_addr: { s_addr: 0x7f000001 } });
  });

  it("read at an offset, through a DataView or a subarray", () => {
    const buf = new Uint8Array(64);
    writeStruct(pollfd, buf, 8, { fd: 3, events: 1 });
    expect(readStruct(pollfd, buf, 8)).toEqual({ fd: 3, events: 1, revents: 0 });
    expect(readStruct(pollfd, new DataView(buf.buffer, 8))).toEqual({ fd: 3, events: 1, revents: 0 });
    expect(readStruct(pollfd, buf.subarray(8))).toEqual({ fd: 3, events: 1, revents: 0 });
    expect(readField(pollfd, "fd", buf, 8)).toBe(3);
    writeField(pollfd, "revents", buf, 8, 4);
    expect(readStruct(pollfd, buf, 8).revents).toBe(4);
  });

  it("leave absent members alone, including inside nested structs", () => {
    const b = encodeStruct(statx, { stx_size: 10n, stx_mtime: { tv_sec: 5n, tv_nsec: 6 } });
    writeStruct(statx, b, 0, { stx_mode: 0o644, stx_mtime: { tv_nsec: 7 } });
    expect(readStruct(statx, b)).toMatchObject({ stx_size: 10n, stx_mode: 0o644, stx_mtime: { tv_sec: 5n, tv_nsec: 7 } });
  });

  it("zero the rest of a bytes member written short, and copy on read", () => {
    const b = encodeStruct(termios, { c_cc: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]) });
    writeStruct(termios, b, 0, { c_cc: Uint8Array.from([9]) });
    const t = readStruct(termios, b);
    expect([...t.c_cc]).toEqual([9, ...new Array<number>(18).fill(0)]);
    t.c_cc[0] = 1;
    expect(readStruct(termios, b).c_cc[0]).toBe(9);
  });

  it("describe flexible array members by offset, outside the record's fixed size", () => {
    expect(linux_dirent64.fields.d_name.offset).toBe(19);
    expect(linux_dirent64.size).toBe(24);
    expect(cmsghdr.size).toBe(16);
    const d = readStruct(linux_dirent64, new Uint8Array(24));
    expect(Object.keys(d)).toEqual(["d_ino", "d_off", "d_reclen", "d_type"]);
  });
});

describe("bad input", () => {
  it("throws RangeError for reads of truncated buffers", () => {
    expect(() => readStruct(stat, new Uint8Array(100))).toThrow(RangeError);
    expect(() => readStruct(stat, new Uint8Array(100))).toThrow(/stat.*144 bytes.*offset 0.*holds 100/);
    expect(() => readStruct(stat, new Uint8Array(144), 1)).toThrow(RangeError);
    expect(() => readStruct(pollfd, new Uint8Array(16), -1)).toThrow(RangeError);
    expect(() => readStruct(pollfd, new Uint8Array(16), 0.5)).toThrow(RangeError);
    expect(() => readField(stat, "st_size", new Uint8Array(10))).toThrow(RangeError);
    expect(() => writeStruct(pollfd, new Uint8Array(7), 0, { fd: 1 })).toThrow(RangeError);
  });

  it("rejects values that do not fit, of the wrong kind, or for members that do not exist", () => {
    const b = new Uint8Array(sigaction.size);
    expect(() => writeStruct(pollfd, new Uint8Array(8), 0, { events: 0x10000 })).toThrow(RangeError);
    expect(() => writeStruct(pollfd, new Uint8Array(8), 0, { fd: 2 ** 32 })).toThrow(/fd = 4294967296 does not fit i32/);
    expect(() => writeStruct(pollfd, new Uint8Array(8), 0, { fd: 1.5 })).toThrow(TypeError);
    expect(() => writeStruct(sigaction, b, 0, { sa_flags: 2n ** 64n })).toThrow(RangeError);
    expect(() => writeStruct(sigaction, b, 0, { sa_flags: 2 ** 60 })).toThrow(TypeError);
    expect(() => writeStruct(termios, new Uint8Array(36), 0, { c_cc: new Uint8Array(20) })).toThrow(RangeError);
    expect(() => writeStruct(pollfd, new Uint8Array(8), 0, { nope: 1 } as never)).toThrow(/no member "nope"/);
    expect(() => writeStruct(pollfd, new Uint8Array(8), 0, { fd: "3" } as never)).toThrow(TypeError);
  });

  it("leaves the buffer unchanged when a write fails", () => {
    const b = encodeStruct(pollfd, { fd: 3, events: 1, revents: 2 });
    const before = b.slice();
    expect(() => writeStruct(pollfd, b, 0, { fd: 4, events: 1 << 20 })).toThrow(RangeError);
    expect(b).toEqual(before);
  });
});
