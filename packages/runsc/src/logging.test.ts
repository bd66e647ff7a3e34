import { spawnSync } from "node:child_process";
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import type { Fd } from "./flags.js";
import { type LoggerOptions, createLogger, parseLogDestination } from "./logging.js";
import { spawnBinary, tempDir } from "./test-helpers.js";

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function records(path: string): Record<string, unknown>[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Logs the same few records through a fresh root logger and closes it. */
function logSome(options: LoggerOptions): void {
  const root = createLogger(options);
  const log = root.logger.child({ component: "gofer" });
  log.debug({ fd: 3 }, "walk");
  log.info({ path: "/etc/hosts", fd: 7 }, "opened");
  log.error({ err: new Error("no such file") }, "failed");
  root.close();
}

describe("parseLogDestination", () => {
  it("reads fd:N as an inherited FD and anything else as a file path", () => {
    expect(parseLogDestination("fd:3")).toEqual({ kind: "fd", fd: 3 });
    expect(parseLogDestination("/var/log/r.log")).toEqual({ kind: "file", path: "/var/log/r.log" });
    expect(parseLogDestination("./fd:3")).toEqual({ kind: "file", path: join(process.cwd(), "fd:3") });
  });

  it.each(["fd:", "fd:-1", "fd:x", ""])("rejects %j", (value) => {
    expect(() => parseLogDestination(value)).toThrow();
  });
});

describe("createLogger", () => {
  it("writes JSON records with runc's field names", () => {
    const path = join(tempDir("json"), "log");
    logSome({ log: { kind: "file", path }, format: "json", debug: false });
    const [opened, failed, ...rest] = records(path);
    expect(rest).toEqual([]);
    expect(opened).toEqual({ level: "info", time: expect.stringMatching(ISO_TIME), pid: process.pid, component: "gofer", msg: "opened", path: "/etc/hosts", fd: 7 });
    expect(failed).toMatchObject({ level: "error", msg: "failed", err: { type: "Error", message: "no such file" } });
  });

  it("writes one text line per record", () => {
    const path = join(tempDir("text"), "log");
    logSome({ log: { kind: "file", path }, format: "text", debug: false });
    const lines = readFileSync(path, "utf8").split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  gofer: opened path=\/etc\/hosts fd=7$/);
    expect(lines[1]).toMatch(/^\S+ ERROR gofer: failed err="no such file" stack="Error: no such file\\n\s+at /);
    expect(lines[2]).toBe("");
  });

  it("logs debug records only when asked", () => {
    const dir = tempDir("levels");
    logSome({ log: { kind: "file", path: join(dir, "info") }, format: "json", debug: false });
    logSome({ log: { kind: "file", path: join(dir, "debug") }, format: "json", debug: true });
    expect(records(join(dir, "info")).map((r) => r["level"])).toEqual(["info", "error"]);
    expect(records(join(dir, "debug")).map((r) => r["level"])).toEqual(["debug", "info", "error"]);
  });

  it("sends debug records to --debug-log and the rest to --log too", () => {
    const dir = tempDir("both");
    logSome({ log: { kind: "file", path: join(dir, "log") }, debugLog: { kind: "file", path: join(dir, "debug") }, format: "json", debug: false });
    expect(records(join(dir, "log")).map((r) => r["msg"])).toEqual(["opened", "failed"]);
    expect(records(join(dir, "debug")).map((r) => r["msg"])).toEqual(["walk", "opened", "failed"]);
  });

  it("writes each record once when --log and --debug-log name the same file", () => {
    const path = join(tempDir("same"), "log");
    logSome({ log: { kind: "file", path }, debugLog: { kind: "file", path }, format: "json", debug: false });
    expect(records(path).map((r) => r["msg"])).toEqual(["walk", "opened", "failed"]);
  });

  it("appends to an existing log", () => {
    const path = join(tempDir("append"), "log");
    writeFileSync(path, '{"msg":"earlier"}\n');
    logSome({ log: { kind: "file", path }, format: "json", debug: false });
    expect(records(path).map((r) => r["msg"])).toEqual(["earlier", "opened", "failed"]);
  });

  it("writes to an inherited FD and leaves it open", () => {
    const path = join(tempDir("fd"), "log");
    const fd = openSync(path, "a");
    try {
      logSome({ log: { kind: "fd", fd: fd as Fd }, format: "text", debug: false });
      expect(fstatSync(fd).isFile()).toBe(true); // still open: not ours to close
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(path, "utf8")).toMatch(/^\S+ INFO  gofer: opened path=\/etc\/hosts fd=7\n\S+ ERROR gofer: failed /);
  });

  it("is silent with no destination, whatever level it is set to", () => {
    const root = createLogger({ format: "json", debug: true });
    expect(root.logger.level).toBe("silent");
    root.logger.level = "trace";
    expect(() => root.logger.info("nowhere")).not.toThrow();
    root.close();
  });

  it("drops records after close instead of writing to a closed FD", () => {
    const path = join(tempDir("closed"), "log");
    const root = createLogger({ log: { kind: "file", path }, format: "json", debug: false });
    root.close();
    root.close();
    expect(() => root.logger.info("late")).not.toThrow();
    expect(readFileSync(path, "utf8")).toBe("");
  });
});

describe("a real process", () => {
  const loggingModule = pathToFileURL(join(import.meta.dirname, "../dist/logging.js")).href;

  /** Runs a fresh node process that logs through the built logging module. */
  function logInChild(optionsJson: string, extraFd?: number): { stdout: string; stderr: string; status: number | null } {
    const script = `
      import { createLogger } from ${JSON.stringify(loggingModule)};
      const root = createLogger(${optionsJson});
      const log = root.logger.child({ component: "gofer" });
      log.level = "trace";
      for (const level of ["trace", "debug", "info", "warn", "error", "fatal"]) log[level]({ level_was: level }, "record");
      root.close();`;
    const stdio: ("pipe" | number)[] = ["pipe", "pipe", "pipe"];
    if (extraFd !== undefined) stdio.push(extraFd);
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", stdio });
    return { stdout: String(result.stdout), stderr: String(result.stderr), status: result.status };
  }

  it("logs to the file and writes nothing to stdout or stderr", () => {
    const path = join(tempDir("proc"), "log");
    const child = logInChild(JSON.stringify({ log: { kind: "file", path }, format: "text", debug: true }));
    expect(child).toEqual({ stdout: "", stderr: "", status: 0 });
    expect(readFileSync(path, "utf8").split("\n").filter(Boolean)).toHaveLength(6);
  });

  it("logs to an inherited FD and writes nothing to stdout or stderr", () => {
    const path = join(tempDir("procfd"), "log");
    const fd = openSync(path, "a");
    try {
      const child = logInChild(JSON.stringify({ log: { kind: "fd", fd: 3 }, format: "json", debug: true }), fd);
      expect(child).toEqual({ stdout: "", stderr: "", status: 0 });
    } finally {
      closeSync(fd);
    }
    expect(records(path).map((r) => r["level"])).toEqual(["trace", "debug", "info", "warn", "error", "fatal"]);
  });

  it("with no destination writes nothing anywhere", () => {
    expect(logInChild(JSON.stringify({ format: "text", debug: true }))).toEqual({ stdout: "", stderr: "", status: 0 });
  });

  it("the CLI keeps its log off stdout and stderr, which carry only the one error line", () => {
    const path = join(tempDir("cli"), "log");
    const run = spawnBinary(["--debug", "--log", path, "--log-format=json", "--systemd-cgroup", "state", "c1"]);
    expect(run).toEqual({ code: 1, stdout: "", stderr: 'runsc-ts: "state" is not implemented yet\n' });
    const logged = records(path);
    expect(logged).toContainEqual(expect.objectContaining({ level: "debug", component: "state", msg: "command started" }));
    expect(logged.at(-1)).toMatchObject({ level: "error", component: "state", msg: '"state" is not implemented yet' });
  });
});
