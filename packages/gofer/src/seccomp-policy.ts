/**
 * The gofer's seccomp allowlist: every host system call a serving gofer makes — its own native
 * file calls (native/src/fs*.cc, socket.cc, fd.cc) and what Node, V8 and libuv need to run —
 * and nothing else. Installed last in confinement (confine.ts) with SECCOMP_FILTER_FLAG_TSYNC,
 * so every thread has it; built by platform's seccomp compiler (arch check: anything but
 * x86-64, and the x32 ABI, kill the process).
 *
 * How the list was found: `tools/seccomp/gofer-syscalls.sh` runs the gofer e2e suites under
 * `strace -f` and counts the calls of the gofer tasks after their re-exec; every entry below is
 * either in that count or in a code path of ours the suites do not reach (named in a comment).
 * The same suites then run with the filter installed.
 *
 * Actions:
 *  - listed: allowed, some only with certain arguments (below);
 *  - `KILL_PROCESS` for calls that only an attacker who has taken over the gofer would make
 *    and that reach past the mount or the process: mount and namespace changes, ptrace and
 *    cross-process memory access, module and kexec loading, bpf, perf, io_uring (whose
 *    operations seccomp never sees), open_by_handle_at (the classic escape from a bind mount),
 *    keyrings, credential changes, exec. A gofer that tries one is compromised: it dies, and the
 *    sentry sees the connection drop;
 *  - everything else: EPERM, so a call Node makes on a rare path fails like a permission
 *    problem instead of killing a working gofer.
 *
 * Argument rules:
 *  - clone only with CLONE_THREAD (new threads; no fork); clone3 is ENOSYS, which makes glibc
 *    fall back to clone (its flags are in memory, where seccomp cannot look);
 *  - socket and socketpair only AF_UNIX (bindAt/connect; no network);
 *  - ioctl only FIONBIO, FIOCLEX, FIONCLEX, FIONREAD, TCGETS, TIOCGWINSZ (libuv's descriptor
 *    set-up and tty checks);
 *  - prlimit64 only reading (no new limit);
 *  - tgkill only to this process (abort()); kill not at all;
 *  - prctl only PR_SET_NAME, PR_GET_NAME (thread names), PR_SET_VMA (glibc names mappings) and
 *    PR_GET_NO_NEW_PRIVS.
 */
import {
  AF_UNIX,
  CLONE_THREAD,
  ENOSYS,
  EPERM,
  FIOCLEX,
  FIONBIO,
  FIONCLEX,
  FIONREAD,
  PR_GET_NAME,
  PR_GET_NO_NEW_PRIVS,
  PR_SET_NAME,
  PR_SET_VMA,
  TCGETS,
  TIOCGWINSZ,
  syscallNumber,
} from "@runsc-ts/abi";
import { ALLOW, KILL_PROCESS, type ArgRule, type SeccompPolicy, type SyscallEntry, errnoAction, native } from "@runsc-ts/platform";

/** Allowed whatever their arguments. */
export const GOFER_ALLOWED: readonly string[] = [
  // The gofer's file operations (native/src/fs.cc, fs_attr.cc, fd.cc) and reading/writing FDs.
  "openat", "openat2", "statx", "newfstatat", "fstat", "mkdirat", "mknodat", "symlinkat", "linkat",
  "unlinkat", "renameat2", "readlinkat", "getdents64", "lseek", "fsync", "fdatasync", "fstatfs",
  "fchmodat", "fchmod", "fchownat", "utimensat", "ftruncate", "fgetxattr", "fsetxattr", "flistxattr",
  "fremovexattr", "close", "dup", "fcntl", "read", "write", "pread64", "pwrite64", "readv", "writev",
  // Unix sockets: the RPC transport (socket.cc) and bindAt/connect (fs_socket.cc, which moves
  // the serving thread's cwd with fchdir/chdir around bind and connect).
  "sendmsg", "recvmsg", "bind", "connect", "getsockname", "getsockopt", "shutdown", "fchdir", "chdir",
  // Node, V8 and libuv at run time.
  "futex", "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "epoll_create1", "eventfd2", "pipe2",
  "poll", "ppoll", "mmap", "munmap", "mprotect", "madvise", "mremap", "brk", "membarrier",
  "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
  "getpid", "gettid", "exit", "exit_group", "set_robust_list", "rseq",
  "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
  "sched_yield", "sched_getaffinity", "getrandom", "uname", "sysinfo", "getcwd", "umask",
  "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "capget",
  // Harmless lookups Node makes by path (resolved inside the mount after confinement).
  "readlink", "access", "faccessat", "faccessat2",
];

/** Killed: see the file comment. */
export const GOFER_FATAL: readonly string[] = [
  "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
  "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "move_mount", "open_tree", "fsopen",
  "fsconfig", "fsmount", "fspick", "mount_setattr",
  "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
  "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
  "open_by_handle_at", "name_to_handle_at", "keyctl", "add_key", "request_key",
  "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
  "setgroups", "capset", "execve", "execveat", "iopl", "ioperm", "swapon", "swapoff", "acct",
  "quotactl", "syslog", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
  "fanotify_init", "lookup_dcookie", "vhangup", "seccomp",
];

function nr(name: string): number {
  const n = syscallNumber(name);
  if (n === undefined) throw new Error(`seccomp policy: unknown system call ${name}`);
  return n;
}

const whenArg = (arg: number, value: number | bigint, mask?: number | bigint): ArgRule["when"][number] =>
  mask === undefined ? { arg, value: BigInt(value) } : { arg, value: BigInt(value), mask: BigInt(mask) };

/** The gofer's policy; `pid` is the gofer's own process id (tgkill may only target it). */
export function goferSeccompPolicy(pid: number): SeccompPolicy {
  const eperm = errnoAction(EPERM);
  const m = new Map<number, SyscallEntry>();
  for (const name of GOFER_ALLOWED) m.set(nr(name), ALLOW);
  // fchmodat2 (Linux 6.6) is newer than the headers abi is generated from.
  m.set(native.constants.SYS_fchmodat2, ALLOW);
  for (const name of GOFER_FATAL) m.set(nr(name), KILL_PROCESS);
  const oneOf = (arg: number, values: readonly number[]): SyscallEntry => ({
    rules: values.map((v) => ({ when: [whenArg(arg, v)], action: ALLOW })),
    otherwise: eperm,
  });
  m.set(nr("clone"), { rules: [{ when: [whenArg(0, CLONE_THREAD, CLONE_THREAD)], action: ALLOW }], otherwise: eperm });
  m.set(nr("clone3"), errnoAction(ENOSYS));
  m.set(nr("socket"), oneOf(0, [AF_UNIX]));
  m.set(nr("socketpair"), oneOf(0, [AF_UNIX]));
  m.set(nr("ioctl"), oneOf(1, [FIONBIO, FIOCLEX, FIONCLEX, FIONREAD, TCGETS, TIOCGWINSZ]));
  m.set(nr("prlimit64"), { rules: [{ when: [whenArg(2, 0)], action: ALLOW }], otherwise: eperm });
  m.set(nr("tgkill"), oneOf(0, [pid]));
  m.set(nr("prctl"), oneOf(0, [PR_SET_NAME, PR_GET_NAME, PR_SET_VMA, PR_GET_NO_NEW_PRIVS]));
  return { syscalls: m, defaultAction: eperm, badArch: KILL_PROCESS };
}
