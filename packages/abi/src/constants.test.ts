import { describe, expect, it } from "vitest";
import * as abi from "./index.js";
import { AUXV, AT_EMPTY_PATH, AT_FDCWD, RLIM_INFINITY } from "./index.js";
import { cIntegers } from "./test-cc.js";

const ours = abi as unknown as Record<string, unknown>;

/** Compares our constants with the C library's definitions of the same names. */
function expectSameAsC(includes: readonly string[], names: readonly string[]): void {
  const c = cIntegers(includes, Object.fromEntries(names.map((n) => [n, n])));
  for (const name of names) {
    const v = ours[name];
    expect(typeof v === "number" || typeof v === "bigint", `${name} is exported`).toBe(true);
    // Compare as signed 64-bit: the C side prints (long long).
    const mine = BigInt.asIntN(64, BigInt(v as number | bigint));
    expect(`${name}=${mine}`).toBe(`${name}=${c.get(name)}`);
  }
}

describe("constants agree with the C library's headers", () => {
  // (O_LARGEFILE is left out: glibc defines it as 0 for 64-bit programs, while the kernel's
  // value, which a syscall receives, is 0o100000.)
  it("open, fcntl and *at flags", () => {
    expectSameAsC(["fcntl.h"], [
      "O_RDONLY", "O_WRONLY", "O_RDWR", "O_CREAT", "O_EXCL", "O_TRUNC", "O_APPEND", "O_NONBLOCK",
      "O_CLOEXEC", "O_DIRECTORY", "O_NOFOLLOW", "O_PATH", "O_TMPFILE", "O_SYNC", "O_DSYNC",
      "O_NOATIME", "F_DUPFD", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL",
      "F_DUPFD_CLOEXEC", "F_ADD_SEALS", "F_SEAL_WRITE", "F_OFD_SETLK", "FD_CLOEXEC",
      "AT_FDCWD", "AT_SYMLINK_NOFOLLOW", "AT_REMOVEDIR", "AT_EMPTY_PATH", "AT_SYMLINK_FOLLOW",
      "AT_EACCESS", "AT_NO_AUTOMOUNT",
    ]);
  });

  it("file modes, seek, rename, fallocate, utime, xattr", () => {
    expectSameAsC(["sys/stat.h", "unistd.h", "stdio.h", "fcntl.h", "linux/falloc.h", "sys/xattr.h"], [
      "S_IFMT", "S_IFREG", "S_IFDIR", "S_IFLNK", "S_IFSOCK", "S_IFIFO", "S_IFCHR", "S_IFBLK",
      "S_ISUID", "S_ISGID", "S_ISVTX", "S_IRWXU", "SEEK_SET", "SEEK_END", "SEEK_DATA",
      "SEEK_HOLE", "RENAME_NOREPLACE", "RENAME_EXCHANGE", "RENAME_WHITEOUT", "UTIME_NOW",
      "UTIME_OMIT", "XATTR_CREATE", "XATTR_REPLACE", "STATX_BASIC_STATS", "STATX_MNT_ID",
    ]);
  });

  it("memory", () => {
    expectSameAsC(["sys/mman.h"], [
      "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC", "MAP_SHARED", "MAP_PRIVATE",
      "MAP_SHARED_VALIDATE", "MAP_FIXED", "MAP_ANONYMOUS", "MAP_FIXED_NOREPLACE", "MAP_GROWSDOWN",
      "MAP_NORESERVE", "MAP_POPULATE", "MREMAP_MAYMOVE", "MREMAP_FIXED", "MADV_DONTNEED",
      "MADV_DONTFORK", "MS_SYNC", "MCL_CURRENT", "MFD_CLOEXEC", "MFD_ALLOW_SEALING",
    ]);
  });

  it("processes, clocks, limits, waits", () => {
    expectSameAsC(["sched.h", "time.h", "sys/resource.h", "sys/wait.h", "sys/random.h"], [
      "CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_THREAD", "CLONE_SETTLS",
      "CLONE_PARENT_SETTID", "CLONE_CHILD_CLEARTID", "CLONE_NEWNS", "CLONE_NEWUSER",
      "CLONE_NEWPID", "CLONE_PIDFD", "CSIGNAL", "CLOCK_REALTIME", "CLOCK_MONOTONIC",
      "CLOCK_BOOTTIME", "CLOCK_MONOTONIC_COARSE", "TIMER_ABSTIME", "RLIMIT_NOFILE",
      "RLIMIT_STACK", "RLIMIT_AS", "RLIM_NLIMITS", "PRIO_PROCESS", "RUSAGE_CHILDREN",
      "WNOHANG", "WUNTRACED", "WEXITED", "WCONTINUED", "WNOWAIT", "__WALL", "__WCLONE",
      "P_ALL", "P_PID", "P_PGID", "GRND_NONBLOCK", "GRND_RANDOM",
    ]);
    expect(RLIM_INFINITY).toBe(2n ** 64n - 1n);
  });

  it("epoll, poll, eventfd, signalfd, timerfd, inotify", () => {
    expectSameAsC(["sys/epoll.h", "poll.h", "sys/eventfd.h", "sys/signalfd.h", "sys/timerfd.h", "sys/inotify.h"], [
      "EPOLLIN", "EPOLLOUT", "EPOLLERR", "EPOLLHUP", "EPOLLRDHUP", "EPOLLET", "EPOLLONESHOT",
      "EPOLLEXCLUSIVE", "EPOLL_CLOEXEC", "EPOLL_CTL_ADD", "EPOLL_CTL_DEL", "EPOLL_CTL_MOD",
      "POLLIN", "POLLPRI", "POLLOUT", "POLLNVAL", "POLLRDHUP", "EFD_CLOEXEC", "EFD_NONBLOCK",
      "EFD_SEMAPHORE", "SFD_CLOEXEC", "TFD_CLOEXEC", "TFD_TIMER_ABSTIME", "IN_CREATE",
      "IN_MOVED_TO", "IN_ONESHOT",
    ]);
  });

  it("sockets", () => {
    expectSameAsC(["sys/socket.h", "netinet/in.h", "netinet/tcp.h", "sys/un.h"], [
      "AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "SOCK_STREAM",
      "SOCK_DGRAM", "SOCK_RAW", "SOCK_SEQPACKET", "SOCK_NONBLOCK", "SOCK_CLOEXEC", "SOL_SOCKET",
      "SOL_IP", "SOL_TCP", "SOL_IPV6", "SO_REUSEADDR", "SO_ERROR", "SO_PEERCRED", "SO_RCVBUF",
      "SO_SNDBUF", "SO_KEEPALIVE", "SO_PASSCRED", "SO_RCVTIMEO", "SO_TYPE", "SCM_RIGHTS",
      "SCM_CREDENTIALS", "MSG_PEEK", "MSG_DONTWAIT", "MSG_NOSIGNAL", "MSG_CMSG_CLOEXEC",
      "MSG_TRUNC", "MSG_WAITALL", "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "IPPROTO_IP",
      "IPPROTO_TCP", "IPPROTO_UDP", "IPPROTO_IPV6", "IPPROTO_ICMP", "IPPROTO_ICMPV6",
      "TCP_NODELAY", "TCP_MAXSEG", "TCP_CORK", "TCP_KEEPIDLE", "TCP_INFO", "IP_TOS", "IP_TTL",
      "IPV6_V6ONLY", "INADDR_LOOPBACK", "SOMAXCONN",
    ]);
  });

  it("terminal ioctls and termios bits", () => {
    expectSameAsC(["sys/ioctl.h", "termios.h"], [
      "TCGETS", "TCSETS", "TCSETSW", "TCSETSF", "TIOCGWINSZ", "TIOCSWINSZ", "FIONREAD",
      "FIONBIO", "FIOCLEX", "FIONCLEX", "TIOCGPGRP", "TIOCSPGRP", "TIOCSCTTY", "TIOCGPTN",
      "TIOCSPTLCK", "TIOCNOTTY", "TIOCGSID", "TCFLSH", "VINTR", "VQUIT", "VERASE", "VKILL",
      "VEOF", "VTIME", "VMIN", "VSTART", "VSTOP", "VSUSP", "ICANON", "ECHO", "ISIG", "ICRNL",
      "OPOST", "ONLCR", "CS8", "CREAD", "B38400", "TCSANOW", "TCIFLUSH",
    ]);
  });

  it("ptrace, seccomp and classic BPF", () => {
    expectSameAsC(["sys/ptrace.h", "linux/seccomp.h", "linux/filter.h", "linux/audit.h"], [
      "PTRACE_TRACEME", "PTRACE_PEEKDATA", "PTRACE_CONT", "PTRACE_KILL", "PTRACE_GETREGS",
      "PTRACE_SETREGS", "PTRACE_GETFPREGS", "PTRACE_ATTACH", "PTRACE_SYSCALL", "PTRACE_SETOPTIONS",
      "PTRACE_GETEVENTMSG", "PTRACE_GETSIGINFO", "PTRACE_SEIZE", "PTRACE_INTERRUPT",
      "PTRACE_SYSEMU", "PTRACE_ARCH_PRCTL", "PTRACE_O_TRACESYSGOOD", "PTRACE_O_TRACECLONE",
      "PTRACE_O_EXITKILL", "PTRACE_EVENT_CLONE", "PTRACE_EVENT_EXEC", "PTRACE_EVENT_EXIT",
      "PTRACE_EVENT_STOP", "SECCOMP_RET_ALLOW", "SECCOMP_RET_TRAP", "SECCOMP_RET_KILL_PROCESS",
      "SECCOMP_SET_MODE_FILTER", "AUDIT_ARCH_X86_64", "BPF_LD", "BPF_W", "BPF_ABS", "BPF_JMP",
      "BPF_JEQ", "BPF_K", "BPF_RET",
    ]);
  });

  it("auxv types live in AUXV, apart from the *at(2) flags", () => {
    const names = ["AT_NULL", "AT_PHDR", "AT_PHENT", "AT_PHNUM", "AT_PAGESZ", "AT_BASE", "AT_FLAGS",
      "AT_ENTRY", "AT_UID", "AT_EUID", "AT_GID", "AT_EGID", "AT_PLATFORM", "AT_HWCAP",
      "AT_CLKTCK", "AT_SECURE", "AT_RANDOM", "AT_HWCAP2", "AT_EXECFN", "AT_SYSINFO_EHDR",
      "AT_MINSIGSTKSZ"] as const;
    const c = cIntegers(["elf.h"], Object.fromEntries(names.map((n) => [n, n])));
    for (const n of names) expect(`${n}=${AUXV[n]}`).toBe(`${n}=${c.get(n)}`);
    expect(ours["AT_PHDR"]).toBeUndefined();
    expect(AT_FDCWD).toBe(-100);
    expect(AT_EMPTY_PATH).toBe(0x1000);
    expect(Object.isFrozen(AUXV)).toBe(true);
  });
});

describe("constant conventions", () => {
  it("exports numbers only when they are safe integers, bigints only when they are not", () => {
    let numbers = 0;
    for (const [name, v] of Object.entries(ours)) {
      if (typeof v === "number") {
        expect(Number.isSafeInteger(v), name).toBe(true);
        numbers++;
      } else if (typeof v === "bigint") {
        expect(v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER), name).toBe(true);
      }
    }
    expect(numbers).toBeGreaterThan(1500);
  });
});
