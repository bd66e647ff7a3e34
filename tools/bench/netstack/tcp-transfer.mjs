// How fast does the netstack move TCP bytes, against the host kernel's loopback TCP?
// Two Stacks joined by channel links on a ManualClock, so the figure is pure protocol CPU
// cost (no real time passes on the wire); host loopback is node:net over 127.0.0.1.
// Each case runs `runs` times and reports the best, since shared CI machines are noisy.
// Run after building: node tools/bench/netstack/tcp-transfer.mjs [MiB] [runs]
// (NETSTACK_DIST=path/to/index.js overrides the module location.)
import net from "node:net";
import { pathToFileURL } from "node:url";

const mib = Number(process.argv[2] ?? 16);
const runs = Number(process.argv[3] ?? 5);
const total = mib * 1024 * 1024;
const dist = process.env.NETSTACK_DIST ?? new URL("../../../packages/netstack/dist/index.js", import.meta.url).href;
const ns = await import(dist.startsWith("file:") ? dist : pathToFileURL(dist).href);

function netstackRun(loss) {
  const clock = new ns.ManualClock();
  const wa = new ns.ChannelEndpoint({ mtu: 1500 });
  const wb = new ns.ChannelEndpoint({ mtu: 1500 });
  ns.connectChannels(clock, wa, wb, 0.05);
  const la = loss > 0 ? new ns.ImpairedEndpoint(wa, clock, { seed: 1, loss }) : wa;
  const a = new ns.Stack({ clock, seed: 1, tcp: { delayedAckMs: 0 } });
  const b = new ns.Stack({ clock, seed: 2 });
  a.createNic(1, la);
  b.createNic(1, wb);
  a.addAddress(1, ns.IPAddress.v4(10, 0, 0, 1), 24);
  b.addAddress(1, ns.IPAddress.v4(10, 0, 0, 2), 24);
  const l = b.newTcpEndpoint();
  l.bind({ port: 80 });
  l.listen(1);
  const c = a.newTcpEndpoint();
  c.connect({ address: ns.IPAddress.v4(10, 0, 0, 2), port: 80 });
  let s;
  while (s === undefined) {
    clock.advance(1);
    const x = l.accept();
    if (!ns.isNetError(x)) s = x;
  }
  const chunk = new Uint8Array(64 * 1024).fill(7);
  let sent = 0;
  let recv = 0;
  const start = process.hrtime.bigint();
  while (recv < total) {
    if (sent < total) {
      const n = c.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
      if (!ns.isNetError(n)) sent += n;
    }
    for (;;) {
      const r = s.read();
      if (ns.isNetError(r) || r.length === 0) break;
      recv += r.length;
    }
    clock.advance(0.1);
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  return { secs, simulatedMs: clock.nowMs(), retransmits: a.stats.tcp.retransmits };
}

function hostLoopback() {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    let recv = 0;
    let start;
    const server = net.createServer((sock) => {
      sock.on("data", (d) => {
        recv += d.length;
        if (recv >= total) {
          const secs = Number(process.hrtime.bigint() - start) / 1e9;
          sock.destroy();
          server.close();
          resolve({ secs });
        }
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const c = net.connect(server.address().port, "127.0.0.1", () => {
        start = process.hrtime.bigint();
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            sent += chunk.length;
            if (!c.write(chunk)) return c.once("drain", pump);
          }
          c.end();
        };
        pump();
      });
    });
  });
}

const mbps = (secs) => (total / 1024 / 1024 / secs).toFixed(1);
const best = async (f) => {
  let b;
  for (let i = 0; i < runs; i++) {
    const r = await f();
    if (b === undefined || r.secs < b.secs) b = r;
  }
  return b;
};
const host = await best(hostLoopback);
const clean = await best(() => netstackRun(0));
const lossy = await best(() => netstackRun(0.01));
console.log(`TCP transfer of ${mib} MiB, best of ${runs} (MiB/s of wall-clock CPU; higher is better)`);
console.log(`  host loopback (node:net)        ${mbps(host.secs).padStart(8)}   1.00x`);
console.log(`  netstack, clean wire            ${mbps(clean.secs).padStart(8)}   ${(host.secs / clean.secs).toFixed(2)}x   (${clean.simulatedMs.toFixed(0)} ms simulated)`);
console.log(`  netstack, 1% loss               ${mbps(lossy.secs).padStart(8)}   ${(host.secs / lossy.secs).toFixed(2)}x   (${lossy.retransmits} retransmits)`);
