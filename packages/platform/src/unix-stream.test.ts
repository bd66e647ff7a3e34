import { describe, expect, it } from "vitest";

import { native } from "./native.js";
import {
  expectNoFdLeaks,
  openTempFile,
  patternBytes,
  readFd,
  received,
  record,
  until,
  type Recording,
} from "./test-util.js";
import { UnixFdStream, fromFd, socketPair } from "./unix-stream.js";

const C = native.constants;

function closeAll(fds: readonly number[]): void {
  for (const fd of fds) native.close(fd);
}

/** Whether `fd` is open in this process. */
function isOpen(fd: number): boolean {
  try {
    native.getCloexec(fd);
    return true;
  } catch {
    return false;
  }
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("UnixFdStream: bytes and descriptors", () => {
  expectNoFdLeaks();

  it("delivers bytes both ways, in order", async () => {
    const [a, b] = socketPair();
    const ra = record();
    const rb = record();
    a.start(ra.handler);
    b.start(rb.handler);
    a.write([Buffer.from("hello, ")]);
    a.write([Buffer.from("wor"), Buffer.from("ld")]);
    b.write([Buffer.from("back")]);
    await until(() => received(rb).length === 12 && received(ra).length === 4);
    expect(received(rb).toString()).toBe("hello, world");
    expect(received(ra).toString()).toBe("back");
    a.close();
    b.close();
  });

  it("passes descriptors with their chunk and closes the sent ones", async () => {
    const [a, b] = socketPair();
    const rb = record();
    b.start(rb.handler);
    const file = openTempFile("passed through a stream");
    a.write([Buffer.from("FD")], [file]);
    expect(isOpen(file)).toBe(false); // sent, so the stream closed its copy
    await until(() => rb.data.length > 0);
    const [first] = rb.data;
    expect(Buffer.from(first!.bytes).toString()).toBe("FD");
    expect(first!.fds).toHaveLength(1);
    const got = first!.fds[0]!;
    expect(native.getCloexec(got)).toBe(true);
    expect(readFd(got)).toBe("passed through a stream");
    native.close(got);
    a.close();
    b.close();
  });

  it("sends a write of more than IOV_MAX chunks completely and in order", async () => {
    const [a, b] = socketPair();
    const rb = record();
    b.start(rb.handler);
    const chunks = Array.from({ length: 3 * C.IOV_MAX + 7 }, (_, i) => Buffer.from(`${i},`));
    const expected = Buffer.concat(chunks);
    a.write(chunks);
    await until(() => received(rb).length >= expected.length);
    expect(received(rb).equals(expected)).toBe(true);
    a.close();
    b.close();
  });

  it("queues writes made before the peer starts reading (backpressure), then delivers every byte and descriptor with its chunk", async () => {
    const [a, b] = socketPair();
    // About 8 MiB in writes of varying sizes (one of 3 MiB); every 23rd write carries one or
    // two descriptors whose files name the write.
    const writes: { bytes: Uint8Array[]; offset: number; fdNames: string[] }[] = [];
    let offset = 0;
    for (let i = 0; i < 400; i++) {
      const size = i === 200 ? 3 << 20 : 1 + ((i * 7919) % 20000);
      const bytes = patternBytes(size, i + 1);
      // Split some writes into several chunks (gather writes through the queue).
      const parts = i % 3 === 0 ? [bytes.subarray(0, size >> 1), bytes.subarray(size >> 1)] : [bytes];
      const fdNames = i % 23 === 0 ? (i % 2 === 0 ? [`write ${i} a`, `write ${i} b`] : [`write ${i}`]) : [];
      writes.push({ bytes: parts, offset, fdNames });
      offset += size;
    }
    const total = offset;
    for (const w of writes) a.write(w.bytes, w.fdNames.map(openTempFile));
    expect(a.bufferedBytes).toBeGreaterThan(0); // the socket did not take it all

    const arrivals: { start: number; end: number; names: string[] }[] = [];
    let at = 0;
    const out = new Uint8Array(total);
    const rb: Recording = record();
    b.start({
      data(bytes, fds) {
        out.set(bytes, at);
        if (fds.length > 0) arrivals.push({ start: at, end: at + bytes.length, names: fds.map(readFd) });
        closeAll(fds);
        at += bytes.length;
      },
      end: rb.handler.end,
    });
    await until(() => at >= total);
    expect(at).toBe(total);
    expect(a.bufferedBytes).toBe(0);
    const expected = new Uint8Array(total);
    for (const w of writes) {
      let o = w.offset;
      for (const p of w.bytes) {
        expected.set(p, o);
        o += p.length;
      }
    }
    expect(Buffer.from(out).equals(Buffer.from(expected))).toBe(true);

    // Each write's descriptors came with the read that holds the write's first byte.
    const withFds = writes.filter((w) => w.fdNames.length > 0);
    expect(arrivals.map((x) => x.names)).toEqual(withFds.map((w) => w.fdNames));
    arrivals.forEach((x, i) => {
      const first = withFds[i]!.offset;
      expect(x.start <= first && first < x.end, `fds of the write at ${first} came with [${x.start}, ${x.end})`).toBe(
        true,
      );
    });
    a.close();
    b.close();
    expect(rb.ends).toEqual([undefined]);
  });

  it("hands each data() call its own descriptor array", async () => {
    const [a, b] = socketPair();
    const rb = record();
    b.start(rb.handler);
    a.write([Buffer.from("1")], [openTempFile("one")]);
    a.write([Buffer.from("2")], [openTempFile("two")]);
    await until(() => rb.data.filter((d) => d.fds.length > 0).length === 2);
    const lists = rb.data.map((d) => d.fds).filter((f) => f.length > 0);
    expect(lists[0]).not.toBe(lists[1]);
    expect(lists.map((f) => f.map(readFd))).toEqual([["one"], ["two"]]);
    lists.forEach(closeAll);
    a.close();
    b.close();
  });
});

describe("UnixFdStream: ending", () => {
  expectNoFdLeaks();

  it("calls end() exactly once, with no error, when the peer closes", async () => {
    const [a, b] = socketPair();
    const ra = record();
    a.start(ra.handler);
    b.write([Buffer.from("last words")]);
    b.close();
    expect(await ra.ended).toBeUndefined();
    expect(received(ra).toString()).toBe("last words");
    expect(a.closed).toBe(true);
    a.close();
    await turns(3);
    expect(ra.ends).toEqual([undefined]);
  });

  it("close() is idempotent and ends a started stream once", () => {
    const [a, b] = socketPair();
    const ra = record();
    a.start(ra.handler);
    a.close();
    a.close();
    expect(ra.ends).toEqual([undefined]);
    b.close();
  });

  it("delivers the end at start() for a stream closed before it", () => {
    const [a, b] = socketPair();
    a.close();
    const ra = record();
    a.start(ra.handler);
    expect(ra.ends).toEqual([undefined]);
    expect(() => a.start(record().handler)).toThrow(/already started/);
    b.close();
  });

  it("may be closed by its handler inside data()", async () => {
    const [a, b] = socketPair();
    const ra = record(() => a.close());
    a.start(ra.handler);
    b.write([Buffer.from("x")], [openTempFile("closed unread")]);
    b.write([Buffer.from("more")]);
    await until(() => ra.ends.length > 0);
    expect(ra.data).toHaveLength(1);
    expect(ra.ends).toEqual([undefined]);
    closeAll(ra.data[0]!.fds);
    b.close();
  });

  it("closes queued descriptors on close() and the descriptors of writes after it", () => {
    const [a, b] = socketPair();
    // Fill the socket so that the next write is queued with its descriptor.
    const big = new Uint8Array(4 << 20);
    a.write([big]);
    expect(a.bufferedBytes).toBeGreaterThan(0);
    const queued = openTempFile("queued");
    a.write([Buffer.from("q")], [queued]);
    expect(isOpen(queued)).toBe(true);
    a.close();
    expect(isOpen(queued)).toBe(false);
    const late = openTempFile("late");
    a.write([Buffer.from("l")], [late]);
    expect(isOpen(late)).toBe(false);
    b.close();
  });

  it("keeps reading after the peer stops reading (EPIPE), then ends without an error", async () => {
    const [a, b] = socketPair();
    const ra = record();
    a.start(ra.handler);
    b.write([Buffer.from("reply before close")]);
    b.close();
    const file = openTempFile("never sent");
    a.write([Buffer.from("into the void")], [file]); // EPIPE: dropped, not thrown
    expect(isOpen(file)).toBe(false);
    expect(await ra.ended).toBeUndefined();
    expect(received(ra).toString()).toBe("reply before close");
    expect(ra.ends).toHaveLength(1);
  });

  it("delivers the peer's last bytes, then ends with ECONNRESET when it closed with ours unread", async () => {
    const [a, b] = socketPair();
    b.write([Buffer.from("final reply")]);
    a.write([Buffer.from("unread")]);
    b.close();
    const ra = record();
    a.start(ra.handler);
    const err = await ra.ended;
    expect(received(ra).toString()).toBe("final reply");
    expect(err).toMatchObject({ code: "ECONNRESET", errno: -104, syscall: "recvmsg" });
    expect(ra.ends).toHaveLength(1);
  });

  it("validates writes: descriptors need a byte, at most SCM_MAX_FD of them", () => {
    const [a, b] = socketPair();
    const f1 = openTempFile("");
    expect(() => a.write([], [f1])).toThrow(RangeError);
    expect(isOpen(f1)).toBe(false); // ownership was taken
    const many = Array.from({ length: C.SCM_MAX_FD + 1 }, () => openTempFile(""));
    expect(() => a.write([Buffer.from("x")], many)).toThrow(RangeError);
    expect(many.some(isOpen)).toBe(false);
    a.close();
    b.close();
  });
});

describe("fromFd", () => {
  expectNoFdLeaks();

  it("makes an inherited-style blocking socket non-blocking and close-on-exec", async () => {
    const [x, y] = native.socketpair(C.SOCK_STREAM);
    const a = fromFd(x);
    expect([native.getNonblock(x), native.getCloexec(x)]).toEqual([true, true]);
    const b = new UnixFdStream(y);
    native.setNonblock(y, true);
    const rb = record();
    b.start(rb.handler);
    a.write([Buffer.from("ok")]);
    await until(() => received(rb).length === 2);
    a.close();
    b.close();
  });

  it("takes ownership of the descriptor even when it fails", () => {
    const [x, y] = native.socketpair(C.SOCK_STREAM);
    native.close(x);
    expect(() => fromFd(x)).toThrow(expect.objectContaining({ code: "EBADF" }) as Error);
    native.close(y);
    expect(() => new UnixFdStream(-1)).toThrow(RangeError);
  });
});
