/**
 * Kernel-internal errno values: the one hand-typed exception to this package's rule that every
 * number comes from the headers.
 *
 * The sentry, like gVisor's, uses Linux's syscall-restart codes internally: a blocking syscall
 * interrupted by a signal returns one of these, and the signal-delivery code turns it into
 * EINTR or a restart. Linux defines them in include/linux/errno.h of the kernel source tree,
 * which is not part of the UAPI headers (they must never reach user space), so the generator
 * cannot extract them: no header installed on the build machine defines them (valgrind's
 * private copy in <valgrind/vki/vki-linux.h> has only ERESTARTSYS, and is not a kernel header).
 * The values below are those of include/linux/errno.h, unchanged since Linux 2.6.
 */
import { defineErrno } from "./linux-error.js";

/** Restart if the handler has SA_RESTART (or if there is no handler); else EINTR. */
export const ERESTARTSYS = defineErrno(512, "ERESTARTSYS", "Interrupted system call, to be restarted if SA_RESTART");
/** Always restart (transparently), whatever the handler. */
export const ERESTARTNOINTR = defineErrno(513, "ERESTARTNOINTR", "Interrupted system call, to be restarted");
/** Restart only if no handler runs; EINTR if one does. */
export const ERESTARTNOHAND = defineErrno(514, "ERESTARTNOHAND", "Interrupted system call, to be restarted if no handler");
/** Restart through restart_syscall(2) with the task's restart block (nanosleep, poll). */
export const ERESTART_RESTARTBLOCK = defineErrno(516, "ERESTART_RESTARTBLOCK", "Interrupted system call, to be restarted by restart_syscall");
