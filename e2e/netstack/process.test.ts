// `runsc-ts netstack` as its own process, driven over a socket pair by a test client that plays
// the sentry: TCP and UDP over the stack's loopback, readiness callbacks, and hostile input
// (garbage frames, absurd lengths, bad arguments) that must never crash it.
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AF_INET, EINVAL, EPOLLIN, SHUT_WR, SOCK_DGRAM, SOCK_STREAM } from "@runsc-ts/abi";
import { RemoteSocket } from "@runsc-ts/netstack";
import { native } from "@runsc-ts/platform";
import { afterEach, describe, expect, it } from "vitest";
import { type NetstackProcess, spawnNetstack } from "./harness.js";

let proc: NetstackProcess | undefined;

let logs: string[] = [];

afterEach(async (ctx) => {
  if (proc !== undefined) {
    proc.child.kill("SIGKILL");
    await proc.exited;
  }
  proc = undefined;
  // The netstack's own log helps only when a test failed.
  if (ctx.task.result?.state !== "fail") for (const f of logs) fs.rmSync(f, { force: true });
  logs = [];
});

/** spawnNetstack, with its log file removed after a passing test. */
function start(...args: Parameters<typeof spawnNetstack>): NetstackProcess {
  const p = spawnNetstack(...args);
  logs.push(p.logFile);
  return p;
}

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("runsc-ts netstack over a socket pair", () => {
  it("serves a TCP echo over loopback with readiness callbacks, then exits 0 when the sandbox hangs up", async () => {
    proc = start();
    const ifs = (await proc.stack.interfaces().promise()).interfaces;
    expect(ifs.length).toBe(1);
    expect(ifs.get(0).name).toBe("lo");

    const listener = await RemoteSocket.open(proc.stack, AF_INET, SOCK_STREAM);
    await listener.bind({ address: "127.0.0.1", port: 7 });
    await listener.listen();
    const client = await RemoteSocket.open(proc.stack, AF_INET, SOCK_STREAM);
    const [{ socket: server }] = await Promise.all([listener.accept(), client.connect({ address: "127.0.0.1", port: 7 })]);
    const notifiedBefore = server.notifications;
    const payload = randomBytes(2 << 20);
    const echo = (async () => {
      for (let d = await server.recv(); d.length > 0; d = await server.recv()) await server.sendAll(d);
      await server.shutdown(SHUT_WR);
    })();
    const got: Uint8Array[] = [];
    const reading = client.readToEnd((d) => got.push(d));
    await client.sendAll(payload);
    await client.shutdown(SHUT_WR);
    await reading;
    await echo;
    expect(sha(Buffer.concat(got))).toBe(sha(payload));
    // The server side learned of arriving data from the netstack's notify calls.
    expect(server.notifications).toBeGreaterThan(notifiedBefore);

    const exit = await proc.stop();
    proc = undefined;
    expect(exit).toMatchObject({ code: 0, signal: null, stderr: "" });
  });

  it("moves UDP datagrams between two sockets, recording lo in the --log-packets file", async () => {
    const pcap = path.join(os.tmpdir(), `netstack-lo-${process.pid}.pcap`);
    proc = start(["--log-packets", pcap]);
    const a = await RemoteSocket.open(proc.stack, AF_INET, SOCK_DGRAM);
    const b = await RemoteSocket.open(proc.stack, AF_INET, SOCK_DGRAM);
    await b.bind({ address: "127.0.0.1", port: 5353 });
    await a.bind({ address: "127.0.0.1", port: 0 });
    for (let i = 0; i < 20; i++) expect(await a.sendOnce(new Uint8Array([i, i, i]), { address: "127.0.0.1", port: 5353 })).toBe(3);
    for (let i = 0; i < 20; i++) {
      const d = await b.recvFrom();
      expect([...d.data]).toEqual([i, i, i]);
      expect(d.from).toEqual(await a.getSockName());
    }
    expect((await b.endpoint.readiness((p) => void (p.mask = EPOLLIN)).promise()).events).toBe(0);
    await proc.stop();
    proc = undefined;
    const bytes = fs.readFileSync(pcap);
    fs.rmSync(pcap);
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(bytes.readUInt32LE(20)).toBe(101); // LINKTYPE_RAW: lo carries bare IP
    // 20 datagrams of 3 bytes: 16-byte record + 20 (IPv4) + 8 (UDP) + 3, each.
    expect(bytes.length).toBe(24 + 20 * (16 + 31));
  });

  it("answers a call with bad arguments with errno and keeps serving", async () => {
    proc = start();
    const s = await RemoteSocket.open(proc.stack, AF_INET, SOCK_STREAM);
    const r = await s.endpoint.bind((p) => {
      const a = p._initAddr();
      a.family = AF_INET;
      a._initAddr(7);
    }).promise();
    expect(r.errno).toBe(EINVAL.errno);
    await s.bind({ address: "127.0.0.1", port: 80 });
    expect((await s.getSockName()).port).toBe(80);
  });

  it.each([
    ["garbage bytes", randomBytes(4096)],
    ["a 4 GiB length prefix", Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3, 4])],
    ["a truncated frame and a hang-up", Buffer.from([64, 0, 0, 0, 0, 0, 0, 0, 1, 2])],
  ])("survives %s: the connection is refused, the process exits 0 without a crash", async (_what, bytes) => {
    proc = start();
    // The process is up and serving.
    await RemoteSocket.open(proc.stack, AF_INET, SOCK_STREAM);
    native.sendmsg(proc.fd, [bytes], []);
    // A bad frame aborts the connection at once; a truncated one waits for the rest, which
    // never comes: the hang-up must end it cleanly too.
    const exit = await Promise.race([proc.exited, new Promise<"waiting">((resolve) => setTimeout(() => resolve("waiting"), 1000))]);
    if (exit === "waiting") proc.conn.close();
    const done = await proc.exited;
    expect(done.signal).toBeNull();
    expect(done.code).toBe(0);
    expect(done.stderr).toBe("");
    const log = fs.readFileSync(proc.logFile, "utf8");
    expect(log).not.toMatch(/"level":(50|60)/); // no error or fatal record: nothing crashed
    fs.rmSync(proc.logFile, { force: true });
    proc = undefined;
  });

  it("refuses a --tap-fd that is not a TAP device with one line and exit 1", async () => {
    const fd = fs.openSync("/dev/null", "r");
    try {
      proc = start([], fd);
      const exit = await proc.exited;
      proc = undefined;
      expect(exit.code).toBe(1);
      expect(exit.stderr).toMatch(/^runsc-ts: netstack: --tap-fd [^\n]*\n$/);
    } finally {
      fs.closeSync(fd);
    }
  });
});
