/**
 * The native addon (`@runsc-ts/native`, built from `native/src` by node-gyp): its whole
 * TypeScript surface, declared once. This is the only module in the repository that loads
 * native code (ESLint enforces it); everything else goes through the types exported here.
 *
 * The addon is a thin layer of stateless functions over plain numbers (file descriptors,
 * flags, byte counts), node-pty style: policy lives in TypeScript. The functions validate
 * their arguments before any system call (TypeError for a wrong type, RangeError for a value
 * out of range, both with Node's `code`s) and report a failed system call by throwing a
 * {@link SystemError}. "Would block" is not an error: it is the return value -1.
 *
 * Concurrency: every function runs synchronously on the calling thread. FdWatcher callbacks run
 * on the event loop of the thread that created the watcher.
 */
import { createRequire } from "node:module";
import { getSystemErrorMap } from "node:util";

/**
 * A failed system call, shaped like Node's own SystemError: message
 * `"EBADF: bad file descriptor, sendmsg"`, `code` `"EBADF"`, `errno` -9 (negative, as libuv and
 * Node report it), `syscall` `"sendmsg"`.
 */
export interface SystemError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
}

/** Whether `e` is an Error carrying `code`, `errno` and `syscall` (ours or Node's). */
export function isSystemError(e: unknown): e is SystemError {
  if (!(e instanceof Error)) return false;
  const r = e as Error & Record<string, unknown>;
  return typeof r["code"] === "string" && typeof r["errno"] === "number" && typeof r["syscall"] === "string";
}

/**
 * A SystemError built in TypeScript for a negative errno that did not come with an exception
 * (an FdWatcher status): the same shape and message the addon would produce.
 */
export function systemErrorFromErrno(errno: number, syscall: string): SystemError {
  // Node's own table: the names and texts the addon takes from libuv.
  const [code, text] = getSystemErrorMap().get(errno) ?? [`Unknown system error ${errno}`, "unknown error"];
  return Object.assign(new Error(`${code}: ${text}, ${syscall}`), { code, errno, syscall });
}

/** Constants compiled into the addon from the host's headers. */
export interface NativeConstants {
  /** fchmodat2(2)'s number (Linux 6.6), newer than the headers abi is generated from. */
  readonly SYS_fchmodat2: number;
  readonly SOCK_STREAM: number;
  readonly SOCK_DGRAM: number;
  readonly SOCK_SEQPACKET: number;
  readonly SOCK_CLOEXEC: number;
  readonly SOCK_NONBLOCK: number;
  /** The most chunks one sendmsg sends (the rest is left to the caller). */
  readonly IOV_MAX: number;
  /** The most descriptors one SCM_RIGHTS message carries (the kernel's SCM_MAX_FD, 253). */
  readonly SCM_MAX_FD: number;
  /** FdWatcher event bits (libuv's UV_READABLE, UV_WRITABLE, UV_DISCONNECT). */
  readonly POLL_READABLE: number;
  readonly POLL_WRITABLE: number;
  readonly POLL_DISCONNECT: number;
  /** tunOpen flags (linux/if_tun.h). */
  readonly IFF_TUN: number;
  readonly IFF_TAP: number;
  readonly IFF_NO_PI: number;
  readonly IFF_VNET_HDR: number;
  /** tunSetOffload flags (linux/if_tun.h). */
  readonly TUN_F_CSUM: number;
  readonly TUN_F_TSO4: number;
  readonly TUN_F_TSO6: number;
}

/**
 * Called on the event loop when the watched descriptor is ready. `status` is 0 or a negative
 * errno; `events` is a mask of the POLL_* constants. A negative status means the watcher has
 * been stopped (start() it again to keep watching): libuv reports an error condition on the
 * descriptor (EPOLLERR) as EBADF, so the descriptor's real error is for a read or write to
 * find. An exception thrown here is reported as uncaught (like any Node I/O callback).
 */
export type FdWatcherCallback = (this: FdWatcher, status: number, events: number) => void;

/**
 * Readiness notification for one descriptor: libuv's uv_poll_t on the creating thread's event
 * loop (no thread, no ThreadSafeFunction). Level-triggered. libuv puts `fd` in non-blocking
 * mode.
 *
 * Rules: close() the watcher before closing its descriptor (stop and close unregister the
 * descriptor *number* from the loop; doing that after the number was reused would unregister
 * another watcher's descriptor). Only one watcher per descriptor.
 */
export interface FdWatcher {
  /** Starts watching for `events` (POLL_* mask), or changes the mask; 0 stops. */
  start(events: number): void;
  /** Stops watching. A stopped watcher never keeps the event loop alive. */
  stop(): void;
  /** Releases the handle. Idempotent; safe inside the watcher's own callback. */
  close(): void;
  /** An active watcher keeps the event loop alive (the default). */
  ref(): void;
  /** An active watcher does not keep the event loop alive. */
  unref(): void;
}

export interface FdWatcherConstructor {
  /** Throws TypeError/RangeError for bad arguments, SystemError if libuv refuses `fd`. */
  new (fd: number, callback: FdWatcherCallback): FdWatcher;
}

/** A host path or file name: UTF-8 text or raw bytes. */
export type HostPath = string | Uint8Array;

/** The addon. Argument errors throw TypeError/RangeError; failed system calls throw SystemError. */
export interface NativeAddon extends PtraceAddon {
  readonly constants: NativeConstants;

  /** socketpair(AF_UNIX, type, 0). `type`: SOCK_STREAM etc., or'ed with SOCK_CLOEXEC/SOCK_NONBLOCK. */
  socketpair(type: number): [number, number];

  /**
   * Gather write of `chunks` (no copy; at most IOV_MAX of them) with MSG_NOSIGNAL; `fds`, when
   * not empty, travel as SCM_RIGHTS with the first byte sent (at most SCM_MAX_FD; at least one
   * byte is required, else RangeError). Returns the bytes sent, or -1 if the socket would
   * block. EINTR is retried. The caller still owns `fds` afterwards (the kernel duplicated them).
   */
  sendmsg(fd: number, chunks: readonly Uint8Array[], fds: readonly number[]): number;

  /**
   * Reads into `buf` (not empty) and appends any received descriptors (close-on-exec) to
   * `fdsOut`; the caller owns them. Returns the bytes read, 0 at end of stream, -1 if the socket
   * would block. If the control data was truncated (MSG_CTRUNC, e.g. RLIMIT_NOFILE reached),
   * closes what arrived and throws a SystemError with code "EMSGSIZE", syscall "recvmsg"; the
   * bytes of that read are lost, so the stream is unusable afterwards.
   */
  recvmsg(fd: number, buf: Uint8Array, fdsOut: number[]): number;

  /**
   * A vetted terminal ioctl on a host FD: TCGETS, TCSETS, TCSETSW, TCSETSF (buf: struct termios),
   * TIOCGWINSZ, TIOCSWINSZ (struct winsize), FIONREAD, TIOCOUTQ (int). `buf` is exactly the
   * argument's size and is updated in place; returns the ioctl's result. Other requests are a
   * RangeError; a failed ioctl throws a SystemError (ENOTTY for a file that is not a terminal).
   */
  ttyIoctl(fd: number, request: number, buf: Uint8Array): number;

  /** listen(2) on a bound stream socket (backlog capped at 4096). */
  listen(fd: number, backlog: number): void;

  /**
   * accept4(2): the next connection as a close-on-exec, non-blocking socket, or -1 when none is
   * waiting on a non-blocking listener.
   */
  accept4(fd: number): number;

  /** The CPU time (ns) host process `pid` has used, from its process CPU clock. */
  cpuClockNs(pid: number): bigint;

  /** memfd_create(name, MFD_CLOEXEC): an anonymous memory file (for shared tmpfs mappings). */
  memfdCreate(name: string): number;

  /** close(fd); EINTR counts as closed (Linux releases the descriptor anyway). */
  close(fd: number): void;
  /** A new descriptor for the same open file, close-on-exec (F_DUPFD_CLOEXEC). */
  dup(fd: number): number;
  getCloexec(fd: number): boolean;
  setCloexec(fd: number, on: boolean): void;
  getNonblock(fd: number): boolean;
  /** O_NONBLOCK is a property of the open file description: every holder sees the change. */
  setNonblock(fd: number, on: boolean): void;


  // ---- File-system calls (native/src/fs.cc, fs_attr.cc), for the gofer. A `path` or `name` is
  // a string or raw bytes (Linux names are bytes; NUL inside is a TypeError). `dirfd` may be
  // AT_FDCWD (-100). Opens add O_CLOEXEC; the caller owns every descriptor returned. Struct
  // outputs are filled into caller buffers and decoded with @runsc-ts/abi's layouts.

  openat(dirfd: number, path: HostPath, flags: number, mode: number): number;
  /** openat2(2) with `struct open_how {flags, mode, resolve}` (RESOLVE_* flags). */
  openat2(dirfd: number, path: HostPath, flags: number, mode: number, resolve: number): number;
  /** Fills `out` (at least 256 bytes) with a struct statx. */
  statx(dirfd: number, path: HostPath, flags: number, mask: number, out: Uint8Array): void;
  mkdirat(dirfd: number, path: HostPath, mode: number): void;
  /** `mode` includes the S_IFMT type. */
  mknodat(dirfd: number, path: HostPath, mode: number, major: number, minor: number): void;
  symlinkat(target: HostPath, dirfd: number, path: HostPath): void;
  linkat(olddirfd: number, oldpath: HostPath, newdirfd: number, newpath: HostPath, flags: number): void;
  unlinkat(dirfd: number, path: HostPath, flags: number): void;
  renameat2(olddirfd: number, oldpath: HostPath, newdirfd: number, newpath: HostPath, flags: number): void;
  /** The link's target bytes (an empty path reads the symlink an O_PATH descriptor refers to). */
  readlinkat(dirfd: number, path: HostPath): Buffer;
  /** Fills `buf` with linux_dirent64 records; returns the bytes used (0 at the end). */
  getdents64(fd: number, buf: Uint8Array): number;
  lseek(fd: number, offset: bigint | number, whence: number): bigint;
  fsync(fd: number): void;
  fdatasync(fd: number): void;
  /** Fills `out` (at least 120 bytes) with a struct statfs. Works on O_PATH descriptors. */
  fstatfs(fd: number, out: Uint8Array): void;
  /** With `flags` (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW) this is fchmodat2(2) (Linux 6.6; ENOSYS before). */
  fchmodat(dirfd: number, path: HostPath, mode: number, flags: number): void;
  fchmod(fd: number, mode: number): void;
  /** uid/gid 0xffffffff leave that id unchanged. */
  fchownat(dirfd: number, path: HostPath, uid: number, gid: number, flags: number): void;
  /** nsec may be UTIME_NOW or UTIME_OMIT; AT_EMPTY_PATH acts on an O_PATH descriptor itself. */
  utimensat(
    dirfd: number,
    path: HostPath,
    atimeSec: bigint | number,
    atimeNsec: number,
    mtimeSec: bigint | number,
    mtimeNsec: number,
    flags: number,
  ): void;
  ftruncate(fd: number, length: bigint | number): void;
  /** The value's length; an empty `buf` only asks for it. */
  fgetxattr(fd: number, name: HostPath, buf: Uint8Array): number;
  fsetxattr(fd: number, name: HostPath, value: Uint8Array, flags: number): void;
  /** Bytes of NUL-terminated names; an empty `buf` only asks for the length. */
  flistxattr(fd: number, buf: Uint8Array): number;
  fremovexattr(fd: number, name: HostPath): void;
  /**
   * socket(AF_UNIX, type) bound to `name` (one component, under 108 bytes) in directory `dirfd`:
   * the calling thread's cwd moves there for the bind and back (native/src/fs_socket.cc).
   */
  bindUnixAt(dirfd: number, name: HostPath, type: number): number;
  /** The same, connected instead of bound; the socket is non-blocking (a full backlog is EAGAIN). */
  connectUnixAt(dirfd: number, name: HostPath, type: number): number;

  // ---- Confinement (native/src/confine.cc). Linux applies each to the calling thread only.

  unshare(flags: number): void;
  mount(source: HostPath | null, target: HostPath, fstype: HostPath | null, flags: number, data: HostPath | null): void;
  umount2(target: HostPath, flags: number): void;
  pivotRoot(newRoot: HostPath, putOld: HostPath): void;
  chroot(path: HostPath): void;
  chdir(path: HostPath): void;
  fchdir(fd: number): void;
  /** The calling thread's capability sets as bigint masks of (1n << CAP_*) bits. */
  capset(effective: bigint, permitted: bigint, inheritable: bigint): void;
  capget(): { effective: bigint; permitted: bigint; inheritable: bigint };
  /** prctl(2); missing arguments are 0. Returns the call's non-negative result. */
  prctl(option: number, arg2?: bigint | number, arg3?: bigint | number, arg4?: bigint | number, arg5?: bigint | number): number;

  // ---- Starting a process confined in every thread (native/src/launch.cc).

  /**
   * Forks the pivot helper (native/src/pivot.h) in the caller's mount namespace: single-threaded,
   * it waits for one byte on `sock` (its end of a connected socket; the caller closes its copy),
   * then makes `root` the root of the namespace — a directory bound onto itself (the host's "/"
   * onto /proc), a file bound into a read-only tmpfs wrapper as `file` — read-only if asked,
   * pivot_roots there and detaches the old root, which moves the root and cwd of every thread
   * whose root or cwd was the old root. It answers 12 bytes, three native-endian int32s: the
   * failed step (0: none; 1 bind, 2 remount read-only, 3 chdir, 4 pivot_root, 5 detach the old
   * root, 6 chdir to /, 7 stat the root, 8 the file's wrapper), its errno, and 1 if the root was a
   * file. EOF instead of the byte makes it exit 1 without doing anything. Returns its pid.
   */
  forkPivotHelper(sock: number, root: HostPath, readOnly: boolean): number;
  /** execve(2): returns only by throwing. */
  execve(path: HostPath, argv: readonly string[], envp: readonly string[]): never;
  /** waitpid(pid, 0), blocking: `code` if it exited, `signal` if it was killed. */
  waitpid(pid: number): { code: number | null; signal: number | null };

  // ---- Seccomp (native/src/seccomp.cc); programs come from platform's seccomp/ builder.

  /** seccomp(SECCOMP_SET_MODE_FILTER, flags, program); returns the call's result. */
  seccompSetFilter(program: Uint8Array, flags: number): number;
  /**
   * For tests: forks a child that sets no_new_privs, installs `program` with `flags` and makes
   * `calls` in turn; a call that kills the child leaves `results` short and `signal` set.
   * `installErrno` is 0 when the filter went in. String arguments are passed as pointers.
   */
  seccompProbe(program: Uint8Array, flags: number, calls: readonly SeccompProbeCall[]): SeccompProbeResult;

  readonly FdWatcher: FdWatcherConstructor;

  // ---- TUN/TAP and packet I/O (native/src/tun.cc), for the netstack's TAP link.

  /**
   * Opens /dev/net/tun and attaches it with TUNSETIFF to device `name` (created if missing, which
   * needs CAP_NET_ADMIN; "" or "tap%d" lets the kernel number it). `flags`: exactly one of
   * IFF_TUN/IFF_TAP, usually with IFF_NO_PI. Returns the descriptor (non-blocking,
   * close-on-exec; the caller owns it) and the device's name. A device that nothing else holds
   * disappears when the descriptor closes.
   */
  tunOpen(name: string, flags: number): [number, string];
  /**
   * Reads up to `lengths.length` packets from a packet-oriented descriptor (TAP, TUN, datagram
   * socket): packet i at `buf[i * stride]`, its length in `lengths[i]`. Returns how many were
   * read, 0 if none was waiting. A first packet of length 0 means end of file.
   */
  readPackets(fd: number, buf: Uint8Array, stride: number, lengths: Int32Array): number;
  /**
   * Writes `packets` one write(2) each (a writev of `prefix` + packet when given: a TAP's
   * virtio_net_hdr), in order; returns how many went (fewer if it would block).
   */
  writePackets(fd: number, packets: readonly Uint8Array[], prefix?: Uint8Array): number;
  /** TUNGETIFF: the IFF_* flags of the device `fd` is attached to. */
  tunGetFlags(fd: number): number;
  /** TUNSETOFFLOAD: TUN_F_* offloads this descriptor's reader accepts (IFF_VNET_HDR devices). */
  tunSetOffload(fd: number, flags: number): void;
}

/** One system call for `seccompProbe`. */
export interface SeccompProbeCall {
  readonly nr: number;
  readonly args?: readonly (number | bigint | string)[];
  /** How to enter the kernel: the x86-64 `syscall` (default), with the x32 bit, or `int 0x80`. */
  readonly abi?: "x86_64" | "x32" | "i386";
}

export interface SeccompProbeResult {
  readonly installErrno: number | null;
  readonly results: readonly { readonly ret: number; readonly errno: number }[];
  readonly code: number | null;
  readonly signal: number | null;
}

/**
 * Constants of the ptrace platform (native/src/ptrace.cc), compiled from the host headers:
 * `REG_*` are element indices into a user_regs_struct held as a BigUint64Array.
 */
export interface PtraceConstants {
  readonly [name: `REG_${string}`]: number;
  readonly USER_REGS_COUNT: number;
  readonly SIGINFO_SIZE: number;
  readonly SIGINFO_SIGNO: number;
  readonly SIGINFO_CODE: number;
  readonly SIGINFO_ADDR: number;
  /** Bytes of the XSAVE area (CPUID 0xD): the size of an FP state buffer. */
  readonly XSTATE_SIZE: number;
  readonly AUDIT_ARCH_X86_64: number;
  readonly AUDIT_ARCH_I386: number;
  readonly STUB_PAGE_ADDR: number;
  /** A writable page below the stub page, for the pointer arguments of injected calls. */
  readonly STUB_SCRATCH_ADDR: number;
  /** The descriptor on which every stub receives host FDs to map. */
  readonly STUB_CHANNEL_FD: number;
  readonly STUB_PAGE_SIZE: number;
  readonly STUB_SYSCALL_ADDR: number;
  /** Host signal that interrupts a tracee (never delivered to it). */
  readonly INTERRUPT_SIGNAL: number;
  /** Host signal that interrupts the tracer thread's wait (handler without SA_RESTART). */
  readonly WAKE_SIGNAL: number;
  readonly RESUME_SYSEMU: number;
  readonly RESUME_CONT: number;
  readonly RESUME_SINGLESTEP: number;
  readonly EVENT_NONE: number;
  readonly EVENT_LOOP: number;
  readonly EVENT_SYSCALL: number;
  readonly EVENT_SIGNAL: number;
  readonly EVENT_INTERRUPT: number;
  readonly EVENT_EXIT: number;
  readonly EVENT_KILLED: number;
  readonly EVENT_PTRACE: number;
  readonly EVENT_UNKNOWN: number;
}

/**
 * The ptrace platform's mechanism (native/src/ptrace.cc, tracer_wait.cc); the model is in
 * src/ptrace/. Every function must run on the tracer thread, the thread that called
 * ptraceStart (others throw). `tid`s are host thread ids of tracees.
 */
export interface PtraceAddon {
  readonly ptraceConstants: PtraceConstants;
  /**
   * Starts the zygote stub (makes this thread the tracer); returns its pid. One per process.
   * `channelFd` becomes every stub's STUB_CHANNEL_FD (the caller keeps its own descriptor).
   */
  ptraceStart(stubPath: string, channelFd: number): number;
  /** Kills and reaps the zygote and every tracee. */
  ptraceStop(): void;
  /** Gives a tracee its register (USER_REGS_COUNT) and siginfo (SIGINFO_SIZE) buffers; fills regs. */
  ptraceRegister(tid: number, regs: BigUint64Array, siginfo: Uint8Array): void;
  ptraceGetRegs(tid: number): void;
  ptraceSetRegs(tid: number): void;
  /** The XSAVE area (NT_X86_XSTATE) into `buf`; returns its length. */
  ptraceGetFpregs(tid: number, buf: Uint8Array): number;
  ptraceSetFpregs(tid: number, buf: Uint8Array): void;
  /** PTRACE_SYSEMU/CONT/SINGLESTEP (RESUME_*) with `signal` (0: none), after SETREGS if `setRegs`. */
  ptraceResume(tid: number, mode: number, signal: number, setRegs: boolean): void;
  /** Whether ptraceResume binds the tracee to the tracer thread's current CPU (default true). */
  ptraceSetPinning(on: boolean): void;
  /**
   * The next report: returns an EVENT_* kind; out = [tid, kind, detail]. NONE when nothing is
   * running and nothing is pending; LOOP when the event loop needs the thread.
   */
  ptraceWait(out: Int32Array, block: boolean): number;
  /** Back to the event loop with nothing running: arm the idle watcher. */
  ptraceIdle(): void;
  /** Runs host syscall `nr` in the stopped tracee at the stub; [result (negative errno), new child tid or 0]. */
  ptraceInject(tid: number, nr: number, args: BigUint64Array): [bigint, number];
  /** AUDIT_ARCH_* of the syscall the tracee is stopped at (PTRACE_GET_SYSCALL_INFO); 0 if none. */
  ptraceSyscallArch(tid: number): number;
  /** SIGKILL and reap; a tracee already gone is not an error. */
  ptraceKill(tid: number): void;
  /** Sends the interrupt signal: the tracee stops with EVENT_INTERRUPT. */
  ptraceInterrupt(tid: number): void;
  /** process_vm_readv: remote = [addr, len, ...]; fills `local` in order; returns bytes copied. */
  vmRead(pid: number, remote: BigUint64Array, local: Uint8Array): number;
  /** process_vm_writev, the same shape. */
  vmWrite(pid: number, remote: BigUint64Array, local: Uint8Array): number;
  /** The function called on the event loop when a stopped tracee reports while idle. */
  tracerSetIdleCallback(callback: () => void): void;
}

const require = createRequire(import.meta.url);

/**
 * The addon's build directory: the stub (`stub/runsc-stub`) and the platform's static test and
 * bench programs (`programs/`), built by native's install script.
 */
export const nativeBuildDir: string = require.resolve("@runsc-ts/native/package.json").replace(/package\.json$/, "build");

/** The loaded addon. */
export const native: NativeAddon = require("@runsc-ts/native") as NativeAddon;
