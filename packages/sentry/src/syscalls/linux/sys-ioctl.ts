/**
 * ioctl(2): the generic requests, then the file's own (terminal requests on a host terminal).
 * The job-control requests are answered here for any terminal: the sandbox's session is the one
 * its terminal controls, and its foreground group is what tcsetpgrp last chose.
 */
import {
  EBADF,
  EFAULT,
  ENOTTY,
  EPERM,
  FIOCLEX,
  FIONBIO,
  FIONCLEX,
  O_NONBLOCK,
  TIOCGPGRP,
  TIOCGSID,
  TIOCNOTTY,
  TIOCSCTTY,
  TIOCSPGRP,
  isLinuxError,
} from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import type { FileDescription } from "../../vfs/file-description.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

function readInt(t: Task, addr: bigint): number | typeof EFAULT {
  const b = t.mm.copyIn(addr, 4);
  return isLinuxError(b) ? EFAULT : new DataView(b.buffer).getInt32(0, true);
}

function writeInt(t: Task, addr: bigint, v: number): SyscallValue {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return t.mm.copyOut(addr, b) ?? 0;
}

/** TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSCTTY, TIOCNOTTY on a terminal; undefined otherwise. */
function jobControl(t: Task, f: FileDescription, request: number, arg: bigint): SyscallValue | undefined {
  if (f.impl.terminal !== true) return undefined;
  const session = t.tg.processGroup?.session;
  if (session === undefined) return ENOTTY;
  switch (request) {
    case TIOCGPGRP:
      return writeInt(t, arg, session.foreground ?? t.tg.processGroup?.pgid ?? 0);
    case TIOCSPGRP: {
      const pgid = readInt(t, arg);
      if (isLinuxError(pgid)) return pgid;
      const pg = t.kernel.sessions.group(pgid);
      if (pg === undefined || pg.session !== session) return EPERM;
      session.foreground = pgid;
      return 0;
    }
    case TIOCGSID:
      return writeInt(t, arg, session.sid);
    case TIOCSCTTY:
    case TIOCNOTTY:
      return 0;
    default:
      return undefined;
  }
}

export function sysIoctl(t: Task, a: SyscallArgs): SyscallValue {
  const fd = a.int(0);
  const f = t.fdTable.get(fd);
  if (f === undefined) return EBADF;
  const request = a.uint(1);
  switch (request) {
    case FIOCLEX:
      return t.fdTable.setFdFlags(fd, 1) ?? 0;
    case FIONCLEX:
      return t.fdTable.setFdFlags(fd, 0) ?? 0;
    case FIONBIO: {
      const on = readInt(t, a.pointer(2));
      if (isLinuxError(on)) return on;
      f.setStatusFlags(on !== 0 ? f.statusFlags | O_NONBLOCK : f.statusFlags & ~O_NONBLOCK);
      return 0;
    }
    default:
      return jobControl(t, f, request, a.pointer(2)) ?? f.impl.ioctl?.(t.mm, request, a.pointer(2)) ?? ENOTTY;
  }
}
