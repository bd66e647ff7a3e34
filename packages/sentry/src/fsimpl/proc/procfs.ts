/**
 * procfs skeleton: the files that need no task model yet, and the per-process directories
 * driven by a `ProcKernel` the kernel will implement.
 *
 *   /proc/self                 -> "<pid>" of the caller (ENOENT without a task)
 *   /proc/mounts               -> "self/mounts"
 *   /proc/filesystems, version, uptime, loadavg
 *   /proc/sys/kernel/{hostname,ostype,osrelease,version}, /proc/sys/fs/{pipe-max-size,nr_open}
 *   /proc/<pid>/{cmdline,comm,status,mounts,task/<tid>}
 *   /proc/<pid>/{cwd,root}     magic links to the task's directories
 *   /proc/<pid>/fd/<n>         magic links to its open files (pipes included)
 *
 * Also /proc/<pid>/{maps,stat,statm,environ,exe,ns/,limits,mountinfo,...}, meminfo, cpuinfo and
 * stat; writable /proc/sys/kernel/hostname and /proc/<pid>/oom_score_adj.
 */
import { randomUUID } from "node:crypto";
import { CAP_LAST_CAP, EINVAL, ENOENT, type LinuxError } from "@runsc-ts/abi";
import type { Credentials } from "../../kernel/auth/credentials.js";
import { realtimeClock, type Clock } from "../../kernel/time.js";
import { PROC_SUPER_MAGIC } from "../../vfs/constants.js";
import { Dentry } from "../../vfs/dentry.js";
import type { FdTable } from "../../vfs/fd-table.js";
import type { Caller, Inode, Statfs } from "../../vfs/filesystem.js";
import type { Mount, VirtualDentry } from "../../vfs/mount.js";
import type { VirtualFilesystem } from "../../vfs/vfs.js";
import { MAX_PIPE_SIZE } from "../pipe/pipe.js";
import { NR_OPEN } from "../../vfs/fd-table.js";
import { SyntheticDir, SyntheticFile, SyntheticFilesystem, SyntheticSymlink, WritableSyntheticFile } from "./synthetic.js";

/** What procfs needs to know about one process (thread group). */
export interface ProcTask {
  readonly pid: number;
  readonly ppid: number;
  /** Process group and session ids (0 once the process has exited). */
  pgid(): number;
  sid(): number;
  comm(): string;
  /** argv as NUL-terminated strings, as /proc/<pid>/cmdline shows it. */
  cmdline(): Uint8Array;
  creds(): Credentials;
  fdTable(): FdTable;
  root(): VirtualDentry;
  cwd(): VirtualDentry;
  /** The environment as NUL-terminated strings (/proc/<pid>/environ). */
  environ(): Uint8Array;
  /** The memory map, one mapping per line in Linux's /proc/<pid>/maps format. */
  maps(): string;
  /** The executable's path in the sandbox (/proc/<pid>/exe), or "" before one is loaded. */
  exe(): string;
  /** The virtual size in bytes (the sum of the mappings), for stat/statm/status. */
  vmSize(): number;
  /** The resident size in bytes (what the host holds in RAM for the process), for stat/statm/status. */
  vmRss(): number;
  /** The state letter and word: "R (running)", "S (sleeping)", "T (stopped)", "Z (zombie)". */
  state(): string;
  /** The nice value (stat's field 19; its priority, field 18, is 20 + nice). */
  nice(): number;
  threads(): number;
  /** The thread ids of the process (/proc/<pid>/task). */
  tids(): number[];
  /** A thread's own name (PR_SET_NAME is per thread), for task/<tid>/comm. */
  threadComm(tid: number): string;
  /** Resource limits, by RLIMIT_* number: [soft, hard] (RLIM_INFINITY as "unlimited"). */
  limits(): ReadonlyArray<readonly [bigint, bigint]>;
  /** /proc/<pid>/oom_score_adj: read, and set (-1000..1000). */
  oomScoreAdj(): number;
  setOomScoreAdj(v: number): void;
  /** CPU time in clock ticks: the process's own and its waited-for children's (stat fields 14-17). */
  cpuTicks(): { utime: number; stime: number; cutime: number; cstime: number };
  /** Signal sets for status: pending (thread, process), blocked, ignored, caught. */
  signals(): { pending: bigint; shared: bigint; blocked: bigint; ignored: bigint; caught: bigint };
}

/** What procfs needs to know about the kernel. */
export interface ProcKernel {
  readonly vfs: VirtualFilesystem;
  hostname(): string;
  /** Writing /proc/sys/kernel/hostname (EINVAL past 64 bytes). */
  setHostname(name: string): LinuxError | undefined;
  /** uname -r */
  readonly release: string;
  /** uname -v */
  readonly version: string;
  /** Seconds since boot. */
  uptime(): number;
  /** The processes visible in this procfs's PID namespace. */
  tasks(): readonly ProcTask[];
  task(pid: number): ProcTask | undefined;
  /** CPUs the sandbox reports. */
  readonly cpus: number;
  /** Memory the sandbox reports, in bytes. */
  readonly totalMemory: number;
  /** Filesystem types for /proc/filesystems: [name, needs a device]. */
  filesystems(): readonly (readonly [string, boolean])[];
}

/** The sandbox's namespaces as /proc/<pid>/ns names them (inode numbers of its own). */
const NAMESPACES: ReadonlyArray<readonly [string, number]> = [
  ["cgroup", 4026531835], ["ipc", 4026531839], ["mnt", 4026531841], ["net", 4026531840],
  ["pid", 4026531836], ["pid_for_children", 4026531836], ["time", 4026531834], ["time_for_children", 4026531834],
  ["user", 4026531837], ["uts", 4026531838],
];

/** /proc/<pid>/limits, in Linux's order (RLIMIT_* numbers 0..15) and layout. */
const LIMIT_ROWS: ReadonlyArray<readonly [string, string]> = [
  ["Max cpu time", "seconds"], ["Max file size", "bytes"], ["Max data size", "bytes"], ["Max stack size", "bytes"],
  ["Max core file size", "bytes"], ["Max resident set", "bytes"], ["Max processes", "processes"], ["Max open files", "files"],
  ["Max locked memory", "bytes"], ["Max address space", "bytes"], ["Max file locks", "locks"], ["Max pending signals", "signals"],
  ["Max msgqueue size", "bytes"], ["Max nice priority", ""], ["Max realtime priority", ""], ["Max realtime timeout", "us"],
];

function limitsText(limits: ReadonlyArray<readonly [bigint, bigint]>): string {
  const show = (v: bigint) => (v === 0xffff_ffff_ffff_ffffn ? "unlimited" : String(v));
  let out = `${"Limit".padEnd(26)}${"Soft Limit".padEnd(21)}${"Hard Limit".padEnd(21)}${"Units".padEnd(10)}\n`;
  LIMIT_ROWS.forEach(([name, unit], i) => {
    const [soft, hard] = limits[i] ?? [0n, 0n];
    out += `${name.padEnd(26)}${show(soft).padEnd(21)}${show(hard).padEnd(21)}${unit.padEnd(10)}\n`;
  });
  return out;
}

/** Escapes a path for mounts/mountinfo (space, tab, newline, backslash as octal). */
const escapePath = (path: string): string => path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);

/** Each mount of the task's namespace that its root can see: the mount, its path, its options. */
function visibleMounts(k: ProcKernel, t: ProcTask): Array<{ m: Mount; path: string; opts: string[] }> {
  const root = t.root();
  const ns = root.mount.namespace;
  if (ns === null) return [];
  return ns.mounts().flatMap((m) => {
    const path = k.vfs.pathOf(root, m.rootVd());
    if (path === undefined) return [];
    const f = m.flags;
    const opts = [f.readOnly ? "ro" : "rw", ...(f.noSuid ? ["nosuid"] : []), ...(f.noDev ? ["nodev"] : []), ...(f.noExec ? ["noexec"] : [])];
    return [{ m, path, opts }];
  });
}

/** /proc/<pid>/mountinfo: id, parent id, device, root, mount point, options, "-", type, source, super options. */
function mountinfoOf(k: ProcKernel, t: ProcTask): string {
  return visibleMounts(k, t)
    .map(({ m, path, opts }) => `${m.id} ${m.parent?.id ?? m.id} ${m.fs.devMajor}:${m.fs.devMinor} / ${escapePath(path)} ${[...opts, "relatime"].join(",")} - ${m.fs.type} ${m.fs.type} ${opts[0]}\n`)
    .join("");
}

/** /proc/<pid>/mounts (and /proc/mounts): fstab's format. */
function mountsOf(k: ProcKernel, t: ProcTask): string {
  return visibleMounts(k, t)
    .map(({ m, path, opts }) => `${m.fs.type} ${escapePath(path)} ${m.fs.type} ${opts.join(",")} 0 0\n`)
    .join("");
}

export class ProcFilesystem extends SyntheticFilesystem {
  readonly type = "proc";
  readonly root: Dentry;
  /** Per-process directories, kept while the process exists so their inode numbers are stable. */
  private readonly pidDirs = new Map<number, { task: ProcTask; dir: SyntheticDir }>();

  constructor(readonly kernel: ProcKernel, clock: Clock = realtimeClock) {
    super(clock);
    const k = kernel;
    const file = (gen: (c: Caller) => string, mode = 0o444): SyntheticFile => new SyntheticFile(this, gen, mode);
    const bootId = randomUUID();
    const sys = new SyntheticDir(this)
      .add("kernel", new SyntheticDir(this)
        .add("hostname", new WritableSyntheticFile(this, () => `${k.hostname()}\n`, (text) => k.setHostname(text.replace(/\n$/, ""))))
        .add("ostype", file(() => "Linux\n"))
        .add("osrelease", file(() => `${k.release}\n`))
        .add("version", file(() => `${k.version}\n`))
        .add("pid_max", file(() => "4194304\n", 0o644))
        .add("threads-max", file(() => "32768\n", 0o644))
        .add("ngroups_max", file(() => "65536\n"))
        .add("cap_last_cap", file(() => `${CAP_LAST_CAP}\n`))
        .add("random", new SyntheticDir(this)
          .add("uuid", file(() => `${randomUUID()}\n`))
          .add("boot_id", file(() => `${bootId}\n`))))
      .add("fs", new SyntheticDir(this)
        .add("pipe-max-size", file(() => `${MAX_PIPE_SIZE}\n`, 0o644))
        .add("nr_open", file(() => `${NR_OPEN}\n`, 0o644))
        .add("file-max", file(() => "9223372036854775807\n", 0o644)))
      .add("vm", new SyntheticDir(this)
        .add("overcommit_memory", file(() => "0\n", 0o644))
        .add("max_map_count", file(() => "65530\n", 0o644)))
      .add("net", new SyntheticDir(this)
        .add("core", new SyntheticDir(this)
          .add("somaxconn", file(() => "4096\n", 0o644))));
    const rootDir = new SyntheticDir(this, () => this.pidEntries())
      .add("self", new SyntheticSymlink(this, (c) => (c?.pid === undefined ? ENOENT : `${c.pid}`)))
      .add("mounts", new SyntheticSymlink(this, () => "self/mounts"))
      .add("filesystems", file(() => k.filesystems().map(([n, dev]) => `${dev ? "" : "nodev"}\t${n}\n`).join("")))
      .add("version", file(() => `Linux version ${k.release} (runsc-ts) ${k.version}\n`))
      .add("uptime", file(() => `${k.uptime().toFixed(2)} 0.00\n`))
      .add("loadavg", file(() => `0.00 0.00 0.00 0/${k.tasks().length} 0\n`))
      .add("meminfo", file(() => meminfo(k.totalMemory)))
      .add("cpuinfo", file(() => cpuinfo(k.cpus)))
      .add("cmdline", file(() => "BOOT_IMAGE=/vmlinuz-runsc-ts quiet\n"))
      .add("swaps", file(() => "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"))
      .add("partitions", file(() => "major minor  #blocks  name\n\n"))
      .add("devices", file(() => "Character devices:\n  1 mem\n  5 /dev/tty\n  5 /dev/console\n  5 /dev/ptmx\n136 pts\n\nBlock devices:\n"))
      .add("stat", file(() => procStat(k)))
      .add("sys", sys);
    this.root = new Dentry(this, rootDir, "", null);
  }

  statfs(): Promise<Statfs | LinuxError> {
    return Promise.resolve({ type: PROC_SUPER_MAGIC, blockSize: 4096, blocks: 0, blocksFree: 0, blocksAvailable: 0, files: 0, filesFree: 0, nameLength: 255, flags: 0 });
  }

  private pidEntries(): Map<string, Inode> {
    const live = new Set<number>();
    const out = new Map<string, Inode>();
    for (const t of this.kernel.tasks()) {
      live.add(t.pid);
      let e = this.pidDirs.get(t.pid);
      if (e === undefined || e.task !== t) {
        e = { task: t, dir: this.pidDir(t) };
        this.pidDirs.set(t.pid, e);
      }
      out.set(`${t.pid}`, e.dir);
    }
    for (const pid of this.pidDirs.keys()) if (!live.has(pid)) this.pidDirs.delete(pid);
    return out;
  }

  private pidDir(t: ProcTask): SyntheticDir {
    const k = this.kernel;
    const file = (gen: () => string | Uint8Array): SyntheticFile => new SyntheticFile(this, gen);
    const creds = t.creds();
    const dir = new SyntheticDir(this);
    dir.attrs.uid = creds.euid;
    dir.attrs.gid = creds.egid;
    const magic = (what: () => VirtualDentry): SyntheticSymlink =>
      new SyntheticSymlink(this, () => k.vfs.pathOf(t.root(), what()) ?? ENOENT, () => what());
    const fds = new SyntheticDir(this, () => {
      const m = new Map<string, Inode>();
      const table = t.fdTable();
      for (const fd of table.fds()) {
        const f = table.get(fd);
        if (f === undefined) continue;
        m.set(`${fd}`, new SyntheticSymlink(this, () => k.vfs.describe(t.root(), f.vd), () => f.vd));
      }
      return m;
    }, 0o500);
    // One set of namespaces for the whole sandbox: the names identify them, as Linux's do.
    const namespaces = new SyntheticDir(this, undefined, 0o511);
    for (const [name, ino] of NAMESPACES) namespaces.add(name, new SyntheticSymlink(this, () => `${name}:[${ino}]`));
    dir
      .add("cmdline", file(() => t.cmdline()))
      .add("comm", file(() => `${t.comm()}\n`))
      .add("status", file(() => statusOf(t, t.pid)))
      .add("task", new SyntheticDir(this, () => {
        const m = new Map<string, Inode>();
        for (const tid of t.tids()) {
          m.set(`${tid}`, new SyntheticDir(this)
            .add("comm", file(() => `${t.threadComm(tid)}\n`))
            .add("stat", file(() => pidStat(t, tid)))
            .add("status", file(() => statusOf(t, tid))));
        }
        return m;
      }, 0o555))
      .add("mounts", file(() => mountsOf(k, t)))
      .add("mountinfo", file(() => mountinfoOf(k, t)))
      .add("limits", file(() => limitsText(t.limits())))
      .add("oom_score_adj", new WritableSyntheticFile(this, () => `${t.oomScoreAdj()}\n`, (text) => {
        const v = Number(text.trim());
        if (!Number.isInteger(v) || v < -1000 || v > 1000) return EINVAL;
        t.setOomScoreAdj(v);
        return undefined;
      }))
      .add("oom_score", file(() => "0\n"))
      .add("loginuid", file(() => "4294967295\n"))
      .add("cgroup", file(() => "0::/\n"))
      .add("personality", file(() => "00000000\n"))
      .add("ns", namespaces)
      .add("environ", file(() => t.environ()))
      .add("maps", file(() => t.maps()))
      .add("stat", file(() => pidStat(t)))
      .add("statm", file(() => `${Math.ceil(t.vmSize() / 4096)} ${Math.ceil(t.vmRss() / 4096)} 0 0 0 0 0\n`))
      .add("exe", new SyntheticSymlink(this, () => t.exe() || ENOENT))
      .add("cwd", magic(() => t.cwd()))
      .add("root", magic(() => t.root()))
      .add("fd", fds);
    return dir;
  }
}

/** /proc/meminfo: the configured memory, half of it free (the host owns the real memory). */
function meminfo(total: number): string {
  const kb = (n: number) => `${Math.floor(n / 1024)}`.padStart(8) + " kB";
  const rows: Array<[string, number]> = [
    ["MemTotal", total],
    ["MemFree", total / 2],
    ["MemAvailable", total / 2],
    ["Buffers", 0],
    ["Cached", 0],
    ["SwapCached", 0],
    ["SwapTotal", 0],
    ["SwapFree", 0],
    ["Shmem", 0],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(16)}${kb(v)}\n`).join("");
}

/** /proc/cpuinfo: one entry per CPU the sandbox reports. */
function cpuinfo(cpus: number): string {
  let out = "";
  for (let i = 0; i < cpus; i++) {
    out += `processor\t: ${i}\nvendor_id\t: runsc-ts\nmodel name\t: runsc-ts virtual CPU\ncpu MHz\t\t: 1000.000\n`;
    out += `physical id\t: 0\ncore id\t\t: ${i}\ncpu cores\t: ${cpus}\nflags\t\t: fpu sse sse2\n\n`;
  }
  return out;
}

/** /proc/stat: CPU time lines (zero until per-task accounting exists) and process counts. */
function procStat(k: ProcKernel): string {
  const bootSecs = Math.floor(Date.now() / 1000 - k.uptime());
  let out = "cpu  0 0 0 0 0 0 0 0 0 0\n";
  for (let i = 0; i < k.cpus; i++) out += `cpu${i} 0 0 0 0 0 0 0 0 0 0\n`;
  return out + `btime ${bootSecs}\nprocesses ${k.tasks().length}\nprocs_running 1\nprocs_blocked 0\n`;
}

/** /proc/<pid>/stat: the fields ps and top read, in Linux's order. */
/** /proc/<pid>/status (and task/<tid>/status, whose Pid is the thread's). */
function statusOf(t: ProcTask, tid: number): string {
  const c = t.creds();
  const sig = t.signals();
  const hex = (v: bigint) => v.toString(16).padStart(16, "0");
  return `Name:\t${t.comm()}\nState:\t${t.state()}\nTgid:\t${t.pid}\nPid:\t${tid}\nPPid:\t${t.ppid}\nTracerPid:\t0\n` +
    `Uid:\t${c.uid}\t${c.euid}\t${c.suid}\t${c.fsuid}\nGid:\t${c.gid}\t${c.egid}\t${c.sgid}\t${c.fsgid}\n` +
    `FDSize:\t${Math.max(64, t.fdTable().size)}\nGroups:\t${c.groups.join(" ")}\n` +
    `NStgid:\t${t.pid}\nNSpid:\t${tid}\nNSpgid:\t${t.pgid()}\nNSsid:\t${t.sid()}\n` +
    `VmSize:\t${Math.ceil(t.vmSize() / 1024)} kB\nVmRSS:\t${Math.ceil(t.vmRss() / 1024)} kB\nThreads:\t${t.threads()}\n` +
    `SigPnd:\t${hex(sig.pending)}\nShdPnd:\t${hex(sig.shared)}\nSigBlk:\t${hex(sig.blocked)}\nSigIgn:\t${hex(sig.ignored)}\nSigCgt:\t${hex(sig.caught)}\n` +
    `CapInh:\t${hex(c.inheritable)}\nCapPrm:\t${hex(c.permitted)}\nCapEff:\t${hex(c.effective)}\nCapBnd:\t${hex(c.bounding)}\nCapAmb:\t${hex(c.ambient)}\n` +
    `NoNewPrivs:\t1\nSeccomp:\t0\n`;
}

function pidStat(t: ProcTask, tid: number = t.pid): string {
  const c = t.cpuTicks();
  const fields = [
    tid, `(${t.comm()})`, t.state()[0], t.ppid, t.pgid(), t.sid(), 0, -1, 0,
    0, 0, 0, 0, c.utime, c.stime, c.cutime, c.cstime, 20 + t.nice(), t.nice(), t.threads(), 0, 0, t.vmSize(), Math.ceil(t.vmRss() / 4096),
  ];
  return `${fields.join(" ")}\n`;
}

