import { describe, expect, it } from "vitest";

import { isSystemError, native, systemErrorFromErrno } from "./native.js";
import { expectNoFdLeaks, finished, openTempFile, patternBytes, readFd, spawnPeer, until } from "./test-util.js";

const C = native.constants;
const STREAM = C.SOCK_STREAM | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK;

/** Runs `body` with a fresh non-blocking stream pair, closed afterwards. */
function withPair(body: (a: number, b: number) => void): void {
  const [a, b] = native.socketpair(STREAM);
  try {
    body(a, b);
  } finally {
    native.close(a);
    native.close(b);
  }
}

/** Reads everything currently queued on `fd` (non-blocking). */
function drain(fd: number, fdsOut: number[] = []): Buffer {
  const parts: Buffer[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = native.recvmsg(fd, buf, fdsOut);
    if (n <= 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(parts);
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception");
}

describe("socketpair, sendmsg, recvmsg", () => {
  expectNoFdLeaks();

  it("round-trips bytes in both directions", () => {
    withPair((a, b) => {
      expect(native.sendmsg(a, [Buffer.from("ping")], [])).toBe(4);
      const buf = new Uint8Array(16);
      const fds: number[] = [];
      expect(native.recvmsg(b, buf, fds)).toBe(4);
      expect(Buffer.from(buf.subarray(0, 4)).toString()).toBe("ping");
      expect(fds).toEqual([]);
      expect(native.sendmsg(b, [Buffer.from("pong!")], [])).toBe(5);
      expect(drain(a).toString()).toBe("pong!");
    });
  });

  it("creates the pair with the flags asked for", () => {
    const [a, b] = native.socketpair(C.SOCK_STREAM);
    expect([native.getCloexec(a), native.getNonblock(a)]).toEqual([false, false]);
    native.close(a);
    native.close(b);
    withPair((c, d) => {
      expect([native.getCloexec(c), native.getNonblock(c), native.getCloexec(d), native.getNonblock(d)]).toEqual([
        true,
        true,
        true,
        true,
      ]);
    });
  });

  it("gathers several chunks, including subarrays and empty ones, into one write", () => {
    withPair((a, b) => {
      const backing = Buffer.from("xxHELLOxx");
      const chunks = [Buffer.from("one,"), new Uint8Array(0), backing.subarray(2, 7), new Uint8Array([44, 50])];
      expect(native.sendmsg(a, chunks, [])).toBe(4 + 5 + 2);
      expect(drain(b).toString()).toBe("one,HELLO,2");
    });
  });

  it("sends at most IOV_MAX chunks per call and reports the bytes it took", () => {
    withPair((a, b) => {
      const chunks = Array.from({ length: C.IOV_MAX + 100 }, (_, i) => new Uint8Array([i & 0xff]));
      expect(native.sendmsg(a, chunks, [])).toBe(C.IOV_MAX);
      const got = drain(b);
      expect(got.length).toBe(C.IOV_MAX);
      expect(got[C.IOV_MAX - 1]).toBe((C.IOV_MAX - 1) & 0xff);
    });
  });

  it("returns -1 when the socket would block, and after a partial write", () => {
    withPair((a, b) => {
      const big = patternBytes(1 << 20, 1);
      let sent = 0;
      for (;;) {
        const n = native.sendmsg(a, [big], []);
        if (n < 0) break;
        sent += n;
        expect(n).toBeGreaterThan(0);
      }
      expect(sent).toBeGreaterThan(0);
      expect(native.sendmsg(a, [Buffer.from("x")], [])).toBe(-1);
      expect(drain(b).length).toBe(sent);
      expect(native.recvmsg(b, new Uint8Array(8), [])).toBe(-1);
    });
  });

  it("reads 0 at end of stream", () => {
    const [a, b] = native.socketpair(STREAM);
    native.sendmsg(a, [Buffer.from("last")], []);
    native.close(a);
    const buf = new Uint8Array(16);
    expect(native.recvmsg(b, buf, [])).toBe(4);
    expect(native.recvmsg(b, buf, [])).toBe(0);
    expect(native.recvmsg(b, buf, [])).toBe(0);
    native.close(b);
  });
});

describe("descriptor passing (SCM_RIGHTS)", () => {
  expectNoFdLeaks();

  it("passes a file descriptor that reads the same file, close-on-exec", () => {
    withPair((a, b) => {
      const file = openTempFile("contents of the passed file");
      expect(native.sendmsg(a, [Buffer.from("F")], [file])).toBe(1);
      native.close(file); // the kernel holds its own reference while in flight

      const fds: number[] = [];
      expect(native.recvmsg(b, new Uint8Array(8), fds)).toBe(1);
      expect(fds).toHaveLength(1);
      const received = fds[0]!;
      expect(native.getCloexec(received)).toBe(true);
      expect(readFd(received)).toBe("contents of the passed file");
      native.close(received);
    });
  });

  it("appends received descriptors to fdsOut, in order", () => {
    withPair((a, b) => {
      const files = ["zero", "one", "two"].map(openTempFile);
      native.sendmsg(a, [Buffer.from("abc")], files);
      files.forEach((fd) => native.close(fd));
      const fds = [-7];
      expect(native.recvmsg(b, new Uint8Array(8), fds)).toBe(3);
      expect(fds).toHaveLength(4);
      expect(fds[0]).toBe(-7);
      expect(fds.slice(1).map(readFd)).toEqual(["zero", "one", "two"]);
      fds.slice(1).forEach((fd) => native.close(fd));
    });
  });

  it("stops a read at the bytes that carry descriptors", () => {
    withPair((a, b) => {
      const file = openTempFile("x");
      native.sendmsg(a, [Buffer.from("plain,")], []);
      native.sendmsg(a, [Buffer.from("with-fd,")], [file]);
      native.sendmsg(a, [Buffer.from("after")], []);
      native.close(file);
      const buf = new Uint8Array(64);
      const fds: number[] = [];
      const n = native.recvmsg(b, buf, fds);
      expect(Buffer.from(buf.subarray(0, n)).toString()).toBe("plain,with-fd,");
      expect(fds).toHaveLength(1);
      expect(drain(b).toString()).toBe("after");
      native.close(fds[0]!);
    });
  });

  it("carries SCM_MAX_FD descriptors in one message and refuses more", () => {
    withPair((a, b) => {
      const file = openTempFile("many");
      const copies = Array.from({ length: C.SCM_MAX_FD }, () => native.dup(file));
      expect(native.sendmsg(a, [Buffer.from("m")], copies)).toBe(1);
      const err = catchError(() => native.sendmsg(a, [Buffer.from("m")], [...copies, file]));
      expect(err).toBeInstanceOf(RangeError);
      copies.forEach((fd) => native.close(fd));
      native.close(file);

      const fds: number[] = [];
      expect(native.recvmsg(b, new Uint8Array(4), fds)).toBe(1);
      expect(fds).toHaveLength(C.SCM_MAX_FD);
      expect(readFd(fds[C.SCM_MAX_FD - 1]!)).toBe("many");
      fds.forEach((fd) => native.close(fd));
    });
  });

  it("refuses descriptors with no byte to travel with", () => {
    withPair((a) => {
      const file = openTempFile("");
      expect(catchError(() => native.sendmsg(a, [new Uint8Array(0)], [file]))).toBeInstanceOf(RangeError);
      expect(catchError(() => native.sendmsg(a, [], [file]))).toBeInstanceOf(RangeError);
      native.close(file);
    });
  });

  it("closes what arrived and throws EMSGSIZE when the control data is truncated", async () => {
    const [a, b] = native.socketpair(STREAM);
    // The child may hold 40 descriptors; 200 cannot all arrive (the kernel sets MSG_CTRUNC).
    const child = spawnPeer("ctrunc", b, "ulimit -n 40");
    native.close(b);
    const file = openTempFile("too many");
    const copies = Array.from({ length: 200 }, () => native.dup(file));
    native.sendmsg(a, [Buffer.from("!")], copies);
    copies.forEach((fd) => native.close(fd));
    native.close(file);
    const { stdout, code } = await finished(child);
    native.close(a);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ code: "EMSGSIZE", errno: -90, syscall: "recvmsg", leaked: 0, fdsOut: 0 });
  });
});

describe("descriptor primitives", () => {
  expectNoFdLeaks();

  it("dup gives a close-on-exec copy of the same open file", () => {
    const file = openTempFile("dup me");
    native.setCloexec(file, false);
    const copy = native.dup(file);
    expect(copy).not.toBe(file);
    expect(native.getCloexec(copy)).toBe(true);
    expect(native.getCloexec(file)).toBe(false);
    expect(readFd(copy)).toBe("dup me");
    native.close(copy);
    native.close(file);
  });

  it("sets and clears FD_CLOEXEC and O_NONBLOCK", () => {
    withPair((a) => {
      native.setCloexec(a, false);
      expect(native.getCloexec(a)).toBe(false);
      native.setCloexec(a, true);
      expect(native.getCloexec(a)).toBe(true);
      native.setNonblock(a, false);
      expect(native.getNonblock(a)).toBe(false);
      native.setNonblock(a, true);
      expect(native.getNonblock(a)).toBe(true);
    });
  });
});

describe("errors", () => {
  expectNoFdLeaks();

  it("throws a SystemError with code EBADF, errno -9, syscall sendmsg for a closed fd", () => {
    const [a, b] = native.socketpair(STREAM);
    native.close(a);
    native.close(b);
    const err = catchError(() => native.sendmsg(a, [Buffer.from("x")], []));
    expect(err).toBeInstanceOf(Error);
    expect(isSystemError(err)).toBe(true);
    expect(err).toMatchObject({ code: "EBADF", errno: -9, syscall: "sendmsg", message: "EBADF: bad file descriptor, sendmsg" });
  });

  it("names the system call in every SystemError", () => {
    const [a, b] = native.socketpair(STREAM);
    native.close(a);
    native.close(b);
    expect(catchError(() => native.recvmsg(a, new Uint8Array(1), []))).toMatchObject({ code: "EBADF", syscall: "recvmsg" });
    expect(catchError(() => native.close(a))).toMatchObject({ code: "EBADF", errno: -9, syscall: "close" });
    expect(catchError(() => native.dup(a))).toMatchObject({ code: "EBADF", syscall: "dup" });
    expect(catchError(() => native.getCloexec(a))).toMatchObject({ code: "EBADF", syscall: "fcntl" });
    expect(catchError(() => native.socketpair(0xfff))).toMatchObject({ code: "EINVAL", errno: -22, syscall: "socketpair" });
  });

  it("reports EPIPE when the peer is gone (no SIGPIPE)", () => {
    const [a, b] = native.socketpair(STREAM);
    native.close(b);
    expect(catchError(() => native.sendmsg(a, [Buffer.from("x")], []))).toMatchObject({ code: "EPIPE", errno: -32, syscall: "sendmsg" });
    native.close(a);
  });

  it("throws TypeError for arguments of the wrong type", () => {
    withPair((a, b) => {
      // Deliberately wrong types, as a JavaScript caller could pass them.
      const loose = native as unknown as Record<string, (...args: unknown[]) => unknown>;
      const cases: [string, unknown[]][] = [
        ["sendmsg", ["3", [Buffer.from("x")], []]],
        ["sendmsg", [a, Buffer.from("x"), []]],
        ["sendmsg", [a, ["x"], []]],
        ["sendmsg", [a, [new Uint16Array(2)], []]],
        ["sendmsg", [a, [Buffer.from("x")], ["4"]]],
        ["sendmsg", [a, [Buffer.from("x")]]],
        ["recvmsg", [b, "buf", []]],
        ["recvmsg", [b, new Uint8Array(4)]],
        ["recvmsg", [b, new DataView(new ArrayBuffer(4)), []]],
        ["socketpair", ["stream"]],
        ["close", [undefined]],
        ["setCloexec", [a, 1]],
        ["setNonblock", [a]],
        ["dup", [null]],
      ];
      for (const [name, args] of cases) {
        const err = catchError(() => loose[name]!(...args));
        expect(err, `${name}(${args.map(String).join(", ")})`).toBeInstanceOf(TypeError);
        expect(err).toMatchObject({ code: "ERR_INVALID_ARG_TYPE" });
      }
    });
  });

  it("throws RangeError for numbers out of range", () => {
    expect(catchError(() => native.close(-1))).toBeInstanceOf(RangeError);
    expect(catchError(() => native.close(1.5))).toBeInstanceOf(RangeError);
    expect(catchError(() => native.close(2 ** 31))).toBeInstanceOf(RangeError);
    expect(catchError(() => native.recvmsg(0, new Uint8Array(0), []))).toBeInstanceOf(RangeError);
  });

  it("builds the same SystemError shape from an errno in TypeScript", () => {
    const err = systemErrorFromErrno(-9, "epoll_wait");
    expect(isSystemError(err)).toBe(true);
    expect(err).toMatchObject({ code: "EBADF", errno: -9, syscall: "epoll_wait", message: "EBADF: bad file descriptor, epoll_wait" });
    expect(isSystemError(new Error("plain"))).toBe(false);
  });
});

describe("FdWatcher", () => {
  expectNoFdLeaks();

  it("calls back on the event loop with status 0 and the ready events", async () => {
    const [a, b] = native.socketpair(STREAM);
    const calls: [number, number][] = [];
    const watcher = new native.FdWatcher(b, (status, events) => {
      calls.push([status, events]);
      drain(b);
      watcher.stop();
    });
    watcher.start(C.POLL_READABLE);
    native.sendmsg(a, [Buffer.from("wake")], []);
    expect(calls).toEqual([]); // never synchronously
    await until(() => calls.length > 0);
    expect(calls).toEqual([[0, C.POLL_READABLE]]);
    watcher.close();
    native.close(a);
    native.close(b);
  });

  it("reports writable, and changes events with start()", async () => {
    const [a, b] = native.socketpair(STREAM);
    const seen: number[] = [];
    const watcher = new native.FdWatcher(a, (_status, events) => {
      seen.push(events);
      if (seen.length === 1) watcher.start(C.POLL_READABLE);
      else watcher.close();
    });
    watcher.start(C.POLL_WRITABLE);
    await until(() => seen.length === 1);
    native.sendmsg(b, [Buffer.from("r")], []);
    await until(() => seen.length === 2);
    expect(seen).toEqual([C.POLL_WRITABLE, C.POLL_READABLE]);
    native.close(a);
    native.close(b);
  });

  it("may be closed from inside its own callback, twice", async () => {
    const [a, b] = native.socketpair(STREAM);
    let calls = 0;
    const watcher = new native.FdWatcher(b, () => {
      calls++;
      watcher.close();
      watcher.close();
    });
    watcher.start(C.POLL_READABLE);
    native.sendmsg(a, [Buffer.from("x")], []);
    await until(() => calls > 0);
    // b stays readable (nothing was read): a watcher still alive would be called again.
    await turns(5);
    expect(calls).toBe(1);
    watcher.stop();
    expect(catchError(() => watcher.start(C.POLL_READABLE))).toBeInstanceOf(Error);
    native.close(a);
    native.close(b);
  });

  it("reports an error condition as a negative status and stops itself", async () => {
    const [a, b] = native.socketpair(STREAM);
    native.sendmsg(a, [Buffer.from("unread")], []);
    native.close(b); // a now has a pending ECONNRESET: EPOLLERR, which libuv reports as EBADF
    const calls: [number, number][] = [];
    const watcher = new native.FdWatcher(a, (status, events) => calls.push([status, events]));
    watcher.start(C.POLL_READABLE);
    await until(() => calls.length > 0);
    await turns(5); // stopped: no repeated calls although the condition persists
    expect(calls).toEqual([[-9, 0]]);
    expect(catchError(() => native.recvmsg(a, new Uint8Array(8), []))).toMatchObject({ code: "ECONNRESET" });
    watcher.close();
    native.close(a);
  });

  it("validates its arguments", () => {
    const loose = native.FdWatcher as unknown as new (...args: unknown[]) => unknown;
    expect(catchError(() => new loose("1", () => {}))).toBeInstanceOf(TypeError);
    expect(catchError(() => new loose(0, "callback"))).toBeInstanceOf(TypeError);
    expect(catchError(() => (native.FdWatcher as unknown as (...args: unknown[]) => unknown)(0, () => {}))).toBeInstanceOf(TypeError);
  });

  it("keeps the event loop alive while started and ref'd", async () => {
    const [a, b] = native.socketpair(STREAM);
    const child = spawnPeer("watch-keepalive", b);
    native.close(b);
    const done = finished(child);
    await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
    // Give a child that would not be kept alive the chance to exit before the data comes.
    await new Promise((resolve) => setTimeout(resolve, 200));
    native.sendmsg(a, [Buffer.from("hello")], []);
    const { stdout, code } = await done;
    native.close(a);
    expect(code).toBe(0);
    expect(stdout).toContain(`got hello status=0 events=${C.POLL_READABLE} this=true`);
  });

  it("does not keep the event loop alive when stopped or unref'd", async () => {
    const [a, b] = native.socketpair(STREAM);
    const { stdout, code } = await finished(spawnPeer("watch-idle", b));
    native.close(a);
    native.close(b);
    expect(code).toBe(0);
    expect(stdout).toBe("armed\n");
  });

  it("reports an exception thrown by its callback as uncaught", async () => {
    const [a, b] = native.socketpair(STREAM);
    const { stdout, code } = await finished(spawnPeer("watch-throw", b));
    native.close(a);
    native.close(b);
    expect(code).toBe(0);
    expect(stdout).toBe("uncaught: thrown from a watcher callback\n");
  });
});
