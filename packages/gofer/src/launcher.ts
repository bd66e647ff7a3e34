/**
 * How a sandbox starts a gofer confined in one exec: through runsc-confine (native/confine), the
 * first confinement stage (confine.ts) as a small native program, so that Node starts once and
 * not twice. The exec'd gofer runs stage 2 as usual, after checking that stage 1 happened.
 *
 * This module is kept light on purpose: the process that spawns gofers (`runsc-ts do`, and later
 * `create`) imports it without loading the gofer's server.
 */
import { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID } from "@runsc-ts/abi";
import { nativeBuildDir } from "@runsc-ts/platform";

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

/** The launcher program, built by native's install script. */
export const CONFINE_LAUNCHER = `${nativeBuildDir}/confine/runsc-confine`;

/**
 * The command line that runs a gofer confined: `gofer` is the gofer's own command line (program
 * first, ending with the `gofer` command's options, `--root` equal to `root`, a directory or a
 * file); runsc-confine confines, then execs it with `--pivot-helper PID:FD` appended.
 */
export function confinedGoferCommand(root: string, readOnly: boolean, gofer: readonly string[]): string[] {
  const mask = `0x${capabilityMask(KEPT_CAPABILITIES).toString(16)}`;
  return [CONFINE_LAUNCHER, "--root", root, ...(readOnly ? ["--ro"] : []), "--keep-caps", mask, "--", ...gofer];
}
