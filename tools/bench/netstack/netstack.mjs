// tools/bench/netstack: the netstack against Linux, from one run (root needed: namespaces, TAP,
// veth, iptables). Prints:
//   1. bulk HTTP throughput TS <-> Linux over a TAP device (curl fetching from the TS stack, and a
//      TS client fetching from nginx-light), with the TAP's offloads (IFF_VNET_HDR: TSO both
//      ways, partial checksums) and without, beside Linux <-> Linux over a veth pair (curl from
//      nginx-light), the same file both ways;
//   2. TS <-> TS over the stack's own loopback on the host clock, in this process and through a
//      real `runsc-ts netstack` process's RPC;
//   3. the loss figures, 1% of data segments dropped on a low-RTT link, SACK vs no SACK:
//      a. real time, TS sender -> Linux receiver over the TAP, the drop done by iptables
//         (-m statistic) in the namespace; Linux -> Linux over veth the same way for reference;
//      b. simulated (manual clock, seeded impairment, the loss-bar test's link: 50 µs RTT, 5 Gbit/s,
//         half a second per run) for several seeds, the first three being the test's.
// The TS stack runs in this process (no RPC): these are the stack's figures. 10.x addresses
// exist only inside the namespaces made here, which are always removed.
//
// Run after building: node tools/bench/netstack/netstack.mjs [--mb N] [--seconds S] [--seeds K]
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { mb: { type: "string", default: "200" }, seconds: { type: "string", default: "5" }, seeds: { type: "string", default: "6" } } });
const MB = Number(values.mb);
const SECONDS = Number(values.seconds);
const SEEDS = Number(values.seeds);
const SIZE = MB * 1000 * 1000;

const root = new URL("../../../packages/", import.meta.url);
const ns = await import(new URL("netstack/dist/index.js", root).href);
const { native } = await import(new URL("platform/dist/index.js", root).href);

if (process.getuid() !== 0) {
  console.error("tools/bench/netstack needs root (network namespaces, TAP, veth, iptables)");
  process.exit(1);
}

const tag = `rtsb${process.pid % 100000}`;
const nsTap = `${tag}-tap`;
const nsA = `${tag}-a`;
const nsB = `${tag}-b`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netstack-bench-"));
const children = [];

const sh = (cmd, ...args) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const inNs = (n, cmd, ...args) => sh("ip", "netns", "exec", n, cmd, ...args);

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  for (const n of [nsTap, nsA, nsB]) {
    try {
      sh("ip", "netns", "del", n);
    } catch {
      // not made, or gone
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

const mbps = (bytes, ms) => (bytes / 1e6 / (ms / 1000)).toFixed(1);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitListen(n, port) {
  for (let i = 0; i < 400; i++) {
    if (inNs(n, "ss", "-Hltn", `sport = :${port}`).trim() !== "") return;
    await sleep(25);
  }
  throw new Error(`nothing listens on ${port} in ${n}`);
}

function startNginx(n, listen) {
  const conf = path.join(dir, `nginx-${n}.conf`);
  fs.writeFileSync(
    conf,
    `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx-${n}.pid; error_log ${dir}/nginx-${n}.log;
events { worker_connections 64; }
http { access_log off; sendfile on; client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp; server { listen ${listen}; root ${dir}/www; } }`,
  );
  children.push(spawn("ip", ["netns", "exec", n, "nginx", "-c", conf, "-p", dir], { stdio: "ignore" }));
}

// ---- the TS stack over a TAP in namespace nsTap ----------------------------------------------

function tapWorld(tcp = {}, offloads = true) {
  const C = native.constants;
  const [fd, name] = native.tunOpen(`${tag}t`, C.IFF_TAP | C.IFF_NO_PI | (offloads ? C.IFF_VNET_HDR : 0));
  sh("ip", "link", "set", name, "netns", nsTap);
  sh("ip", "-n", nsTap, "addr", "add", "10.77.0.1/24", "dev", name);
  sh("ip", "-n", nsTap, "link", "set", name, "up");
  const host = ns.createHostStack({ tapFd: fd, address: { address: "10.77.0.2", prefixLength: 24 }, log: console, stackOptions: { tcp } });
  return { host, name };
}

/** Serves `body` once over HTTP on the TS stack; resolves when it was all written. */
function tsServe(stack, port, body) {
  const l = stack.newTcpEndpoint("ipv4");
  l.bind({ port });
  l.listen(4);
  return new Promise((resolve) => {
    const onListen = () => {
      const c = l.accept();
      if (ns.isNetError(c)) return;
      unsubL();
      let req = "";
      let off = -1;
      const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      const data = Buffer.concat([head, body]);
      const pump = () => {
        if (off < 0) {
          const r = c.read(65536);
          if (!ns.isNetError(r)) req += Buffer.from(r).toString("latin1");
          if (!req.includes("\r\n\r\n")) return;
          off = 0;
        }
        while (off < data.length) {
          const n = c.write(data.subarray(off, off + (1 << 20)));
          if (ns.isNetError(n) || n === 0) return;
          off += n;
        }
        unsubC();
        c.shutdown({ write: true });
        c.close();
        l.close();
        resolve();
      };
      const unsubC = c.waiter.subscribe(ns.EVENT_IN | ns.EVENT_OUT, pump);
      pump();
    };
    const unsubL = l.waiter.subscribe(ns.EVENT_IN, onListen);
  });
}

/** GETs `url` with the TS stack; resolves with the body's byte count and the time it took. */
function tsFetch(stack, address, port, file) {
  const c = stack.newTcpEndpoint("ipv4");
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let sent = false;
    let bytes = 0;
    const step = () => {
      if (!sent && (c.readiness() & ns.EVENT_OUT) !== 0) {
        c.write(Buffer.from(`GET ${file} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
        sent = true;
      }
      for (;;) {
        const r = c.read(1 << 20);
        if (ns.isNetError(r)) {
          if (r !== ns.ErrWouldBlock) reject(new Error(r.message));
          return;
        }
        if (r.length === 0) {
          unsub();
          c.close();
          resolve({ bytes, ms: performance.now() - t0 });
          return;
        }
        bytes += r.length;
      }
    };
    const unsub = c.waiter.subscribe(0xffff, step);
    const e = c.connect({ address: ns.IPAddress.parse(address), port });
    if (e !== undefined) reject(new Error(e.message));
  });
}

async function curlSpeed(n, url) {
  const r = await run("ip", ["netns", "exec", n, "curl", "-sS", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url]);
  if (r.code !== 0) throw new Error(`curl: ${r.stderr}`);
  const [size, secs] = r.stdout.split(" ").map(Number);
  return { bytes: size, ms: secs * 1000 };
}

// ---- 1. bulk over TAP and veth ----------------------------------------------------------------

fs.mkdirSync(path.join(dir, "www"));
fs.mkdirSync(path.join(dir, "tmp"));
const body = randomBytes(SIZE);
fs.writeFileSync(path.join(dir, "www", "file"), body);

sh("ip", "netns", "add", nsTap);
sh("ip", "-n", nsTap, "link", "set", "lo", "up");
const tap = tapWorld();
startNginx(nsTap, "10.77.0.1:8080");
await waitListen(nsTap, 8080);

const serving = tsServe(tap.host.stack, 80, body);
const tsToLinux = await curlSpeed(nsTap, "http://10.77.0.2/file");
await serving;
const linuxToTs = await tsFetch(tap.host.stack, "10.77.0.1", 8080, "/file");
if (linuxToTs.bytes < SIZE) throw new Error(`short fetch: ${linuxToTs.bytes}`);
tap.host.close();
// The same without IFF_VNET_HDR: one MSS-sized frame per read, no partial checksums.
const plain = tapWorld({}, false);
const plainServing = tsServe(plain.host.stack, 80, body);
const tsToLinuxPlain = await curlSpeed(nsTap, "http://10.77.0.2/file");
await plainServing;
const linuxToTsPlain = await tsFetch(plain.host.stack, "10.77.0.1", 8080, "/file");
if (linuxToTsPlain.bytes < SIZE) throw new Error(`short fetch: ${linuxToTsPlain.bytes}`);
plain.host.close();

sh("ip", "netns", "add", nsA);
sh("ip", "netns", "add", nsB);
sh("ip", "link", "add", `${tag}va`, "netns", nsA, "type", "veth", "peer", "name", `${tag}vb`, "netns", nsB);
sh("ip", "-n", nsA, "addr", "add", "10.78.0.1/24", "dev", `${tag}va`);
sh("ip", "-n", nsB, "addr", "add", "10.78.0.2/24", "dev", `${tag}vb`);
for (const [n, d] of [[nsA, `${tag}va`], [nsB, `${tag}vb`]]) {
  sh("ip", "-n", n, "link", "set", d, "up");
  sh("ip", "-n", n, "link", "set", "lo", "up");
}
/** Segmentation and receive offloads off, so iptables sees (and drops) wire-sized segments. */
function offloadsOff(n, d) {
  inNs(n, "ethtool", "-K", d, "tso", "off", "gso", "off", "gro", "off");
}
startNginx(nsB, "10.78.0.2:8080");
await waitListen(nsB, 8080);
const veth = await curlSpeed(nsA, "http://10.78.0.2:8080/file");

// ---- 2. TS <-> TS over loopback ---------------------------------------------------------------

const lo = ns.createHostStack({ log: console });
const loServing = tsServe(lo.stack, 80, body);
const loFetch = await tsFetch(lo.stack, "127.0.0.1", 80, "/file");
await loServing;
lo.close();

// The same through a real `runsc-ts netstack` process, both ends driven over its RPC (what a
// sandboxed program will see, less the sentry).
const { netstack: capnp } = await import(new URL("proto/dist/index.js", root).href);
const { rpcOverFd } = await import(new URL("platform/dist/index.js", root).href);
const rpcLoopback = await (async () => {
  const [ours, theirs] = native.socketpair(native.constants.SOCK_STREAM | native.constants.SOCK_CLOEXEC);
  const bin = new URL("runsc/bin/runsc-ts.js", root).pathname;
  const child = spawn(process.execPath, [bin, "--debug-log", path.join(dir, "netstack.log"), "netstack", "--fd", "3"], { stdio: ["ignore", "ignore", "inherit", theirs] });
  children.push(child);
  native.close(theirs);
  const conn = rpcOverFd(ours);
  const stack = conn.bootstrap(capnp.Stack$Client);
  const AF_INET = 2;
  const SOCK_STREAM = 1;
  const listener = await ns.RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
  await listener.bind({ address: "127.0.0.1", port: 80 });
  await listener.listen();
  const client = await ns.RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
  const t0 = performance.now();
  const [{ socket: server }] = await Promise.all([listener.accept(), client.connect({ address: "127.0.0.1", port: 80 })]);
  const sending = (async () => {
    await server.sendAll(body, 1 << 20);
    await server.shutdown(1 /* SHUT_WR */);
  })();
  const bytes = await client.readToEnd(() => {});
  await sending;
  const ms = performance.now() - t0;
  conn.close();
  await new Promise((resolve) => child.once("close", resolve));
  return { bytes, ms };
})();

console.log(`\nbulk HTTP transfer of ${MB} MB (MB/s = 10^6 bytes/s)`);
console.log(`  TS -> Linux over TAP   (curl from the TS stack)     ${mbps(tsToLinux.bytes, tsToLinux.ms).padStart(8)} MB/s`);
console.log(`    the same without TAP offloads (no IFF_VNET_HDR)    ${mbps(tsToLinuxPlain.bytes, tsToLinuxPlain.ms).padStart(8)} MB/s`);
console.log(`  Linux -> TS over TAP   (TS client from nginx-light) ${mbps(linuxToTs.bytes, linuxToTs.ms).padStart(8)} MB/s`);
console.log(`    the same without TAP offloads (no IFF_VNET_HDR)    ${mbps(linuxToTsPlain.bytes, linuxToTsPlain.ms).padStart(8)} MB/s`);
console.log(`  Linux -> Linux over veth (curl from nginx-light)    ${mbps(veth.bytes, veth.ms).padStart(8)} MB/s`);
console.log(`  TS -> TS over the stack's loopback (host clock)     ${mbps(loFetch.bytes, loFetch.ms).padStart(8)} MB/s`);
console.log(`  TS -> TS over loopback in a netstack process, RPC  ${mbps(rpcLoopback.bytes, rpcLoopback.ms).padStart(8)} MB/s`);
console.log(`  ratios: TS->Linux / veth ${(tsToLinux.bytes / tsToLinux.ms / (veth.bytes / veth.ms)).toFixed(3)}x, Linux->TS / veth ${(linuxToTs.bytes / linuxToTs.ms / (veth.bytes / veth.ms)).toFixed(3)}x`);

// ---- 3a. loss in real time --------------------------------------------------------------------

/** A Linux sink in namespace `n` on `port` that reads and discards. */
function startSink(n, port) {
  // A reset from an aborted sender must not end the sink.
  const code = `import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(("0.0.0.0",${port}));s.listen(8)\nwhile True:\n  c,_=s.accept()\n  try:\n    while c.recv(1<<20): pass\n  except OSError: pass\n  c.close()\n`;
  children.push(spawn("ip", ["netns", "exec", n, "/usr/bin/python3", "-c", code], { stdio: "ignore" }));
}

/**
 * 1% of the TCP segments carrying data to `dport` dropped on INPUT in namespace `n` (packets of
 * 100 bytes or more: pure ACKs, even with SACK blocks and timestamps, are shorter).
 */
function dropDataTo(n, dport) {
  inNs(n, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", String(dport), "-m", "length", "--length", "100:65535", "-m", "statistic", "--mode", "random", "--probability", "0.01", "-j", "DROP");
}

/** The TS stack (SACK on or off) sends to the Linux sink over the TAP for SECONDS. */
async function tsLossRun(sack) {
  // No offloads: with TSO, iptables would see (and drop) whole 64 KiB bursts, not 1% of segments.
  const w = tapWorld({ sack }, false);
  const st = w.host.stack.stats.tcp;
  const c = w.host.stack.newTcpEndpoint("ipv4");
  c.connect({ address: ns.IPAddress.parse("10.77.0.1"), port: 5001 });
  const chunk = new Uint8Array(1 << 20);
  let written = 0;
  const push = () => {
    for (;;) {
      const n = c.write(chunk);
      if (ns.isNetError(n) || n === 0) return;
      written += n;
    }
  };
  const unsub = c.waiter.subscribe(ns.EVENT_OUT, push);
  await sleep(200);
  push();
  const rto0 = st.timeouts;
  const w0 = written - c.sendQueueBytes;
  await sleep(SECONDS * 1000);
  const acked = written - c.sendQueueBytes - w0;
  const rtos = st.timeouts - rto0;
  unsub();
  c.abort();
  w.host.close();
  await sleep(100);
  return { bytes: acked, rtos, sackPermitted: c.sackPermitted };
}

/** Linux -> Linux over veth with net.ipv4.tcp_sack on or off in the sender's namespace. */
async function linuxLossRun(sack) {
  inNs(nsA, "sysctl", "-qw", `net.ipv4.tcp_sack=${sack ? 1 : 0}`);
  const before = nstat(nsA);
  const r = await run("ip", ["netns", "exec", nsA, "/usr/bin/python3", "-c",
    `import socket,time\ns=socket.create_connection(("10.78.0.2",5001))\nb=bytearray(1<<20)\nn=0\nend=time.time()+${SECONDS}\nwhile time.time()<end: n+=s.send(b)\nimport fcntl,struct,termios\nq=struct.unpack("i",fcntl.ioctl(s,termios.TIOCOUTQ,b"\\0"*4))[0]\nprint(n-q)\ns.close()\n`]);
  if (r.code !== 0) throw new Error(r.stderr);
  const after = nstat(nsA);
  return { bytes: Number(r.stdout.trim()), rtos: after - before };
}

/** TcpExtTCPTimeouts of namespace `n` (retransmission timeouts). */
function nstat(n) {
  const m = /TCPTimeouts\s+(\d+)/.exec(inNs(n, "nstat", "-az", "TcpExtTCPTimeouts"));
  return m === null ? 0 : Number(m[1]);
}

startSink(nsTap, 5001);
startSink(nsB, 5001);
await waitListen(nsTap, 5001);
await waitListen(nsB, 5001);
offloadsOff(nsA, `${tag}va`);
offloadsOff(nsB, `${tag}vb`);
dropDataTo(nsTap, 5001);
dropDataTo(nsB, 5001);

const tsSack = await tsLossRun(true);
const tsNoSack = await tsLossRun(false);
const liSack = await linuxLossRun(true);
const liNoSack = await linuxLossRun(false);

const mbit = (b, seconds = SECONDS) => ((b * 8) / 1e6 / seconds).toFixed(1);
console.log(`\nloss: 1% of data segments dropped (iptables statistic), ${SECONDS} s each, real time`);
console.log(`  TS -> Linux over TAP     SACK on : ${mbit(tsSack.bytes).padStart(8)} Mbit/s  ${String(tsSack.bytes).padStart(11)} bytes  ${tsSack.rtos} RTOs`);
console.log(`  TS -> Linux over TAP     SACK off: ${mbit(tsNoSack.bytes).padStart(8)} Mbit/s  ${String(tsNoSack.bytes).padStart(11)} bytes  ${tsNoSack.rtos} RTOs`);
console.log(`    ratio ${(tsSack.bytes / Math.max(1, tsNoSack.bytes)).toFixed(2)}x the bytes; RTOs ${tsSack.rtos} vs ${tsNoSack.rtos}`);
console.log(`  Linux -> Linux over veth SACK on : ${mbit(liSack.bytes).padStart(8)} Mbit/s  ${String(liSack.bytes).padStart(11)} bytes  ${liSack.rtos} RTOs`);
console.log(`  Linux -> Linux over veth SACK off: ${mbit(liNoSack.bytes).padStart(8)} Mbit/s  ${String(liNoSack.bytes).padStart(11)} bytes  ${liNoSack.rtos} RTOs`);
console.log(`    ratio ${(liSack.bytes / Math.max(1, liNoSack.bytes)).toFixed(2)}x the bytes; RTOs ${liSack.rtos} vs ${liNoSack.rtos}`);

// ---- 3b. loss, simulated (the loss-bar test's link) ---------------------------------------------

function simulated(sack, seed, durationMs) {
  const clock = new ns.ManualClock();
  const wa = new ns.ChannelEndpoint();
  const wb = new ns.ChannelEndpoint();
  ns.connectChannels(clock, wa, wb, 0.025);
  const rate = 625_000;
  const la = new ns.ImpairedEndpoint(wa, clock, { seed, loss: 0.01, lossFilter: (f) => ns.isTcpData(f), rateBytesPerMs: rate });
  const lb = new ns.ImpairedEndpoint(wb, clock, { seed: seed + 1, rateBytesPerMs: rate });
  const tcp = { sack, sendBufferSize: 4 << 20, receiveBufferSize: 4 << 20 };
  const a = new ns.Stack({ clock, seed: 1, tcp });
  const b = new ns.Stack({ clock, seed: 2, tcp });
  a.createNic(1, la);
  b.createNic(1, lb);
  a.addAddress(1, ns.IPAddress.v4(10, 0, 0, 1), 24);
  b.addAddress(1, ns.IPAddress.v4(10, 0, 0, 2), 24);
  const l = b.newTcpEndpoint();
  l.bind({ port: 80 });
  l.listen(4);
  const c = a.newTcpEndpoint();
  c.connect({ address: ns.IPAddress.v4(10, 0, 0, 2), port: 80 });
  let s;
  while (s === undefined) {
    clock.advance(1);
    const x = l.accept();
    if (!ns.isNetError(x)) s = x;
  }
  const chunk = new Uint8Array(65536);
  let bytes = 0;
  for (let t = 0; t < durationMs; t++) {
    for (;;) {
      const n = c.write(chunk);
      if (ns.isNetError(n) || n === 0) break;
    }
    for (;;) {
      const r = s.read(1 << 20);
      if (ns.isNetError(r) || r.length === 0) break;
      bytes += r.length;
    }
    clock.advance(1);
  }
  return { bytes, rtos: a.stats.tcp.timeouts };
}

const SIM_MS = 500;
console.log(`\nloss, simulated: 50 µs RTT, 5 Gbit/s bottleneck, 1% of data segments dropped, ${SIM_MS} ms per run`);
let sumS = 0;
let sumN = 0;
let rtoS = 0;
let rtoN = 0;
for (let seed = 3; seed < 3 + SEEDS; seed++) {
  const s = simulated(true, seed, SIM_MS);
  const n = simulated(false, seed, SIM_MS);
  sumS += s.bytes;
  sumN += n.bytes;
  rtoS += s.rtos;
  rtoN += n.rtos;
  console.log(`  seed ${seed}: SACK ${mbit(s.bytes, SIM_MS / 1000).padStart(8)} Mbit/s ${s.rtos} RTOs | no SACK ${mbit(n.bytes, SIM_MS / 1000).padStart(8)} Mbit/s ${n.rtos} RTOs | ${(s.bytes / n.bytes).toFixed(2)}x`);
  if (seed === 5) console.log(`  seeds 3-5 (src/loss-bar.test.ts): ${(sumS / sumN).toFixed(2)}x the bytes with SACK; RTOs ${rtoS} vs ${rtoN}`);
}
console.log(`  all seeds: ${(sumS / sumN).toFixed(2)}x the bytes with SACK; RTOs ${rtoS} vs ${rtoN}`);
process.exit(0);
