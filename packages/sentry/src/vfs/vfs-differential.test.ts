/**
 * Each VFS operation on tmpfs against the same operation done natively (node:fs) on a real
 * directory — /dev/shm (a host tmpfs) when there is one. Runs as whatever user the tests run
 * as; the sentry side uses root credentials when the host user is root, so that permission
 * outcomes agree.
 */
import * as nfs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from "@runsc-ts/abi";
import { runNative, runSentry, type Outcome, type Step, type Variant } from "./test-differential.js";

const isRoot = process.getuid?.() === 0;
let dir: string;

beforeEach(() => {
  const base = nfs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  dir = nfs.mkdtempSync(path.join(base, "runsc-ts-vfs-"));
});

afterEach(() => {
  nfs.rmSync(dir, { recursive: true, force: true });
});

/** Directory link counts are not comparable on an overlay (Linux's overlayfs differs too). */
function normalize(o: Outcome | undefined, variant: Variant): string {
  if (variant.kind === "overlay" && typeof o === "object" && !Array.isArray(o) && o.type === "dir") {
    const { nlink: _nlink, ...rest } = o;
    return JSON.stringify(rest);
  }
  return JSON.stringify(o);
}

/**
 * Runs `steps` natively and in the sentry: on tmpfs, on an overlay over an empty lower layer,
 * and (unless `upperOnly`) on an overlay with the script split at every step between the
 * lower layer and the overlay, so that every later step meets lower-layer files.
 *
 * `upperOnly` is for scripts whose native results an overlay deliberately does not
 * reproduce once files come from the lower layer, as with Linux's overlayfs: renaming a
 * directory with lower content is EXDEV, and copy-up breaks hard links between lower files.
 */
async function compare(steps: Step[], opts: { upperOnly?: boolean } = {}): Promise<void> {
  const umask = process.umask();
  const native = runNative(dir, steps);
  const variants: Variant[] = [{ kind: "tmpfs" }, { kind: "overlay", split: 0 }];
  for (const coherence of ["exclusive", "shared"] as const) variants.push({ kind: "gofer", dir: "", coherence });
  if (opts.upperOnly !== true) {
    for (let split = 1; split <= steps.length; split++) variants.push({ kind: "overlay", split });
    // The root of `runsc-ts do`: an overlay over a gofer mount (every 4th cut, for time).
    for (let split = 1; split <= steps.length; split += 4) variants.push({ kind: "overlay", split, goferDir: "" });
  }
  for (let variant of variants) {
    const fresh = (): string => nfs.mkdtempSync(path.join(dir, "..", "runsc-ts-gofer-"));
    if (variant.kind === "gofer") variant = { ...variant, dir: fresh() };
    if (variant.kind === "overlay" && variant.goferDir !== undefined) variant = { ...variant, goferDir: fresh() };
    const sentry = await runSentry(steps, umask, variant);
    const rows = steps.map((s, i) => ({ variant, step: JSON.stringify(s), native: native[i], sentry: sentry[i] }));
    const v = variant;
    const mismatches = rows.filter((r, i) => normalize(r.native, v) !== normalize(sentry[i], v));
    if (variant.kind === "gofer") nfs.rmSync(variant.dir, { recursive: true, force: true });
    if (variant.kind === "overlay" && variant.goferDir !== undefined) nfs.rmSync(variant.goferDir, { recursive: true, force: true });
    expect(mismatches).toEqual([]);
  }
}

describe.runIf(isRoot)("VFS on tmpfs vs native (as root)", () => {
  it("mkdir, rmdir and their errors", async () => {
    await compare([
      ["mkdir", "d", 0o755], ["mkdir", "d", 0o755], ["mkdir", "d/", 0o755], ["mkdir", "x/y", 0o755],
      ["mkdir", "d/e/", 0o700], ["stat", "d/e"], ["stat", "d"], ["mkdir", "d/.", 0o755], ["mkdir", "d/..", 0o755],
      ["open", "d/f", O_CREAT | O_WRONLY, 0o644], ["mkdir", "d/f/g", 0o755], ["mkdir", "d/f", 0o755],
      ["rmdir", "d"], ["rmdir", "d/f"], ["rmdir", "d/e/."], ["rmdir", "d/e/.."], ["rmdir", "d/missing"],
      ["rmdir", "d/e/"], ["stat", "d"], ["rmdir", "d/e"], ["mkdir", "d/g", 0o1777], ["stat", "d/g"],
      ["symlink", "g", "d/lg"], ["rmdir", "d/lg"], ["rmdir", "d/lg/"], ["readdir", "d"],
    ]);
  });

  it("open flags: O_CREAT, O_EXCL, O_DIRECTORY, O_TRUNC, O_NOFOLLOW, O_PATH, trailing slashes", async () => {
    await compare([
      ["mkdir", "d", 0o755],
      ["open", "d/f", O_CREAT | O_WRONLY, 0o640], ["stat", "d/f"], ["open", "d/f", O_CREAT | O_EXCL | O_WRONLY, 0o644],
      ["open", "missing", O_RDONLY], ["open", "d/f/", O_RDONLY], ["open", "d/f/", O_CREAT | O_RDWR], ["open", "d/", O_CREAT | O_RDWR],
      ["open", "d/new/", O_CREAT | O_RDWR], ["open", "d", O_WRONLY], ["open", "d", O_RDWR], ["open", "d", O_RDONLY | O_TRUNC],
      ["open", "d", O_RDONLY | O_DIRECTORY], ["open", "d/f", O_RDONLY | O_DIRECTORY], ["open", "d/", O_RDONLY],
      ["write", "d/f", "hello world"], ["open", "d/f", O_RDONLY | O_TRUNC], ["read", "d/f"],
      ["write", "d/f", "abc"], ["open", "d/f", O_WRONLY | O_TRUNC], ["stat", "d/f"],
      ["symlink", "f", "d/l"], ["open", "d/l", O_RDONLY], ["open", "d/l", O_RDONLY | O_NOFOLLOW], ["open", "d/l", O_PATH | O_NOFOLLOW],
      ["open", "d/l/", O_RDONLY | O_NOFOLLOW], ["open", "d/l", O_CREAT | O_EXCL | O_WRONLY], ["open", "d/l", O_CREAT | O_WRONLY | O_NOFOLLOW],
      ["symlink", "nowhere", "d/dangling"], ["open", "d/dangling", O_RDONLY], ["open", "d/dangling", O_CREAT | O_WRONLY, 0o600],
      ["lstat", "d/nowhere"], ["symlink", "sub/new", "d/dangling2"], ["open", "d/dangling2", O_CREAT | O_WRONLY],
      ["symlink", "d", "ld"], ["open", "ld/", O_RDONLY | O_NOFOLLOW], ["open", "ld", O_RDONLY | O_NOFOLLOW | O_DIRECTORY],
      ["open", "d/./f/../f", O_RDONLY], ["open", "d//f", O_RDONLY], ["open", "d/f/..", O_RDONLY],
    ]);
  });

  it("read, write, pwrite with holes, O_APPEND, truncate", async () => {
    await compare([
      ["open", "f", O_CREAT | O_WRONLY, 0o644], ["write", "f", "0123456789"], ["read", "f"], ["read", "f", 4, 3], ["read", "f", 100],
      ["pwrite", "f", 20, "xyz"], ["read", "f"], ["stat", "f"], ["write", "f", "AB", O_APPEND], ["read", "f"],
      ["truncate", "f", 5], ["read", "f"], ["truncate", "f", 9000], ["stat", "f"], ["read", "f", 8990, 20],
      ["pwrite", "f", 70000, "end"], ["stat", "f"], ["read", "f", 69998, 10], ["truncate", "f", 0], ["read", "f"],
      ["mkdir", "d", 0o755], ["truncate", "d", 0], ["truncate", "missing", 0], ["write", "d", "x"],
    ]);
  });

  it("symlinks: readlink, lstat, chains, loops and the 40-link limit", async () => {
    const chain: Step[] = [["open", "target", O_CREAT | O_WRONLY, 0o644]];
    chain.push(["symlink", "target", "l0"]);
    for (let i = 1; i <= 41; i++) chain.push(["symlink", `l${i - 1}`, `l${i}`]);
    await compare([
      ...chain, ["stat", "l39"], ["stat", "l40"], ["stat", "l41"], ["lstat", "l41"], ["readlink", "l41"],
      ["symlink", "loop2", "loop1"], ["symlink", "loop1", "loop2"], ["stat", "loop1"], ["open", "loop1", O_RDONLY],
      ["open", "loop1", O_CREAT | O_WRONLY], ["lstat", "loop1"], ["readlink", "target"], ["readlink", "missing"],
      ["symlink", "target", "target"], ["symlink", "x", "nodir/y"], ["symlink", "x", "new/"],
      ["mkdir", "dir", 0o755], ["symlink", "dir", "ldir"], ["symlink", "target", "lfile"], ["stat", "lfile/"], ["lstat", "ldir/"],
      ["stat", "ldir/."], ["readdir", "ldir"], ["symlink", "../target", "dir/up"], ["read", "dir/up"], ["stat", "ldir/up"],
    ]);
  });

  it("unlink, link and nlink", async () => {
    await compare([
      ["mkdir", "d", 0o755], ["open", "d/f", O_CREAT | O_WRONLY, 0o644], ["write", "d/f", "data"],
      ["link", "d/f", "d/h"], ["stat", "d/f"], ["link", "d/f", "d/h"], ["link", "d/missing", "d/z"], ["link", "d", "d2"],
      ["link", "d/f/", "d/z"], ["link", "d/f", "d/z/"], ["read", "d/h"], ["unlink", "d/f"], ["stat", "d/h"], ["read", "d/h"],
      ["unlink", "d/f"], ["unlink", "d"], ["unlink", "d/"], ["unlink", "d/h/"], ["unlink", "d/."], ["unlink", "d/h"], ["readdir", "d"],
      ["symlink", "gone", "d/dl"], ["link", "d/dl", "d/dl2"], ["lstat", "d/dl2"], ["unlink", "d/dl"], ["lstat", "d/dl2"],
    ], { upperOnly: true });
  });

  it("rename: files, directories, replacement, ancestors and trailing slashes", async () => {
    await compare([
      ["mkdir", "d", 0o755], ["mkdir", "d/sub", 0o755], ["mkdir", "d/empty", 0o755], ["open", "d/f", O_CREAT | O_WRONLY, 0o644],
      ["open", "d/g", O_CREAT | O_WRONLY, 0o600], ["write", "d/f", "F"],
      ["rename", "d/f", "d/f2"], ["stat", "d/f"], ["read", "d/f2"], ["rename", "d/f2", "d/g"], ["read", "d/g"], ["stat", "d/g"],
      ["rename", "d/g", "d/sub"], ["rename", "d/sub", "d/g"], ["rename", "d", "d/sub/x"], ["rename", "d/sub", "d/sub/x"],
      ["rename", "d/sub", "d/sub"], ["rename", "d/g", "d/g"], ["rename", "d/g/", "d/h"], ["rename", "d/g", "d/h/"],
      ["rename", "d/empty", "d/sub"], ["stat", "d/sub"], ["stat", "d"], ["rename", "d/sub", "d/moved/"], ["readdir", "d"],
      ["open", "d/moved/inner", O_CREAT | O_WRONLY], ["mkdir", "d/other", 0o755], ["rename", "d/other", "d/moved"],
      ["rename", "d/moved", "."], ["rename", "d/.", "d/x"], ["rename", "d/missing", "d/x"], ["rename", "d/g", "nodir/x"],
      ["mkdir", "e", 0o755], ["rename", "d/moved", "e/m"], ["stat", "d"], ["stat", "e"], ["readdir", "e/m"],
      ["link", "d/g", "d/g2"], ["rename", "d/g", "d/g2"], ["readdir", "d"], ["rename", "e/m", "d/moved/.."],
    ], { upperOnly: true });
  });

  it("rename of files on every layer split", async () => {
    await compare([
      ["mkdir", "d", 0o755], ["mkdir", "e", 0o755], ["open", "d/f", O_CREAT | O_WRONLY, 0o640], ["write", "d/f", "F"],
      ["open", "d/g", O_CREAT | O_WRONLY, 0o600], ["symlink", "f", "d/l"],
      ["rename", "d/f", "e/f"], ["read", "e/f"], ["stat", "d/f"], ["rename", "e/f", "d/g"], ["read", "d/g"], ["stat", "d/g"],
      ["readdir", "d"], ["readdir", "e"], ["rename", "d/l", "e/l"], ["readlink", "e/l"], ["rename", "d/g", "d"],
      ["rename", "d/g", "e"], ["rename", "e", "d/g"], ["open", "d/f", O_CREAT | O_WRONLY, 0o644], ["readdir", "d"],
    ]);
  });

  it("chmod, chown, utimes, access", async () => {
    await compare([
      ["open", "f", O_CREAT | O_WRONLY, 0o644], ["chmod", "f", 0o4755], ["stat", "f"], ["chmod", "f", 0o17777], ["stat", "f"],
      ["chown", "f", 1000, 1000], ["stat", "f"], ["chmod", "f", 0o6775], ["chown", "f", 1000, 2000], ["stat", "f"],
      ["chmod", "f", 0o6745], ["chown", "f", 1000, 2000], ["stat", "f"],
      ["utimes", "f", 1000, 2000], ["chmod", "missing", 0o600], ["access", "f", 0], ["access", "f", 7], ["access", "missing", 0],
      ["chmod", "f", 0o644], ["access", "f", 1], ["access", "f", 6], ["mkdir", "d", 0o000], ["access", "d", 7], ["open", "d/x", O_CREAT | O_WRONLY],
      ["symlink", "f", "l"], ["chmod", "l", 0o600], ["stat", "f"], ["lstat", "l"],
    ]);
  });

  it("name and path length limits", async () => {
    const n255 = "a".repeat(255);
    const n256 = "b".repeat(256);
    const longPath = Array.from({ length: 1100 }, () => "abc").join("/"); // 4399 bytes
    const okDeep = Array.from({ length: 1023 }, () => "a").join("/"); // 2045 bytes, not created
    await compare([
      ["open", n255, O_CREAT | O_WRONLY], ["stat", n255], ["open", n256, O_CREAT | O_WRONLY], ["mkdir", n256, 0o755],
      ["stat", n256], ["stat", `${n256}/x`], ["stat", longPath], ["mkdir", longPath, 0o755], ["stat", okDeep], ["symlink", n256, "s"],
      ["readlink", "s"], ["stat", "s"],
    ]);
  });
});
