/**
 * Confinement of the gofer process before it serves anything: after `confine()` the serving
 * thread sees only its mount root, holds only the capabilities a root-owned file server needs,
 * and can never gain privileges again.
 *
 * Steps (each a thin native call; any failure is fatal, see ConfinementError):
 *
 *  1. `unshare(CLONE_NEWNS)`: a mount namespace of its own.
 *  2. `mount("/", MS_REC | MS_PRIVATE)`: nothing it does to mounts propagates to the host, and
 *     nothing the host mounts later appears here.
 *  3. Bind-mount the root onto itself (pivot_root needs a mount point); with `--ro` remount that
 *     bind read-only, so the kernel too refuses writes (EROFS) should the gofer's own checks
 *     ever miss one.
 *  4. `pivot_root(".", ".")` from inside the root, then detach the old root (`umount2(".",
 *     MNT_DETACH)`): the host's file system is no longer reachable by any path, and `..` at
 *     "/" is "/". Where pivot_root is refused (a root on the initramfs), `chroot(".")`.
 *  5. Capabilities: drop every capability but {@link KEPT_CAPABILITIES} from the bounding set,
 *     clear the ambient set, and set effective = permitted = kept, inheritable = none.
 *  6. `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
 *  7. {@link installSeccompFilter}: the hook for the syscall allowlist (not written yet).
 *
 * Threads. Linux applies every one of these steps to the calling thread only: the mount
 * namespace is per task, the root lives in the thread's fs_struct (which `unshare(CLONE_NEWNS)`
 * un-shares), capabilities and no_new_privs in its credentials. Node's helper threads (the libuv pool, V8's
 * workers) keep the host view. The gofer is built so that this does not matter for what the
 * sentry can reach: every file operation is a synchronous native call on the main thread, which
 * is the confined one, and the gofer never uses Node's asynchronous fs (the only thing that
 * would resolve paths on the pool). The seccomp step must use SECCOMP_FILTER_FLAG_TSYNC so that
 * it covers all threads. Making the whole process confined needs the runtime to start the gofer
 * already inside its namespace; a signal broadcast cannot reach Node's inspector thread, which
 * blocks every signal. See the README.
 */
import { resolve as resolvePath } from "node:path";
import {
  CAP_CHOWN,
  CAP_DAC_OVERRIDE,
  CAP_DAC_READ_SEARCH,
  CAP_FOWNER,
  CAP_FSETID,
  CAP_LAST_CAP,
  CLONE_NEWNS,
  EINVAL,
  MNT_DETACH,
  MS_BIND,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
  PR_CAPBSET_DROP,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_CLEAR_ALL,
  PR_SET_NO_NEW_PRIVS,
} from "@runsc-ts/abi";
import { native } from "@runsc-ts/platform";
import { errnoOfThrown } from "./errno.js";

/** The logger the gofer writes to (a pino logger fits). */
export interface GoferLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The capabilities a root-owned gofer keeps, and why:
 *  - CAP_CHOWN: give created files the owner the sentry asks for (fchownat), and setStat's owner;
 *  - CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: the sentry is the permission authority, so the
 *    gofer must reach every file of the mount whatever its mode; DAC_READ_SEARCH also allows
 *    linkat(AT_EMPTY_PATH), which linkAt uses;
 *  - CAP_FOWNER: chmod, utimens and xattrs on files owned by others; O_NOATIME;
 *  - CAP_FSETID: keep set-group-ID bits when setting modes of files whose group the gofer is
 *    not in.
 * gVisor's gofer also keeps CAP_MKNOD; this one never creates device nodes (mknodAt refuses
 * them), so it drops it. CAP_SYS_CHROOT and CAP_SYS_ADMIN are gone, so the root cannot be
 * changed or left again.
 */
export const KEPT_CAPABILITIES: readonly number[] = [CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID];

/** A bigint mask of capability numbers. */
export function capabilityMask(caps: readonly number[]): bigint {
  return caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);
}

/** Confinement failed at `step`: the gofer must not serve. */
export class ConfinementError extends Error {
  constructor(
    readonly step: string,
    options: { cause: unknown },
  ) {
    super(`cannot confine the gofer (${step}): ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
  }
}

export interface ConfineOptions {
  /** Absolute host path of the mount root. */
  readonly root: string;
  readonly readOnly: boolean;
  readonly log: GoferLogger;
}

function step(name: string, run: () => void): void {
  try {
    run();
  } catch (e) {
    throw new ConfinementError(name, { cause: e });
  }
}

/**
 * Confines the calling thread to `root` (see the file comment). Afterwards the root is "/" and
 * the current directory is "/". Throws ConfinementError; a half-confined process must exit.
 */
export function confine(opts: ConfineOptions): void {
  const { root, readOnly, log } = opts;
  step("unshare(CLONE_NEWNS)", () => native.unshare(CLONE_NEWNS));
  step("make mounts private", () => native.mount(null, "/", null, MS_REC | MS_PRIVATE, null));
  // pivot_root needs the new root to be a mount point we can stand in. A bind mount of a
  // directory onto itself is one; but the host's "/" bound onto "/" stacks over the process's
  // root, which path lookup never crosses into, so serving "/" (runsc-ts do) binds it onto a
  // directory that always exists instead: /proc, in this private mount namespace.
  const staging = resolvePath(root) === "/" ? "/proc" : root;
  step("bind-mount the root", () => native.mount(root, staging, null, MS_BIND | MS_REC, null));
  if (readOnly) {
    step("remount the root read-only", () => native.mount(null, staging, null, MS_REMOUNT | MS_BIND | MS_RDONLY, null));
  }
  step("chdir to the root", () => native.chdir(staging));
  let pivoted = true;
  try {
    native.pivotRoot(".", ".");
  } catch (e) {
    if (errnoOfThrown(e) !== EINVAL.errno) throw new ConfinementError("pivot_root", { cause: e });
    pivoted = false;
  }
  if (pivoted) {
    step("detach the old root", () => native.umount2(".", MNT_DETACH));
  } else {
    log.warn({ root }, "pivot_root refused; falling back to chroot");
    step("chroot", () => native.chroot("."));
  }
  step("chdir to /", () => native.chdir("/"));
  step("drop capabilities", dropCapabilities);
  step("no_new_privs", () => native.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  installSeccompFilter(log);
  log.info({ root, readOnly, pivoted, capabilities: KEPT_CAPABILITIES }, "gofer confined");
}

/** Bounding set, ambient set, then the thread's own sets: only KEPT_CAPABILITIES survive. */
function dropCapabilities(): void {
  const kept = new Set(KEPT_CAPABILITIES);
  // Beyond CAP_LAST_CAP of the headers, a newer kernel may know more: drop until it says EINVAL.
  for (let cap = 0; cap < 64; cap++) {
    if (kept.has(cap)) continue;
    try {
      native.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    } catch (e) {
      if (errnoOfThrown(e) === EINVAL.errno && cap > CAP_LAST_CAP) break;
      throw e;
    }
  }
  native.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  const mask = capabilityMask(KEPT_CAPABILITIES) & native.capget().permitted;
  native.capset(mask, mask, 0n);
}

/**
 * The seccomp allowlist of host syscalls the gofer may make, installed with
 * SECCOMP_FILTER_FLAG_TSYNC so it binds every thread. Not written yet: a later issue fills it
 * in (the list is the native calls in native/src/fs*.cc plus what Node's event loop needs).
 */
export function installSeccompFilter(log: GoferLogger): void {
  log.debug({}, "seccomp allowlist not installed yet (not implemented)");
}
