// How fast does the event loop get the thread back while application code runs? Measures, for
// a Unix socket message and for a setTimeout(0), the delay from the write (or the timer's
// creation) to its callback, in three situations:
//   idle      no application code running (plain Node);
//   spinning  a context runs a busy loop: the tracer is blocked in waitpid and the I/O watcher
//             thread must interrupt it (poll on uv_backend_fd, then the wake signal);
//   syscalls  a context makes getppid() calls answered in TypeScript as fast as it can.
// Prints the median and 90th percentile in µs. Last, "handler timers": a syscall handler of one
// context starts setTimeout(2) while another context keeps making syscalls; prints how late
// the timers fire.
// Run after building: npx tsc -b packages/platform && node tools/bench/platform/wake-latency.mjs [samples]
import { readFileSync } from "node:fs";
import { PtracePlatform, loadStaticElf, nativeBuildDir, socketPair } from "../../../packages/platform/dist/index.js";

const samples = Number(process.argv[2] ?? 200);
const programs = `${nativeBuildDir}/programs`;
const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function socketLatency() {
  const [a, b] = socketPair();
  let resolveData;
  b.start({ data: () => resolveData(process.hrtime.bigint()), end: () => {} });
  const out = [];
  for (let i = 0; i < samples; i++) {
    await sleep(1);
    const got = new Promise((r) => (resolveData = r));
    const t0 = process.hrtime.bigint();
    a.write([Buffer.from("x")], []);
    out.push(Number((await got) - t0) / 1000);
  }
  a.close();
  b.close();
  return out;
}

async function timerLatency() {
  const out = [];
  for (let i = 0; i < samples; i++) {
    await sleep(1);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, 0));
    out.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return out;
}

async function measure(label, start) {
  const stop = await start();
  const sock = await socketLatency();
  const timer = await timerLatency();
  await stop();
  console.log(
    `${label.padEnd(9)} socket median ${pct(sock, 0.5).toFixed(0)} µs p90 ${pct(sock, 0.9).toFixed(0)} µs | ` +
      `setTimeout(0) median ${pct(timer, 0.5).toFixed(0)} µs p90 ${pct(timer, 0.9).toFixed(0)} µs`,
  );
}

await measure("idle", async () => async () => {});
await measure("spinning", async () => {
  const p = PtracePlatform.start();
  const { addressSpace, context } = p.newAddressSpace();
  loadStaticElf(addressSpace, context, readFileSync(`${programs}/bad`), { rdi: 8n });
  const running = context.switchToApp();
  return async () => {
    context.interrupt();
    await running;
    p.close();
  };
});
await measure("syscalls", async () => {
  const p = PtracePlatform.start();
  const { addressSpace, context } = p.newAddressSpace();
  loadStaticElf(addressSpace, context, readFileSync(`${programs}/getppid`), { rdi: 1n << 40n });
  let stop = false;
  let calls = 0;
  const t0 = process.hrtime.bigint();
  const loop = (async () => {
    while (!stop) {
      const e = await context.switchToApp();
      if (e.kind !== "syscall") return;
      calls++;
      context.setReturn(1n);
    }
  })();
  return async () => {
    stop = true;
    await loop;
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    console.log(`          (meanwhile ${calls} syscalls answered, ${(us / calls).toFixed(1)} µs each)`);
    p.close();
  };
});

{
  const p = PtracePlatform.start();
  const a = p.newAddressSpace();
  const b = p.newAddressSpace();
  loadStaticElf(a.addressSpace, a.context, readFileSync(`${programs}/getppid`), { rdi: 1n << 40n });
  loadStaticElf(b.addressSpace, b.context, readFileSync(`${programs}/getppid`), { rdi: 1n << 40n });
  let stop = false;
  const busy = (async () => {
    while (!stop) {
      const e = await a.context.switchToApp();
      if (e.kind !== "syscall") return;
      a.context.setReturn(1n);
    }
  })();
  const late = [];
  for (let i = 0; i < Math.min(samples, 100); i++) {
    const e = await b.context.switchToApp();
    if (e.kind !== "syscall") break;
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, 2));  // the handler sleeps 2 ms (a nanosleep)
    late.push(Number(process.hrtime.bigint() - t0) / 1000 - 2000);
    b.context.setReturn(1n);
  }
  stop = true;
  await busy;
  console.log(`handler timers: setTimeout(2) late by median ${pct(late, 0.5).toFixed(0)} µs, p90 ${pct(late, 0.9).toFixed(0)} µs`);
  p.close();
}
