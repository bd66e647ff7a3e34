import { describe, expect, it } from "vitest";
import { AT_FDCWD, EACCES, EINVAL, ENOENT, EPERM, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, isLinuxError } from "@runsc-ts/abi";
import { Credentials } from "../../kernel/auth/credentials.js";
import { FdTable } from "../../vfs/fd-table.js";
import { parseDirents64 } from "../../vfs/file-description.js";
import { makeEnv, type TestEnv, ok } from "../../vfs/test-env.js";
import { PipeFilesystem } from "../pipe/pipefs.js";
import { ProcFilesystem, type ProcKernel, type ProcTask } from "./procfs.js";

async function cat(env: TestEnv, path: string, ctx = env.ctx): Promise<string> {
  const f = await env.vfs.openAt(ctx, AT_FDCWD, path, O_RDONLY);
  if (isLinuxError(f)) return f.name;
  const buf = new Uint8Array(8192);
  const n = ok(await f.read(buf));
  f.decRef();
  return Buffer.from(buf.subarray(0, n)).toString("latin1");
}

async function setup(): Promise<{ env: TestEnv; tasks: ProcTask[]; fdTable: FdTable }> {
  const env = makeEnv();
  ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/proc", 0o555));
  ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/work", 0o755));
  const fdTable = new FdTable();
  const cwd = ok(await env.vfs.lookupAt(env.ctx, AT_FDCWD, "/work", true, false));
  let oom = 0;
  const task: ProcTask = {
    pid: 1, ppid: 0, pgid: () => 1, sid: () => 1,
    comm: () => "init",
    cmdline: () => Buffer.from("sh\0-c\0true\0"),
    creds: () => Credentials.root(),
    fdTable: () => fdTable,
    root: () => env.ctx.root,
    cwd: () => cwd,
    environ: () => Buffer.from("PATH=/bin\0HOME=/\0"),
    maps: () => "00400000-00401000 r-xp 00000000 00:00 0                                  /bin/sh\n",
    exe: () => "/bin/sh",
    vmSize: () => 8192,
    vmRss: () => 4096,
    nice: () => 5,
    state: () => "S (sleeping)",
    threads: () => 1,
    cpuTicks: () => ({ utime: 7, stime: 3, cutime: 0, cstime: 0 }),
    tids: () => [1],
    threadComm: () => "init",
    limits: () => Array.from({ length: 16 }, () => [1024n, 0xffff_ffff_ffff_ffffn] as const),
    oomScoreAdj: () => oom,
    setOomScoreAdj: (v: number) => {
      oom = v;
    },
    signals: () => ({ pending: 0n, shared: 0n, blocked: 1n << 9n, ignored: 1n << 12n, caught: 0n }),
  };
  const tasks = [task];
  const kernel: ProcKernel = {
    vfs: env.vfs,
    cpus: 2,
    totalMemory: 1 << 30,
    hostname: () => "sandbox",
    setHostname: () => undefined,
    release: "6.1.0",
    version: "#1 SMP",
    uptime: () => 12.5,
    tasks: () => tasks,
    task: (pid) => tasks.find((t) => t.pid === pid),
    filesystems: () => [["tmpfs", false], ["proc", false], ["ext4", true]],
  };
  ok(await env.vfs.mount(env.ctx, new ProcFilesystem(kernel, env.clock), "/proc", { noSuid: true, noDev: true, noExec: true }));
  return { env, tasks, fdTable };
}

describe("procfs", () => {
  it("serves the static files", async () => {
    const { env } = await setup();
    expect(await cat(env, "/proc/sys/kernel/hostname")).toBe("sandbox\n");
    expect(await cat(env, "/proc/sys/kernel/ostype")).toBe("Linux\n");
    expect(await cat(env, "/proc/filesystems")).toBe("nodev\ttmpfs\nnodev\tproc\n\text4\n");
    expect(await cat(env, "/proc/uptime")).toBe("12.50 0.00\n");
    expect(await cat(env, "/proc/sys/fs/nr_open")).toBe("1048576\n");
  });

  it("resolves /proc/self per caller", async () => {
    const { env } = await setup();
    expect(await env.vfs.readlinkAt({ ...env.ctx, pid: 1 }, AT_FDCWD, "/proc/self")).toBe("1");
    expect(await cat(env, "/proc/self/comm", { ...env.ctx, pid: 1 })).toBe("init\n");
    expect(await env.vfs.statAt(env.ctx, AT_FDCWD, "/proc/self/comm", 0)).toBe(ENOENT);
  });

  it("shows per-process files and lists processes", async () => {
    const { env, tasks } = await setup();
    expect(await cat(env, "/proc/1/cmdline")).toBe("sh\0-c\0true\0");
    const status = await cat(env, "/proc/1/status");
    expect(status).toContain("Pid:\t1\n");
    expect(status).toContain("State:\tS (sleeping)\n");
    expect(status).toContain("SigBlk:\t0000000000000200\nSigIgn:\t0000000000001000\n");
    expect(status).toMatch(/^CapEff:\t000001ffffffffff$/m);
    expect(await cat(env, "/proc/1/task/1/status")).toBe(status);
    expect(await cat(env, "/proc/1/task/1/comm")).toBe("init\n");
    const mounts = await cat(env, "/proc/1/mounts");
    expect(mounts).toBe("tmpfs / tmpfs rw 0 0\nproc /proc proc rw,nosuid,nodev,noexec 0 0\n");
    const d = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/proc", O_RDONLY));
    const names = parseDirents64(ok(await d.getdents64(4096))).map((e) => e.name);
    expect(names).toContain("1");
    expect(names).toContain("self");
    // Processes come and go.
    const t1 = tasks[0] as ProcTask;
    tasks.push({ ...t1, pid: 7, comm: () => "worker" });
    expect(await cat(env, "/proc/7/comm")).toBe("worker\n");
    tasks.pop();
    expect(await env.vfs.statAt(env.ctx, AT_FDCWD, "/proc/7", 0)).toBe(ENOENT);
  });

  it("cwd, root and fd/N are magic links", async () => {
    const { env, fdTable } = await setup();
    expect(await env.vfs.readlinkAt(env.ctx, AT_FDCWD, "/proc/1/cwd")).toBe("/work");
    ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/proc/1/cwd/file", O_CREAT | O_WRONLY, 0o644)).decRef();
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/work/file", 0)).size).toBe(0);
    // An unlinked file stays reachable through its fd link.
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/work/file", O_WRONLY));
    ok(await f.write(Buffer.from("kept")));
    const fd = ok(fdTable.newFd(f, false));
    expect(await env.vfs.readlinkAt(env.ctx, AT_FDCWD, `/proc/1/fd/${fd}`)).toBe("/work/file");
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/work/file", 0));
    expect(await cat(env, `/proc/1/fd/${fd}`)).toBe("kept");
    // A pipe's fd link opens the pipe.
    const [r, w] = ok(new PipeFilesystem().newPipe(Credentials.root(), 0));
    const wfd = ok(fdTable.newFd(w, false));
    const again = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, `/proc/1/fd/${wfd}`, O_WRONLY));
    ok(await again.write(Buffer.from("via proc")));
    const buf = new Uint8Array(16);
    expect(Buffer.from(buf.subarray(0, ok(await r.read(buf)))).toString()).toBe("via proc");
  });

  it("is read-only", async () => {
    const { env } = await setup();
    expect(await env.vfs.openAt(env.ctx, AT_FDCWD, "/proc/version", O_WRONLY)).toBe(EACCES);
    expect(await env.vfs.setStatAt(env.ctx, AT_FDCWD, "/proc/version", 0, { mode: 0o777 })).toBe(EPERM);
    expect(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/proc/x", 0o755)).toBe(EPERM);
  });
});

describe("procfs: per-process and system files", () => {
  it("serves environ, maps, exe, stat, statm, meminfo and cpuinfo", async () => {
    const { env } = await setup();
    expect(await cat(env, "/proc/1/environ")).toBe("PATH=/bin\0HOME=/\0");
    expect(await cat(env, "/proc/1/maps")).toMatch(/^00400000-00401000 r-xp .*\/bin\/sh\n$/);
    expect(await env.vfs.readlinkAt(env.ctx, AT_FDCWD, "/proc/1/exe")).toBe("/bin/sh");
    expect(await cat(env, "/proc/1/stat")).toMatch(/^1 \(init\) S 0 1 1 /);
    expect(await cat(env, "/proc/1/statm")).toBe("2 1 0 0 0 0 0\n");
    expect((await cat(env, "/proc/1/stat")).trim().split(" ").slice(17, 19)).toEqual(["25", "5"]); // priority, nice
    expect((await cat(env, "/proc/1/stat")).trim().split(" ").slice(22, 24)).toEqual(["8192", "1"]);
    expect(await cat(env, "/proc/1/status")).toMatch(/^VmSize:\t8 kB\nVmRSS:\t4 kB\n/m);
    expect(await cat(env, "/proc/meminfo")).toMatch(/^MemTotal:\s+1048576 kB$/m);
    expect((await cat(env, "/proc/cpuinfo")).match(/^processor\s+:/gm)).toHaveLength(2);
    expect(await cat(env, "/proc/stat")).toMatch(/^cpu1 /m);
  });

  it("serves mountinfo, limits, namespaces and the /proc/sys values programs read", async () => {
    const { env } = await setup();
    expect(await cat(env, "/proc/1/mountinfo")).toMatch(/^\d+ \d+ \d+:\d+ \/ \/ rw,relatime - \S+ \S+ rw$/m);
    const limits = (await cat(env, "/proc/1/limits")).split("\n");
    expect(limits[0]).toMatch(/^Limit\s+Soft Limit\s+Hard Limit\s+Units/);
    expect(limits[1]).toMatch(/^Max cpu time\s+1024\s+unlimited\s+seconds/);
    expect(limits).toHaveLength(18);
    expect(await env.vfs.readlinkAt(env.ctx, AT_FDCWD, "/proc/1/ns/pid")).toMatch(/^pid:\[\d+\]$/);
    expect(await cat(env, "/proc/sys/kernel/pid_max")).toBe("4194304\n");
    expect(await cat(env, "/proc/sys/kernel/random/uuid")).not.toBe(await cat(env, "/proc/sys/kernel/random/uuid"));
    expect(await cat(env, "/proc/sys/kernel/random/boot_id")).toBe(await cat(env, "/proc/sys/kernel/random/boot_id"));
  });

  it("takes oom_score_adj writes within -1000..1000 and ignores O_TRUNC", async () => {
    const { env } = await setup();
    const write = async (text: string) => {
      const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/proc/1/oom_score_adj", O_WRONLY | O_TRUNC));
      const r = await f.write(Buffer.from(text));
      f.decRef();
      return r;
    };
    expect(await write("-500\n")).toBe(5);
    expect(await cat(env, "/proc/1/oom_score_adj")).toBe("-500\n");
    expect(await write("1001")).toBe(EINVAL);
    expect(await write("garbage")).toBe(EINVAL);
    expect(await cat(env, "/proc/1/oom_score_adj")).toBe("-500\n");
    const ro = await env.vfs.openAt(env.ctx, AT_FDCWD, "/proc/1/limits", O_WRONLY);
    expect(ro).toBe(EACCES);
  });
});

