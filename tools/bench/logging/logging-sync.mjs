// Does synchronous log writing cost enough to matter? Compares pino with a sync and an async
// (buffered) destination, in JSON and in our text format, writing to a file.
// Run after building: node packages/runsc/bench/logging-sync.mjs [records]
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { TextLineStream } from "../../../packages/runsc/dist/log-text.js";

const records = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), "runsc-ts-logbench-"));

function measure(name, sync, text, minLength = 0) {
  const dest = pino.destination({ dest: openSync(join(dir, name), "a"), sync, minLength });
  const stream = text ? new TextLineStream(dest) : dest;
  const log = pino(
    { base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    stream,
  ).child({ component: "sentry" });
  const start = process.hrtime.bigint();
  for (let i = 0; i < records; i++) log.info({ tid: i, sysno: 0, ret: 4096 }, "syscall");
  if (!sync) dest.flushSync();
  const ns = Number(process.hrtime.bigint() - start);
  return ns / records;
}

const rows = [];
for (const text of [false, true]) {
  const asyncNs = measure(`${text}-async`, false, text);
  const bufferedNs = measure(`${text}-buffered`, false, text, 4096);
  const syncNs = measure(`${text}-sync`, true, text);
  rows.push({
    format: text ? "text" : "json",
    "async ns/record": asyncNs.toFixed(0),
    "async+4KiB buffer ns/record": bufferedNs.toFixed(0),
    "sync ns/record": syncNs.toFixed(0),
    "sync/buffered": (syncNs / bufferedNs).toFixed(2),
  });
}
console.table(rows);
rmSync(dir, { recursive: true });
