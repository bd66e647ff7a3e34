/**
 * Confinement of the gofer process before it serves anything: afterwards every thread of the
 * process sees only the mount root, holds only the capabilities a root-owned file server needs,
 * can never gain privileges again, and runs under the seccomp allowlist (seccomp-policy.ts).
 *
 * Why two stages. Linux applies namespaces, root changes, capabilities and no_new_privs to the
 * calling thread only, and Node starts helper threads (V8's platform workers, the inspector's
 * signal thread, later the libuv pool) before any JavaScript runs; the signal thread blocks
 * every signal, so no broadcast can make it change its own credentials. What every thread must
 * have is therefore set up before Node is exec'd — threads inherit it at creation — and the one
 * step that needs Node already loaded, taking the host's file system away, is done by a helper
 * process: pivot_root(2) moves the root and working directory of every task whose root or cwd
 * was the old root, so it moves all of the gofer's threads at once (they also share one
 * fs_struct). The gofer itself never needs a capability beyond the five it keeps.
 *
 * Stage 1, `confineAndExec` (the process as started, on its main thread; the exec ends every
 * other thread and the exec'd image starts from the main thread's state). A sandbox starting a
 * gofer runs the same steps in runsc-confine instead (launcher.ts), which saves a start of Node:
 *  1. `unshare(CLONE_NEWNS)`: a mount namespace of its own;
 *  2. `mount("/", MS_REC | MS_PRIVATE)`: nothing it does to mounts propagates to the host, and
 *     nothing the host mounts later appears here;
 *  3. `chdir("/")`, so the pivot below moves the cwd too;
 *  4. fork the pivot helper (native forkPivotHelper: single-threaded, still privileged, in the
 *     new namespace), which waits on a socket;
 *  5. capabilities: drop every capability but {@link KEPT_CAPABILITIES} from the bounding set,
 *     clear the ambient set, effective = permitted = kept, inheritable = none;
 *  6. `prctl(PR_SET_NO_NEW_PRIVS, 1)`;
 *  7. execve Node again with the same arguments plus `--pivot-helper PID:FD`. A root process's
 *     permitted set after exec is bounded by the bounding set (and by its old permitted set
 *     under no_new_privs), so the new image and every thread it starts hold only the kept set.
 *
 * Stage 2, `finishConfinement` (the exec'd gofer, after importing every module it will use):
 *  8. check that stage 1 happened (no_new_privs, the kept capabilities, CAP_SYS_ADMIN gone from
 *     the bounding set): `--pivot-helper` cannot be used to skip it;
 *  9. tell the helper to go: it bind-mounts the root (for a root of "/" onto /proc instead,
 *     because a mount stacked on the process's own root is never crossed by path lookup),
 *     remounts the bind read-only with `--ro`, `pivot_root(".", ".")`s into it and detaches the
 *     old root; then reap it and fail if any step failed (there is no chroot fallback: a root
 *     on the initramfs, where pivot_root is refused, is not supported). A root that is a file
 *     (a file bind mount) is bound onto the one entry, {@link FILE_ROOT_NAME}, of a read-only
 *     tmpfs, and the tmpfs becomes "/";
 * 10. the seccomp allowlist with SECCOMP_FILTER_FLAG_TSYNC, which binds every thread.
 *
 * Any failure is fatal (ConfinementError): a half-confined gofer must not serve.
 */
import {
  CAP_LAST_CAP,
  CAP_SYS_ADMIN,
  CLONE_NEWNS,
  EINVAL,
  MS_PRIVATE,
  MS_REC,
  PR_CAPBSET_DROP,
  PR_CAPBSET_READ,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_CLEAR_ALL,
  PR_GET_NO_NEW_PRIVS,
  PR_SET_NO_NEW_PRIVS,
  SECCOMP_FILTER_FLAG_TSYNC,
} from "@runsc-ts/abi";
import { readSync, writeSync } from "node:fs";
import { compileSeccompPolicy, native, systemErrorFromErrno } from "@runsc-ts/platform";
import { goferSeccompPolicy } from "./seccomp-policy.js";
import { errnoOfThrown } from "./errno.js";
import { KEPT_CAPABILITIES, capabilityMask } from "./launcher.js";

/** The logger the gofer writes to (a pino logger fits). */
export interface GoferLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
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

/** The helper's answer: the step that failed (see native forkPivotHelper), 0 for none. */
const PIVOT_STEPS = [
  "",
  "bind-mount the root",
  "remount the root read-only",
  "chdir to the root",
  "pivot_root",
  "detach the old root",
  "chdir to /",
  "stat the root",
  "make the file root's wrapper",
];
/** The helper's answer's size: three int32s (step, errno, file root). */
const ANSWER_BYTES = 12;

/** The one entry of "/" after confinement when the mount root is a file (native/src/pivot.h). */
export const FILE_ROOT_NAME = "file";

export interface ConfineAndExecOptions extends ConfineOptions {
  /** The program to exec (process.execPath). */
  readonly execPath: string;
  /** Its argv, given the value for `--pivot-helper` ("PID:FD"). */
  readonly argv: (pivotHelper: string) => readonly string[];
  readonly env: readonly string[];
  /** Descriptors the exec'd process needs (their close-on-exec flag is cleared). */
  readonly keepFds: readonly number[];
}

/**
 * Stage 1 (see the file comment): confines what threads inherit and execs the gofer again.
 * Returns only by throwing ConfinementError.
 *
 * Preconditions: the process is a gofer that has served nothing yet.
 */
export function confineAndExec(opts: ConfineAndExecOptions): never {
  const { root, readOnly, log } = opts;
  step("unshare(CLONE_NEWNS)", () => native.unshare(CLONE_NEWNS));
  step("make mounts private", () => native.mount(null, "/", null, MS_REC | MS_PRIVATE, null));
  step("chdir to /", () => native.chdir("/"));
  const { SOCK_STREAM } = native.constants;
  let ours = -1;
  let pid = -1;
  step("start the pivot helper", () => {
    const [a, b] = native.socketpair(SOCK_STREAM);
    ours = a;
    try {
      pid = native.forkPivotHelper(b, root, readOnly);
    } finally {
      native.close(b);
    }
  });
  step("drop capabilities", dropCapabilities);
  step("no_new_privs", () => native.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  for (const fd of opts.keepFds) step("keep descriptors across exec", () => native.setCloexec(fd, false));
  log.debug({ root, readOnly, helper: pid }, "gofer confined for exec; exec'ing the serving stage");
  step("execve", () => native.execve(opts.execPath, opts.argv(`${pid}:${ours}`), opts.env));
  throw new ConfinementError("execve", { cause: new Error("execve returned") });
}

/** Parses `--pivot-helper PID:FD`. */
export function parsePivotHelper(value: string): { pid: number; fd: number } | undefined {
  const m = /^([1-9][0-9]{0,9}):([0-9]{1,9})$/.exec(value);
  if (m === null) return undefined;
  return { pid: Number(m[1]), fd: Number(m[2]) };
}

/**
 * Stage 2 (see the file comment): has the helper take the host's file system away from every
 * thread, then installs the seccomp allowlist. Afterwards "/" is the mount root, or, when the
 * result says `fileRoot`, the directory holding it as {@link FILE_ROOT_NAME}.
 *
 * Preconditions: every module the gofer will use is loaded (nothing outside the root is
 * reachable afterwards).
 */
export function finishConfinement(opts: ConfineOptions & { readonly helper: { pid: number; fd: number } }): { fileRoot: boolean } {
  const { root, readOnly, log, helper } = opts;
  step("check stage 1", () => {
    const kept = capabilityMask(KEPT_CAPABILITIES);
    const caps = native.capget();
    if (native.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) !== 1 || caps.permitted !== (caps.permitted & kept) || native.prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) !== 0) {
      throw new Error("--pivot-helper given to a gofer that was not confined before exec (it is internal)");
    }
  });
  let answer = Buffer.alloc(0);
  step("run the pivot helper", () => {
    try {
      writeSync(helper.fd, Buffer.from([1]));
      const buf = Buffer.alloc(ANSWER_BYTES);
      let have = 0;
      while (have < ANSWER_BYTES) {
        const n = readSync(helper.fd, buf, have, ANSWER_BYTES - have, null);
        if (n === 0) break;
        have += n;
      }
      answer = buf.subarray(0, have);
    } finally {
      native.close(helper.fd);
      const exit = native.waitpid(helper.pid);
      if (answer.length === ANSWER_BYTES && exit.code !== 0) answer = Buffer.alloc(0);
    }
  });
  if (answer.length !== ANSWER_BYTES) throw new ConfinementError("pivot helper", { cause: new Error("the helper died without answering") });
  const failed = answer.readInt32LE(0);
  if (failed !== 0) {
    throw new ConfinementError(PIVOT_STEPS[failed] ?? `pivot helper step ${failed}`, { cause: systemErrorFromErrno(-answer.readInt32LE(4), PIVOT_STEPS[failed] ?? "pivot") });
  }
  step("chdir to /", () => native.chdir("/"));
  step("seccomp", () => installSeccompFilter(log));
  const fileRoot = answer.readInt32LE(8) === 1;
  log.info({ root, readOnly, fileRoot, capabilities: KEPT_CAPABILITIES }, "gofer confined");
  return { fileRoot };
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
 * Installs the seccomp allowlist of host system calls the gofer may make (seccomp-policy.ts)
 * with SECCOMP_FILTER_FLAG_TSYNC, so that it binds every thread of the process.
 *
 * Preconditions: no_new_privs is set (stage 1 did it).
 */
export function installSeccompFilter(log: GoferLogger): void {
  const program = compileSeccompPolicy(goferSeccompPolicy(process.pid));
  const r = native.seccompSetFilter(program, SECCOMP_FILTER_FLAG_TSYNC);
  if (r !== 0) throw new Error(`thread ${r} could not be synchronised to the seccomp filter`);
  log.debug({ instructions: program.length / 8 }, "seccomp allowlist installed on every thread");
}
