import { describe, expect, it } from "vitest";
import { spawnBinary } from "./test-helpers.js";

// The built binary, as a real process: main.ts wires runCli to the process's streams and exit status.
describe("runsc-ts process", () => {
  it("exits 1 with one stderr line for an unimplemented command", () => {
    expect(spawnBinary(["start", "c1"])).toEqual({ code: 1, stdout: "", stderr: 'runsc-ts: "start" is not implemented yet\n' });
  });

  it("exits 0 after printing help to stdout", () => {
    const run = spawnBinary(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^Usage: runsc-ts /);
  });

  it("exits 1 for a usage error, with no stack trace", () => {
    expect(spawnBinary(["--debug", "gofer", "--root", "/", "--io-fd", "x"])).toEqual({
      code: 1,
      stdout: "",
      stderr: "runsc-ts: option '--io-fd <fd>' argument 'x' is invalid. A file descriptor is a non-negative integer (e.g. 3).\n",
    });
  });
});
