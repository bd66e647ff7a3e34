// Processes and signals under `runsc-ts do`, compared with the same programs run natively:
// C programs that check fork/exec/wait, threads, job-control stops, signal handlers, masks,
// restarts, the alternate stack and faults (e2e/do/programs), then shells and Python doing the
// same through their own libraries.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BINARY, buildPrograms, native, sandboxed } from "./harness.js";

let programs: ReturnType<typeof buildPrograms>;
beforeAll(() => {
  programs = buildPrograms(["signals", "processes", "mappings", "seals", "locks", "creds", "sockets", "misc", "fdtimers", "pidfds", "loader"]);
  programs.buildStatic("loader");
});
afterAll(() => programs.cleanup());

function expectSame(argv: string[]): void {
  const want = native(argv);
  expect(want.status).toBe(0);
  const got = sandboxed(argv);
  expect({ stdout: got.stdout, status: got.status }).toEqual({ stdout: want.stdout, status: want.status });
}

describe("C programs see Linux's process and signal semantics", () => {
  it("signals: handlers, siginfo, masks, queueing, restarts, sigsuspend, alternate stack, FP state, faults", () => {
    expectSame([programs.path("signals")]);
  });

  it("processes: exit statuses, wait4/waitid, stop/continue, vfork+exec, close-on-exec, pipelines, groups, threads", () => {
    expectSame([programs.path("processes")]);
  });

  it("mappings: shared file and memfd mappings across fork, process-shared futexes, mremap, fallocate", () => {
    expectSame([programs.path("mappings")]);
  });

  it("seals: memfd seals against writes, growth, shrinking and shared mappings", () => {
    expectSame([programs.path("seals")]);
  });

  it("locks: flock, POSIX record locks and OFD locks between processes, blocking and not", () => {
    expectSame([programs.path("locks")]);
  });

  it("creds: set*id, keepcaps, setgroups, capget/capset, capabilities across execve", () => {
    expectSame([programs.path("creds")]);
  });

  it("sockets: AF_UNIX pairs and named sockets, end of file, SIGPIPE, passed descriptors, credentials, errors", () => {
    expectSame([programs.path("sockets")]);
  });

  it("loader: data, bss zeroed past the file's bytes, segments mapped from the program file (PIE and static)", () => {
    expectSame([programs.path("loader")]);
    expectSame([programs.path("loader-static")]);
  });

  it("misc: nice and scheduling policies, affinity, copy_file_range, utimes, sync, mlock, chroot", () => {
    expectSame([programs.path("misc")]);
  });

  it("fdtimers: timerfd expirations with epoll and blocking reads, signalfd for kills and SIGCHLD", () => {
    expectSame([programs.path("fdtimers")]);
  });

  it("pidfds: pidfd_open, polling for exit, pidfd_send_signal, pidfd_getfd, waitid(P_PIDFD), CLONE_PIDFD", () => {
    expectSame([programs.path("pidfds")]);
  });
});

const BASH_SCRIPT = `
trap 'echo trapped USR1' USR1
kill -USR1 $$
sleep 0.1 &
wait $!
echo "background job: $?"
( exit 5 ); echo "subshell: $?"
echo $(echo a; echo b) | tr ' ' '\\n' | sort -r
f() { return 3; }; f; echo "function: $?"
sh -c 'kill -TERM $$'; echo "child killed: $?"
timeout 0.2 sleep 3; echo "timeout: $?"
read x < <(echo process substitution); echo "$x"
for i in 3 1 2; do echo $i; done | sort | tr '\\n' ' '; echo
`;

const PYTHON_SCRIPT = `
import os, signal, subprocess, threading, time
print(subprocess.run(["sh", "-c", "echo $((6*7)); exit 4"], capture_output=True, text=True))
print(subprocess.check_output("seq 1 200 | sort -rn | head -3", shell=True, text=True).split())
got = []
signal.signal(signal.SIGALRM, lambda s, f: got.append("alarm"))
signal.setitimer(signal.ITIMER_REAL, 0.05)
time.sleep(0.3)
print(got)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r); os.write(w, b"from child"); os._exit(9)
os.close(w)
print(os.read(r, 100), os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
p = subprocess.Popen(["sleep", "10"])
p.send_signal(signal.SIGINT)
print("sleep killed by SIGINT:", p.wait())
ev = threading.Event()
t = threading.Thread(target=lambda: (ev.wait(), print("event seen")))
t.start(); time.sleep(0.05); ev.set(); t.join()
try:
    subprocess.run(["sleep", "5"], timeout=0.2)
except subprocess.TimeoutExpired:
    print("timed out")
`;

const UNIX_SOCKETS_PY = `
import os, socket, struct, tempfile
a, b = socket.socketpair()
a.sendall(b"hello"); print(b.recv(10))
r, w = os.pipe()
socket.send_fds(a, [b"fd"], [r])
msg, fds, flags, addr = socket.recv_fds(b, 10, 4)
os.write(w, b"through the passed fd"); print(msg, os.read(fds[0], 100))
path = os.path.join(tempfile.mkdtemp(), "s")
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(1)
if os.fork() == 0:
    c = socket.socket(socket.AF_UNIX); c.connect(path); c.sendall(b"from child " * 1000); c.close(); os._exit(0)
conn, _ = srv.accept()
data = b""
while chunk := conn.recv(4096):
    data += chunk
print(len(data)); os.wait()
x = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); x.bind("\\0runsc-ts-dg")
y = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); y.sendto(b"dgram1", "\\0runsc-ts-dg")
print(x.recvfrom(100)[0])
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind("\\0sp"); s.listen()
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); c.connect("\\0sp"); p, _ = s.accept()
c.send(b"one"); c.send(b"two"); print(p.recv(10), p.recv(10))
print(struct.unpack("3i", p.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0] == os.getpid())
c.close(); print(p.recv(10))
`;

describe("shells and Python run their children like the host does", () => {
  it.each([
    ["busybox sh pipelines", ["/bin/busybox", "sh", "-c", "echo hello | tr a-z A-Z; ls /usr | wc -l; seq 5 | busybox tac"]],
    ["dash", ["/bin/sh", "-c", "for i in 1 2 3; do echo $i; done | sort -r | head -2; x=$(uname -s); echo $x"]],
    ["bash: traps, jobs, subshells, timeout, process substitution", ["/bin/bash", "-c", BASH_SCRIPT]],
    ["python3: subprocess, fork, signals, itimers, threads", ["/usr/bin/python3", "-c", PYTHON_SCRIPT]],
    ["python3: AF_UNIX sockets (socketpair, send_fds, a server and a client process, datagrams, seqpacket)", ["/usr/bin/python3", "-c", UNIX_SOCKETS_PY]],
    ["python3: multiprocessing pool (semaphores in shared memory)", ["/usr/bin/python3", "-c", "import multiprocessing as mp\nwith mp.get_context('fork').Pool(3) as p:\n    print(sorted(p.map(abs, range(-20, 0))))"]],
  ])("%s", (_name, argv) => {
    expectSame(argv);
  });

  it("reports a child's death by signal as 128+N through the shell", () => {
    expectSame(["/bin/sh", "-c", `sh -c 'kill -SEGV $$'; echo "status $?"`]);
  });
});

describe("stdio from the host", () => {
  it("reads /dev/null as stdin (a host file that cannot be polled) as end of file", () => {
    const r = spawnSync(process.execPath, [BINARY, "do", "--", "/bin/sh", "-c", "read x; echo \"read $?\"; wc -c"], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: 60_000 });
    expect(r.stdout).toBe("read 1\n0\n");
    expect(r.status).toBe(0);
  });
});

describe("procfs", () => {
  it("has the files programs read, as the host has them", () => {
    const files = [
      "self/mountinfo", "self/limits", "self/oom_score_adj", "self/loginuid", "self/cgroup", "self/statm", "self/status",
      "self/task", "sys/kernel/pid_max", "sys/fs/file-max", "sys/vm/overcommit_memory", "sys/net/core/somaxconn",
      "sys/kernel/random/uuid", "sys/kernel/random/boot_id", "loadavg", "stat", "cmdline", "devices", "swaps",
      "partitions", "sys/kernel/ngroups_max", "sys/kernel/threads-max", "self/personality", "sys/kernel/cap_last_cap",
    ];
    const script = files.map((f) => `test -e /proc/${f} && echo "has ${f}" || echo "no ${f}"`).join("; ");
    expectSame(["/bin/sh", "-c", script]);
  });

  it("shows a blocked process sleeping, a computing one and the reader itself running, and their memory", () => {
    const script = [
      "sleep 2 & sleeper=$!",
      "(while :; do :; done) & spinner=$!",
      "sleep 0.3",
      "grep State /proc/$sleeper/status /proc/$spinner/status /proc/self/status | sed 's/^[^:]*://'",
      // Resident memory is there and no larger than the virtual size.
      "awk '{ print ($2 > 0 && $2 <= $1) }' /proc/self/statm",
      "kill $sleeper $spinner",
    ].join("; ");
    expectSame(["/bin/sh", "-c", script]);
  });
});

describe("CPU accounting", () => {
  it("reports a process's, its threads' and its waited-for children's CPU time", () => {
    const py = [
      "import os, resource, time",
      "def burn():",
      "    for _ in range(20_000_000): pass  # pure computation: no system calls",
      "burn()",
      "me = resource.getrusage(resource.RUSAGE_SELF)",
      "pid = os.fork()",
      "if pid == 0:",
      "    burn(); os._exit(0)",
      "_, status, child = os.wait4(pid, 0)",
      "kids = resource.getrusage(resource.RUSAGE_CHILDREN)",
      "utime = int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[11])",
      "print(me.ru_utime >= 0.1, child.ru_utime >= 0.1, kids.ru_utime >= 0.1, os.times().children_user > 0, utime >= 10, time.thread_time() >= 0.1)",
    ].join("\n");
    const r = sandboxed(["/usr/bin/python3", "-c", py]);
    expect(r.stdout).toBe("True True True True True True\n");
  });
});

describe("scheduling settings", () => {
  it("records I/O priorities and nice values with Linux's checks, and /proc shows them", () => {
    const script = [
      "ionice",
      "ionice -c 2 -n 7 sh -c ionice",
      "ionice -c 1 -n 9 sh -c ionice", // since Linux 6.5 the data above the level is hints
      "ionice -c 4 true; echo $?",
      "ionice -c 3 -n 5 sh -c ionice",
      "nice -n 10 sh -c 'cut -d\" \" -f18,19 /proc/self/stat'",
    ].join("; ");
    expectSame(["/bin/bash", "-c", `(${script}) 2>&1`]);
  });
});

describe("resource limits", () => {
  it("sends SIGXCPU at the soft CPU limit and every second after, and SIGKILL at the hard one", () => {
    const py = [
      "import signal, time",
      "def h(*a): print('SIGXCPU at', round(time.process_time()), flush=True)",
      "signal.signal(signal.SIGXCPU, h)",
      "while True: pass",
    ].join("\n");
    expectSame(["/bin/bash", "-c", `ulimit -S -t 1; ulimit -H -t 2; /usr/bin/python3 -c "${py}"; echo "status $?"`]);
  });

  it("refuses memory past RLIMIT_AS", () => {
    expectSame(["/bin/bash", "-c", `ulimit -v 200000; /usr/bin/python3 -c "x = bytearray(300 << 20)" 2>&1 | tail -1`]);
  });
});

describe("what the sandbox does not have yet", () => {
  it("answers EAFNOSUPPORT for network sockets (no network stack is wired in)", () => {
    const r = sandboxed(["/usr/bin/python3", "-c", "import socket, errno\ntry:\n  socket.socket(socket.AF_INET)\nexcept OSError as e:\n  print(errno.errorcode[e.errno])"]);
    expect(r.stdout).toBe("EAFNOSUPPORT\n");
  });
});

describe("the sandbox's init is pid 1 of its own pid namespace", () => {
  it("ignores signals it has no handler for, sent from inside (as under runc)", () => {
    const r = sandboxed(["/bin/sh", "-c", "kill -TERM $$; echo still alive as pid $$"]);
    expect(r.stdout).toBe("still alive as pid 1\n");
    expect(r.status).toBe(0);
  });

  it("has its own hostname: sethostname changes the sandbox's, never the host's", () => {
    const r = sandboxed(["/usr/bin/python3", "-c", "import socket; socket.sethostname('renamed-inside'); print(socket.gethostname(), open('/proc/sys/kernel/hostname').read().strip())"]);
    expect(r.stdout).toBe("renamed-inside renamed-inside\n");
    expect(native(["/bin/hostname"]).stdout).not.toBe("renamed-inside\n");
  });

  it("adopts orphans: a grandchild whose parent exited sees ppid 1", () => {
    const py = "import os,time\nif os.fork()==0:\n  if os.fork()==0:\n    time.sleep(0.2); print('ppid', os.getppid()); os._exit(0)\n  os._exit(0)\nos.wait(); time.sleep(0.5)";
    const r = sandboxed(["/usr/bin/python3", "-c", py]);
    expect(r.stdout).toBe("ppid 1\n");
  });

  it("takes every process down with it when it exits", () => {
    const r = sandboxed(["/bin/sh", "-c", "(sleep 30; echo too late) & echo started"], { timeoutMs: 20_000 });
    expect(r.stdout).toBe("started\n");
    expect(r.status).toBe(0);
  });
});

describe("a host terminal as the sandbox's stdio", () => {
  // `script` gives the command a pseudo-terminal; the sandbox's stdio is then that terminal.
  const TTY_SCRIPT = [
    "stty rows 40 cols 100; stty size",
    "stty -a | head -1",
    `/usr/bin/python3 -c "import os, sys, termios, tty
fd = sys.stdin.fileno()
old = termios.tcgetattr(fd)
tty.setraw(fd)
raw = termios.tcgetattr(fd)
termios.tcsetattr(fd, termios.TCSANOW, old)
print(os.isatty(fd), os.get_terminal_size(), raw[3] & termios.ECHO, termios.tcgetattr(fd) == old, os.tcgetpgrp(fd) == os.getpgrp())"`,
  ].join("; ");

  it("answers termios, window-size and job-control ioctls like the host", () => {
    const inScript = (cmd: string) => native(["/usr/bin/script", "-qec", cmd, "/dev/null"]);
    const want = inScript(`/bin/sh -c '${TTY_SCRIPT}'`);
    expect(want.stdout).toContain("40 100");
    const got = inScript(`"${process.execPath}" "${BINARY}" do -- /bin/sh -c '${TTY_SCRIPT}'`);
    expect(got.stdout).toBe(want.stdout);
    expect(got.status).toBe(0);
  });

  it("reports ENOTTY for terminal requests on a pipe", () => {
    const r = sandboxed(["/usr/bin/python3", "-c", "import os, termios\ntry:\n  termios.tcgetattr(0)\nexcept termios.error as e:\n  print(e.args[1])\nprint(os.isatty(0))"], { input: "" });
    expect(r.stdout).toBe("Inappropriate ioctl for device\nFalse\n");
  });
});
