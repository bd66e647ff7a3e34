import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DeleteArgs } from "./commands/delete.js";
import type { DoArgs } from "./commands/do.js";
import type { ExecArgs } from "./commands/exec.js";
import { DEFAULT_ROOT } from "./global-options.js";
import { cli, tempDir } from "./test-helpers.js";

const SUBCOMMANDS = [
  "create", "start", "run", "exec", "kill", "wait", "delete", "state", "list", "ps", "spec", "do",
  "boot", "gofer", "netstack",
];

/** The smallest valid command line for each subcommand. */
const MINIMAL: Readonly<Record<string, readonly string[]>> = {
  create: ["create", "c1"],
  start: ["start", "c1"],
  run: ["run", "c1"],
  exec: ["exec", "c1", "true"],
  kill: ["kill", "c1"],
  wait: ["wait", "c1"],
  delete: ["delete", "c1"],
  state: ["state", "c1"],
  list: ["list"],
  ps: ["ps", "c1"],
  spec: ["spec"],
  do: ["do", "--", "true"],
  boot: ["boot", "--bundle", "/b", "--spec-fd", "3", "--controller-fd", "4", "c1"],
  gofer: ["gofer", "--root", "/", "--io-fd", "3"],
  netstack: ["netstack", "--fd", "3"],
};

/** Asserts a failed run printed exactly one stderr line and returns it without the newline. */
function oneErrorLine(run: { code: number; stdout: string; stderr: string }): string {
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("");
  expect(run.stderr).toMatch(/^runsc-ts: [^\n]+\n$/);
  return run.stderr.slice(0, -1);
}

describe("help and version", () => {
  it("lists every subcommand with a one-line description", async () => {
    const run = await cli(["--help"]);
    expect(run.code).toBe(0);
    for (const name of SUBCOMMANDS) {
      expect(run.stdout).toMatch(new RegExp(`^  ${name}\\b.*\\S  +[a-z]`, "m"));
    }
  });

  it("lists the global flags", async () => {
    const { stdout } = await cli(["--help"]);
    for (const flag of ["--root", "--log", "--log-format", "--debug", "--debug-log", "--strace", "--platform", "--network"]) {
      expect(stdout).toContain(`  ${flag} `);
    }
  });

  it.each(SUBCOMMANDS)("prints help for %s", async (name) => {
    const run = await cli([name, "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: runsc-ts ${name}`);
  });

  it("documents the runc flags users expect", async () => {
    const help = async (name: string): Promise<string> => (await cli([name, "--help"])).stdout;
    expect(await help("create")).toMatch(/-b, --bundle <dir>[\s\S]*--pid-file <file>[\s\S]*--console-socket <socket>/);
    expect(await help("run")).toMatch(/-d, --detach/);
    expect(await help("exec")).toMatch(/-p, --process[\s\S]*-t, --tty[\s\S]*--cwd[\s\S]*-e, --env[\s\S]*-u, --user[\s\S]*-d, --detach/);
    expect(await help("kill")).toMatch(/-a, --all/);
    expect(await help("delete")).toMatch(/-f, --force/);
    expect(await help("list")).toMatch(/-f, --format[\s\S]*-q, --quiet/);
    expect(await help("spec")).toMatch(/-b, --bundle[\s\S]*--rootless/);
    expect(await help("boot")).toMatch(/--spec-fd[\s\S]*--controller-fd[\s\S]*--io-fds[\s\S]*--stdio-fds[\s\S]*--start-sync-fd[\s\S]*--netstack-fd/);
    expect(await help("gofer")).toMatch(/--root <path>[\s\S]*--io-fd <fd>[\s\S]*--ro/);
    expect(await help("netstack")).toMatch(/--fd <fd>[\s\S]*--tap-fd[\s\S]*--addr[\s\S]*--gw[\s\S]*--log-packets/);
  });

  it("prints the version and the OCI spec version like runc", async () => {
    const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version as string;
    for (const flag of ["--version", "-v"]) {
      const run = await cli([flag]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^runsc-ts version ${version.replace(/\./g, "\\.")}\\nspec: 1\\.\\d+\\.\\d+\\n$`));
    }
  });
});

describe("global options", () => {
  it("has runc's defaults", async () => {
    const { ctx } = await cli(["state", "c1"], { intercept: true });
    expect(ctx?.globals).toEqual({
      root: DEFAULT_ROOT,
      log: undefined,
      logFormat: "text",
      debug: false,
      debugLog: undefined,
      strace: false,
      platform: "ptrace",
      network: "sandbox",
      systemdCgroup: false,
      rootless: undefined,
    });
  });

  it("parses --root=/x and --root /x alike", async () => {
    expect((await cli(["--root=/x", "state", "c1"], { intercept: true })).ctx?.globals.root).toBe("/x");
    expect((await cli(["--root", "/x", "state", "c1"], { intercept: true })).ctx?.globals.root).toBe("/x");
  });

  it("makes a relative --root absolute", async () => {
    const { ctx } = await cli(["--root", "state-dir", "state", "c1"], { intercept: true });
    expect(ctx?.globals.root).toBe(join(process.cwd(), "state-dir"));
  });

  it("parses every global flag in both spellings", async () => {
    const dir = tempDir("globals");
    const spaced = await cli(
      ["--log", join(dir, "a.log"), "--log-format", "json", "--debug", "--debug-log", "fd:7", "--strace",
        "--platform", "ptrace", "--network", "none", "--systemd-cgroup", "--rootless", "true", "list"],
      { intercept: true },
    );
    const joined = await cli(
      [`--log=${join(dir, "a.log")}`, "--log-format=json", "--debug", "--debug-log=fd:7", "--strace",
        "--platform=ptrace", "--network=none", "--systemd-cgroup", "--rootless=true", "list"],
      { intercept: true },
    );
    expect(spaced.code).toBe(0);
    expect(joined.ctx?.globals).toEqual(spaced.ctx?.globals);
    expect(spaced.ctx?.globals).toMatchObject({
      log: { kind: "file", path: join(dir, "a.log") },
      logFormat: "json",
      debug: true,
      debugLog: { kind: "fd", fd: 7 },
      strace: true,
      network: "none",
      systemdCgroup: true,
      rootless: "true",
    });
  });

  it.each([
    [["--log-format", "xml"], "option '--log-format <format>' argument 'xml' is invalid. Allowed choices are text, json."],
    [["--log-format=xml"], "option '--log-format <format>' argument 'xml' is invalid. Allowed choices are text, json."],
    [["--platform=systrap"], "option '--platform <platform>' argument 'systrap' is invalid. Allowed choices are ptrace, kvm."],
    [["--network", "bridge"], "option '--network <mode>' argument 'bridge' is invalid. Allowed choices are sandbox, host, none."],
    [["--rootless", "maybe"], "option '--rootless <bool>' argument 'maybe' is invalid. Allowed choices are true, false, auto."],
    [["--log", "fd:x"], "option '--log <file>' argument 'fd:x' is invalid. A file descriptor is a non-negative integer (e.g. 3)."],
  ])("rejects %j with a clear message", async (flags, message) => {
    expect(oneErrorLine(await cli([...flags, "state", "c1"]))).toBe(`runsc-ts: ${message}`);
  });

  it("takes global flags only before the subcommand, as runc does", async () => {
    expect(oneErrorLine(await cli(["state", "--root", "/x", "c1"]))).toBe("runsc-ts: unknown option '--root'");
  });

  it("accepts --systemd-cgroup and --rootless, and logs that it ignores them", async () => {
    const log = join(tempDir("ignored"), "log.json");
    const run = await cli(["--log", log, "--log-format", "json", "--debug", "--systemd-cgroup", "--rootless", "auto", "state", "c1"]);
    expect(oneErrorLine(run)).toBe('runsc-ts: "state" is not implemented yet');
    const records = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toContainEqual(expect.objectContaining({ level: "debug", flag: "--systemd-cgroup" }));
    expect(records).toContainEqual(expect.objectContaining({ level: "debug", flag: "--rootless", value: "auto" }));
  });
});

describe("command line errors", () => {
  it("rejects an unknown subcommand", async () => {
    expect(oneErrorLine(await cli(["frobnicate"]))).toBe("runsc-ts: unknown command 'frobnicate'");
  });

  it("keeps commander's suggestion on the same line", async () => {
    expect(oneErrorLine(await cli(["craete", "c1"]))).toBe("runsc-ts: unknown command 'craete' (Did you mean create?)");
  });

  it("rejects unknown options, missing and extra arguments", async () => {
    expect(oneErrorLine(await cli(["state", "--frob", "c1"]))).toBe("runsc-ts: unknown option '--frob'");
    expect(oneErrorLine(await cli(["state"]))).toBe("runsc-ts: missing required argument 'container-id'");
    expect(oneErrorLine(await cli(["state", "a", "b"]))).toMatch(/^runsc-ts: too many arguments for 'state'/);
    expect(oneErrorLine(await cli(["gofer", "--io-fd", "3"]))).toBe("runsc-ts: required option '--root <path>' not specified");
  });

  it.each(["../etc", "..", ".", "a/b", "", "a b"])("rejects the container ID %j", async (id) => {
    expect(oneErrorLine(await cli(["state", id]))).toBe(
      `runsc-ts: command-argument value '${id}' is invalid for argument 'container-id'. A container ID uses only letters, digits and _ + - . (and is not . or ..).`,
    );
  });
});

describe("numeric FD flags", () => {
  it("parses FDs into numbers", async () => {
    const run = await cli(["gofer", "--root=/srv", "--io-fd=5", "--ro"], { intercept: true });
    expect(run.name).toBe("gofer");
    expect(run.args).toEqual({ root: "/srv", ioFd: 5, readOnly: true, unconfined: false });
  });

  it.each(["-1", "x", "3.5", "0x3", "+3", "", " 3", "2147483648", "99999999999999999999"])(
    "rejects --io-fd %j",
    async (value) => {
      const line = oneErrorLine(await cli(["gofer", "--root", "/", `--io-fd=${value}`]));
      expect(line).toBe(
        `runsc-ts: option '--io-fd <fd>' argument '${value}' is invalid. A file descriptor is a non-negative integer (e.g. 3).`,
      );
    },
  );

  it("collects FD lists from commas and repeats", async () => {
    const run = await cli(
      ["boot", "--bundle", "/b", "--spec-fd", "3", "--controller-fd", "4", "--io-fds", "5,6", "--io-fds=7",
        "--stdio-fds", "0,1,2", "--start-sync-fd", "8", "--netstack-fd", "9", "c1"],
      { intercept: true },
    );
    expect(run.args).toEqual({
      containerId: "c1", bundle: "/b", specFd: 3, controllerFd: 4, ioFds: [5, 6, 7], stdioFds: [0, 1, 2],
      startSyncFd: 8, netstackFd: 9,
    });
  });

  it("rejects malformed FD lists", async () => {
    const boot = ["boot", "--bundle", "/b", "--spec-fd", "3", "--controller-fd", "4"];
    expect(oneErrorLine(await cli([...boot, "--io-fds", "5,,6", "c1"]))).toContain("comma-separated list of file descriptors");
    expect(oneErrorLine(await cli([...boot, "--io-fds", "5,x", "c1"]))).toContain("A file descriptor is a non-negative integer");
    expect(oneErrorLine(await cli([...boot, "--stdio-fds", "0,1", "c1"]))).toBe(
      "runsc-ts: boot --stdio-fds takes exactly 3 FDs (stdin, stdout, stderr), not 2",
    );
    expect(oneErrorLine(await cli([...boot, "--io-fds", "3", "c1"]))).toBe("runsc-ts: boot: FD 3 is given for more than one channel");
  });

  it("requires boot's spec and controller FDs", async () => {
    expect(oneErrorLine(await cli(["boot", "--bundle", "/b", "--controller-fd", "4", "c1"]))).toBe(
      "runsc-ts: required option '--spec-fd <fd>' not specified",
    );
  });

  it("parses and checks netstack's NIC flags", async () => {
    const run = await cli(["netstack", "--fd", "3", "--tap-fd", "4", "--addr", "10.0.0.2/24", "--gw", "10.0.0.1"], { intercept: true });
    expect(run.args).toEqual({
      fd: 3, tapFd: 4, tap: undefined, address: { address: "10.0.0.2", family: 4, prefixLength: 24 }, gateway: "10.0.0.1", logPackets: undefined,
    });
    expect((await cli(["netstack", "--fd", "3", "--tap", "tap0", "--addr", "10.0.0.2/24"], { intercept: true })).args).toMatchObject({ tap: "tap0", tapFd: undefined });
    expect(oneErrorLine(await cli(["netstack", "--fd", "3", "--tap", "tap0", "--tap-fd", "4"]))).toContain("cannot be used with option");
    for (const bad of ["", "a/b", "x".repeat(16), "a b"]) {
      expect(oneErrorLine(await cli(["netstack", "--fd", "3", "--tap", bad]))).toContain("is not a network interface name");
    }
    expect(oneErrorLine(await cli(["netstack", "--fd", "3", "--tap-fd", "4", "--addr", "10.0.0.2/33"]))).toContain(
      "Expected ADDRESS/PREFIX-LENGTH",
    );
    expect(oneErrorLine(await cli(["netstack", "--fd", "3", "--addr", "10.0.0.2/24"]))).toContain("needs --tap-fd");
    expect(oneErrorLine(await cli(["netstack", "--fd", "3", "--tap-fd", "4", "--addr", "fd00::2/64", "--gw", "10.0.0.1"]))).toContain(
      "must both be IPv4 or both IPv6",
    );
  });
});

describe("signals", () => {
  it.each(["KILL", "SIGKILL", "9", "kill", "sigkill"])("kill accepts %s as SIGKILL", async (signal) => {
    const run = await cli(["kill", "c1", signal], { intercept: true });
    expect(run.args).toEqual({ containerId: "c1", signal: 9, all: false });
  });

  it("defaults to SIGTERM and takes --all", async () => {
    const run = await cli(["kill", "--all", "c1"], { intercept: true });
    expect(run.args).toMatchObject({ signal: 15, all: true });
  });

  it.each(["0", "65", "SIGFOO", "-9", "9x"])("rejects the signal %j", async (signal) => {
    const line = oneErrorLine(await cli(["kill", "c1", "--", signal]));
    expect(line).toBe(
      `runsc-ts: command-argument value '${signal}' is invalid for argument 'signal'. Give a signal name (KILL or SIGKILL) or a number from 1 to 64.`,
    );
  });
});

describe("commands that take a program", () => {
  it("passes exec's program options through untouched", async () => {
    const run = await cli(["exec", "-e", "A=1", "--env=B=2", "-t", "--cwd", "/w", "-u", "1000:100", "c1", "ls", "-la", "--color"], {
      intercept: true,
    });
    expect(run.args).toMatchObject({
      containerId: "c1", command: ["ls", "-la", "--color"], env: ["A=1", "B=2"], tty: true, cwd: "/w",
      user: { uid: 1000, gid: 100 }, detach: false, processFile: undefined,
    } satisfies Partial<ExecArgs>);
  });

  it("drops a -- between exec's container ID and its program", async () => {
    expect((await cli(["exec", "c1", "--", "ls", "-l"], { intercept: true })).args).toMatchObject({ command: ["ls", "-l"] });
    expect((await cli(["exec", "--", "c1", "ls", "--"], { intercept: true })).args).toMatchObject({ command: ["ls", "--"] });
  });

  it("takes exec --process instead of a command", async () => {
    const run = await cli(["exec", "--process", "/p.json", "-d", "--pid-file", "/p.pid", "c1"], { intercept: true });
    expect(run.args).toMatchObject({ processFile: "/p.json", command: [], detach: true, pidFile: "/p.pid" });
    expect(oneErrorLine(await cli(["exec", "c1"]))).toBe("runsc-ts: exec needs a command or --process FILE");
    expect(oneErrorLine(await cli(["exec", "-p", "/p.json", "c1", "ls"]))).toBe(
      "runsc-ts: exec takes either a command or --process FILE, not both",
    );
  });

  it("validates exec's --env, --user and --cwd", async () => {
    expect(oneErrorLine(await cli(["exec", "-e", "NOVALUE", "c1", "true"]))).toContain("Environment entries are KEY=VALUE.");
    expect(oneErrorLine(await cli(["exec", "-u", "root", "c1", "true"]))).toContain("Expected UID[:GID]");
    expect(oneErrorLine(await cli(["exec", "--cwd", "rel", "c1", "true"]))).toBe(
      'runsc-ts: exec --cwd must be an absolute path inside the container, not "rel"',
    );
  });

  it("parses do -- CMD ARGS with its own flags", async () => {
    const run = await cli(["do", "--cwd", "/tmp", "--env", "K=V", "--env", "L=W", "--network", "host", "--", "sh", "-c", "echo hi"], {
      intercept: true,
    });
    expect(run.args).toEqual({
      command: "sh", args: ["-c", "echo hi"], cwd: "/tmp", env: ["K=V", "L=W"], network: "host",
    } satisfies DoArgs);
  });

  it("runs do's program even without --", async () => {
    const run = await cli(["do", "ls", "-la"], { intercept: true });
    expect(run.args).toMatchObject({ command: "ls", args: ["-la"], network: undefined });
  });

  it("rejects do --network values outside none|sandbox|host", async () => {
    expect(oneErrorLine(await cli(["do", "--network", "bridge", "--", "true"]))).toContain("Allowed choices are sandbox, host, none.");
  });
});

describe("other commands' arguments", () => {
  it("makes create's paths absolute and accepts runc callers' extra flags", async () => {
    const run = await cli(
      ["create", "-b", "bundle", "--pid-file=/run/p.pid", "--console-socket", "/run/c.sock", "--no-pivot", "--no-new-keyring",
        "--preserve-fds", "2", "c1"],
      { intercept: true },
    );
    expect(run.args).toEqual({
      containerId: "c1", bundle: join(process.cwd(), "bundle"), pidFile: "/run/p.pid", consoleSocket: "/run/c.sock",
      preserveFds: 2, noPivot: true, noNewKeyring: true,
    });
    expect((await cli(["create", "c1"], { intercept: true })).args).toMatchObject({ bundle: process.cwd(), noPivot: false, preserveFds: 0 });
    expect(oneErrorLine(await cli(["create", "--preserve-fds", "-2", "c1"]))).toBe(
      "runsc-ts: option '--preserve-fds <n>' argument '-2' is invalid. Expected a non-negative integer.",
    );
  });

  it("deletes several containers, with --force", async () => {
    const run = await cli(["delete", "-f", "a", "b"], { intercept: true });
    expect(run.args).toEqual({ containerIds: ["a", "b"], force: true } satisfies DeleteArgs);
  });

  it("parses list and ps formats", async () => {
    expect((await cli(["list", "-f", "json", "-q"], { intercept: true })).args).toEqual({ format: "json", quiet: true });
    expect((await cli(["ps", "--format=json", "c1"], { intercept: true })).args).toEqual({ containerId: "c1", format: "json" });
    expect(oneErrorLine(await cli(["list", "--format", "yaml"]))).toContain("Allowed choices are table, json.");
  });

  it("takes wait --pid or --rootpid, not both", async () => {
    expect((await cli(["wait", "--pid", "7", "c1"], { intercept: true })).args).toEqual({ containerId: "c1", pid: 7, rootPid: undefined });
    expect(oneErrorLine(await cli(["wait", "--pid", "7", "--rootpid", "8", "c1"]))).toContain("cannot be used with option '--rootpid");
    expect(oneErrorLine(await cli(["wait", "--pid", "0", "c1"]))).toContain("A process ID is a positive integer.");
  });
});

describe("unimplemented commands", () => {
  // gofer, do, boot and netstack are implemented (e2e/gofer, e2e/do and e2e/netstack run them
  // as real processes).
  it.each(SUBCOMMANDS.filter((name) => !["gofer", "do", "boot", "netstack"].includes(name)))("%s exits 1 with one line", async (name) => {
    const argv = MINIMAL[name];
    if (argv === undefined) throw new Error(`no minimal command line for ${name}`);
    expect(oneErrorLine(await cli(argv))).toBe(`runsc-ts: "${name}" is not implemented yet`);
  });

  it("hands each action a child logger for its component", async () => {
    const { ctx } = await cli(["gofer", "--root", "/", "--io-fd", "3"], { intercept: true });
    expect(ctx?.log.bindings()).toMatchObject({ component: "gofer" });
  });
});

describe("--platform=kvm", () => {
  it.each(["do", "run", "create", "boot"])("fails %s with the alternative named when /dev/kvm is missing", async (name) => {
    const argv = MINIMAL[name] ?? [];
    expect(oneErrorLine(await cli(["--platform=kvm", ...argv], { kvm: "missing" }))).toBe(
      "runsc-ts: --platform=kvm needs /dev/kvm, which this host does not have; use --platform=ptrace",
    );
  });

  it("fails with the alternative named when /dev/kvm is there", async () => {
    expect(oneErrorLine(await cli(["--platform", "kvm", "do", "--", "true"], { kvm: "ok" }))).toBe(
      "runsc-ts: --platform=kvm is not implemented yet; use --platform=ptrace",
    );
  });

  it("leaves commands that start no sandbox alone", async () => {
    expect(oneErrorLine(await cli(["--platform=kvm", "state", "c1"]))).toBe('runsc-ts: "state" is not implemented yet');
  });
});

describe("internal errors", () => {
  const boom = async (): Promise<void> => {
    throw new TypeError("boom");
  };

  it("prints one line without --debug", async () => {
    expect(oneErrorLine(await cli(["state", "c1"], { action: boom }))).toBe("runsc-ts: boom");
  });

  it("adds the stack trace with --debug", async () => {
    const run = await cli(["--debug", "state", "c1"], { action: boom });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^runsc-ts: boom\nTypeError: boom\n\s+at /);
  });

  it("records the error, with its stack, in the log", async () => {
    const log = join(tempDir("internal"), "log.json");
    await cli(["--log", log, "--log-format=json", "state", "c1"], { action: boom });
    const record = JSON.parse(readFileSync(log, "utf8").trim()) as Record<string, unknown>;
    expect(record).toMatchObject({ level: "error", msg: "boom", component: "state", err: { type: "TypeError", message: "boom" } });
  });

  it("reports an unopenable log file in one line", async () => {
    expect(oneErrorLine(await cli(["--log", "/nonexistent-dir/x.log", "state", "c1"]))).toMatch(
      /^runsc-ts: cannot open log file: ENOENT: no such file or directory, open '\/nonexistent-dir\/x\.log'$/,
    );
  });
});

describe("help syscalls", () => {
  it("prints the compatibility report from the syscall table, and docs/syscalls.txt is current", async () => {
    const run = await cli(["help", "syscalls"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\s+0  read\s+supported/m);
    expect(run.stdout).toMatch(/kexec_load\s+unimplemented \(ENOSYS\)/);
    expect(run.stdout).toMatch(/^\d+ supported, \d+ partial, \d+ unimplemented$/m);
    const docs = readFileSync(new URL("../../../docs/syscalls.txt", import.meta.url), "utf8");
    expect(docs, "regenerate docs/syscalls.txt: node packages/runsc/bin/runsc-ts.js help syscalls > docs/syscalls.txt").toBe(run.stdout);
  });
});
