import { closeSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Message } from "capnp-es";
import { Message as RpcMessage } from "capnp-es/capnp/rpc";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encodeFrameHeader } from "../transport/frame.js";
import { type MemoryStreamOptions, memoryStreamPair } from "../transport/memory-stream.js";
import { RpcConnection } from "./connection.js";
import { DisconnectedError, RpcError } from "./errors.js";
import { hostFd, takeFd } from "./host-fd.js";
import { Counter$Client, Counter$Server, Echo$Client, Echo$Server, type Echo$Server$Target, TestFd$Client } from "../gen/testing.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rpc-test-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openFds(): Set<string> {
  return new Set(readdirSync("/proc/self/fd"));
}

function readAllFd(fd: number): string {
  const buf = Buffer.alloc(4096);
  const n = readSync(fd, buf, 0, buf.length, 0);
  return buf.subarray(0, n).toString();
}

class CounterImpl {
  released = 0;
  constructor(public value: number) {}
  async increment(_p: unknown, r: { value: number }): Promise<void> {
    r.value = ++this.value;
  }
  async get(_p: unknown, r: { value: number }): Promise<void> {
    r.value = this.value;
  }
  onRelease(): void {
    this.released++;
  }
}

class EchoImpl implements Echo$Server$Target {
  counters: CounterImpl[] = [];
  async echo(p: Parameters<Echo$Server$Target["echo"]>[0], r: Parameters<Echo$Server$Target["echo"]>[1]): Promise<void> {
    r.value = p.value;
  }
  async echoData(p: Parameters<Echo$Server$Target["echoData"]>[0], r: Parameters<Echo$Server$Target["echoData"]>[1]): Promise<void> {
    const src = p.data.toUint8Array();
    r._initData(src.length).copyBuffer(src);
  }
  async newCounter(p: Parameters<Echo$Server$Target["newCounter"]>[0], r: Parameters<Echo$Server$Target["newCounter"]>[1]): Promise<void> {
    const c = new CounterImpl(p.start);
    this.counters.push(c);
    r.counter = new Counter$Server(c).client();
  }
  async fail(p: Parameters<Echo$Server$Target["fail"]>[0]): Promise<void> {
    throw new Error(p.message);
  }
  async openFds(): Promise<void> {
    throw new Error("not used");
  }
  async readFd(p: Parameters<Echo$Server$Target["readFd"]>[0], r: Parameters<Echo$Server$Target["readFd"]>[1]): Promise<void> {
    const fd = takeFd(p.fd);
    if (fd < 0) throw new Error("no fd");
    try {
      r.content = readAllFd(fd);
    } finally {
      closeSync(fd);
    }
  }
  async delayed(p: Parameters<Echo$Server$Target["delayed"]>[0], r: Parameters<Echo$Server$Target["delayed"]>[1]): Promise<void> {
    await new Promise((res) => setTimeout(res, p.ms));
    r.value = p.value;
  }
  async bump(p: Parameters<Echo$Server$Target["bump"]>[0], r: Parameters<Echo$Server$Target["bump"]>[1]): Promise<void> {
    const res = await p.counter.increment().promise();
    r.value = res.value;
  }
  async openFd(p: Parameters<Echo$Server$Target["openFd"]>[0], r: Parameters<Echo$Server$Target["openFd"]>[1]): Promise<void> {
    if (p.none) return;
    const file = join(dir, "served.txt");
    writeFileSync(file, "served content");
    r.fd = hostFd(TestFd$Client, openSync(file, "r"));
  }
}

function connect(opts: MemoryStreamOptions = {}) {
  const [a, b] = memoryStreamPair(opts);
  const impl = new EchoImpl();
  const server = new RpcConnection(b, { bootstrap: new Echo$Server(impl), closeFd: closeSync });
  const client = new RpcConnection(a, { closeFd: closeSync });
  const echo = client.bootstrap(Echo$Client);
  return { a, b, impl, server, client, echo };
}

describe("RpcConnection", () => {
  let before: Set<string>;
  beforeEach(() => {
    before = openFds();
  });
  afterEach(async () => {
    // Let pending disposal (setImmediate) run before comparing.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(openFds()).toEqual(before);
  });

  it("calls a method on the bootstrap capability", async () => {
    const { echo, client } = connect();
    const r = await echo.echo((p) => (p.value = 0x1234_5678_9abc_def0n)).promise();
    expect(r.value).toBe(0x1234_5678_9abc_def0n);
    client.close();
  });

  it("works when every write arrives one byte at a time", async () => {
    const { echo, client } = connect({ maxChunk: 1 });
    const r = await echo.echo((p) => (p.value = 7n)).promise();
    expect(r.value).toBe(7n);
    client.close();
  });

  it("round-trips a 64 KiB Data payload", async () => {
    const { echo, client } = connect();
    const data = new Uint8Array(65536).map((_, i) => (i * 7) & 0xff);
    const r = await echo.echoData((p) => p._initData(data.length).copyBuffer(data)).promise();
    expect(r.data.toUint8Array()).toEqual(data);
    client.close();
  });

  it("answers 10,000 concurrent calls, each with its own result, in any order", async () => {
    const { echo, client, server } = connect();
    const calls = Array.from({ length: 10_000 }, (_, i) =>
      i % 10 === 0
        ? echo.delayed((p) => {
            p.ms = (i * 7) % 5;
            p.value = i;
          }).promise().then((r) => BigInt(r.value))
        : echo.echo((p) => (p.value = BigInt(i))).promise().then((r) => r.value),
    );
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 10_000 }, (_, i) => BigInt(i)));
    expect(client.stats().questions).toBe(0);
    expect(server.stats().answers).toBe(0);
    client.close();
  });

  it("returns capabilities and calls them", async () => {
    const { echo, client, impl } = connect();
    const r = await echo.newCounter((p) => (p.start = 10)).promise();
    const counter = r.counter;
    expect((await counter.increment().promise()).value).toBe(11);
    expect((await counter.increment().promise()).value).toBe(12);
    expect(impl.counters[0]?.value).toBe(12);
    client.close();
  });

  it("pipelines a call on a capability before its answer arrives", async () => {
    const { echo, client } = connect();
    const promise = echo.newCounter((p) => (p.start = 41));
    const inc = promise.getCounter().increment();
    const get = promise.getCounter().get();
    expect((await inc.promise()).value).toBe(42);
    expect((await get.promise()).value).toBe(42);
    client.close();
  });

  it("releases an export when the client closes its capability", async () => {
    const { echo, client, server, impl } = connect();
    const r = await echo.newCounter((p) => (p.start = 1)).promise();
    const counter = r.counter;
    await counter.increment().promise();
    expect(server.stats().exports).toBe(2); // bootstrap + counter
    counter.client.close();
    await echo.echo((p) => (p.value = 1n)).promise(); // a round trip to flush the Release
    expect(server.stats().exports).toBe(1);
    expect(impl.counters[0]?.released).toBe(1);
    expect(server.stats().answers).toBe(0);
    client.close();
  });

  it("passes a capability back to its host (receiverHosted)", async () => {
    const { echo, client } = connect();
    const counter = (await echo.newCounter((p) => (p.start = 5)).promise()).counter;
    const r = await echo.bump((p) => (p.counter = counter)).promise();
    expect(r.value).toBe(6);
    client.close();
  });

  it("passes a local capability to the peer, which calls back into it", async () => {
    const { echo, client } = connect();
    const local = new CounterImpl(100);
    const r = await echo.bump((p) => (p.counter = new Counter$Server(local).client())).promise();
    expect(r.value).toBe(101);
    expect(local.value).toBe(101);
    client.close();
  });

  it("reports a handler's exception as an RpcError with its message", async () => {
    const { echo, client } = connect();
    await expect(echo.fail((p) => (p.message = "no such thing")).promise()).rejects.toThrow(
      expect.objectContaining({ name: "RpcError", message: "no such thing", type: "failed" }),
    );
    // The connection is still usable.
    expect((await echo.echo((p) => (p.value = 3n)).promise()).value).toBe(3n);
    client.close();
  });

  it("fails pipelined calls on a failed answer with that answer's error", async () => {
    const { echo, client } = connect();
    const c = echo.newCounter((p) => (p.start = 1));
    // A call on a counter obtained from an exception: the method on the capability fails.
    const bad = echo.fail((p) => (p.message = "boom"));
    await expect(bad.promise()).rejects.toThrow("boom");
    expect((await c.getCounter().get().promise()).value).toBe(1);
    client.close();
  });

  it("answers an unknown method with an unimplemented error", async () => {
    const { client, a } = connect();
    // Call Counter.get on the Echo bootstrap: same method id space, different interface id.
    const asCounter = client.bootstrap(Counter$Client);
    await expect(asCounter.get().promise()).rejects.toThrow(expect.objectContaining({ type: "unimplemented" }));
    expect(a).toBeDefined();
    client.close();
  });

  it("donates an FD in results; the caller reads the file through it", async () => {
    const { echo, client } = connect();
    const r = await echo.openFd((p) => (p.none = false)).promise();
    const fd = takeFd(r.fd);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(readAllFd(fd)).toBe("served content");
    closeSync(fd);
    client.close();
  });

  it("yields -1 for a null FD field", async () => {
    const { echo, client } = connect();
    const r = await echo.openFd((p) => (p.none = true)).promise();
    expect(takeFd(r.fd)).toBe(-1);
    client.close();
  });

  it("closes a donated FD that the caller did not take", async () => {
    const { echo, client } = connect();
    await echo.openFd((p) => (p.none = false)).promise();
    client.close(); // afterEach checks that no FD is left open
  });

  it("sends an FD in params to a server that reads it", async () => {
    const { echo, client } = connect();
    const file = join(dir, "param.txt");
    writeFileSync(file, "from the client");
    const r = await echo.readFd((p) => (p.fd = hostFd(TestFd$Client, openSync(file, "r")))).promise();
    expect(r.content).toBe("from the client");
    client.close();
  });

  it("fails pending calls with DisconnectedError when the peer goes away", async () => {
    const { echo, server, client } = connect();
    const pending = echo.delayed((p) => {
      p.ms = 50;
      p.value = 1;
    }).promise();
    await new Promise((r) => setTimeout(r, 5));
    server.close();
    await expect(pending).rejects.toBeInstanceOf(DisconnectedError);
    expect(await client.closed()).toBeUndefined();
    await expect(echo.echo((p) => (p.value = 1n)).promise()).rejects.toBeInstanceOf(DisconnectedError);
  });

  it("aborts on garbage bytes with a clear error, without crashing", async () => {
    const { b, server, client } = connect();
    b.inject(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    const err = await server.closed();
    expect(err).toBeInstanceOf(DisconnectedError);
    expect(err?.message).toMatch(/protocol error/);
    expect(await client.closed()).toBeInstanceOf(DisconnectedError);
  });

  it("aborts on a 4 GiB length prefix", async () => {
    const { b, server } = connect();
    const h = new Uint8Array(8);
    new DataView(h.buffer).setUint32(0, 0xffff_fff8, true);
    b.inject(h);
    expect((await server.closed())?.message).toMatch(/exceeds the limit/);
  });

  it("reports a peer that closes in the middle of a frame", async () => {
    const { a, server } = connect();
    const h = encodeFrameHeader([64], 0);
    a.write([h, new Uint8Array(10)]);
    a.close();
    expect((await server.closed())?.message).toMatch(/middle of a frame/);
  });

  it("closes FDs it did not announce and aborts", async () => {
    const { b, server } = connect();
    const fd = openSync(join(dir, "x"), "w");
    // A valid but empty-ish message frame that announces no FDs, with one attached anyway.
    const m = new Message();
    m.initRoot(RpcMessage)._initFinish().questionId = 99;
    const seg = m._capnp.segments[0];
    if (seg === undefined) throw new Error("no segment");
    const body = new Uint8Array(seg.buffer, 0, seg.byteLength);
    const head = encodeFrameHeader([body.length], 0);
    b.inject(new Uint8Array([...head, ...body]), [fd]);
    expect((await server.closed())?.message).toMatch(/no frame announced/);
  });

  it("aborts when a frame's FDs are not named by its cap table", async () => {
    const { b, server } = connect();
    const fd = openSync(join(dir, "y"), "w");
    const m = new Message();
    m.initRoot(RpcMessage)._initFinish().questionId = 99;
    const seg = m._capnp.segments[0];
    if (seg === undefined) throw new Error("no segment");
    const body = new Uint8Array(seg.buffer, 0, seg.byteLength);
    b.inject(new Uint8Array([...encodeFrameHeader([body.length], 1), ...body]), [fd]);
    expect((await server.closed())?.message).toMatch(/cap table named 0/);
  });

  it("aborts on a Return for a question that was never asked", async () => {
    const { b, server } = connect();
    const m = new Message();
    const ret = m.initRoot(RpcMessage)._initReturn();
    ret.answerId = 12345;
    ret._initResults();
    const seg = m._capnp.segments[0];
    if (seg === undefined) throw new Error("no segment");
    const body = new Uint8Array(seg.buffer, 0, seg.byteLength);
    b.inject(new Uint8Array([...encodeFrameHeader([body.length], 0), ...body]));
    expect((await server.closed())?.message).toMatch(/not outstanding/);
  });

  it("answers messages it does not implement with Unimplemented, and stays up", async () => {
    const { b, echo, client, server } = connect();
    const m = new Message();
    m.initRoot(RpcMessage)._initDisembargo();
    const seg = m._capnp.segments[0];
    if (seg === undefined) throw new Error("no segment");
    const body = new Uint8Array(seg.buffer, 0, seg.byteLength);
    // Injected into the server's inbound side: as if the client had sent it.
    b.inject(new Uint8Array([...encodeFrameHeader([body.length], 0), ...body]));
    expect((await echo.echo((p) => (p.value = 2n)).promise()).value).toBe(2n);
    expect(server.isClosed).toBe(false);
    client.close();
  });

  it("survives random garbage frames: every one aborts cleanly", async () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let round = 0; round < 200; round++) {
      const { b, server } = connect();
      const words = 1 + (rand() % 16);
      const body = new Uint8Array(words * 8).map(() => rand() & 0xff);
      b.inject(new Uint8Array([...encodeFrameHeader([body.length], 0), ...body]));
      // Follow with a close so that a garbage frame that happens to parse still ends the test.
      setImmediate(() => b.close());
      const err = await server.closed();
      if (err !== undefined) expect(err).toBeInstanceOf(DisconnectedError);
    }
  });

  it("rejects calls after close with DisconnectedError", async () => {
    const { echo, client } = connect();
    client.close();
    await expect(echo.echo((p) => (p.value = 1n)).promise()).rejects.toBeInstanceOf(RpcError);
  });

  it("fails bootstrap when the peer offers none", async () => {
    const [a, b] = memoryStreamPair();
    const server = new RpcConnection(b, { closeFd: closeSync });
    const client = new RpcConnection(a, { closeFd: closeSync });
    const echo = client.bootstrap(Echo$Client);
    await expect(echo.echo((p) => (p.value = 1n)).promise()).rejects.toThrow(/no bootstrap/);
    client.close();
    await server.closed();
  });
});

describe("hostFd", () => {
  it("rejects negative FDs", () => {
    expect(() => hostFd(TestFd$Client, -1)).toThrow(RangeError);
  });
  it("keeps the file readable through the FD it wraps", () => {
    const file = join(dir, "wrap.txt");
    writeFileSync(file, "abc");
    const fd = openSync(file, "r");
    const c = hostFd(TestFd$Client, fd);
    const taken = takeFd(c);
    expect(taken).toBe(fd);
    expect(takeFd(c)).toBe(-1);
    expect(readFileSync(file, "utf8")).toBe("abc");
    closeSync(fd);
  });
});
