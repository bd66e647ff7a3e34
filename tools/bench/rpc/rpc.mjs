#!/usr/bin/env node
// tools/bench/rpc: the cost of one Cap'n Proto RPC between two processes, beside a raw
// socketpair ping-pong of the same bytes measured in the same run.
//
//   node tools/bench/rpc/rpc.mjs [--rounds 5] [--calls 20000]
//
// Both sides are Node processes using the same UnixFdStream; the raw ping-pong sends exactly the
// bytes of one RPC call frame and answers with the bytes of its return frame, so the ratio is the
// cost of the RPC layer (capnp-es encoding, the engine, dispatch) over the bare transport. A C
// ping-pong of the same sizes is printed for context (the floor of the machine).
//
// Requires a build (npm run build). Prints medians over rounds.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { native, rpcOverFd, fromFd } from "@runsc-ts/platform";
import { RpcConnection, memoryStreamPair, testing } from "@runsc-ts/proto";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    calls: { type: "string", default: "20000" },
    role: { type: "string" },
  },
});
const ROUNDS = Number(values.rounds);
const CALLS = Number(values.calls);
const BIG = 64 * 1024;

// ---- The server side (child process): fd 3 is its end of the socketpair. ----------------------
if (values.role === "rpc-server") {
  const target = {
    async null() {},
    async echoData(p, r) {
      const src = p.data.toUint8Array();
      r._initData(src.length).copyBuffer(src);
    },
  };
  const conn = rpcOverFd(3, { bootstrap: new testing.Bench$Server(target) });
  await conn.closed();
  process.exit(0);
}
if (values.role === "raw-server") {
  // Echo protocol: each request is [u32 reply length][payload]; reply with that many bytes.
  const s = fromFd(3);
  let buf = new Uint8Array(0);
  const replies = new Map();
  s.start({
    data(bytes) {
      const merged = new Uint8Array(buf.length + bytes.length);
      merged.set(buf);
      merged.set(bytes, buf.length);
      buf = merged;
      for (;;) {
        if (buf.length < 8) break;
        const dv = new DataView(buf.buffer, buf.byteOffset);
        const reqLen = dv.getUint32(0, true);
        const replyLen = dv.getUint32(4, true);
        if (buf.length < reqLen) break;
        buf = buf.slice(reqLen);
        let reply = replies.get(replyLen);
        if (reply === undefined) replies.set(replyLen, (reply = new Uint8Array(replyLen)));
        s.write([reply]);
      }
    },
    end() {
      process.exit(0);
    },
  });
  await new Promise(() => {});
}

// ---- The client side. --------------------------------------------------------------------------
if (!existsSync(join(here, "../../../packages/platform/dist/index.js"))) {
  console.error("rpc bench: build first (npm run build)");
  process.exit(1);
}

function startServer(role) {
  const [mine, theirs] = native.socketpair(native.constants.SOCK_STREAM | native.constants.SOCK_CLOEXEC);
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--role", role], {
    stdio: ["ignore", "inherit", "inherit", theirs],
  });
  native.close(theirs);
  return { fd: mine, child };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rawPingPong(reqBytes, replyBytes, n) {
  const { fd, child } = startServer("raw-server");
  const s = fromFd(fd);
  const req = new Uint8Array(Math.max(reqBytes, 8));
  const dv = new DataView(req.buffer);
  dv.setUint32(0, req.length, true);
  dv.setUint32(4, replyBytes, true);
  let got = 0;
  let wake = null;
  s.start({
    data(bytes) {
      got += bytes.length;
      if (got >= replyBytes && wake) {
        got -= replyBytes;
        const w = wake;
        wake = null;
        w();
      }
    },
    end() {},
  });
  const once = () =>
    new Promise((resolve) => {
      wake = resolve;
      s.write([req]);
    });
  for (let i = 0; i < 200; i++) await once();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once();
  const us = Number(process.hrtime.bigint() - t) / 1000 / n;
  s.close();
  await new Promise((r) => child.on("exit", r));
  return us;
}

async function rpcCalls(kind, n) {
  const { fd, child } = startServer("rpc-server");
  const conn = rpcOverFd(fd);
  const bench = conn.bootstrap(testing.Bench$Client);
  const payload = new Uint8Array(BIG).fill(7);
  const call =
    kind === "null"
      ? () => bench.null().promise()
      : () => bench.echoData((p) => p._initData(payload.length).copyBuffer(payload)).promise();
  for (let i = 0; i < 200; i++) await call();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call();
  const us = Number(process.hrtime.bigint() - t) / 1000 / n;
  conn.close();
  await new Promise((r) => child.on("exit", r));
  return us;
}

/** Sizes of the frames one null call and its return put on the wire, measured on the engine. */
async function frameSizes() {
  const [a, b] = memoryStreamPair();
  const sizes = { call: 0, ret: 0 };
  const tap = (stream, key) => {
    const write = stream.write.bind(stream);
    stream.write = (chunks, fds) => {
      sizes[key] = chunks.reduce((n, c) => n + c.length, 0);
      write(chunks, fds);
    };
  };
  tap(a, "call");
  tap(b, "ret");
  new RpcConnection(b, { bootstrap: new testing.Bench$Server({ async null() {}, async echoData() {} }), closeFd: native.close });
  const conn = new RpcConnection(a, { closeFd: native.close });
  const bench = conn.bootstrap(testing.Bench$Client);
  await bench.null().promise(); // resolves the bootstrap
  await bench.null().promise(); // the frames measured: a plain call and its return
  conn.close();
  return sizes;
}

/** A C ping-pong of the same sizes between two processes: the machine's floor. */
function cPingPong(reqBytes, replyBytes, n) {
  const dir = mkdtempSync(join(tmpdir(), "rpc-bench-"));
  try {
    const src = join(dir, "pp.c");
    writeFileSync(
      src,
      `#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static void full(int fd, char *b, size_t n, int rd) { size_t o = 0; while (o < n) { ssize_t r = rd ? read(fd, b + o, n - o) : write(fd, b + o, n - o); if (r <= 0) exit(1); o += r; } }
int main(int argc, char **argv) {
  size_t q = atoi(argv[1]), p = atoi(argv[2]); long n = atol(argv[3]);
  int sv[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  char *b = calloc(1, q > p ? q : p);
  if (fork() == 0) { close(sv[0]); for (long i = 0; i < n + 100; i++) { full(sv[1], b, q, 1); full(sv[1], b, p, 0); } return 0; }
  close(sv[1]);
  for (int i = 0; i < 100; i++) { full(sv[0], b, q, 0); full(sv[0], b, p, 1); }
  struct timespec a, z; clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) { full(sv[0], b, q, 0); full(sv[0], b, p, 1); }
  clock_gettime(CLOCK_MONOTONIC, &z);
  printf("%.3f\\n", ((z.tv_sec - a.tv_sec) * 1e9 + (z.tv_nsec - a.tv_nsec)) / 1e3 / n);
  return 0;
}
`,
    );
    execFileSync("cc", ["-O2", "-o", join(dir, "pp"), src]);
    return Number(execFileSync(join(dir, "pp"), [String(reqBytes), String(replyBytes), String(n)]).toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = await frameSizes();
console.log(`frame bytes: call ${sizes.call}, return ${sizes.ret}`);
const rows = { rawNull: [], rpcNull: [], raw64k: [], rpc64k: [], cNull: [], c64k: [] };
for (let r = 0; r < ROUNDS; r++) {
  rows.rawNull.push(await rawPingPong(sizes.call, sizes.ret, CALLS));
  rows.rpcNull.push(await rpcCalls("null", CALLS));
  rows.raw64k.push(await rawPingPong(BIG + 128, BIG + 96, CALLS / 10));
  rows.rpc64k.push(await rpcCalls("data", CALLS / 10));
  rows.cNull.push(cPingPong(sizes.call, sizes.ret, CALLS));
  rows.c64k.push(cPingPong(BIG + 128, BIG + 96, CALLS / 10));
}
const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
const f = (x) => x.toFixed(1);
console.log(`rpc bench: medians of ${ROUNDS} rounds, ${CALLS} sequential null calls / ${CALLS / 10} 64 KiB calls per round`);
console.table([
  { case: "null call", "raw ping-pong µs": f(m.rawNull), "rpc µs": f(m.rpcNull), "rpc/raw": (m.rpcNull / m.rawNull).toFixed(2), "C ping-pong µs": f(m.cNull) },
  { case: "64 KiB Data", "raw ping-pong µs": f(m.raw64k), "rpc µs": f(m.rpc64k), "rpc/raw": (m.rpc64k / m.raw64k).toFixed(2), "C ping-pong µs": f(m.c64k) },
]);
console.log(`bar: sequential null call <= 5x raw ping-pong: ${m.rpcNull / m.rawNull <= 5 ? "met" : "NOT met"} (${(m.rpcNull / m.rawNull).toFixed(2)}x)`);
