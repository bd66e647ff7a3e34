/**
 * The controller: the sandbox's side of control.capnp's ContainerManager, served on the
 * controller socket to the runtime's CLI (start, wait, kill, ps, delete). One Controller serves
 * every connection; it holds no per-connection state.
 *
 * Implemented: startRoot, executeAsync, wait, waitPid, signal, processes, destroy. The rest
 * (subcontainers, stats, pause/resume, exec with a terminal) answer ENOSYS with a one-line reason.
 */
import { EEXIST, EINVAL, ENOENT, ENOSYS, ESRCH, type LinuxError, SI_USER } from "@runsc-ts/abi";
import { control, takeFd } from "@runsc-ts/proto";
import type { Logger } from "pino";
import { type Sandbox, StartError, commandLineOf } from "../boot/loader.js";
import { Credentials } from "../kernel/auth/credentials.js";
import { Limits } from "../kernel/limits.js";
import { isValidSignal, killInfo } from "../kernel/signals.js";
import { sendSignal } from "../kernel/task-signals.js";
import type { ThreadGroup } from "../kernel/thread-group.js";

interface Answer {
  errno: number;
  detail: string;
}

function fail(r: Answer, e: LinuxError, detail: string): void {
  r.errno = e.errno;
  r.detail = detail;
}

export class Controller implements control.ContainerManager$Server$Target {
  constructor(
    private readonly sandbox: Sandbox,
    private readonly containerId: string,
    /** Closes a donated FD the controller will not use. */
    private readonly closeFd: (fd: number) => void,
    private readonly log?: Logger,
  ) {}

  /** The bootstrap capability for each controller connection. */
  bootstrap(): control.ContainerManager$Server {
    return new control.ContainerManager$Server(this);
  }

  /** False (with ESRCH in `r`) for a container this sandbox does not run. */
  private known(id: string, r: Answer): boolean {
    if (id === this.containerId) return true;
    fail(r, ESRCH, `no container ${JSON.stringify(id)} in this sandbox`);
    return false;
  }

  async startRoot(p: control.ContainerManager_StartRoot$Params, r: control.ContainerManager_StartRoot$Results): Promise<void> {
    if (!this.known(p.containerId, r)) return;
    if (this.sandbox.started) return fail(r, EEXIST, `container ${p.containerId} has already started`);
    this.log?.info({ containerId: p.containerId }, "controller: start");
    this.sandbox.start();
  }

  async wait(p: control.ContainerManager_Wait$Params, r: control.ContainerManager_Wait$Results): Promise<void> {
    if (!this.known(p.containerId, r)) return;
    r.waitStatus = await this.sandbox.wait();
  }

  async waitPid(p: control.ContainerManager_WaitPid$Params, r: control.ContainerManager_WaitPid$Results): Promise<void> {
    if (!this.known(p.containerId, r)) return;
    const tg = this.sandbox.kernel.threadGroups.get(p.pid);
    if (tg === undefined) return fail(r, ESRCH, `no process ${p.pid}`);
    r.waitStatus = await tg.waitExit();
  }

  async signal(p: control.ContainerManager_Signal$Params, r: control.ContainerManager_Signal$Results): Promise<void> {
    if (!this.known(p.containerId, r)) return;
    if (p.signo !== 0 && !isValidSignal(p.signo)) return fail(r, EINVAL, `invalid signal ${p.signo}`);
    const kernel = this.sandbox.kernel;
    const pid = p.pid === 0 ? this.sandbox.init.tg.tgid : p.pid;
    const target = kernel.threadGroups.get(pid);
    let groups: ThreadGroup[];
    switch (p.mode) {
      case control.SignalMode.ALL_PROCESSES:
        groups = [...kernel.threadGroups.values()];
        break;
      case control.SignalMode.PROCESS:
        if (target === undefined) return fail(r, ESRCH, `no process ${pid}`);
        groups = [target];
        break;
      default: {
        // A process group (with no terminals yet, the foreground group is the process's own).
        const pg = target?.processGroup;
        if (pg === undefined) return fail(r, ESRCH, `no process ${pid}`);
        groups = [...pg.members];
      }
    }
    this.log?.info({ pid, signo: p.signo, mode: p.mode, processes: groups.length }, "controller: signal");
    for (const tg of groups) sendSignal(tg, killInfo(p.signo, 0, 0, SI_USER), { fromOutside: true });
  }

  async processes(p: control.ContainerManager_Processes$Params, r: control.ContainerManager_Processes$Results): Promise<void> {
    if (!this.known(p.containerId, r)) return;
    const kernel = this.sandbox.kernel;
    const groups = [...kernel.threadGroups.values()].sort((a, b) => a.tgid - b.tgid);
    const list = r._initProcesses(groups.length);
    const bootRealtime = BigInt(Date.now()) * 1_000_000n - kernel.now();
    groups.forEach((tg, i) => {
      const info = list.get(i);
      const leader = tg.leader() ?? tg.tasks.values().next().value;
      info.pid = tg.tgid;
      info.ppid = tg.parent?.tgid ?? 0;
      info.pgid = tg.processGroup?.pgid ?? 0;
      info.uid = tg.creds()?.uid ?? 0;
      info.state = (tg.zombie ? "Z" : tg.stopped ? "T" : "S").charCodeAt(0);
      info.threads = tg.tasks.size;
      const start = info._initStartTime();
      const at = bootRealtime + tg.startTime;
      start.sec = at / 1_000_000_000n;
      start.nsec = Number(at % 1_000_000_000n);
      info.cmd = leader === undefined ? "" : commandLineOf(leader);
    });
  }

  async destroy(p: control.ContainerManager_Destroy$Params, r: control.ContainerManager_Destroy$Results): Promise<void> {
    if (!this.known(p.containerId, r)) return;
    this.log?.info({ containerId: p.containerId }, "controller: destroy");
    this.sandbox.kernel.killAll();
    if (this.sandbox.started) await this.sandbox.wait();
  }

  async startSubcontainer(_p: control.ContainerManager_StartSubcontainer$Params, r: control.ContainerManager_StartSubcontainer$Results): Promise<void> {
    fail(r, ENOSYS, "not implemented yet: more than one container per sandbox");
  }

  /**
   * `runsc-ts exec`: a new process in the container with the given argv, environment, cwd,
   * credentials, capabilities, umask, rlimits and stdio (donated FDs, owned from here on). It has
   * no parent in the sandbox; waitPid reports its exit. Terminals (exec -t) need ptys: ENOSYS.
   */
  async executeAsync(p: control.ContainerManager_ExecuteAsync$Params, r: control.ContainerManager_ExecuteAsync$Results): Promise<void> {
    const stdio = [takeFd(p.stdio.stdin), takeFd(p.stdio.stdout), takeFd(p.stdio.stderr)] as const;
    const closeStdio = () => {
      for (const fd of stdio) if (fd >= 0) this.closeFd(fd);
    };
    if (!this.known(p.containerId, r)) return closeStdio();
    if (!this.sandbox.started) {
      closeStdio();
      return fail(r, EINVAL, `container ${p.containerId} has not started`);
    }
    if (p.terminal) {
      closeStdio();
      return fail(r, ENOSYS, "not implemented yet: exec with a terminal (no pty devices)");
    }
    if (stdio.some((fd) => fd < 0)) {
      closeStdio();
      return fail(r, EINVAL, "exec needs stdin, stdout and stderr");
    }
    const argv = [...p.argv];
    if (argv.length === 0 || !p.cwd.startsWith("/")) {
      closeStdio();
      return fail(r, EINVAL, "exec needs arguments and an absolute working directory");
    }
    const limits = new Limits();
    for (const l of p.rlimits) limits.set(l.resource, { cur: l.cur, max: l.max }, true);
    const caps = p.capabilities;
    const c = p.credentials;
    const creds = new Credentials({
      uid: c.uid, euid: c.uid, suid: c.uid, fsuid: c.uid,
      gid: c.gid, egid: c.gid, sgid: c.gid, fsgid: c.gid,
      groups: [...c.additionalGids],
      effective: caps.effective, permitted: caps.permitted, inheritable: caps.inheritable, bounding: caps.bounding, ambient: caps.ambient,
    });
    try {
      const t = await this.sandbox.execute({
        argv,
        env: [...p.env],
        cwd: p.cwd,
        ...(p.filename === "" ? {} : { filename: p.filename }),
        creds,
        limits,
        umask: p.umask & 0o777,
        stdio: [stdio[0], stdio[1], stdio[2]],
        ownStdio: true,
      });
      r.pid = t.tg.tgid;
    } catch (e) {
      if (!(e instanceof StartError)) throw e;
      fail(r, e.errno ?? ENOENT, e.message);
    }
  }

  async event(_p: control.ContainerManager_Event$Params, r: control.ContainerManager_Event$Results): Promise<void> {
    fail(r, ENOSYS, "not implemented yet: resource statistics");
  }

  async pause(_p: control.ContainerManager_Pause$Params, r: control.ContainerManager_Pause$Results): Promise<void> {
    fail(r, ENOSYS, "not implemented yet: pause");
  }

  async resume(_p: control.ContainerManager_Resume$Params, r: control.ContainerManager_Resume$Results): Promise<void> {
    fail(r, ENOSYS, "not implemented yet: resume");
  }
}
