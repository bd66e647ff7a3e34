// A tracer that dies takes its stubs with it (PTRACE_O_EXITKILL, PR_SET_PDEATHSIG).
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { processesInGroup, sleep } from "./test-programs.js";

const peer = fileURLToPath(new URL("./test-tracer-peer.mjs", import.meta.url));

/** Live (not zombie) processes of the group. */
function live(pgid: number): number[] {
  return processesInGroup(pgid).filter((pid) => {
    try {
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
    } catch {
      return false;
    }
  });
}

describe("a dying tracer", () => {
  it("takes every stub with it", async () => {
    const child = spawn(process.execPath, [peer], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`peer exited with ${code}`)));
    });
    const { zygote, as, ctx } = JSON.parse(line) as { zygote: number; as: number; ctx: number };
    expect(live(zygote).sort()).toEqual([zygote, as, ctx].sort());
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    for (let i = 0; i < 200 && live(zygote).length > 0; i++) await sleep(10);
    expect(live(zygote)).toEqual([]);
  });

  it("exits cleanly when the platform stops right before Node does", () => {
    for (let i = 0; i < 5; i++) {
      const r = spawnSync(process.execPath, [peer, "exit"], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
  });
});
