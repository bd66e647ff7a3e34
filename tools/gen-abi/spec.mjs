// What gen-abi extracts: translation units (which headers a C program includes), constant
// groups (which names to scan for, in which headers) and struct layouts (which fields).
//
// This file holds names and header paths only. Every number in the output is computed by the C
// compiler from the headers; nothing here is a value.
//
// Sources, in order of preference:
//   1. the kernel UAPI headers (linux/*, asm/*, asm-generic/*), from linux-libc-dev;
//   2. glibc's headers, only where the UAPI headers do not carry the definition (the socket
//      families and types, MSG_*, UTIME_*, EFD_*, struct msghdr/cmsghdr, user_regs_struct,
//      the getdents64 record). Each such group says so in its `source` note.

/**
 * Translation units. Each one is compiled as its own C program so that headers that cannot be
 * included together (glibc's <sys/socket.h> and <linux/in.h>, x86's <asm/signal.h> and
 * <asm-generic/signal.h>) never meet.
 *
 * `kernel` includes no glibc header at all, so glibc's own struct definitions (struct stat,
 * struct sigaction, struct termios), which differ from the kernel's, cannot leak in.
 */
export const translationUnits = {
  kernel: {
    defines: [],
    includes: [
      "linux/version.h",
      "linux/types.h",
      "linux/fcntl.h",
      "linux/openat2.h",
      "linux/stat.h",
      "linux/fs.h",
      "linux/mount.h",
      "linux/falloc.h",
      "linux/xattr.h",
      "linux/limits.h",
      "linux/mman.h",
      "linux/memfd.h",
      "linux/sched.h",
      "linux/prctl.h",
      "asm/prctl.h",
      "linux/resource.h",
      "linux/time.h",
      "linux/time_types.h",
      "linux/times.h",
      "linux/futex.h",
      "linux/eventpoll.h",
      "linux/poll.h",
      "linux/signal.h",
      "asm/sigcontext.h",
      "asm/ucontext.h",
      "asm/stat.h",
      "asm/statfs.h",
      "linux/ptrace.h",
      "asm/ptrace.h",
      "linux/seccomp.h",
      "linux/filter.h",
      "linux/audit.h",
      "linux/capability.h",
      "linux/wait.h",
      "linux/random.h",
      "linux/inotify.h",
      "linux/signalfd.h",
      "linux/timerfd.h",
      "linux/auxvec.h",
      "linux/elf.h",
      "linux/param.h",
      "linux/termios.h",
      "asm/ioctls.h",
      "linux/serial.h",
      "linux/utsname.h",
      "linux/sysinfo.h",
      "linux/rseq.h",
      "linux/uio.h",
      "linux/un.h",
      "linux/in.h",
      "linux/in6.h",
      "linux/tcp.h",
      "linux/udp.h",
      "linux/netlink.h",
      "linux/socket.h",
      "linux/sockios.h",
      "asm/unistd.h",
    ],
  },
  // The generic signal header: the only UAPI header that defines _NSIG (and so SIGRTMAX) for
  // userspace. x86's kernel-internal asm/signal.h uses the same value; x86's UAPI asm/signal.h
  // leaves it to the libc.
  genericSignal: { defines: [], includes: ["asm-generic/signal.h"] },
  // Interface headers: <linux/if.h> pulls in the libc's <sys/socket.h>, which clashes with the
  // kernel translation unit's own struct definitions, so they get a unit of their own.
  netif: { defines: [], includes: ["linux/if.h", "linux/if_arp.h", "linux/if_addr.h", "linux/rtnetlink.h"] },
  // glibc's <errno.h> includes <linux/errno.h> and adds ENOTSUP; strerror() gives the messages.
  errno: { defines: [], includes: ["errno.h", "string.h"] },
  // Definitions the UAPI headers do not export to userspace.
  glibc: {
    defines: ["_GNU_SOURCE"],
    includes: [
      "features.h",
      "sys/socket.h",
      "netinet/in.h",
      "netinet/tcp.h",
      "netinet/udp.h",
      "sys/eventfd.h",
      "sys/stat.h",
      "sys/user.h",
      "sys/mount.h",
      "dirent.h",
      "unistd.h",
    ],
  },
};

/**
 * Constant groups. Each group scans the listed headers for `#define NAME` (object-like macros
 * only) and enumerators whose names match the regex, lets the compiler evaluate them in `tu`,
 * and drops the ones that are not integer constant expressions there (strings, types, names
 * that only exist for other architectures or under __KERNEL__).
 *
 * - out: the file under src/gen/ the group is written to.
 * - scan: [header, regex] pairs; headers are searched in the compiler's include path.
 * - names: extra names to evaluate even if no scan finds them.
 * - exclude: names (or a regex) to leave out.
 * - pointers: also accept pointer-valued constants (SIG_DFL), emitted as their integer value.
 * - object: emit the group as one frozen object of that name instead of named consts (used
 *   where the Linux names would clash or mislead: the auxv AT_* types).
 * - nameTable: also emit a value -> name table of that export name; when several names share
 *   a value, the first one in scan order (header order) is used.
 */
export const constantGroups = [
  // ---------------------------------------------------------------- signals
  {
    out: "signals",
    title: "Signal numbers",
    tu: "kernel",
    scan: [["asm/signal.h", /^SIG[A-Z0-9]+$/]],
    exclude: ["SIGSTKSZ"],
    nameTable: "SIGNAL_NAMES",
  },
  {
    out: "signals",
    title: "Signal numbers from the generic header (SIGRTMAX = _NSIG)",
    tu: "genericSignal",
    scan: [["asm-generic/signal.h", /^(SIGRTMAX|_NSIG|_NSIG_BPW|_NSIG_WORDS)$/]],
  },
  {
    out: "signals",
    title: "sigaction(2) flags, sigprocmask(2) how, handler values",
    tu: "kernel",
    scan: [
      ["asm-generic/signal-defs.h", /^(SA|SIG)_/],
      ["asm/signal.h", /^(SA_|MINSIGSTKSZ$|SIGSTKSZ$)/],
    ],
    pointers: true,
  },
  {
    out: "signals",
    title: "sigaltstack(2) flags",
    tu: "kernel",
    scan: [["linux/signal.h", /^SS_/]],
  },
  {
    out: "signals",
    title: "Signal frames: the fpstate magic numbers and ucontext flags",
    tu: "kernel",
    scan: [
      ["asm/sigcontext.h", /^FP_XSTATE_MAGIC[12]$/],
      ["asm/ucontext.h", /^UC_/],
    ],
  },
  {
    out: "signals",
    title: "siginfo si_code values and sigevent notify types",
    tu: "kernel",
    scan: [["asm-generic/siginfo.h", /^((SI|ILL|FPE|SEGV|BUS|TRAP|CLD|POLL|SYS|EMT|SIGEV)_|NSIG[A-Z]+$)/]],
  },

  // ---------------------------------------------------------------- files
  {
    out: "fs",
    title: "open(2) flags",
    tu: "kernel",
    scan: [["asm-generic/fcntl.h", /^O_/]],
  },
  {
    out: "fs",
    title: "fcntl(2) commands and arguments, flock(2) operations",
    tu: "kernel",
    scan: [
      ["asm-generic/fcntl.h", /^(F_|FD_|LOCK_)/],
      ["linux/fcntl.h", /^(F_|DN_)/],
    ],
  },
  {
    out: "fs",
    title: "*at(2) flags",
    tu: "kernel",
    scan: [["linux/fcntl.h", /^AT_/]],
  },
  {
    out: "fs",
    title: "openat2(2) resolve flags",
    tu: "kernel",
    scan: [["linux/openat2.h", /^RESOLVE_/]],
  },
  {
    out: "fs",
    title: "File mode bits",
    tu: "kernel",
    scan: [["linux/stat.h", /^S_I/]],
  },
  {
    out: "fs",
    title: "statx(2) masks and attributes",
    tu: "kernel",
    scan: [["linux/stat.h", /^STATX_/]],
  },
  {
    out: "fs",
    title: "lseek(2) whence, renameat2(2) flags",
    tu: "kernel",
    scan: [["linux/fs.h", /^(SEEK|RENAME)_/]],
  },
  {
    out: "fs",
    title: "fallocate(2) modes",
    tu: "kernel",
    scan: [["linux/falloc.h", /^FALLOC_FL_/]],
  },
  {
    out: "fs",
    title: "utimensat(2) special nanosecond values",
    source: "glibc <bits/stat.h>: not in the UAPI headers",
    tu: "glibc",
    scan: [["bits/stat.h", /^UTIME_/]],
  },
  {
    out: "fs",
    title: "Extended attribute flags and limits",
    tu: "kernel",
    scan: [["linux/xattr.h", /^XATTR_/]],
  },
  {
    out: "fs",
    title: "Limits",
    tu: "kernel",
    scan: [["linux/limits.h", /^[A-Z][A-Z0-9_]*$/]],
  },
  {
    out: "fs",
    title: "mount(2) flags",
    tu: "kernel",
    scan: [["linux/mount.h", /^(MS_|MOUNT_ATTR_|OPEN_TREE_|MOVE_MOUNT_|FSOPEN_|FSPICK_|FSMOUNT_)/]],
  },
  {
    out: "fs",
    title: "access(2) modes",
    source: "glibc <unistd.h>: not in the UAPI headers",
    tu: "glibc",
    scan: [["unistd.h", /^[FRWX]_OK$/]],
  },
  {
    out: "fs",
    title: "Directory entry types (d_type)",
    source: "glibc <dirent.h>: the kernel's DT_* live in include/linux/fs_types.h, which is not UAPI",
    tu: "glibc",
    scan: [["dirent.h", /^DT_[A-Z]+$/]],
  },
  {
    out: "fs",
    title: "umount2(2) flags",
    source: "glibc <sys/mount.h>: not in the UAPI headers",
    tu: "glibc",
    scan: [["sys/mount.h", /^(MNT_|UMOUNT_)/]],
  },

  // ---------------------------------------------------------------- memory
  {
    out: "mm",
    title: "mmap(2) protection and flags, msync(2), mlock(2), madvise(2), pkeys",
    tu: "kernel",
    scan: [
      ["asm-generic/mman-common.h", /^(PROT|MAP|MS|MCL|MLOCK|MADV|PKEY)_/],
      ["asm-generic/mman.h", /^(MAP|MCL)_/],
      ["asm/mman.h", /^MAP_/],
      ["linux/mman.h", /^(MAP|MREMAP|OVERCOMMIT)_/],
      ["asm-generic/hugetlb_encode.h", /^HUGETLB_FLAG_/],
    ],
  },
  {
    out: "mm",
    title: "memfd_create(2) flags",
    tu: "kernel",
    scan: [["linux/memfd.h", /^MFD_/]],
  },

  // ---------------------------------------------------------------- processes
  {
    out: "process",
    title: "clone(2) flags, scheduling policies",
    tu: "kernel",
    scan: [["linux/sched.h", /^(CLONE_|CSIGNAL$|SCHED_)/]],
  },
  {
    out: "process",
    title: "prctl(2) options",
    tu: "kernel",
    scan: [["linux/prctl.h", /^PR_/]],
  },
  {
    out: "process",
    title: "arch_prctl(2) codes",
    tu: "kernel",
    scan: [["asm/prctl.h", /^ARCH_/]],
  },
  {
    out: "process",
    title: "Resource limits, priorities, rusage targets",
    tu: "kernel",
    scan: [
      ["asm-generic/resource.h", /^RLIM/],
      ["linux/resource.h", /^(PRIO_|RUSAGE_|RLIM64_)/],
    ],
  },
  {
    out: "process",
    title: "wait4(2)/waitid(2) options and id types",
    tu: "kernel",
    scan: [["linux/wait.h", /^(W[A-Z]+|__W[A-Z]+|P_[A-Z]+)$/]],
  },
  {
    out: "process",
    title: "Capabilities",
    tu: "kernel",
    scan: [["linux/capability.h", /^(CAP_|_LINUX_CAPABILITY_|VFS_CAP_)/]],
  },
  {
    out: "process",
    title: "getrandom(2) flags",
    tu: "kernel",
    scan: [["linux/random.h", /^GRND_/]],
  },
  {
    out: "process",
    title: "Clocks and timers",
    tu: "kernel",
    scan: [["linux/time.h", /^(CLOCK_|CLOCKS_|TIMER_|ITIMER_|MAX_CLOCKS$)/]],
  },
  {
    out: "process",
    title: "futex(2) operations, flags and robust-list values",
    tu: "kernel",
    scan: [["linux/futex.h", /^(FUTEX|ROBUST_LIST)_/]],
  },

  // ---------------------------------------------------------------- events
  {
    out: "events",
    title: "epoll(7)",
    tu: "kernel",
    scan: [["linux/eventpoll.h", /^EPOLL/]],
  },
  {
    out: "events",
    title: "poll(2) events",
    tu: "kernel",
    scan: [["asm-generic/poll.h", /^POLL[A-Z]+$/]],
  },
  {
    out: "events",
    title: "eventfd(2) flags",
    source: "glibc <sys/eventfd.h>: the UAPI headers do not export them",
    tu: "glibc",
    scan: [["bits/eventfd.h", /^EFD_/]],
  },
  {
    out: "events",
    title: "timerfd(2), signalfd(2) and inotify(7)",
    tu: "kernel",
    scan: [
      ["linux/timerfd.h", /^TFD_/],
      ["linux/signalfd.h", /^SFD_/],
      ["linux/inotify.h", /^IN_/],
    ],
  },

  // ---------------------------------------------------------------- sockets
  {
    out: "net",
    title: "Address families, socket types, levels, options, message flags",
    source: "glibc <sys/socket.h>: Linux keeps AF_*, SOCK_*, MSG_* in kernel-internal headers; SO_* from asm-generic/socket.h",
    tu: "glibc",
    scan: [
      ["bits/socket.h", /^(AF|PF|SOL|MSG|SCM)_|^SOMAXCONN$/],
      ["bits/socket_type.h", /^SOCK_/],
      ["sys/socket.h", /^SHUT_/],
      ["bits/in.h", /^SOL_/],
      ["netinet/tcp.h", /^SOL_TCP$/],
      ["netinet/udp.h", /^SOL_UDP$/],
      ["asm-generic/socket.h", /^(SO_|SCM_|SOL_SOCKET$)/],
    ],
  },
  {
    out: "net",
    title: "IP protocols and IPv4/IPv6/TCP/UDP socket options",
    tu: "kernel",
    scan: [
      ["linux/in.h", /^(IPPROTO_|IP_|INADDR_|MCAST_|IN_CLASS)/],
      ["linux/in6.h", /^(IPPROTO_|IPV6_)/],
      ["linux/tcp.h", /^TCP_/],
      ["linux/udp.h", /^UDP_/],
    ],
  },
  {
    out: "net",
    title: "Unix and netlink sockets, socket ioctls",
    tu: "kernel",
    scan: [
      ["linux/un.h", /^UNIX_/],
      ["linux/netlink.h", /^(NETLINK_|NLM_F_|NLMSG_)/],
      ["linux/sockios.h", /^SIOC/],
      ["asm-generic/sockios.h", /^SIOC/],
    ],
  },
  {
    out: "net",
    title: "Network interfaces, addresses and routes (netstack.capnp's NetInterface, InterfaceAddr, Route)",
    tu: "netif",
    scan: [
      ["linux/if.h", /^IFF_/],
      ["linux/if_arp.h", /^ARPHRD_/],
      ["linux/if_addr.h", /^IFA_F_/],
      ["linux/rtnetlink.h", /^(RT_SCOPE_|RT_TABLE_)/],
    ],
  },

  // ---------------------------------------------------------------- terminals
  {
    out: "tty",
    title: "Terminal and file ioctls",
    tu: "kernel",
    scan: [["asm-generic/ioctls.h", /^(TC|TIO|FIO)/]],
  },
  {
    out: "tty",
    title: "termios: c_cc indices, mode flags, speeds",
    tu: "kernel",
    scan: [
      ["asm-generic/termbits.h", /^[A-Z][A-Z0-9_]*$/],
      ["asm-generic/termbits-common.h", /^[A-Z][A-Z0-9_]*$/],
    ],
  },

  // ---------------------------------------------------------------- ptrace and seccomp
  {
    out: "ptrace",
    title: "ptrace(2) requests, options and events",
    tu: "kernel",
    scan: [
      ["linux/ptrace.h", /^PTRACE_/],
      ["asm/ptrace-abi.h", /^PTRACE_/],
    ],
  },
  {
    out: "ptrace",
    title: "seccomp(2)",
    tu: "kernel",
    scan: [["linux/seccomp.h", /^SECCOMP_/]],
  },
  {
    out: "ptrace",
    title: "Audit architectures (seccomp_data.arch)",
    tu: "kernel",
    scan: [["linux/audit.h", /^AUDIT_ARCH_/]],
  },
  {
    out: "ptrace",
    title: "The x32 ABI's system call number bit (seccomp filters reject it)",
    tu: "kernel",
    scan: [["asm/unistd.h", /^__X32_SYSCALL_BIT$/]],
  },
  {
    out: "ptrace",
    title: "Classic BPF instruction fields",
    tu: "kernel",
    scan: [
      ["linux/bpf_common.h", /^BPF_/],
      ["linux/filter.h", /^BPF_/],
    ],
  },

  // ---------------------------------------------------------------- ELF
  {
    out: "elf",
    title: "Page size of executables and the user clock tick (AT_PAGESZ, AT_CLKTCK)",
    tu: "kernel",
    scan: [["asm-generic/param.h", /^(EXEC_PAGESIZE|HZ)$/]],
  },
  {
    out: "elf",
    title: "ELF identification, file types, machine, program header types and flags, note types",
    tu: "kernel",
    scan: [
      ["linux/elf.h", /^(EI_[A-Z]+[0-3]?|ELFMAG[0-3]|ELFCLASS(NONE|32|64)|ELFDATA(NONE|2LSB|2MSB)|EV_(NONE|CURRENT)|ET_[A-Z]+|PT_[A-Z_]+|PF_[RWX]|NT_(PRSTATUS|PRFPREG|X86_XSTATE))$/],
      ["linux/elf-em.h", /^EM_X86_64$/],
    ],
    exclude: ["EI_NIDENT"],
    names: ["EI_NIDENT"],
  },

  // ---------------------------------------------------------------- auxv
  {
    out: "auxv",
    title: "Auxiliary vector entry types; an object because the names share AT_ with the *at(2) flags",
    tu: "kernel",
    scan: [
      ["linux/auxvec.h", /^AT_/],
      ["asm/auxvec.h", /^AT_/],
    ],
    exclude: ["AT_VECTOR_SIZE_ARCH"],
    object: "AUXV",
  },
];

/** errno values: scanned from these headers, evaluated in the `errno` unit with strerror(). */
export const errnoSpec = {
  tu: "errno",
  scan: [
    ["asm-generic/errno-base.h", /^E[A-Z0-9]+$/],
    ["asm-generic/errno.h", /^E[A-Z0-9]+$/],
    ["bits/errno.h", /^E[A-Z0-9]+$/],
  ],
};

/** Syscall numbers: every __NR_name in the x86-64 table. */
export const syscallSpec = {
  tu: "kernel",
  scan: [["asm/unistd_64.h", /^__NR_/]],
};

/**
 * Struct layouts. Field entries:
 *   "name"          a member (or a member-access macro such as siginfo's si_pid)
 *   "name:layout"   a struct member described by another layout in this list
 *   "name=scalar"   a union or struct member read as one unsigned integer (sigval)
 *   "name[]"        a flexible array member that ends the record; the layout's size is then
 *                   the header size rounded up to the alignment, as sizeof does in C
 * Types, sizes, offsets and signedness all come from the compiler. A layout must list every
 * member (the generator rejects gaps that padding cannot explain) unless it is `partial`
 * (the siginfo union arms). `note` and `source` end up in the layout's doc comment.
 */
export const layouts = [
  // ---- time
  { name: "timespec", cType: "struct __kernel_timespec", tu: "kernel", header: "linux/time_types.h",
    fields: ["tv_sec", "tv_nsec"] },
  { name: "itimerspec", cType: "struct __kernel_itimerspec", tu: "kernel", header: "linux/time_types.h",
    fields: ["it_interval:timespec", "it_value:timespec"] },
  { name: "timeval", cType: "struct __kernel_old_timeval", tu: "kernel", header: "linux/time_types.h",
    fields: ["tv_sec", "tv_usec"] },
  { name: "itimerval", cType: "struct __kernel_old_itimerval", tu: "kernel", header: "linux/time_types.h",
    fields: ["it_interval:timeval", "it_value:timeval"] },
  { name: "timezone", cType: "struct timezone", tu: "kernel", header: "linux/time.h",
    fields: ["tz_minuteswest", "tz_dsttime"] },
  { name: "tms", cType: "struct tms", tu: "kernel", header: "linux/times.h",
    fields: ["tms_utime", "tms_stime", "tms_cutime", "tms_cstime"] },

  // ---- files
  { name: "stat", cType: "struct stat", tu: "kernel", header: "asm/stat.h",
    fields: ["st_dev", "st_ino", "st_nlink", "st_mode", "st_uid", "st_gid", "__pad0", "st_rdev",
      "st_size", "st_blksize", "st_blocks", "st_atime", "st_atime_nsec", "st_mtime",
      "st_mtime_nsec", "st_ctime", "st_ctime_nsec", "__unused"] },
  { name: "statx_timestamp", cType: "struct statx_timestamp", tu: "kernel", header: "linux/stat.h",
    fields: ["tv_sec", "tv_nsec", "__reserved"] },
  { name: "statx", cType: "struct statx", tu: "kernel", header: "linux/stat.h",
    fields: ["stx_mask", "stx_blksize", "stx_attributes", "stx_nlink", "stx_uid", "stx_gid",
      "stx_mode", "__spare0", "stx_ino", "stx_size", "stx_blocks", "stx_attributes_mask",
      "stx_atime:statx_timestamp", "stx_btime:statx_timestamp", "stx_ctime:statx_timestamp",
      "stx_mtime:statx_timestamp", "stx_rdev_major", "stx_rdev_minor", "stx_dev_major",
      "stx_dev_minor", "stx_mnt_id", "stx_dio_mem_align", "stx_dio_offset_align", "__spare3"] },
  { name: "kernel_fsid", cType: "__kernel_fsid_t", tu: "kernel", header: "asm-generic/posix_types.h",
    fields: ["val"] },
  { name: "statfs", cType: "struct statfs", tu: "kernel", header: "asm-generic/statfs.h",
    fields: ["f_type", "f_bsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree",
      "f_fsid:kernel_fsid", "f_namelen", "f_frsize", "f_flags", "f_spare"] },
  { name: "flock", cType: "struct flock", tu: "kernel", header: "asm-generic/fcntl.h",
    fields: ["l_type", "l_whence", "l_start", "l_len", "l_pid"] },
  { name: "open_how", cType: "struct open_how", tu: "kernel", header: "linux/openat2.h",
    fields: ["flags", "mode", "resolve"] },
  { name: "linux_dirent64", cType: "struct dirent64", tu: "glibc", header: "dirent.h",
    source: "glibc's struct dirent64, which on x86-64 is the getdents64(2) record; the kernel's struct linux_dirent64 is not in the UAPI headers",
    fields: ["d_ino", "d_off", "d_reclen", "d_type", "d_name[]"] },
  { name: "iovec", cType: "struct iovec", tu: "kernel", header: "linux/uio.h",
    fields: ["iov_base", "iov_len"] },

  // ---- signals
  { name: "sigaction", cType: "struct sigaction", tu: "kernel", header: "asm/signal.h",
    source: "the x86-64 (non-__i386__) struct sigaction, which is the rt_sigaction(2) layout",
    fields: ["sa_handler", "sa_flags", "sa_restorer", "sa_mask"] },
  { name: "stack_t", cType: "stack_t", tu: "kernel", header: "asm/signal.h",
    fields: ["ss_sp", "ss_flags", "ss_size"] },
  { name: "siginfo", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header; each siginfo_* layout adds one arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code"] },
  { name: "siginfo_kill", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header and the _kill arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code", "si_pid", "si_uid"] },
  { name: "siginfo_timer", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header and the _timer arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code", "si_tid", "si_overrun",
      { name: "si_value", path: "_sifields._timer._sigval", scalar: true }, "si_sys_private"] },
  { name: "siginfo_rt", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header and the _rt arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code", "si_pid", "si_uid", "si_value=scalar"] },
  { name: "siginfo_sigchld", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header and the _sigchld arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code", "si_pid", "si_uid", "si_status", "si_utime", "si_stime"] },
  { name: "siginfo_sigfault", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header and the _sigfault arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code", "si_addr", "si_addr_lsb"] },
  { name: "siginfo_sigfault_bnd", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header and the _sigfault (bnd) arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code", "si_addr", "si_lower", "si_upper"] },
  { name: "siginfo_sigfault_pkey", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header and the _sigfault (pkey) arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code", "si_addr", "si_pkey"] },
  { name: "siginfo_sigpoll", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header and the _sigpoll arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code", "si_band", "si_fd"] },
  { name: "siginfo_sigsys", cType: "siginfo_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "The common header and the _sigsys arm of the _sifields union",
    fields: ["si_signo", "si_errno", "si_code", "si_call_addr", "si_syscall", "si_arch"] },
  { name: "sigevent", cType: "sigevent_t", tu: "kernel", header: "asm-generic/siginfo.h", partial: true,
    note: "sigev_notify_thread_id is the SIGEV_THREAD_ID arm of the _sigev_un union",
    fields: ["sigev_value=scalar", "sigev_signo", "sigev_notify", "sigev_notify_thread_id"] },
  { name: "signalfd_siginfo", cType: "struct signalfd_siginfo", tu: "kernel", header: "linux/signalfd.h",
    fields: ["ssi_signo", "ssi_errno", "ssi_code", "ssi_pid", "ssi_uid", "ssi_fd", "ssi_tid",
      "ssi_band", "ssi_overrun", "ssi_trapno", "ssi_status", "ssi_int", "ssi_ptr", "ssi_utime",
      "ssi_stime", "ssi_addr", "ssi_addr_lsb", "__pad2", "ssi_syscall", "ssi_call_addr",
      "ssi_arch", "__pad"] },

  // ---- signal frames and registers
  { name: "fpx_sw_bytes", cType: "struct _fpx_sw_bytes", tu: "kernel", header: "asm/sigcontext.h",
    fields: ["magic1", "extended_size", "xfeatures", "xstate_size", "padding"] },
  { name: "fpstate", cType: "struct _fpstate_64", tu: "kernel", header: "asm/sigcontext.h",
    fields: ["cwd", "swd", "twd", "fop", "rip", "rdp", "mxcsr", "mxcsr_mask", "st_space",
      "xmm_space", "reserved2", "sw_reserved:fpx_sw_bytes"] },
  { name: "xstate_header", cType: "struct _header", tu: "kernel", header: "asm/sigcontext.h",
    fields: ["xfeatures", "reserved1", "reserved2"] },
  { name: "xstate", cType: "struct _xstate", tu: "kernel", header: "asm/sigcontext.h",
    fields: ["fpstate:fpstate", "xstate_hdr:xstate_header", "ymmh"] },
  { name: "sigcontext", cType: "struct sigcontext", tu: "kernel", header: "asm/sigcontext.h",
    fields: ["r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx",
      "rdx", "rax", "rcx", "rsp", "rip", "eflags", "cs", "gs", "fs", "ss", "err", "trapno",
      "oldmask", "cr2", "fpstate", "reserved1"] },
  { name: "ucontext", cType: "struct ucontext", tu: "kernel", header: "asm-generic/ucontext.h",
    fields: ["uc_flags", "uc_link", "uc_stack:stack_t", "uc_mcontext:sigcontext", "uc_sigmask"] },
  { name: "pt_regs", cType: "struct pt_regs", tu: "kernel", header: "asm/ptrace.h",
    fields: ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
      "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss"] },
  // ---- ELF
  { name: "elf64_ehdr", cType: "struct elf64_hdr", tu: "kernel", header: "linux/elf.h",
    fields: ["e_ident", "e_type", "e_machine", "e_version", "e_entry", "e_phoff", "e_shoff",
      "e_flags", "e_ehsize", "e_phentsize", "e_phnum", "e_shentsize", "e_shnum", "e_shstrndx"] },
  { name: "elf64_phdr", cType: "struct elf64_phdr", tu: "kernel", header: "linux/elf.h",
    fields: ["p_type", "p_flags", "p_offset", "p_vaddr", "p_paddr", "p_filesz", "p_memsz", "p_align"] },

  { name: "user_regs_struct", cType: "struct user_regs_struct", tu: "glibc", header: "sys/user.h",
    source: "glibc <sys/user.h>: the PTRACE_GETREGS/SETREGS layout (the kernel's asm/user_64.h is not UAPI)",
    fields: ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
      "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base",
      "ds", "es", "fs", "gs"] },
  { name: "user_fpregs_struct", cType: "struct user_fpregs_struct", tu: "glibc", header: "sys/user.h",
    source: "glibc <sys/user.h>: the PTRACE_GETFPREGS/SETFPREGS layout (FXSAVE area)",
    fields: ["cwd", "swd", "ftw", "fop", "rip", "rdp", "mxcsr", "mxcr_mask", "st_space",
      "xmm_space", "padding"] },

  // ---- processes
  { name: "rlimit", cType: "struct rlimit", tu: "kernel", header: "linux/resource.h",
    fields: ["rlim_cur", "rlim_max"] },
  { name: "rusage", cType: "struct rusage", tu: "kernel", header: "linux/resource.h",
    fields: ["ru_utime:timeval", "ru_stime:timeval", "ru_maxrss", "ru_ixrss", "ru_idrss",
      "ru_isrss", "ru_minflt", "ru_majflt", "ru_nswap", "ru_inblock", "ru_oublock", "ru_msgsnd",
      "ru_msgrcv", "ru_nsignals", "ru_nvcsw", "ru_nivcsw"] },
  { name: "sysinfo", cType: "struct sysinfo", tu: "kernel", header: "linux/sysinfo.h",
    fields: ["uptime", "loads", "totalram", "freeram", "sharedram", "bufferram", "totalswap",
      "freeswap", "procs", "pad", "totalhigh", "freehigh", "mem_unit", "_f"] },
  { name: "utsname", cType: "struct new_utsname", tu: "kernel", header: "linux/utsname.h",
    fields: ["sysname", "nodename", "release", "version", "machine", "domainname"] },
  { name: "robust_list", cType: "struct robust_list", tu: "kernel", header: "linux/futex.h",
    fields: ["next"] },
  { name: "robust_list_head", cType: "struct robust_list_head", tu: "kernel", header: "linux/futex.h",
    fields: ["list:robust_list", "futex_offset", "list_op_pending"] },
  { name: "clone_args", cType: "struct clone_args", tu: "kernel", header: "linux/sched.h",
    fields: ["flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size",
      "tls", "set_tid", "set_tid_size", "cgroup"] },
  { name: "rseq", cType: "struct rseq", tu: "kernel", header: "linux/rseq.h",
    fields: ["cpu_id_start", "cpu_id", "rseq_cs", "flags"] },
  { name: "rseq_cs", cType: "struct rseq_cs", tu: "kernel", header: "linux/rseq.h",
    fields: ["version", "flags", "start_ip", "post_commit_offset", "abort_ip"] },
  { name: "user_cap_header", cType: "struct __user_cap_header_struct", tu: "kernel", header: "linux/capability.h",
    fields: ["version", "pid"] },
  { name: "user_cap_data", cType: "struct __user_cap_data_struct", tu: "kernel", header: "linux/capability.h",
    fields: ["effective", "permitted", "inheritable"] },

  // ---- seccomp
  { name: "seccomp_data", cType: "struct seccomp_data", tu: "kernel", header: "linux/seccomp.h",
    fields: ["nr", "arch", "instruction_pointer", "args"] },
  { name: "sock_filter", cType: "struct sock_filter", tu: "kernel", header: "linux/filter.h",
    fields: ["code", "jt", "jf", "k"] },
  { name: "sock_fprog", cType: "struct sock_fprog", tu: "kernel", header: "linux/filter.h",
    fields: ["len", "filter"] },

  // ---- events and terminals
  { name: "pollfd", cType: "struct pollfd", tu: "kernel", header: "asm-generic/poll.h",
    fields: ["fd", "events", "revents"] },
  { name: "epoll_event", cType: "struct epoll_event", tu: "kernel", header: "linux/eventpoll.h",
    fields: ["events", "data"] },
  { name: "termios", cType: "struct termios", tu: "kernel", header: "asm-generic/termbits.h",
    fields: ["c_iflag", "c_oflag", "c_cflag", "c_lflag", "c_line", "c_cc"] },
  { name: "termios2", cType: "struct termios2", tu: "kernel", header: "asm-generic/termbits.h",
    fields: ["c_iflag", "c_oflag", "c_cflag", "c_lflag", "c_line", "c_cc", "c_ispeed", "c_ospeed"] },
  { name: "winsize", cType: "struct winsize", tu: "kernel", header: "asm-generic/termios.h",
    fields: ["ws_row", "ws_col", "ws_xpixel", "ws_ypixel"] },

  // ---- sockets
  { name: "in_addr", cType: "struct in_addr", tu: "kernel", header: "linux/in.h",
    fields: ["s_addr"] },
  { name: "sockaddr_in", cType: "struct sockaddr_in", tu: "kernel", header: "linux/in.h",
    fields: ["sin_family", "sin_port", "sin_addr:in_addr", "__pad"] },
  { name: "sockaddr_in6", cType: "struct sockaddr_in6", tu: "kernel", header: "linux/in6.h",
    fields: ["sin6_family", "sin6_port", "sin6_flowinfo", "sin6_addr", "sin6_scope_id"] },
  { name: "sockaddr_un", cType: "struct sockaddr_un", tu: "kernel", header: "linux/un.h",
    fields: ["sun_family", "sun_path"] },
  { name: "sockaddr_nl", cType: "struct sockaddr_nl", tu: "kernel", header: "linux/netlink.h",
    fields: ["nl_family", "nl_pad", "nl_pid", "nl_groups"] },
  { name: "sockaddr_storage", cType: "struct __kernel_sockaddr_storage", tu: "kernel", header: "linux/socket.h",
    fields: ["ss_family", "__data"] },
  { name: "msghdr", cType: "struct msghdr", tu: "glibc", header: "bits/socket.h",
    source: "glibc <sys/socket.h>: the kernel's struct user_msghdr is not in the UAPI headers",
    fields: ["msg_name", "msg_namelen", "msg_iov", "msg_iovlen", "msg_control",
      "msg_controllen", "msg_flags"] },
  { name: "mmsghdr", cType: "struct mmsghdr", tu: "glibc", header: "bits/socket.h",
    source: "glibc <sys/socket.h>",
    fields: ["msg_hdr:msghdr", "msg_len"] },
  { name: "cmsghdr", cType: "struct cmsghdr", tu: "glibc", header: "bits/socket.h",
    source: "glibc <sys/socket.h>: the kernel's struct cmsghdr is not in the UAPI headers",
    fields: ["cmsg_len", "cmsg_level", "cmsg_type", "__cmsg_data[]"] },
  { name: "ucred", cType: "struct ucred", tu: "glibc", header: "bits/socket.h",
    source: "glibc <sys/socket.h> (SO_PEERCRED, SCM_CREDENTIALS)",
    fields: ["pid", "uid", "gid"] },
];
