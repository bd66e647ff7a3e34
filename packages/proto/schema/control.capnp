# control.capnp — the controller protocol between the runtime CLI (client: `runsc-ts start`,
# `exec`, `kill`, `wait`, `ps`, `events`, `pause`, `resume`, `delete`) and the sandbox's sentry
# (server). The sentry listens on a Unix socket under the runtime's --root; each CLI invocation
# connects, takes the bootstrap `ContainerManager`, makes its calls and disconnects. No
# capabilities other than the bootstrap and HostFd slots cross this interface, so nothing
# outlives a CLI connection except the sandbox's own state.
#
# Errors: every result starts with `errno :UInt16` (see common.capnp) followed by
# `detail :Text`, a one-line human-readable reason that the CLI prints when errno is non-zero
# (empty on success). Typical errnos: ESRCH unknown container or pid, EEXIST container or process
# already started, EINVAL bad argument or spec, ENOENT executable not found, EACCES/EPERM,
# ECHILD nothing to wait for, EBUSY sandbox paused.
#
# Exit statuses are Linux wait statuses (`waitStatus :UInt32`, the `wstatus` of wait4(2)),
# exactly what the sentry computed for the exiting thread group: WIFEXITED(s) = (s & 0x7f) == 0
# with WEXITSTATUS(s) = (s >> 8) & 0xff; WIFSIGNALED(s) = (s & 0x7f) != 0 && (s & 0x7f) != 0x7f
# with WTERMSIG(s) = s & 0x7f and WCOREDUMP(s) = s & 0x80. Chosen over an {exitCode, signal}
# struct because it is lossless, one scalar, and the one encoding the sentry already produces for
# guest waiters; the CLI turns it into a shell exit code (WEXITSTATUS, or 128 + WTERMSIG).
#
# Pids are virtual: the pid a container's processes see (their PID namespace), never a host pid.
# Container IDs are the OCI IDs given to `create`.
#
# Not implemented: checkpoint/restore, port forwarding, log reopening, live resource updates.

@0xffb0b01bea31b731;

using Common = import "common.capnp";
using HostFd = Common.HostFd;

struct GoferMount {
  # One gofer connection donated to the sentry for a mount of a subcontainer.
  destination @0 :Text;  # the OCI mount destination (absolute path in the container)
  gofer @1 :HostFd;      # our end of the socketpair to that mount's gofer; speaks gofer.capnp
}

struct Stdio {
  # The three standard streams of a new process, donated. With a terminal, `stdin` is the
  # terminal (console) FD and stdout/stderr are null: the sentry wires the guest's 0/1/2 to a
  # pty whose other side it copies to and from that FD.
  stdin @0 :HostFd;
  stdout @1 :HostFd;
  stderr @2 :HostFd;
}

struct CapabilitySets {
  # Linux capability sets (capset(2), prctl(PR_CAPBSET_DROP), PR_CAP_AMBIENT) as bitmasks:
  # bit n = capability number n (CAP_CHOWN = 0, ..., CAP_SYS_ADMIN = 21, ...).
  effective @0 :UInt64;
  permitted @1 :UInt64;
  inheritable @2 :UInt64;
  bounding @3 :UInt64;
  ambient @4 :UInt64;
}

struct Rlimit {
  # setrlimit(2): resource is RLIMIT_*; RLIM_INFINITY is 0xffffffffffffffff.
  resource @0 :UInt32;
  cur @1 :UInt64;
  max @2 :UInt64;
}

enum SignalMode {
  # Who receives signal(). Mirrors kill(2)'s variants.
  process @0;                 # kill(pid, signo): the thread group `pid` (pid 0: the container's
                              # init process).
  allProcesses @1;            # every process of the container (`runsc kill --all`).
  foregroundProcessGroup @2;  # killpg() of the foreground process group of the controlling
                              # terminal of `pid`; the process `pid` itself if it has no terminal
                              # (how `exec -t` forwards ^C).
  processGroup @3;            # killpg(getpgid(pid), signo).
}

struct ProcessInfo {
  # One line of `runsc-ts ps` (what /proc/[pid]/stat and status hold in the sandbox).
  pid @0 :Int32;
  ppid @1 :Int32;
  pgid @2 :Int32;
  uid @3 :UInt32;           # real uid
  state @4 :UInt8;          # /proc/[pid]/stat state letter as ASCII: 'R', 'S', 'D', 'T', 'Z', ...
  threads @5 :UInt32;       # number of threads in the thread group
  startTime @6 :Common.Timespec;  # CLOCK_REALTIME when the process was created
  utimeNs @7 :UInt64;       # user CPU time (all threads)
  stimeNs @8 :UInt64;       # system CPU time (all threads)
  tty @9 :Text;             # controlling terminal name ("pts/0") or empty
  cmd @10 :Text;            # argv joined by spaces (comm if argv is unavailable)
}

struct InterfaceCounters {
  # Per-interface counters as in /proc/net/dev.
  name @0 :Text;
  rxBytes @1 :UInt64;
  rxPackets @2 :UInt64;
  rxErrors @3 :UInt64;
  rxDropped @4 :UInt64;
  txBytes @5 :UInt64;
  txPackets @6 :UInt64;
  txErrors @7 :UInt64;
  txDropped @8 :UInt64;
}

struct ContainerStats {
  # `runsc-ts events --stats`: cgroup-style counters for one container.
  memory :group {
    usage @0 :UInt64;       # bytes charged (anonymous + file), like memory.current
    limit @1 :UInt64;       # bytes; 0xffffffffffffffff when unlimited
    rss @2 :UInt64;         # anonymous resident bytes
    cache @3 :UInt64;       # page cache bytes
    mappedFile @4 :UInt64;  # file-backed mapped bytes
  }
  cpu :group {
    usageNs @5 :UInt64;     # total CPU time
    userNs @6 :UInt64;
    systemNs @7 :UInt64;
    perCpuNs @8 :List(UInt64);  # per virtual CPU, index = CPU number
  }
  pids :group {
    current @9 :UInt64;     # tasks (threads) alive
    limit @10 :UInt64;      # 0 when unlimited
  }
  network @11 :List(InterfaceCounters);
}

interface ContainerManager {
  # Bootstrap capability of the controller socket.

  startRoot @0 (containerId :Text) -> (errno :UInt16, detail :Text);
  # Starts the root container's init process: execve(2) of the spec's process (the spec, stdio
  # and gofers came to `boot` as FDs). EEXIST if already started.

  startSubcontainer @1 (containerId :Text, spec :Text, stdio :Stdio, terminal :Bool,
                        rootGofer :HostFd, mounts :List(GoferMount))
      -> (errno :UInt16, detail :Text);
  # Creates and starts a further container in this sandbox: `spec` is its OCI config.json (JSON
  # text), `rootGofer` our end of the connection to the gofer serving its root filesystem,
  # `mounts` the gofers of its other gofer-backed mounts (in spec order), `stdio` its init's
  # streams (`terminal`: spec.process.terminal, see Stdio). The sentry takes ownership of all
  # donated FDs, even on failure.

  executeAsync @2 (containerId :Text, argv :List(Text), env :List(Text), cwd :Text,
                   filename :Text, credentials :Common.Credentials,
                   capabilities :CapabilitySets, noNewPrivileges :Bool, umask :UInt32,
                   rlimits :List(Rlimit), terminal :Bool, stdio :Stdio)
      -> (errno :UInt16, detail :Text, pid :Int32);
  # `runsc-ts exec`: clone(2) + execve(2) of a new process in the container's namespaces.
  # `filename` is the executable (empty: resolve argv[0] against PATH from `env`, as execvp(3)),
  # `env` "KEY=value" strings, `cwd` absolute. Returns as soon as the process exists, with its
  # pid; use waitPid for the exit status. Stdio as in startSubcontainer.

  wait @3 (containerId :Text) -> (errno :UInt16, detail :Text, waitStatus :UInt32);
  # Waits for the container's init process to exit (wait4(2) of init, which stays waitable by
  # later calls: many CLIs may wait on one container). Returns at once if it already exited.

  waitPid @4 (containerId :Text, pid :Int32, clearStatus :Bool)
      -> (errno :UInt16, detail :Text, waitStatus :UInt32);
  # wait4(2) for one process of the container (normally an executeAsync pid). clearStatus false
  # behaves as WNOWAIT (the status stays for a later waitPid); true reaps it, after which the pid
  # is ECHILD.

  signal @5 (containerId :Text, pid :Int32, signo :UInt32, mode :SignalMode)
      -> (errno :UInt16, detail :Text);
  # kill(2)/killpg(3) inside the container; see SignalMode. signo 0 checks existence only.

  processes @6 (containerId :Text) -> (errno :UInt16, detail :Text,
                                       processes :List(ProcessInfo));
  # `ps`: every process of the container, sorted by pid.

  event @7 (containerId :Text) -> (errno :UInt16, detail :Text, stats :ContainerStats);
  # Resource usage snapshot for `events --stats`.

  pause @8 () -> (errno :UInt16, detail :Text);
  # Stops every task in the sandbox (as a cgroup freezer would; not guest-visible SIGSTOP).

  resume @9 () -> (errno :UInt16, detail :Text);
  # Undoes pause.

  destroy @10 (containerId :Text) -> (errno :UInt16, detail :Text);
  # Kills every process of the container (SIGKILL), waits for them to exit, and releases its
  # mounts and gofer connections. Destroying the root container ends the sandbox.
}
