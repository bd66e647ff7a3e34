// The sentry's VFS over a real, confined `runsc-ts gofer --ro` process: path resolution,
// symlinks, stat, reads through donated FDs and directory listings, compared with the same
// operations done natively on the same tree.
import * as fs from "node:fs";
import * as path from "node:path";
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, EISDIR, ELOOP, ENOENT, ENOTDIR, EROFS, O_DIRECTORY, O_NOFOLLOW, O_RDONLY, O_WRONLY, S_IFMT } from "@runsc-ts/abi";
import { Credentials, FdTable, GoferFilesystem, VirtualFilesystem, parseDirents64, type VfsContext } from "@runsc-ts/sentry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GoferProcess, spawnGofer, tempDir } from "../gofer/harness.js";

let root: string;
let g: GoferProcess;
let ctx: VfsContext;
let vfs: VirtualFilesystem;

const BIN_NAME = Buffer.from([0x66, 0xff, 0x2e, 0x62, 0x69, 0x6e]); // "f\xff.bin": not UTF-8

beforeAll(async () => {
  root = tempDir("gofer-fs-");
  fs.mkdirSync(path.join(root, "etc"));
  fs.writeFileSync(path.join(root, "etc/os-release"), 'PRETTY_NAME="runsc-ts test"\nID=test\n');
  fs.mkdirSync(path.join(root, "usr/bin"), { recursive: true });
  fs.writeFileSync(path.join(root, "usr/bin/tool"), "#!/bin/sh\necho tool\n", { mode: 0o755 });
  fs.symlinkSync("usr/bin", path.join(root, "bin"));
  fs.symlinkSync("/etc/os-release", path.join(root, "abs-link"));
  fs.symlinkSync("loop-b", path.join(root, "loop-a"));
  fs.symlinkSync("loop-a", path.join(root, "loop-b"));
  fs.mkdirSync(path.join(root, "many"));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, "many", `file-${String(i).padStart(3, "0")}`), String(i));
  fs.writeFileSync(Buffer.concat([Buffer.from(root + "/"), BIN_NAME]), "binary name");
  fs.writeFileSync(path.join(root, "big"), Buffer.alloc(1 << 20, 7));

  g = spawnGofer(root, { readOnly: true });
  const mounted = await GoferFilesystem.mount(g.gofer);
  if (!(mounted instanceof GoferFilesystem)) throw new Error(`mount failed: ${mounted.name}`);
  vfs = new VirtualFilesystem();
  const ns = vfs.newMountNamespace(mounted);
  const r = ns.rootVd();
  ctx = { creds: Credentials.root(), root: r, cwd: r, fdTable: new FdTable(), umask: 0o022 };
});

afterAll(async () => {
  await g?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

async function readAll(p: string): Promise<Buffer> {
  const f = await vfs.openAt(ctx, AT_FDCWD, p, O_RDONLY);
  if (!("read" in f)) throw new Error(`open ${p}: ${f.name}`);
  const chunks: Buffer[] = [];
  for (;;) {
    const buf = new Uint8Array(65536);
    const n = await f.read(buf);
    if (typeof n !== "number") throw new Error(`read ${p}: ${n.name}`);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  f.decRef();
  return Buffer.concat(chunks);
}

describe("the VFS over a gofer", () => {
  it("reads a file through the donated FD, byte for byte", async () => {
    expect((await readAll("/etc/os-release")).toString()).toBe(fs.readFileSync(path.join(root, "etc/os-release"), "utf8"));
    expect((await readAll("/big")).equals(fs.readFileSync(path.join(root, "big")))).toBe(true);
  });

  it("follows relative and absolute symlinks inside the mount", async () => {
    expect((await readAll("/bin/tool")).toString()).toBe("#!/bin/sh\necho tool\n");
    expect((await readAll("/abs-link")).toString()).toContain("runsc-ts test");
    expect(await vfs.readlinkAt(ctx, AT_FDCWD, "/bin")).toBe("usr/bin");
  });

  it("stats like the host does (mode, size, nlink, owner, times)", async () => {
    for (const p of ["/etc/os-release", "/usr/bin/tool", "/usr/bin", "/many"]) {
      const s = await vfs.statAt(ctx, AT_FDCWD, p);
      if (!("mode" in s)) throw new Error(`stat ${p}: ${s.name}`);
      const h = fs.statSync(path.join(root, p));
      expect({ mode: s.mode, size: s.size, nlink: s.nlink, uid: s.uid, gid: s.gid, mtime: s.mtime.sec, ino: s.ino }).toEqual({
        mode: h.mode,
        size: h.size,
        nlink: h.nlink,
        uid: h.uid,
        gid: h.gid,
        mtime: Math.floor(h.mtimeMs / 1000),
        ino: h.ino,
      });
    }
    const l = await vfs.statAt(ctx, AT_FDCWD, "/bin", AT_SYMLINK_NOFOLLOW);
    if (!("mode" in l)) throw new Error(l.name);
    expect(l.mode & S_IFMT).toBe(fs.lstatSync(path.join(root, "bin")).mode & S_IFMT);
  });

  it("lists a directory of 300 entries exactly as the host does", async () => {
    const d = await vfs.openAt(ctx, AT_FDCWD, "/many", O_RDONLY | O_DIRECTORY);
    if (!("getdents64" in d)) throw new Error(d.name);
    const names: string[] = [];
    for (;;) {
      const b = await d.getdents64(4096);
      if (!(b instanceof Uint8Array)) throw new Error(b.name);
      if (b.length === 0) break;
      for (const e of parseDirents64(b)) names.push(e.name);
    }
    d.decRef();
    expect(names.filter((n) => n !== "." && n !== "..").sort()).toEqual(fs.readdirSync(path.join(root, "many")).sort());
  });

  it("keeps non-UTF-8 names exact (names are byte strings)", async () => {
    const name = "/" + BIN_NAME.toString("latin1");
    expect((await readAll(name)).toString()).toBe("binary name");
  });

  it("answers errors as Linux does", async () => {
    expect(await vfs.openAt(ctx, AT_FDCWD, "/nope", O_RDONLY)).toBe(ENOENT);
    expect(await vfs.openAt(ctx, AT_FDCWD, "/etc/os-release/x", O_RDONLY)).toBe(ENOTDIR);
    expect(await vfs.openAt(ctx, AT_FDCWD, "/loop-a", O_RDONLY)).toBe(ELOOP);
    expect(await vfs.openAt(ctx, AT_FDCWD, "/bin", O_RDONLY | O_NOFOLLOW)).toBe(ELOOP);
    expect(await vfs.openAt(ctx, AT_FDCWD, "/usr", O_WRONLY)).toBe(EISDIR);
  });

  it("refuses writes to the read-only mount", async () => {
    const r = await vfs.openAt(ctx, AT_FDCWD, "/etc/os-release", O_WRONLY);
    expect(r).toBe(EROFS);
  });

  it("never sees outside the mount, even through .. at the root", async () => {
    expect((await readAll("/../../etc/os-release")).toString()).toContain("runsc-ts test");
  });
});
