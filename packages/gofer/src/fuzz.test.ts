// Hostile-input fuzzing of the server: thousands of random calls (valid and invalid names,
// arbitrary flags, modes, owners, cookies and sizes) on random handles. Every call must come back
// with an errno (never an RPC exception, never a crash), nothing outside the root may change, and
// once every capability is released the server holds only its root and this process the FDs it
// held before.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, type RemoteFile, buildTree, openFds, tempDir } from "./test-util.js";

/** xorshift32: deterministic, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const NAMES = ["a", "b", "c.txt", "top.txt", "new", "x", "link-rel", "link-root", "fifo", "..", ".", "", "a/b", "/", "x".repeat(256), "\u00e9t\u00e9", "magic", "loop1"];

let base: string;
let tree: string;
let outside: string;

function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${st.mode} ${st.size} ${st.uid} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

beforeAll(() => {
  process.umask(0);
  base = tempDir("gofer-fuzz-");
  tree = path.join(base, "tree");
  outside = path.join(base, "outside");
  fs.mkdirSync(tree);
  fs.mkdirSync(outside);
  buildTree(tree);
  fs.writeFileSync(path.join(outside, "secret"), "do not touch");
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe("fuzzing the gofer with hostile calls", () => {
  it("answers every call with an errno and never reaches outside the root", { timeout: 120_000 }, async () => {
    const fdsBefore = openFds();
    const outsideBefore = snapshot(outside);
    const h = new Harness(tree);
    const root = await h.mount();
    const files: RemoteFile[] = [root];
    const next = rng(Number(process.env["GOFER_FUZZ_SEED"] ?? 0x5eed));
    const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length] as T;
    const name = (): string => pick(NAMES);
    let exceptions = 0;
    for (let i = 0; i < 3000; i++) {
      const f = pick(files);
      const op = next() % 16;
      try {
        switch (op) {
          case 0: {
            const w = await f.walk(...Array.from({ length: next() % 4 }, name));
            files.push(...w.files);
            break;
          }
          case 1: {
            const o = await f.openAt(next());
            if (o.fd >= 0) fs.closeSync(o.fd);
            break;
          }
          case 2: {
            const c = await f.openCreateAt(name(), next(), next() % 0o20000, next() % 3, next() % 3);
            if (c.fd >= 0) fs.closeSync(c.fd);
            if (c.child !== undefined) files.push(c.child);
            break;
          }
          case 3: {
            const d = await f.mkdirAt(name(), next(), next() % 3, next() % 3);
            if (d.child !== undefined) files.push(d.child);
            break;
          }
          case 4: {
            const m = await f.mknodAt(name(), next(), next() % 3, next() % 3);
            if (m.child !== undefined) files.push(m.child);
            break;
          }
          case 5: {
            const s = await f.symlinkAt(name(), pick(["/", "../../..", "/etc/passwd", "", "x"]));
            if (s.child !== undefined) files.push(s.child);
            break;
          }
          case 6: {
            const l = await f.linkAt(pick(files), name());
            if (l.child !== undefined) files.push(l.child);
            break;
          }
          case 7:
            await f.unlinkAt(name(), next() % 2 === 0 ? 0 : next());
            break;
          case 8:
            await f.renameAt(name(), pick(files), name(), next() % 8);
            break;
          case 9:
            await f.readLink();
            break;
          case 10:
            await f.setStat({
              mask: next(),
              mode: next(),
              uid: next() % 5,
              gid: next() % 5,
              size: BigInt(next() % 100000),
              atime: [BigInt(next()), next()],
              mtime: [BigInt(next()), next()],
            });
            break;
          case 11:
            await f.getdents(BigInt(next()) << BigInt(next() % 32), next() % 70000);
            break;
          case 12:
            await f.fsync(next() % 2 === 0);
            await f.statfs();
            break;
          case 13:
            await f.setXattr(pick(["user.a", "user.b", "trusted.x", "", "security.y"]), "v".repeat(next() % 100), next() % 4);
            await f.getXattr(pick(["user.a", "user.b", "system.z"]), next() % 200);
            await f.listXattr(next() % 50);
            await f.removeXattr(pick(["user.a", "user.c"]));
            break;
          case 14: {
            const b = await f.bindAt(name(), next() % 7, next() % 0o10000);
            if (b.fd >= 0) fs.closeSync(b.fd);
            if (b.child !== undefined) files.push(b.child);
            const c = await f.connect(next() % 7);
            if (c.fd >= 0) fs.closeSync(c.fd);
            break;
          }
          default: {
            // Release a random handle (never the root).
            if (files.length > 1) {
              const k = 1 + (next() % (files.length - 1));
              files.splice(k, 1)[0]?.release();
            }
          }
        }
      } catch (e) {
        exceptions++;
        throw new Error(`call ${i} (op ${op}) failed with an exception: ${String(e)}`);
      }
    }
    expect(exceptions).toBe(0);
    files.slice(1).forEach((f) => f.release());
    await root.fstat(); // flush the Releases
    expect(h.server.nodes.live.size).toBe(1);
    await h.close();
    await new Promise((r) => setImmediate(r));
    expect(openFds()).toEqual(fdsBefore);
    expect(snapshot(outside)).toEqual(outsideBefore);
    expect(fs.readdirSync(base).sort()).toEqual(["outside", "tree"]);
  });
});
