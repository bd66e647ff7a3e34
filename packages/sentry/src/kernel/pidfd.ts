/**
 * pidfds (pidfd_open(2), clone's CLONE_PIDFD): a file that names a process. It polls readable
 * once the process has exited, and pidfd_send_signal, pidfd_getfd and waitid(P_PIDFD) act on it.
 */
import { EINVAL, EPOLLIN, type LinuxError, O_NONBLOCK, O_RDWR, S_IFREG } from "@runsc-ts/abi";
import type { FileDescriptionImpl } from "../vfs/file-description.js";
import type { Task } from "./task.js";
import type { ThreadGroup } from "./thread-group.js";
import type { EventMask, WaitQueue } from "./waiter.js";

export class PidFd implements FileDescriptionImpl {
  readonly seekable = false;

  constructor(readonly tg: ThreadGroup) {}

  get waitQueue(): WaitQueue {
    return this.tg.exitEvents;
  }

  /** A pidfd cannot be read (Linux: EINVAL); it is polled. */
  read(): Promise<number | LinuxError> {
    return Promise.resolve(EINVAL);
  }

  readiness(mask: EventMask): EventMask {
    return mask & (this.tg.exited ? EPOLLIN : 0);
  }
}

/** A new pidfd for `tg` in `t`'s FD table (close-on-exec, as Linux makes them). */
export function installPidfd(t: Task, tg: ThreadGroup, nonblock: boolean): number | LinuxError {
  const f = t.kernel.anonfs.anonymous("anon_inode:[pidfd]", S_IFREG | 0o600, new PidFd(tg), O_RDWR | (nonblock ? O_NONBLOCK : 0), t.creds);
  const fd = t.fdTable.newFd(f, true);
  f.decRef();
  return fd;
}
