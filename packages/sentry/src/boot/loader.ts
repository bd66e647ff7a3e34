/**
 * The Loader (gVisor's runsc/boot/loader.go, our own design): turns an OCI spec and the
 * resources the runtime handed over (gofer connections, stdio FDs, a platform) into a running
 * sandbox — kernel, mounts, init process — and reports the init process's exit.
 *
 * Mount table of the root container:
 *   /       the root gofer's mount, under a tmpfs overlay when the spec's root is read-only
 *           (writes land in memory, nothing reaches the host)
 *   /proc   procfs        /dev   devfs (null, zero, full, random, urandom)
 *   /tmp    tmpfs, unless the root is an overlay (whose writes already stay in memory)
 */
import {
  AT_FDCWD,
  EACCES,
  EEXIST,
  ENOENT,
  type LinuxError,
  O_RDONLY,
  O_WRONLY,
  S_IFREG,
  X_OK,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Platform } from "@runsc-ts/platform";
import type { gofer } from "@runsc-ts/proto";
import type { Logger } from "pino";
import { createDevfs } from "../fsimpl/devfs/devfs.js";
import { GoferFilesystem } from "../fsimpl/gofer/filesystem.js";
import { OverlayFilesystem } from "../fsimpl/overlay/filesystem.js";
import { ProcFilesystem, type ProcKernel, type ProcTask } from "../fsimpl/proc/procfs.js";
import { TmpFilesystem } from "../fsimpl/tmpfs/filesystem.js";
import { Credentials, capabilityBit } from "../kernel/auth/credentials.js";
import { Kernel } from "../kernel/kernel.js";
import { Limits, RLIMIT_NAMES } from "../kernel/limits.js";
import type { Task } from "../kernel/task.js";
import { UNAME } from "../kernel/uts.js";
import { loadExecutable } from "../loader/load.js";
import type { Mount, Spec } from "../oci/spec.js";
import type { Filesystem } from "../vfs/filesystem.js";
import type { VfsContext } from "../vfs/context.js";
import type { VirtualDentry } from "../vfs/mount.js";
import { isDir } from "../vfs/stat.js";
import { linuxSyscalls } from "../syscalls/linux/table.js";
import { FdTable } from "../vfs/fd-table.js";
import { VirtualFilesystem } from "../vfs/vfs.js";
import * as abi from "@runsc-ts/abi";

export interface BootOptions {
  readonly spec: Spec;
  /** The root filesystem's gofer. */
  readonly rootGofer: gofer.Gofer$Client;
  /** One gofer per bind mount of the spec, in the spec's order. */
  readonly mountGofers?: readonly gofer.Gofer$Client[];
  readonly platform: Platform;
  /** Host FDs for the init process's stdin, stdout, stderr. */
  readonly stdio: readonly [number, number, number];
  readonly log?: Logger;
  readonly strace?: boolean;
  readonly cpus?: number;
  readonly totalMemory?: number;
}

/** Why the init process could not start: the message for the user and the shell's exit code. */
export class StartError extends Error {
  override readonly name = "StartError";
  constructor(
    message: string,
    readonly exitCode: number,
    readonly errno?: LinuxError,
  ) {
    super(message);
  }
}

/** What a new process of the sandbox runs, and how. */
export interface ProcessSpec {
  readonly argv: readonly string[];
  readonly env: readonly string[];
  /** Absolute, in the sandbox. */
  readonly cwd: string;
  /** The executable; absent: argv[0] looked up through PATH as execvp does. */
  readonly filename?: string;
  readonly creds: Credentials;
  readonly limits: Limits;
  readonly umask: number;
  /** Host FDs for stdin, stdout, stderr. */
  readonly stdio: readonly [number, number, number];
  /** Whether the sentry owns (and closes) the stdio FDs: yes for exec's, no for boot's own. */
  readonly ownStdio: boolean;
  /** The FD table to fill (boot's, whose limit follows the init's limits); a new one otherwise. */
  readonly fdTable?: FdTable;
}

export interface Sandbox {
  readonly kernel: Kernel;
  readonly init: Task;
  /** A new process in the container, running at once (`runsc-ts exec`): its pid, or why it could not start. */
  execute(spec: ProcessSpec): Promise<Task>;
  /** Whether `start` has been called. */
  readonly started: boolean;
  /** Lets the init process run (it is loaded and waiting). Idempotent. */
  start(): void;
  /** Resolves with the init process's wait status once it has started and exited. */
  wait(): Promise<number>;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The credentials the spec's process runs with. */
export function credentialsOf(spec: Spec): Credentials {
  const u = spec.process?.user ?? { uid: 0, gid: 0, additionalGids: [] };
  const set = (names: readonly string[] | undefined): bigint => {
    let bits = 0n;
    for (const n of names ?? []) {
      const v = (abi as unknown as Record<string, unknown>)[n];
      if (typeof v === "number") bits |= capabilityBit(v);
    }
    return bits;
  };
  const c = spec.process?.capabilities;
  return new Credentials({
    uid: u.uid,
    euid: u.uid,
    suid: u.uid,
    fsuid: u.uid,
    gid: u.gid,
    egid: u.gid,
    sgid: u.gid,
    fsgid: u.gid,
    groups: u.additionalGids,
    permitted: set(c?.permitted),
    effective: set(c?.effective),
    inheritable: set(c?.inheritable),
    bounding: set(c?.bounding),
    ambient: set(c?.ambient),
  });
}

/** rlimits from the spec over Linux's defaults. */
export function limitsOf(spec: Spec): Limits {
  const limits = new Limits();
  for (const l of spec.process?.rlimits ?? []) {
    const resource = RLIMIT_NAMES[l.type];
    if (resource !== undefined) limits.set(resource, { cur: l.soft, max: l.hard }, true);
  }
  return limits;
}

/** Builds the sandbox and starts its init process. */
export async function boot(opts: BootOptions): Promise<Sandbox> {
  const { spec, log } = opts;
  const proc = spec.process;
  if (proc === undefined) throw new StartError("the spec has no process to run", 127);

  // Filesystems.
  const vfs = new VirtualFilesystem();
  const goferFs = await GoferFilesystem.mount(opts.rootGofer);
  if (isLinuxError(goferFs)) throw new StartError(`cannot mount the root filesystem: ${goferFs.message}`, 125, goferFs);
  const rootFs = spec.root?.readonly === true || goferFs.readOnly ? new OverlayFilesystem({ lower: goferFs }) : goferFs;
  const ns = vfs.newMountNamespace(rootFs);
  const rootVd = ns.rootVd();
  const creds = credentialsOf(spec);
  const limits = limitsOf(spec);
  const fdTable = new FdTable(() => limits.cur(abi.RLIMIT_NOFILE));
  const bootCtx = { creds: Credentials.root(), root: rootVd, cwd: rootVd, fdTable, umask: 0o022 };

  const kernel = new Kernel({
    platform: opts.platform,
    vfs,
    syscalls: linuxSyscalls(),
    ...(log === undefined ? {} : { log }),
    strace: opts.strace ?? false,
    hostname: kernelString(spec.hostname ?? "runsc-ts"),
    ...(opts.cpus === undefined ? {} : { cpus: opts.cpus }),
    ...(opts.totalMemory === undefined ? {} : { totalMemory: opts.totalMemory }),
  });

  const mountAt = async (where: string, fs: Filesystem) => {
    const path = kernelString(where);
    let r = await vfs.mount(bootCtx, fs, path);
    if (r === ENOENT) {
      // A missing mount point (as runc does): create it and its parents (in the overlay when the
      // root is read-only), a directory or, for a file bind mount, an empty file; then mount.
      const made = await makeMountPoint(vfs, bootCtx, path, isDir(fs.root.inode.mode));
      r = isLinuxError(made) ? made : await vfs.mount(bootCtx, fs, path);
    }
    if (isLinuxError(r)) throw new StartError(`cannot mount ${where}: ${r.message}`, 125, r);
  };
  await mountAt("/proc", new ProcFilesystem(procKernelOf(kernel)));
  await mountAt("/dev", await createDevfs());
  // A private /tmp, unless the root is already an in-memory overlay (then /tmp's writes stay in
  // memory anyway, and the host's /tmp — perhaps the working directory — stays visible).
  if (rootFs === goferFs && !spec.mounts.some((m) => m.destination === "/tmp")) await mountAt("/tmp", new TmpFilesystem());
  await mountSpecMounts(spec, opts.mountGofers ?? [], mountAt, () => new ProcFilesystem(procKernelOf(kernel)), log);

  // The init process.
  const task = await startProcess(kernel, rootVd, {
    argv: proc.args,
    env: proc.env,
    cwd: proc.cwd,
    creds,
    limits,
    umask: proc.user.umask ?? 0o022,
    stdio: opts.stdio,
    ownStdio: false,
    fdTable,
  });
  log?.info({ path: task.mm.executable, pid: task.tid }, "init process loaded");
  let started = false;
  let release: () => void = () => {};
  const running = new Promise<void>((resolve) => (release = resolve));
  return {
    kernel,
    init: task,
    get started() {
      return started;
    },
    async execute(spec) {
      const t = await startProcess(kernel, rootVd, spec);
      log?.info({ path: t.mm.executable, pid: t.tid }, "process executed");
      void kernel.run(t);
      return t;
    },
    start() {
      if (started) return;
      started = true;
      log?.info({ pid: task.tid }, "init process started");
      void kernel.run(task).then(release);
    },
    wait: async () => {
      await running;
      return task.tg.waitExit();
    },
  };
}

/** A process's command line (argv joined by spaces), or its name when argv cannot be read. */
export function commandLineOf(t: Task): string {
  const raw = region(t, t.mm.argStart, t.mm.argEnd);
  const text = Buffer.from(raw).toString("latin1").replace(/\0$/, "");
  return text === "" ? t.name : text.split("\0").join(" ");
}

/** Whether a spec mount is a bind mount (served by a gofer). */
export function isBindMount(m: Mount): boolean {
  return m.type === "bind" || m.options.includes("bind") || m.options.includes("rbind");
}

/** A tmpfs mount's size= option in bytes (k, m, g suffixes), if given. */
function tmpfsSize(options: readonly string[]): number | undefined {
  const opt = options.find((o) => o.startsWith("size="));
  const m = opt === undefined ? null : /^size=(\d+)([kmg]?)$/i.exec(opt);
  if (m === null) return undefined;
  const unit = { "": 1, k: 1024, m: 1 << 20, g: 1 << 30 }[(m[2] ?? "").toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}

/**
 * Creates the mount point `path` and any missing parent directories (mode 0755): a directory, or
 * an empty regular file (mode 0644) for a filesystem whose root is not a directory. Parts that
 * exist are left as they are.
 */
async function makeMountPoint(vfs: VirtualFilesystem, ctx: VfsContext, path: string, directory: boolean): Promise<void | LinuxError> {
  const parts = path.split("/").filter((p) => p !== "");
  for (let i = 1; i <= parts.length; i++) {
    const at = `/${parts.slice(0, i).join("/")}`;
    const last = i === parts.length;
    let r: void | LinuxError;
    if (!last || directory) {
      r = await vfs.mkdirAt(ctx, AT_FDCWD, at, 0o755);
    } else {
      r = await vfs.mknodAt(ctx, AT_FDCWD, at, S_IFREG | 0o644, 0);
    }
    if (isLinuxError(r) && r !== EEXIST) return r;
  }
}

/**
 * The spec's mounts, in order: bind mounts through their gofers, tmpfs, proc; /dev is always our
 * devfs. Mount types with no implementation (sysfs, devpts, mqueue, cgroup) are logged and left
 * out, so their mount points stay as the root filesystem has them.
 */
async function mountSpecMounts(
  spec: Spec,
  gofers: readonly gofer.Gofer$Client[],
  mountAt: (path: string, fs: Filesystem) => Promise<void>,
  procfs: () => Filesystem,
  log: Logger | undefined,
): Promise<void> {
  let next = 0;
  for (const m of spec.mounts) {
    if (isBindMount(m)) {
      const client = gofers[next++];
      if (client === undefined) throw new StartError(`no gofer for the bind mount at ${m.destination} (boot --io-fds has one per bind mount)`, 125);
      const fs = await GoferFilesystem.mount(client);
      if (isLinuxError(fs)) throw new StartError(`cannot mount ${m.source ?? "?"} at ${m.destination}: ${fs.message}`, 125, fs);
      await mountAt(m.destination, fs);
      continue;
    }
    if (m.destination === "/dev" || m.destination === "/proc") continue; // ours already
    switch (m.type) {
      case "tmpfs": {
        const maxBytes = tmpfsSize(m.options);
        await mountAt(m.destination, new TmpFilesystem(maxBytes === undefined ? {} : { maxBytes }));
        break;
      }
      case "proc":
        await mountAt(m.destination, procfs());
        break;
      default:
        log?.warn({ destination: m.destination, type: m.type }, "mount type not supported; left out");
    }
  }
  if (next < gofers.length) throw new StartError(`boot was given ${gofers.length} mount gofers for ${next} bind mounts`, 125);
}

/**
 * A string from outside the sandbox (the OCI spec, the controller: Unicode, sent as UTF-8) as the
 * kernel keeps guest strings: one char per byte (latin1), so that `Buffer.from(s, "latin1")`
 * gives the program the UTF-8 bytes it would get on Linux.
 */
function kernelString(s: string): string {
  return Buffer.from(s, "utf8").toString("latin1");
}

/**
 * Makes a process with no parent in the sandbox (the container's init, or an exec'd process) and
 * loads its program; StartError (127/126 with the shell's message) when it cannot start.
 */
async function startProcess(kernel: Kernel, rootVd: VirtualDentry, spec: ProcessSpec): Promise<Task> {
  const vfs = kernel.vfs;
  const argv = spec.argv.map(kernelString);
  const env = spec.env.map(kernelString);
  const fdTable = spec.fdTable ?? new FdTable(() => spec.limits.cur(abi.RLIMIT_NOFILE));
  const stdioModes = [O_RDONLY, O_WRONLY, O_WRONLY];
  spec.stdio.forEach((hostFd, i) => {
    const f = kernel.anonfs.import(hostFd, stdioModes[i] ?? O_WRONLY, spec.ownStdio);
    fdTable.installAt(i, f, false);
    f.decRef();
  });
  const ctx = { creds: spec.creds, root: rootVd, cwd: rootVd, fdTable, umask: spec.umask };
  const cwd = await vfs.lookupAt(ctx, AT_FDCWD, kernelString(spec.cwd), true, false);
  if (isLinuxError(cwd)) {
    fdTable.closeAll();
    throw new StartError(`cannot enter the working directory ${spec.cwd}: ${cwd.message}`, 126, cwd);
  }
  const cmd = kernelString(spec.filename ?? spec.argv[0] ?? "");
  const task = kernel.newProcess({
    creds: spec.creds,
    fs: { root: rootVd, cwd, umask: spec.umask },
    fdTable,
    name: cmd.split("/").pop() || "init",
    limits: spec.limits,
  });
  const path = spec.filename !== undefined ? cmd : await findExecutable(task, cmd, env);
  const loaded = isLinuxError(path)
    ? path
    : await loadExecutable(task, { path, argv: argv.map((a) => Buffer.from(a, "latin1")), envp: env.map((e) => Buffer.from(e, "latin1")) });
  if (isLinuxError(loaded)) {
    kernel.taskExited(task);
    throw startError(cmd, loaded);
  }
  return task;
}

/** What a shell says, and the code it exits with, when a command cannot run. */
function startError(cmd: string, e: LinuxError): StartError {
  const notFound = e === ENOENT;
  return new StartError(`${cmd}: ${e.message.toLowerCase()}`, notFound ? 127 : 126, e);
}

/**
 * Finds `cmd` the way execvp does: a name with a slash is used as is; otherwise each PATH entry
 * (from the process's environment, or the default) is tried in order, in the sandbox's own
 * filesystem. ENOENT when none exists; EACCES when one exists but none is executable.
 */
async function findExecutable(t: Task, cmd: string, env: readonly string[]): Promise<string | LinuxError> {
  if (cmd === "") return ENOENT;
  if (cmd.includes("/")) return cmd;
  const pathVar = env.find((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  let sawDenied = false;
  for (const dir of pathVar.split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${cmd}`;
    const r = await t.kernel.vfs.accessAt(t, AT_FDCWD, candidate, X_OK);
    if (r === undefined) {
      const st = await t.kernel.vfs.statAt(t, AT_FDCWD, candidate);
      if (!isLinuxError(st) && (st.mode & abi.S_IFMT) === abi.S_IFREG) return candidate;
    } else if (r === EACCES) {
      sawDenied = true;
    }
  }
  return sawDenied ? EACCES : ENOENT;
}

/** procfs's view of the kernel. */
function procKernelOf(k: Kernel): ProcKernel {
  const procTask = (t: Task): ProcTask => ({
    pid: t.tg.tgid,
    ppid: t.tg.parent?.tgid ?? 0,
    pgid: () => t.tg.processGroup?.pgid ?? 0,
    sid: () => t.tg.processGroup?.session.sid ?? 0,
    comm: () => t.name,
    cmdline: () => region(t, t.mm.argStart, t.mm.argEnd),
    environ: () => region(t, t.mm.envStart, t.mm.envEnd),
    maps: () => mapsOf(t),
    exe: () => t.mm.executable,
    vmSize: () => Number(t.mm.vmBytes()),
    vmRss: () => t.mm.as.residentBytes(),
    nice: () => t.nice,
    creds: () => t.creds,
    state: () => (t.tg.zombie ? "Z (zombie)" : t.tg.stopped ? "T (stopped)" : t.interrupter.waiting ? "S (sleeping)" : "R (running)"),
    threads: () => t.tg.tasks.size,
    limits: () => Array.from({ length: 16 }, (_, r) => {
      const l = t.tg.limits.get(r);
      return isLinuxError(l) ? ([0n, 0n] as const) : ([l.cur, l.max] as const);
    }),
    oomScoreAdj: () => t.tg.oomScoreAdj,
    setOomScoreAdj: (v) => {
      t.tg.oomScoreAdj = v;
    },
    cpuTicks: () => {
      const tick = (ns: bigint) => Number(ns / 10_000_000n);
      const self = t.tg.usage();
      const kids = t.tg.childrenUsage;
      return { utime: tick(self.user), stime: tick(self.system), cutime: tick(kids.user), cstime: tick(kids.system) };
    },
    tids: () => [...t.tg.tasks].map((x) => x.tid).sort((a, b) => a - b),
    threadComm: (tid) => [...t.tg.tasks].find((x) => x.tid === tid)?.name ?? t.name,
    signals: () => {
      let ignored = 0n;
      let caught = 0n;
      for (let sig = 1; sig <= 64; sig++) {
        const h = t.tg.handlers.get(sig).handler;
        if (h === 1n) ignored |= 1n << BigInt(sig - 1);
        else if (h !== 0n) caught |= 1n << BigInt(sig - 1);
      }
      return { pending: t.pending.set, shared: t.tg.pending.set, blocked: t.signalMask, ignored, caught };
    },
    fdTable: () => t.fdTable,
    root: () => t.fs.root,
    cwd: () => t.fs.cwd,
  });
  return {
    vfs: k.vfs,
    cpus: k.cpus,
    totalMemory: k.totalMemory,
    hostname: () => k.uts.hostname,
    setHostname: (name) => {
      if (name.length > 64) return abi.EINVAL;
      k.uts.hostname = name;
      return undefined;
    },
    release: UNAME.release,
    version: UNAME.version,
    uptime: () => Number(process.hrtime.bigint() - k.bootTime) / 1e9,
    tasks: () => [...k.threadGroups.values()].flatMap((tg) => {
      const leader = k.tasks.get(tg.tgid);
      return leader === undefined ? [] : [procTask(leader)];
    }),
    task: (pid) => {
      const t = k.tasks.get(pid);
      return t === undefined ? undefined : procTask(t);
    },
    filesystems: () => [
      ["tmpfs", false],
      ["proc", false],
      ["devtmpfs", false],
      ["overlay", false],
      ["9p", false],
    ],
  };
}

/** Bytes [start, end) of a task's memory (argument or environment strings), or nothing. */
function region(t: Task, start: bigint, end: bigint): Uint8Array {
  const len = Number(end - start);
  if (len <= 0) return new Uint8Array(0);
  const b = t.mm.copyIn(start, len);
  return isLinuxError(b) ? new Uint8Array(0) : b;
}

/** /proc/<pid>/maps lines from the task's VMAs. */
function mapsOf(t: Task): string {
  const hex = (n: bigint) => n.toString(16).padStart(8, "0");
  const hex2 = (n: number) => n.toString(16).padStart(2, "0");
  return t.mm
    .mappings()
    .map((v) => {
      const perms = `${v.prot & abi.PROT_READ ? "r" : "-"}${v.prot & abi.PROT_WRITE ? "w" : "-"}${v.prot & abi.PROT_EXEC ? "x" : "-"}${v.flags & abi.MAP_SHARED ? "s" : "p"}`;
      const f = v.file;
      const dev = f === undefined ? "00:00 0" : `${hex2(f.devMajor)}:${hex2(f.devMinor)} ${f.ino}`;
      const line = `${hex(v.start)}-${hex(v.end)} ${perms} ${hex(v.offset)} ${dev}`;
      return v.name === "" ? `${line}\n` : `${line.padEnd(73)}${v.name}\n`;
    })
    .join("");
}

