import * as nfs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AT_FDCWD, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, S_IFIFO, isLinuxError } from "@runsc-ts/abi";
import type { Filesystem } from "../../vfs/filesystem.js";
import { makeEnv, ok, type TestEnv } from "../../vfs/test-env.js";
import { OverlayFilesystem } from "../overlay/filesystem.js";
import { TmpFilesystem } from "../tmpfs/filesystem.js";
import { GoferFilesystem } from "./filesystem.js";
import { connectFakeGofer, type FakeGofer } from "./test-fake-gofer.js";

const isRoot = process.getuid?.() === 0;
const BOUND = 50;
const FILES = 600;
let dir: string;
let closers: (() => void)[] = [];

beforeEach(() => {
  const base = nfs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  dir = nfs.mkdtempSync(path.join(base, "runsc-ts-evict-"));
  nfs.mkdirSync(path.join(dir, "d"));
  for (let i = 0; i < FILES; i++) nfs.writeFileSync(path.join(dir, "d", `f${i}`), `file ${i}`);
});

afterEach(() => {
  for (const c of closers) c();
  closers = [];
  nfs.rmSync(dir, { recursive: true, force: true });
});

async function mountGofer(max = BOUND): Promise<{ fs: GoferFilesystem; server: FakeGofer }> {
  const conn = connectFakeGofer(dir);
  closers.push(() => conn.close());
  const fs = ok(await GoferFilesystem.mount(conn.client, { maxCachedDentries: max }));
  return { fs, server: conn.server };
}

/** Waits until the gofer has processed every Release sent so far (one round trip behind them). */
async function settled(fs: GoferFilesystem): Promise<void> {
  ok(await fs.statfs());
}

async function statAll(env: TestEnv, n = FILES): Promise<{ ino: number; mode: number; size: number }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const s = ok(await env.vfs.statAt(env.ctx, AT_FDCWD, `/d/f${i}`, 0));
    out.push({ ino: s.ino, mode: s.mode, size: s.size });
  }
  return out;
}

describe.runIf(isRoot)("gofer dentry eviction", () => {
  it("keeps the gofer's live handles bounded while walking many more files than the bound", async () => {
    const { fs, server } = await mountGofer();
    const env = makeEnv({ fs });
    let peak = 0;
    for (let i = 0; i < FILES; i++) {
      ok(await env.vfs.statAt(env.ctx, AT_FDCWD, `/d/f${i}`, 0));
      peak = Math.max(peak, fs.liveHandles);
    }
    await settled(fs);
    // Root and /d are in use (/d has cached children); the rest are at most BOUND cached leaves.
    expect(peak).toBeLessThanOrEqual(BOUND + 2);
    expect(fs.liveHandles).toBeLessThanOrEqual(BOUND + 2);
    expect(server.open).toBe(fs.liveHandles);
    expect(fs.dentryCache.size).toBe(BOUND);
    expect(fs.dentryCache.evictions).toBe(FILES - BOUND);
  });

  it("gives identical stat results and file contents after eviction", async () => {
    const { fs } = await mountGofer();
    const env = makeEnv({ fs });
    const first = await statAll(env);
    expect(fs.dentryCache.evictions).toBeGreaterThan(0);
    const again = await statAll(env); // every early name was evicted and is walked again
    expect(again).toEqual(first);
    expect(new Set(first.map((s) => s.ino)).size).toBe(FILES);
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/d/f0", O_RDONLY));
    const buf = new Uint8Array(16);
    expect(Buffer.from(buf.subarray(0, ok(await f.read(buf)))).toString()).toBe("file 0");
    f.decRef();
    // getdents reports the same inode numbers as stat.
    const dirFile = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/d", O_RDONLY));
    const names = new Map<string, number>();
    for (;;) {
      const b = ok(await env.vfs.getdents64(dirFile, 8192));
      if (b.length === 0) break;
      for (let off = 0; off < b.length; ) {
        const view = new DataView(b.buffer, b.byteOffset + off);
        const reclen = view.getUint16(16, true);
        const name = Buffer.from(b.subarray(off + 19, off + reclen)).toString("latin1").replace(/\0+$/, "");
        names.set(name, Number(view.getBigUint64(0, true)));
        off += reclen;
      }
    }
    dirFile.decRef();
    for (let i = 0; i < FILES; i++) expect(names.get(`f${i}`)).toBe(first[i]?.ino);
  });

  it("never evicts a file that is open, nor the directories above it", async () => {
    const { fs, server } = await mountGofer(1);
    const env = makeEnv({ fs });
    nfs.mkdirSync(path.join(dir, "a", "b"), { recursive: true });
    nfs.writeFileSync(path.join(dir, "a", "b", "kept"), "kept");
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/a/b/kept", O_RDWR));
    const before = ok(await env.vfs.statFd(f));
    await statAll(env, 20);
    await settled(fs);
    // root, /a, /a/b, kept: pinned by the open file; /d/f19, the one cached leaf, and /d above it.
    expect(server.open).toBe(6);
    expect(fs.root.children.get("a")?.children.get("b")?.children.get("kept")).toBe(f.vd.dentry);
    expect(ok(await env.vfs.statFd(f))).toEqual(before);
    ok(await f.write(Buffer.from("!")));
    // Closing makes kept unused: /d/f19 goes, then /d becomes unused and more recent than kept,
    // so kept goes, then /d; /a/b is left as the one cached leaf.
    f.decRef();
    await settled(fs);
    expect(server.open).toBe(3);
    expect([...fs.root.children.keys()]).toEqual(["a"]);
    expect([...(fs.root.children.get("a")?.children.keys() ?? [])]).toEqual(["b"]);
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/a/b/kept", 0)).ino).toBe(before.ino);
  });

  it("keeps a FIFO's dentry while an open of it waits for its peer, so reader and writer meet", async () => {
    const { fs } = await mountGofer(1);
    const env = makeEnv({ fs });
    nfs.mkdirSync(path.join(dir, "f"));
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/f/p", S_IFIFO | 0o600, 0));
    const reading = env.vfs.openAt(env.ctx, AT_FDCWD, "/f/p", O_RDONLY); // waits for a writer
    await statAll(env, 30); // plenty of other names pass through the cache meanwhile
    const w = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/f/p", O_WRONLY));
    const r = ok(await reading);
    ok(await w.write(Buffer.from("through the pipe")));
    const buf = new Uint8Array(32);
    expect(Buffer.from(buf.subarray(0, ok(await r.read(buf)))).toString()).toBe("through the pipe");
    w.decRef();
    r.decRef();
  });

  it("releases an unlinked file's handle when its last open file closes", async () => {
    const { fs, server } = await mountGofer();
    const env = makeEnv({ fs });
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/gone", O_CREAT | O_RDWR, 0o600));
    ok(await env.vfs.unlinkAt(env.ctx, AT_FDCWD, "/gone"));
    await settled(fs);
    const open = server.open;
    expect(ok(await env.vfs.statFd(f)).nlink).toBe(0); // the handle still answers fstat
    f.decRef();
    await settled(fs);
    expect(server.open).toBe(open - 1);
  });

  it("keeps working for an inode evicted while an operation was using it", async () => {
    const { fs } = await mountGofer(0);
    const env = makeEnv({ fs });
    const vd = ok(await env.vfs.lookupAt(env.ctx, AT_FDCWD, "/d/f1", true, false));
    expect(vd.dentry.evicted).toBe(true); // a bound of 0 evicts as soon as nothing uses it
    expect(fs.liveHandles).toBe(1);
    ok(await vd.dentry.inode.setStat({ mode: 0o600 })); // needs the handle: walks to it again
    expect(nfs.statSync(path.join(dir, "d", "f1")).mode & 0o777).toBe(0o600);
    expect(fs.liveHandles).toBe(3); // root, /d and /d/f1, walked again
  });

  it("evicts overlay dentries so the lower gofer mount releases its handles; upper files stay", async () => {
    const { fs: lower, server } = await mountGofer();
    const overlay = new OverlayFilesystem({ lower });
    expect(overlay.dentryCache?.max).toBe(BOUND);
    expect(overlay.upper.dentryCache).toBeUndefined(); // tmpfs never evicts
    const env = makeEnv({ fs: overlay });
    const w = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/d/f3", O_RDWR));
    ok(await w.pwrite(Buffer.from("FILE"), 0)); // copied up into the tmpfs
    w.decRef();
    ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/new", 0o755));
    const first = [];
    for (let i = 0; i < FILES; i++) first.push(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, `/d/f${i}`, 0)).ino);
    await settled(lower);
    expect(lower.liveHandles).toBeLessThanOrEqual(BOUND + 3);
    expect(server.open).toBe(lower.liveHandles);
    for (let i = 0; i < FILES; i++) expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, `/d/f${i}`, 0)).ino).toBe(first[i]);
    const r = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/d/f3", O_RDONLY));
    const buf = new Uint8Array(16);
    expect(Buffer.from(buf.subarray(0, ok(await r.read(buf)))).toString()).toBe("FILE 3");
    r.decRef();
    expect(nfs.readFileSync(path.join(dir, "d", "f3"), "latin1")).toBe("file 3"); // lower untouched
    expect(isLinuxError(await env.vfs.statAt(env.ctx, AT_FDCWD, "/new", 0))).toBe(false);
  });

  it("tmpfs has no dentry cache and keeps every dentry", async () => {
    const fs: Filesystem = new TmpFilesystem();
    expect(fs.dentryCache).toBeUndefined();
    const env = makeEnv({ fs });
    for (let i = 0; i < 200; i++) ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, `/f${i}`, 0o100644, 0));
    expect(fs.root.children.size).toBe(200);
  });
});
