import { describe, expect, it } from "vitest";
import {
  EAGAIN,
  EBUSY,
  EINVAL,
  EPERM,
  EPIPE,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  ERESTARTSYS,
  ESPIPE,
  O_CLOEXEC,
  O_DIRECT,
  O_NONBLOCK,
  PIPE_BUF,
  S_IFIFO,
  S_IFMT,
} from "@runsc-ts/abi";
import { Credentials } from "../../kernel/auth/credentials.js";
import { Interrupter } from "../../kernel/waiter.js";
import type { FileDescription } from "../../vfs/file-description.js";
import { VirtualFilesystem } from "../../vfs/vfs.js";
import { DEFAULT_PIPE_SIZE, Pipe } from "./pipe.js";
import { PipeFilesystem } from "./pipefs.js";
import { ok } from "../../vfs/test-env.js";

const pipefs = new PipeFilesystem();
function pipe(flags = 0): [FileDescription, FileDescription] {
  return ok(pipefs.newPipe(Credentials.forIds(1000, 1000), flags));
}
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 2));

describe("pipes", () => {
  it("passes bytes in order and reports EOF once every writer is gone", async () => {
    const [r, w] = pipe();
    expect(ok(await w.write(Buffer.from("hello ")))).toBe(6);
    expect(ok(await w.write(Buffer.from("world")))).toBe(5);
    const buf = new Uint8Array(8);
    expect(ok(await r.read(buf))).toBe(8);
    expect(Buffer.from(buf).toString()).toBe("hello wo");
    w.decRef();
    expect(ok(await r.read(buf))).toBe(3);
    expect(ok(await r.read(buf))).toBe(0);
    expect(ok(await r.read(buf))).toBe(0);
    r.decRef();
  });

  it("answers EAGAIN when non-blocking and empty or full", async () => {
    const [r, w] = pipe(O_NONBLOCK);
    expect(await r.read(new Uint8Array(4))).toBe(EAGAIN);
    expect(ok(await w.write(new Uint8Array(DEFAULT_PIPE_SIZE + 100)))).toBe(DEFAULT_PIPE_SIZE);
    expect(await w.write(new Uint8Array(1))).toBe(EAGAIN);
    r.decRef();
    w.decRef();
  });

  it("returns EPIPE when no reader remains", async () => {
    const [r, w] = pipe();
    r.decRef();
    expect(await w.write(new Uint8Array(1))).toBe(EPIPE);
    expect(w.readiness(EPOLLOUT) & EPOLLERR).toBe(EPOLLERR);
    w.decRef();
  });

  it("writes of at most PIPE_BUF bytes are atomic; larger ones may be partial", () => {
    const p = new Pipe();
    p.openEnd(true, false);
    p.openEnd(false, true);
    expect(p.write(new Uint8Array(DEFAULT_PIPE_SIZE - 100))).toBe(DEFAULT_PIPE_SIZE - 100);
    expect(p.write(new Uint8Array(PIPE_BUF))).toBe(EAGAIN); // 100 bytes free: all or nothing
    expect(p.write(new Uint8Array(100))).toBe(100);
    expect(p.read(new Uint8Array(PIPE_BUF * 2))).toBe(PIPE_BUF * 2);
    expect(p.write(new Uint8Array(PIPE_BUF * 3))).toBe(PIPE_BUF * 2); // larger: what fits
  });

  it("wakes a blocked reader when data arrives", async () => {
    const [r, w] = pipe();
    const buf = new Uint8Array(16);
    let done = false;
    const pending = r.read(buf).then((n) => { done = true; return n; });
    await tick();
    expect(done).toBe(false);
    ok(await w.write(Buffer.from("wake")));
    expect(ok(await pending)).toBe(4);
    expect(Buffer.from(buf.subarray(0, 4)).toString()).toBe("wake");
  });

  it("wakes a blocked reader with EOF when the last writer closes", async () => {
    const [r, w] = pipe();
    const pending = r.read(new Uint8Array(4));
    await tick();
    w.decRef();
    expect(await pending).toBe(0);
  });

  it("a blocking write longer than the buffer completes as the reader drains it", async () => {
    const [r, w] = pipe();
    const big = new Uint8Array(DEFAULT_PIPE_SIZE * 3).map((_, i) => i & 0xff);
    const pending = w.write(big);
    const got: number[] = [];
    const buf = new Uint8Array(10000);
    while (got.length < big.length) {
      const n = ok(await r.read(buf));
      for (let i = 0; i < n; i++) got.push(buf[i] as number);
    }
    expect(ok(await pending)).toBe(big.length);
    expect(got.every((v, i) => v === (i & 0xff))).toBe(true);
  });

  it("an interrupted blocking read returns ERESTARTSYS; an interrupted write returns its partial count", async () => {
    const [r, w] = pipe();
    const intr = new Interrupter();
    const pending = r.read(new Uint8Array(4), intr);
    await tick();
    intr.interrupt();
    expect(await pending).toBe(ERESTARTSYS);
    intr.clear();
    const write = w.write(new Uint8Array(DEFAULT_PIPE_SIZE + 10), intr);
    await tick();
    intr.interrupt();
    expect(await write).toBe(DEFAULT_PIPE_SIZE);
  });

  it("reports readiness for poll", () => {
    const [r, w] = pipe();
    expect(r.readiness(EPOLLIN)).toBe(0);
    expect(w.readiness(EPOLLOUT) & EPOLLOUT).toBe(EPOLLOUT);
    w.decRef();
    expect(r.readiness(EPOLLIN) & EPOLLHUP).toBe(EPOLLHUP);
  });

  it("F_SETPIPE_SZ rounds to pages and refuses to shrink below the contents", () => {
    const p = new Pipe();
    p.openEnd(true, true);
    expect(p.setCapacity(5000, false)).toBe(8192);
    expect(p.setCapacity(2 << 20, false)).toBe(EPERM);
    expect(p.setCapacity(2 << 20, true)).toBe(2 << 20);
    expect(p.setCapacity(-1, false)).toBe(EINVAL);
    p.write(new Uint8Array(10000));
    expect(p.setCapacity(4096, false)).toBe(EBUSY);
  });

  it("pipe2 descriptions: S_IFIFO inode, no seeking, flag validation", async () => {
    const [r, w] = pipe(O_NONBLOCK | O_CLOEXEC);
    expect(r.nonBlocking && w.nonBlocking).toBe(true);
    expect(r.readable && !r.writable && w.writable && !w.readable).toBe(true);
    const st = ok(await new VirtualFilesystem().statFd(r));
    expect(st.mode & S_IFMT).toBe(S_IFIFO);
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
    expect(await r.seek(0, 0)).toBe(ESPIPE);
    expect(await r.pread(new Uint8Array(1), 0)).toBe(ESPIPE);
    expect(pipefs.newPipe(Credentials.root(), 0x8)).toBe(EINVAL);
    expect(pipefs.newPipe(Credentials.root(), O_DIRECT)).toBe(EINVAL);
  });
});
