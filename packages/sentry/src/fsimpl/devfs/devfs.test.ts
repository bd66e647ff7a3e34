import { describe, expect, it } from "vitest";
import { AT_FDCWD, ENOSPC, O_RDONLY, O_RDWR, O_WRONLY, S_IFCHR, S_IFMT, SEEK_END } from "@runsc-ts/abi";
import { Credentials } from "../../kernel/auth/credentials.js";
import { parseDirents64 } from "../../vfs/file-description.js";
import { makeEnv, type TestEnv, ok } from "../../vfs/test-env.js";
import { createDevfs } from "./devfs.js";

async function devEnv(): Promise<TestEnv> {
  const env = makeEnv();
  ok(await env.vfs.mkdirAt(env.ctx, AT_FDCWD, "/dev", 0o755));
  ok(await env.vfs.mount(env.ctx, await createDevfs(), "/dev"));
  return env;
}

describe("devfs", () => {
  it("has the memory devices as 0666 character nodes with Linux's numbers", async () => {
    const env = await devEnv();
    const want: Record<string, number> = { null: 3, zero: 5, full: 7, random: 8, urandom: 9 };
    for (const [name, minor] of Object.entries(want)) {
      const st = ok(await env.vfs.statAt(env.ctx, AT_FDCWD, `/dev/${name}`, 0));
      expect([st.mode & S_IFMT, st.mode & 0o777, st.rdevMajor, st.rdevMinor]).toEqual([S_IFCHR, 0o666, 1, minor]);
    }
  });

  it("/dev/null reads EOF and swallows writes; /dev/zero reads zeros", async () => {
    const env = await devEnv();
    const user = env.as(Credentials.forIds(1000, 1000));
    const n = ok(await env.vfs.openAt(user, AT_FDCWD, "/dev/null", O_RDWR));
    expect(ok(await n.read(new Uint8Array(10)))).toBe(0);
    expect(ok(await n.write(new Uint8Array(123)))).toBe(123);
    expect(ok(await n.seek(100, SEEK_END))).toBe(0);
    const z = ok(await env.vfs.openAt(user, AT_FDCWD, "/dev/zero", O_RDONLY));
    const buf = new Uint8Array(64).fill(7);
    expect(ok(await z.read(buf))).toBe(64);
    expect(buf.every((b) => b === 0)).toBe(true);
  });

  it("/dev/full reads zeros and fails writes with ENOSPC", async () => {
    const env = await devEnv();
    const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/dev/full", O_RDWR));
    expect(await f.write(new Uint8Array(1))).toBe(ENOSPC);
    expect(ok(await f.read(new Uint8Array(8)))).toBe(8);
  });

  it("/dev/urandom and /dev/random give random bytes", async () => {
    const env = await devEnv();
    for (const dev of ["/dev/urandom", "/dev/random"]) {
      const f = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, dev, O_RDONLY));
      const a = new Uint8Array(32);
      const b = new Uint8Array(32);
      expect(ok(await f.read(a))).toBe(32);
      expect(ok(await f.read(b))).toBe(32);
      expect(Buffer.compare(a, b)).not.toBe(0);
      const w = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, dev, O_WRONLY));
      expect(ok(await w.write(new Uint8Array(5)))).toBe(5);
    }
  });

  it("has the standard symlinks and directories", async () => {
    const env = await devEnv();
    expect(await env.vfs.readlinkAt(env.ctx, AT_FDCWD, "/dev/fd")).toBe("/proc/self/fd");
    expect(await env.vfs.readlinkAt(env.ctx, AT_FDCWD, "/dev/stderr")).toBe("/proc/self/fd/2");
    expect(ok(await env.vfs.statAt(env.ctx, AT_FDCWD, "/dev/shm", 0)).mode & 0o7777).toBe(0o1777);
    const d = ok(await env.vfs.openAt(env.ctx, AT_FDCWD, "/dev", O_RDONLY));
    const names = parseDirents64(ok(await d.getdents64(4096))).map((e) => e.name).sort();
    expect(names).toEqual([".", "..", "core", "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"]);
  });
});
