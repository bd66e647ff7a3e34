// Dentry eviction against a real, confined `runsc-ts gofer`: the sentry walks far more files
// than the gofer may hold open (RLIMIT_NOFILE is 20,000 on our machines) without EMFILE, the
// gofer's descriptor count (/proc/<gofer>/fd) stays bounded by the dentry cache, and files
// give the same answers after their dentries were evicted.
import * as fs from "node:fs";
import * as path from "node:path";
import { AT_FDCWD, O_CREAT, O_RDONLY, O_WRONLY, isLinuxError } from "@runsc-ts/abi";
import { Credentials, DEFAULT_MAX_CACHED_DENTRIES, FdTable, GoferFilesystem, VirtualFilesystem, type VfsContext } from "@runsc-ts/sentry";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type GoferProcess, fdCount, spawnGofer, tempDir } from "../gofer/harness.js";

const DIRS = 25;
const PER_DIR = 1000; // 25,000 files: more than the gofer's RLIMIT_NOFILE
let root: string;
let g: GoferProcess;
let goferFs: GoferFilesystem;
let ctx: VfsContext;
let vfs: VirtualFilesystem;

beforeAll(async () => {
  root = tempDir("gofer-evict-");
  for (let d = 0; d < DIRS; d++) {
    fs.mkdirSync(path.join(root, `d${d}`));
    for (let i = 0; i < PER_DIR; i++) fs.writeFileSync(path.join(root, `d${d}`, `f${i}`), `${d}/${i}`);
  }
  g = spawnGofer(root);
  const mounted = await GoferFilesystem.mount(g.gofer);
  if (!(mounted instanceof GoferFilesystem)) throw new Error(`mount failed: ${mounted.name}`);
  goferFs = mounted;
  vfs = new VirtualFilesystem();
  const r = vfs.newMountNamespace(mounted).rootVd();
  ctx = { creds: Credentials.root(), root: r, cwd: r, fdTable: new FdTable(), umask: 0o022 };
}, 120_000);

afterAll(async () => {
  const exit = await g?.stop();
  expect(exit?.code).toBe(0);
  fs.rmSync(root, { recursive: true, force: true });
});

it("walks 25,000 files through a real gofer without EMFILE, with a bounded number of gofer FDs", async () => {
  const base = fdCount(g.pid);
  let peak = base;
  const inos: number[] = [];
  for (let d = 0; d < DIRS; d++) {
    for (let i = 0; i < PER_DIR; i++) {
      const s = await vfs.statAt(ctx, AT_FDCWD, `/d${d}/f${i}`, 0);
      if (isLinuxError(s)) throw new Error(`stat /d${d}/f${i}: ${s.name}`);
      inos.push(s.ino);
    }
    peak = Math.max(peak, fdCount(g.pid));
  }
  // The cached leaves, their directories and the root; nothing proportional to the walk.
  expect(peak - base).toBeLessThanOrEqual(DEFAULT_MAX_CACHED_DENTRIES + DIRS + 2);
  expect(goferFs.dentryCache.evictions).toBeGreaterThanOrEqual(DIRS * PER_DIR - DEFAULT_MAX_CACHED_DENTRIES);
  // The same inode numbers as the host, before and after eviction.
  for (let d = 0; d < DIRS; d += 6) {
    for (let i = 0; i < PER_DIR; i += 97) {
      const host = fs.statSync(path.join(root, `d${d}`, `f${i}`));
      expect(inos[d * PER_DIR + i]).toBe(host.ino);
      const again = await vfs.statAt(ctx, AT_FDCWD, `/d${d}/f${i}`, 0);
      if (isLinuxError(again)) throw new Error(again.name);
      expect(again.ino).toBe(host.ino);
      expect(again.size).toBe(host.size);
    }
  }
  // Opening and reading an evicted file.
  const f = await vfs.openAt(ctx, AT_FDCWD, "/d0/f5", O_RDONLY);
  if (isLinuxError(f)) throw new Error(f.name);
  const buf = new Uint8Array(16);
  const n = await f.read(buf);
  expect(Buffer.from(buf.subarray(0, typeof n === "number" ? n : 0)).toString()).toBe("0/5");
  f.decRef();
}, 300_000);

it("creates and writes 21,000 files on one mount without EMFILE", async () => {
  fs.mkdirSync(path.join(root, "new"));
  const data = Buffer.from("x");
  const base = fdCount(g.pid);
  let peak = base;
  for (let i = 0; i < 21_000; i++) {
    const f = await vfs.openAt(ctx, AT_FDCWD, `/new/n${i}`, O_WRONLY | O_CREAT, 0o644);
    if (isLinuxError(f)) throw new Error(`create /new/n${i}: ${f.name}`);
    const w = await f.write(data);
    if (w !== 1) throw new Error(`write /new/n${i}`);
    f.decRef();
    if (i % 1000 === 0) peak = Math.max(peak, fdCount(g.pid));
  }
  expect(peak - base).toBeLessThanOrEqual(DEFAULT_MAX_CACHED_DENTRIES + 2);
  expect(fs.readdirSync(path.join(root, "new")).length).toBe(21_000);
}, 300_000);
