// Platform syscall round trip: µs per trapped getppid() answered by a tracer.
//
//   (1) reference: native/programs/ptrace-loop, a raw C PTRACE_SYSEMU tracer (GETREGS,
//       SETREGS, SYSEMU, waitpid per call), runs native/programs/getppid. Measured both as is
//       and with --pin (tracer and tracee bound to one CPU, the placement the platform uses);
//   (2) platform: the same program in a PtraceAddressSpace, every answer computed in
//       TypeScript (`await ctx.switchToApp()`, `ctx.setReturn(...)`), as shipped (tracee bound
//       to the tracer thread's CPU).
//
// Runs all three RUNS times, interleaved, and prints the median of each and the ratio (2)/(1)
// against the faster reference of each run. Bar (issue 3): ratio <= 1.25.
// Run after building: npx tsc -b packages/platform && node tools/bench/platform/syscall-bench.mjs [runs] [calls]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { PtracePlatform, loadStaticElf, nativeBuildDir } from "../../../packages/platform/dist/index.js";

const runs = Number(process.argv[2] ?? 5);
const calls = Number(process.argv[3] ?? 100_000);
const SYS_getppid = 110;
const SYS_exit_group = 231;
const programs = `${nativeBuildDir}/programs`;
const image = readFileSync(`${programs}/getppid`);

function reference(pin) {
  // ptrace-loop runs the program with %rdi = 0 at exec: 100,000 calls.
  const args = pin ? ["--pin", `${programs}/getppid`] : [`${programs}/getppid`];
  const out = execFileSync(`${programs}/ptrace-loop`, args, { encoding: "utf8" });
  const m = /calls=(\d+) ns_per_call=([\d.]+)/.exec(out);
  if (m === null) throw new Error(`ptrace-loop: ${out}`);
  return Number(m[2]) / 1000;
}

async function platform() {
  const p = PtracePlatform.start();
  try {
    const { addressSpace, context: ctx } = p.newAddressSpace();
    loadStaticElf(addressSpace, ctx, image, { rdi: BigInt(calls) });
    let n = 0;
    const start = process.hrtime.bigint();
    for (;;) {
      const e = await ctx.switchToApp();
      if (e.kind !== "syscall") throw new Error(`unexpected event ${e.kind}`);
      n++;
      if (e.nr === SYS_exit_group) {
        if (e.args[0] !== 0n) throw new Error(`the program saw a wrong answer (exit ${e.args[0]})`);
        break;
      }
      ctx.setReturn(e.nr === SYS_getppid ? 4242n : -38n);
    }
    const ns = Number(process.hrtime.bigint() - start);
    return ns / n / 1000;
  } finally {
    p.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const unpinned = [];
const pinned = [];
const ref = [];
const plat = [];
const ratios = [];
for (let i = 0; i < runs; i++) {
  const u = reference(false);
  const q = await platform();
  const p = reference(true);
  const r = Math.min(u, p);
  unpinned.push(u);
  pinned.push(p);
  ref.push(r);
  plat.push(q);
  ratios.push(q / r);
  console.log(
    `run ${i + 1}: reference ${u.toFixed(2)} (pinned ${p.toFixed(2)}) µs/syscall, platform ${q.toFixed(2)} µs/syscall, ratio ${(q / r).toFixed(3)}`,
  );
}
console.log(`median of ${runs}: reference, raw C PTRACE_SYSEMU: ${median(unpinned).toFixed(2)} µs/syscall; pinned: ${median(pinned).toFixed(2)}`);
console.log(`median of ${runs}: platform, answers in TypeScript: ${median(plat).toFixed(2)} µs/syscall`);
console.log(
  `ratio platform/reference (the faster reference of each run): median ${median(ratios).toFixed(3)}; ` +
    `ratio of medians ${(median(plat) / median(ref)).toFixed(3)}; bar <= 1.25`,
);
