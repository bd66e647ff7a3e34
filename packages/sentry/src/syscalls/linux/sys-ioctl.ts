/** ioctl(2): the generic requests; terminal requests on files that are not terminals are ENOTTY. */
import { EBADF, EFAULT, ENOTTY, FIOCLEX, FIONBIO, FIONCLEX, O_NONBLOCK, isLinuxError } from "@runsc-ts/abi";
import type { Task } from "../../kernel/task.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

export function sysIoctl(t: Task, a: SyscallArgs): SyscallValue {
  const fd = a.int(0);
  const f = t.fdTable.get(fd);
  if (f === undefined) return EBADF;
  switch (a.uint(1)) {
    case FIOCLEX:
      return t.fdTable.setFdFlags(fd, 1) ?? 0;
    case FIONCLEX:
      return t.fdTable.setFdFlags(fd, 0) ?? 0;
    case FIONBIO: {
      const b = t.mm.copyIn(a.pointer(2), 4);
      if (isLinuxError(b)) return EFAULT;
      const on = new DataView(b.buffer).getInt32(0, true) !== 0;
      f.setStatusFlags(on ? f.statusFlags | O_NONBLOCK : f.statusFlags & ~O_NONBLOCK);
      return 0;
    }
    default:
      return f.impl.ioctl?.(t.mm, a.uint(1), a.pointer(2)) ?? ENOTTY;
  }
}
