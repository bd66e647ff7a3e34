#!/usr/bin/env node
// tools/bench/syscall: the whole sandbox's cost per system call and at start, beside references
// measured in the same run.
//
//   node tools/bench/syscall/syscall.mjs [runs]
//
// 1. µs per getppid() under `runsc-ts do` (gofer, sentry, ptrace platform, every answer from the
//    sentry's syscall table), against a raw C PTRACE_SYSEMU tracer running the same program
//    (native/programs/ptrace-loop). The sandbox's figure is (time of the getppid program minus
//    time of a program that makes no calls) / calls, so start-up cancels out. Bar (issue 5): ≤ 1.3.
// 2. Cold start: median wall time of `runsc-ts do /bin/busybox true` over `runs` × 2 runs,
//    beside `runc run` of the same static busybox as /bin/true (when runc is installed).
// 3. The sentry's peak RSS: the boot process logs its maxRSS when the sandbox exits.
//
// Build first: npm run build.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const runs = Number(process.argv[2] ?? 5);
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(repo, "packages/runsc/bin/runsc-ts.js");
const programs = join(repo, "native/build/programs");
const CALLS = 100_000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeMs(cmd, args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: status ${r.status}: ${r.stderr}`);
  return ms;
}

/** The raw C loop, plain and pinned to one CPU (the placement the platform uses): the faster. */
function reference() {
  const once = (pin) => {
    const args = pin ? ["--pin", join(programs, "getppid")] : [join(programs, "getppid")];
    const out = execFileSync(join(programs, "ptrace-loop"), args, { encoding: "utf8" });
    const m = /ns_per_call=([\d.]+)/.exec(out);
    if (m === null) throw new Error(`ptrace-loop: ${out}`);
    return Number(m[1]) / 1000;
  };
  return Math.min(once(false), once(true));
}

/** µs per getppid under `runsc-ts do`, start-up subtracted. */
function sandboxPerCall() {
  const loop = timeMs(process.execPath, [bin, "do", "--", join(programs, "getppid")]);
  const empty = timeMs(process.execPath, [bin, "do", "--", "/bin/busybox", "true"]);
  return ((loop - empty) * 1000) / CALLS;
}

function runcStart() {
  if (spawnSync("runc", ["--version"]).status !== 0) return undefined;
  const bundle = mkdtempSync(join(tmpdir(), "runc-bench-"));
  try {
    // runc cannot pivot into the host's "/": a rootfs holding static busybox as /bin/true.
    mkdirSync(join(bundle, "rootfs/bin"), { recursive: true });
    execFileSync("cp", ["/bin/busybox", join(bundle, "rootfs/bin/true")]);
    execFileSync("runc", ["spec"], { cwd: bundle });
    const spec = JSON.parse(execFileSync("cat", [join(bundle, "config.json")], { encoding: "utf8" }));
    spec.process.terminal = false;
    spec.process.args = ["/bin/true"];
    // This machine's cgroup hierarchy lacks what runc's template mounts; the bench needs none.
    spec.mounts = spec.mounts.filter((m) => m.type !== "cgroup");
    delete spec.linux.resources;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    const times = [];
    for (let i = 0; i < runs * 2; i++) times.push(timeMs("runc", ["run", "--bundle", bundle, `bench-${process.pid}-${i}`]));
    return median(times);
  } catch (e) {
    return `failed: ${e instanceof Error ? e.message.split("\n")[0] : e}`;
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}

if (!existsSync(join(repo, "packages/runsc/dist/main.js"))) {
  console.error("syscall bench: build first (npm run build)");
  process.exit(1);
}

const ref = [];
const sb = [];
for (let i = 0; i < runs; i++) {
  ref.push(reference());
  sb.push(sandboxPerCall());
}
const starts = [];
for (let i = 0; i < runs * 2; i++) starts.push(timeMs(process.execPath, [bin, "do", "--", "/bin/busybox", "true"]));

// The sentry's peak RSS: boot logs process.resourceUsage().maxRSS when the sandbox exits.
function sentryPeakRssMb(argv) {
  const dir = mkdtempSync(join(tmpdir(), "rss-bench-"));
  try {
    const log = join(dir, "log");
    spawnSync(process.execPath, [bin, "--log-format=json", `--debug-log=${log}`, "do", "--", ...argv], { stdio: "ignore" });
    const line = execFileSync("cat", [log], { encoding: "utf8" })
      .split("\n")
      .find((l) => l.includes('"sandbox exited"'));
    return line === undefined ? undefined : JSON.parse(line).maxRssKb / 1024;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const rss = sentryPeakRssMb(["/bin/true"]);
const rssPy = sentryPeakRssMb(["/usr/bin/python3", "-c", "import json,hashlib"]);

const refM = median(ref);
const sbM = median(sb);
const runc = runcStart();
console.log(`syscall bench: medians of ${runs} runs, ${CALLS} getppid() per run`);
console.table([
  { what: "raw C PTRACE_SYSEMU loop", "µs/syscall": refM.toFixed(2) },
  { what: "runsc-ts do (sentry table)", "µs/syscall": sbM.toFixed(2) },
]);
console.log(`ratio sandbox/reference: ${(sbM / refM).toFixed(2)} (bar ≤ 1.3: ${sbM / refM <= 1.3 ? "met" : "NOT met"})`);
console.log(`cold start, runsc-ts do /bin/busybox true: ${median(starts).toFixed(0)} ms (median of ${starts.length})`);
console.log(`cold start, runc run (static busybox as /bin/true): ${typeof runc === "number" ? `${runc.toFixed(0)} ms` : runc ?? "runc not installed (apt-get install runc)"}`);
console.log(`sentry peak RSS: ${rss?.toFixed(1)} MiB running /bin/true, ${rssPy?.toFixed(1)} MiB running python3 -c 'import json,hashlib'`);
