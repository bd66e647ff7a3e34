/**
 * Sessions and process groups (credentials(7), setpgid(2), setsid(2)).
 *
 * Every thread group belongs to one process group, and every process group to one session. A
 * group is named by the tgid of the process that created it and lives while it has members; an
 * id stays reserved (never handed out as a new pid) while a group or session of that id lives,
 * as Linux's pid structures keep it.
 *
 * Job control (the foreground group of a controlling terminal, SIGTTOU/SIGTTIN, orphaned groups)
 * comes with terminals and signals.
 */
import { EINVAL, EPERM, ESRCH, type LinuxError } from "@runsc-ts/abi";
import type { ThreadGroup } from "./thread-group.js";

export class Session {
  readonly groups = new Set<ProcessGroup>();
  /** The foreground process group of the session's terminal (tcsetpgrp), once set. */
  foreground: number | undefined;
  constructor(readonly sid: number) {}
}

export class ProcessGroup {
  readonly members = new Set<ThreadGroup>();
  constructor(
    readonly pgid: number,
    readonly session: Session,
  ) {
    session.groups.add(this);
  }
}

/** The kernel's process groups and sessions by id. */
export class Sessions {
  private readonly groups = new Map<number, ProcessGroup>();
  private readonly sessions = new Map<number, Session>();

  /** Whether `id` names a live process group or session (so it cannot be a new pid). */
  inUse(id: number): boolean {
    return this.groups.has(id) || this.sessions.has(id);
  }

  group(pgid: number): ProcessGroup | undefined {
    return this.groups.get(pgid);
  }

  /**
   * Puts a new thread group in its place: its parent's process group, or for the first process a
   * new session it leads (the container's init is a session and group leader, as under runc).
   */
  join(tg: ThreadGroup): void {
    const pg = tg.parent?.processGroup ?? this.newGroup(tg.tgid, this.newSession(tg.tgid));
    this.move(tg, pg);
  }

  /** Takes an exited thread group out of its group; empty groups and sessions go away. */
  leave(tg: ThreadGroup): void {
    const pg = tg.processGroup;
    if (pg === undefined) return;
    pg.members.delete(tg);
    tg.processGroup = undefined;
    if (pg.members.size > 0) return;
    this.groups.delete(pg.pgid);
    pg.session.groups.delete(pg);
    if (pg.session.groups.size === 0) this.sessions.delete(pg.session.sid);
  }

  /** setsid(2): a new session and group led by `tg`; EPERM if `tg` already leads a group. */
  setsid(tg: ThreadGroup): number | LinuxError {
    if (this.groups.has(tg.tgid)) return EPERM;
    this.move(tg, this.newGroup(tg.tgid, this.newSession(tg.tgid)));
    return tg.tgid;
  }

  /**
   * setpgid(2) once the caller has found `target` (itself or a child): moves it to group
   * `pgid` (0: its own tgid) in the caller's session.
   */
  setpgid(caller: ThreadGroup, target: ThreadGroup, pgid: number): 0 | LinuxError {
    if (pgid < 0) return EINVAL;
    if (pgid === 0) pgid = target.tgid;
    const session = caller.processGroup?.session;
    if (target !== caller && target.parent !== caller) return ESRCH;
    if (target.processGroup?.session !== session) return EPERM;
    if (session?.sid === target.tgid) return EPERM; // a session leader stays in its group
    let pg = this.groups.get(pgid);
    if (pg === undefined) {
      if (pgid !== target.tgid || session === undefined) return EPERM;
      pg = this.newGroup(pgid, session);
    } else if (pg.session !== session) {
      return EPERM;
    }
    this.move(target, pg);
    return 0;
  }

  private newSession(sid: number): Session {
    const s = new Session(sid);
    this.sessions.set(sid, s);
    return s;
  }

  private newGroup(pgid: number, session: Session): ProcessGroup {
    const pg = new ProcessGroup(pgid, session);
    this.groups.set(pgid, pg);
    return pg;
  }

  private move(tg: ThreadGroup, pg: ProcessGroup): void {
    if (tg.processGroup === pg) return;
    this.leave(tg);
    pg.members.add(tg);
    tg.processGroup = pg;
  }
}
