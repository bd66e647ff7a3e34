import * as nfs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AT_FDCWD, EEXIST, EIO, ENOENT, EPERM, O_APPEND, O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, S_IFCHR, S_IFIFO, isLinuxError } from "@runsc-ts/abi";
import { makeDev } from "../../vfs/constants.js";
import { parseDirents64 } from "../../vfs/file-description.js";
import { makeEnv, type TestEnv, ok } from "../../vfs/test-env.js";
import { GoferFilesystem, type Coherence } from "./filesystem.js";
import { connectFakeGofer, type FakeGofer } from "./test-fake-gofer.js";

const isRoot = process.getuid?.() === 0;
let dir: string;
let closers: (() => void)[] = [];

beforeEach(() => {
  const base = nfs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  dir = nfs.mkdtempSync(path.join(base, "runsc-ts-gofer-"));
});

afterEach(() => {
  for (const c of closers) c();
  closers = [];
  nfs.rmSync(dir, { recursive: true, force: true });
});

async function goferEnv(coherence: Coherence = "exclusive"): Promise<{ env: TestEnv; server: FakeGofer; close(): void }> {
  const conn = connectFakeGofer(dir);
  closers.push(() => conn.close());
  const fs = ok(await GoferFilesystem.mount(conn.client, { coherence }));
  return { env: makeEnv({ fs }), server: conn.server, close: () => conn.close() };
}

describe.runIf(isRoot)("gofer filesystem", () => {
  it("writes and reads through donated host FDs", async () => {
    const { env } = await goferEnv();
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/f", O_CREAT | O_RDWR, 0o640));
    expect(ok(await f.write(Buffer.from("on the host")))).toBe(11);
    expect(nfs.readFileSync(path.join(dir, "f"), "latin1")).toBe("on the host");
    expect((nfs.statSync(path.join(dir, "f")).mode & 0o777)).toBe(0o640);
    const buf = new Uint8Array(32);
    expect(Buffer.from(buf.subarray(0, ok(await f.pread(buf, 3)))).toString()).toBe("the host");
    // The cached size follows writes made through the FD.
    expect(ok(await env.vfs.statFd(f)).size).toBe(11);
    f.decRef();
    const a = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/f", O_WRONLY | O_APPEND));
    ok(await a.write(Buffer.from("!")));
    expect(ok(await a.seek(0, 1))).toBe(12);
    a.decRef();
    expect(nfs.readFileSync(path.join(dir, "f"), "latin1")).toBe("on the host!");
  });

  it("exclusive: a cached name is not walked again", async () => {
    const { env, server } = await goferEnv("exclusive");
    nfs.mkdirSync(path.join(dir, "a"));
    nfs.writeFileSync(path.join(dir, "a", "b"), "x");
    ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/a/b", 0));
    const walks = server.walks;
    ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/a/b", 0));
    expect(server.walks).toBe(walks);
  });

  it("exclusive: a cold path costs one walk RPC, however deep", async () => {
    const { env, server } = await goferEnv("exclusive");
    nfs.mkdirSync(path.join(dir, "a/b/c/d"), { recursive: true });
    nfs.writeFileSync(path.join(dir, "a/b/c/d/e"), "deep");
    nfs.symlinkSync("c", path.join(dir, "a/b/lc"));
    const walks = server.walks;
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/a/b/c/d/e", 0)).size).toBe(4);
    expect(server.walks - walks).toBe(1);
    // A symlink stops the batch; resolution continues from its target (cached by now).
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/a/b/lc/d/e", 0)).size).toBe(4);
    expect(server.walks - walks).toBe(2);
    expect(await env.vfs.statAt(env.ctx, AT_FDCWD, "/a/b/missing/x", 0)).toBe(ENOENT);
  });

  it("shared: changes made outside the sandbox are seen", async () => {
    const { env } = await goferEnv("shared");
    nfs.writeFileSync(path.join(dir, "f"), "1");
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/f", 0)).size).toBe(1);
    nfs.writeFileSync(path.join(dir, "f"), "12345");
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/f", 0)).size).toBe(5);
    nfs.renameSync(path.join(dir, "f"), path.join(dir, "g"));
    expect(await env.vfs.statAt(env.ctx, AT_FDCWD, "/f", 0)).toBe(ENOENT);
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/g", 0)).size).toBe(5);
    nfs.rmSync(path.join(dir, "g"));
    nfs.mkdirSync(path.join(dir, "g"));
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/g", 0)).mode & 0o170000).toBe(0o040000);
  });

  it("lists large directories across several getdents64 RPCs, resumably", async () => {
    const { env } = await goferEnv();
    const want: string[] = [];
    for (let i = 0; i < 400; i++) {
      const n = `file-with-a-longish-name-${i}`;
      nfs.writeFileSync(path.join(dir, n), "");
      want.push(n);
    }
    const d = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/", O_RDONLY));
    const got: string[] = [];
    for (;;) {
      const b = ok(await d.getdents64(1000));
      if (b.length === 0) break;
      got.push(...parseDirents64(b).map((e) => e.name));
    }
    expect(got.slice(0, 2)).toEqual([".", ".."]);
    expect(got.slice(2).sort()).toEqual(want.sort());
    ok(await d.seek(0, 0));
    expect(parseDirents64(ok(await d.getdents64(4096)))[0]?.name).toBe(".");
    d.decRef();
  });

  it("serves FIFOs inside the sentry and refuses device nodes", async () => {
    const { env } = await goferEnv();
    ok(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/p", S_IFIFO | 0o600, 0));
    expect((nfs.statSync(path.join(dir, "p")).mode & 0o170000)).toBe(S_IFIFO);
    const r = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/p", O_RDONLY | O_NONBLOCK));
    const w = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/p", O_WRONLY | O_NONBLOCK));
    ok(await w.write(Buffer.from("fifo")));
    expect(ok(await r.read(new Uint8Array(8)))).toBe(4);
    expect(await env.vfs.mknodAt(env.ctx, AT_FDCWD, "/null", S_IFCHR | 0o666, makeDev(1, 3))).toBe(EPERM);
  });

  it("interleaved operations: concurrent reads of one description never overlap; racing creates", async () => {
    const { env } = await goferEnv();
    nfs.writeFileSync(path.join(dir, "data"), Buffer.from(Array.from({ length: 4000 }, (_, i) => i & 0xff)));
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/data", O_RDONLY));
    const bufs = Array.from({ length: 8 }, () => new Uint8Array(500));
    const counts = await Promise.all(bufs.map((b) => f.read(b)));
    expect(counts).toEqual(Array(8).fill(500));
    const firsts = bufs.map((b) => b[0] as number).sort((a, b) => a - b);
    expect(firsts).toEqual(Array.from({ length: 8 }, (_, i) => (i * 500) & 0xff).sort((a, b) => a - b));
    f.decRef();
    const racing = await Promise.all([0, 1, 2].map(() => env.vfs.openAt(env.ctx, AT_FDCWD, "/new", O_CREAT | O_EXCL | O_WRONLY, 0o644)));
    expect(racing.filter((r) => !isLinuxError(r)).length).toBe(1);
    expect(racing.filter((r) => r === EEXIST).length).toBe(2);
    // Without O_EXCL, the losers of the race open the winner's file.
    const shared = await Promise.all([0, 1, 2].map(() => env.vfs.openAt(env.ctx, AT_FDCWD, "/new2", O_CREAT | O_WRONLY, 0o644)));
    expect(shared.every((r) => !isLinuxError(r))).toBe(true);
  });

  it("answers EIO once the gofer is gone", async () => {
    const { env, close } = await goferEnv("shared");
    nfs.writeFileSync(path.join(dir, "f"), "x");
    ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/f", 0));
    close();
    expect(await env.vfs.statAt(env.ctx, AT_FDCWD, "/f", 0)).toBe(EIO);
    expect(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/d", 0o755)).toBe(EIO);
  });
});
