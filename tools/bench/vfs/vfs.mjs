#!/usr/bin/env node
// tools/bench/vfs: the sentry's VFS over a real `runsc-ts gofer` process, beside the same work
// done natively on the same files, in one run.
//
//   node tools/bench/vfs/vfs.mjs [--size-mib 256] [--files 10000] [--cache N]
//
// 1. Sequential read of a 256 MiB file through the VFS (data through the gofer's donated FD, in
//    1 MiB reads) vs node:fs reads of the same file. Bar (issue 4): ≥ 0.8× native throughput.
// 2. stat of 10,000 files through the VFS (cold: each name walked over RPC; warm: from the
//    dentry and attribute cache) vs node:fs statSync. Reported as µs/op and ratio.
// 3. create + write + close of 10,000 small files through the VFS (each create is one RPC
//    that donates the new file's FD) vs node:fs, on the same mount as 2.
//
// One mount serves all three phases: the sentry's dentry cache keeps at most --cache unused
// dentries (default: files + 64, so the warm stat phase measures cache hits rather than
// evictions; each cached dentry holds a gofer FD) and evicts the rest, so 2 × 10,000 files stay
// under the gofer's RLIMIT_NOFILE.
//
// Build first (npm run build). Needs root (the gofer confines itself).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { AT_FDCWD, O_CREAT, O_RDONLY, O_WRONLY, isLinuxError } from "@runsc-ts/abi";
import { native, rpcOverFd } from "@runsc-ts/platform";
import { gofer } from "@runsc-ts/proto";
import { Credentials, FdTable, GoferFilesystem, VirtualFilesystem } from "@runsc-ts/sentry";

const { values } = parseArgs({ options: { "size-mib": { type: "string", default: "256" }, files: { type: "string", default: "10000" }, cache: { type: "string" } } });
const SIZE = Number(values["size-mib"]) << 20;
const FILES = Number(values.files);
const CACHE = values.cache === undefined ? FILES + 64 : Number(values.cache);
const BIN = fileURLToPath(new URL("../../../packages/runsc/bin/runsc-ts.js", import.meta.url));

function startGofer(root) {
  const { SOCK_STREAM, SOCK_CLOEXEC } = native.constants;
  const [ours, theirs] = native.socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const child = spawn(process.execPath, [BIN, "gofer", "--root", root, "--io-fd", "3"], { stdio: ["ignore", "ignore", "inherit", theirs] });
  native.close(theirs);
  const conn = rpcOverFd(ours);
  return { conn, client: conn.bootstrap(gofer.Gofer$Client), exited: new Promise((r) => child.on("exit", r)) };
}

async function vfsOver(root) {
  const g = startGofer(root);
  const fsys = await GoferFilesystem.mount(g.client, { maxCachedDentries: CACHE });
  if (isLinuxError(fsys)) throw new Error(`mount: ${fsys.name}`);
  const vfs = new VirtualFilesystem();
  const ns = vfs.newMountNamespace(fsys);
  const r = ns.rootVd();
  const ctx = { creds: Credentials.root(), root: r, cwd: r, fdTable: new FdTable(), umask: 0o022 };
  return {
    vfs,
    ctx,
    fsys,
    async close() {
      g.conn.close();
      await g.exited;
    },
  };
}

const secs = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

async function main() {
  const dir = fs.mkdtempSync(join(tmpdir(), "vfs-bench-"));
  try {
    // ---- 1. sequential read
    const big = join(dir, "big");
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    const fd0 = fs.openSync(big, "w");
    for (let i = 0; i < SIZE / chunk.length; i++) fs.writeSync(fd0, chunk);
    fs.closeSync(fd0);
    const buf = new Uint8Array(1 << 20);
    const readNative = () => {
      const fd = fs.openSync(big, "r");
      const t0 = process.hrtime.bigint();
      let total = 0;
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) total += n;
      fs.closeSync(fd);
      return total / secs(t0);
    };
    const env = await vfsOver(dir);
    const readVfs = async () => {
      const f = await env.vfs.openAt(env.ctx, AT_FDCWD, "/big", O_RDONLY);
      if (isLinuxError(f)) throw new Error(f.name);
      const t0 = process.hrtime.bigint();
      let total = 0;
      for (;;) {
        const n = await f.read(buf);
        if (typeof n !== "number") throw new Error(n.name);
        if (n === 0) break;
        total += n;
      }
      f.decRef();
      return total / secs(t0);
    };
    readNative(); // warm the page cache
    const nat = [];
    const sb = [];
    for (let i = 0; i < 3; i++) {
      nat.push(readNative());
      sb.push(await readVfs());
    }
    const med = (xs) => [...xs].sort((a, b) => a - b)[1];
    const mib = (x) => (x / (1 << 20)).toFixed(0);

    // ---- 2. stat
    fs.mkdirSync(join(dir, "many"));
    for (let i = 0; i < FILES; i++) fs.writeFileSync(join(dir, "many", `f${i}`), "x");
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < FILES; i++) fs.statSync(join(dir, "many", `f${i}`));
    const statNative = (secs(t0) * 1e6) / FILES;
    t0 = process.hrtime.bigint();
    for (let i = 0; i < FILES; i++) {
      const s = await env.vfs.statAt(env.ctx, AT_FDCWD, `/many/f${i}`);
      if (isLinuxError(s)) throw new Error(s.name);
    }
    const statCold = (secs(t0) * 1e6) / FILES;
    t0 = process.hrtime.bigint();
    for (let i = 0; i < FILES; i++) await env.vfs.statAt(env.ctx, AT_FDCWD, `/many/f${i}`);
    const statWarm = (secs(t0) * 1e6) / FILES;

    // ---- 3. create + write + close, on the same mount (eviction keeps the gofer's FDs bounded)
    const env2 = env;
    fs.mkdirSync(join(dir, "new-native"));
    fs.mkdirSync(join(dir, "new-vfs"));
    const data = new Uint8Array(100).fill(0x41);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < FILES; i++) {
      const fd = fs.openSync(join(dir, "new-native", `f${i}`), "w", 0o644);
      fs.writeSync(fd, data);
      fs.closeSync(fd);
    }
    const createNative = (secs(t0) * 1e6) / FILES;
    t0 = process.hrtime.bigint();
    for (let i = 0; i < FILES; i++) {
      const f = await env2.vfs.openAt(env2.ctx, AT_FDCWD, `/new-vfs/f${i}`, O_WRONLY | O_CREAT, 0o644);
      if (isLinuxError(f)) throw new Error(f.name);
      const n = await f.write(data);
      if (n !== data.length) throw new Error(`write: ${typeof n === "number" ? n : n.name}`);
      f.decRef();
    }
    const createVfs = (secs(t0) * 1e6) / FILES;
    await env2.close();

    console.log(`vfs bench over a real gofer process (${SIZE >> 20} MiB file, ${FILES} files, dentry cache ${CACHE}, ${env.fsys.dentryCache.evictions} evictions)`);
    console.table([
      { what: "sequential read MiB/s", native: mib(med(nat)), vfs: mib(med(sb)), "vfs/native": (med(sb) / med(nat)).toFixed(2) },
      { what: "stat µs/op (cold: walk RPC)", native: statNative.toFixed(1), vfs: statCold.toFixed(1), "vfs/native": (statCold / statNative).toFixed(1) },
      { what: "stat µs/op (warm: cached)", native: statNative.toFixed(1), vfs: statWarm.toFixed(1), "vfs/native": (statWarm / statNative).toFixed(1) },
      { what: "create+write+close µs/op", native: createNative.toFixed(1), vfs: createVfs.toFixed(1), "vfs/native": (createVfs / createNative).toFixed(1) },
    ]);
    console.log(`bar: sequential read >= 0.8x native: ${med(sb) / med(nat) >= 0.8 ? "met" : "NOT met"}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
