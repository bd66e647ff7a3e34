/**
 * The program: global options, the subcommands, and `runCli`, which parses a command line, runs
 * the command and turns every failure into one line on stderr and an exit status. It touches no
 * process globals (main.ts does), so tests run it in-process.
 */
import { Command, CommanderError } from "commander";
import type { CliIo, CommandContext, Invocation, Invoke } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { CliError, ExitStatus, oneLine } from "./errors.js";
import { type GlobalOptions, addGlobalOptions, readGlobalOptions } from "./global-options.js";
import { OptionValuesReader } from "./input.js";
import { type Logger, type RootLogger, createLogger } from "./logging.js";
import { type HostProbe, hostProbe } from "./platform-check.js";
import { versionText } from "./version.js";

export interface RunCliOptions {
  /** Where help, command output and the one-line errors go. */
  readonly io: CliIo;
  /** Host facts for the platform check; the real host by default. */
  readonly host?: HostProbe;
  /** Test seam: called with the parsed invocation instead of running it. */
  readonly intercept?: (name: string, invocation: Invocation, ctx: CommandContext) => Promise<void>;
}

/** Commander outcomes that are not failures: their output is already written. */
const DISPLAY_CODES = new Set(["commander.helpDisplayed", "commander.version", "commander.help"]);

/** Builds the program; `invoke` receives each parsed subcommand. */
export function buildProgram(io: CliIo, invoke: Invoke): Command {
  const program = new Command("runsc-ts")
    .description("An OCI container runtime whose kernel is a user-space Linux kernel written in TypeScript.")
    .usage("[global options] <command> [command options] [arguments...]")
    .version(versionText(), "-v, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command (`help syscalls`: the syscall compatibility report)")
    // Global options come before the subcommand (as with runc); this also lets exec and do
    // pass the options after their program through untouched.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => undefined });
  addGlobalOptions(program);
  for (const command of COMMANDS) command.register(program, invoke);
  return program;
}

/** Logs how the command was invoked, and the global flags accepted only for compatibility. */
function logStart(log: Logger, argv: readonly string[], globals: GlobalOptions, args: unknown): void {
  log.debug({ argv, globals, args }, "command started");
  if (globals.systemdCgroup) log.debug({ flag: "--systemd-cgroup" }, "global flag accepted and ignored: not used yet");
  if (globals.rootless !== undefined) {
    log.debug({ flag: "--rootless", value: globals.rootless }, "global flag accepted and ignored: not used yet");
  }
}

/**
 * Runs one command line (`argv` without node and the script) and returns the exit status.
 * Never throws: failures become `runsc-ts: <message>` on `io.stderr` (plus the stack of an
 * internal error under `--debug`), and an error record in the log when there is one.
 */
export async function runCli(argv: readonly string[], options: RunCliOptions): Promise<number> {
  const { io } = options;
  // `runsc-ts help syscalls`: the compatibility report, from the syscall table itself.
  if (argv.length === 2 && argv[0] === "help" && argv[1] === "syscalls") {
    // Loaded here only: every other command starts faster without the sentry's modules.
    const { formatReport, linuxSyscalls } = await import("@runsc-ts/sentry");
    io.stdout(formatReport(linuxSyscalls()));
    return 0;
  }
  let root: RootLogger | undefined;
  let log: Logger | undefined;
  const program = buildProgram(io, async (name, prepare) => {
    const globals = readGlobalOptions(new OptionValuesReader("runsc-ts", program.opts()));
    root = createLogger({ log: globals.log, debugLog: globals.debugLog, format: globals.logFormat, debug: globals.debug });
    log = root.logger.child({ component: name });
    const invocation = prepare();
    logStart(log, argv, globals, invocation.args);
    const ctx: CommandContext = { name, globals, log, io, host: options.host ?? hostProbe };
    await (options.intercept === undefined ? invocation.run(ctx) : options.intercept(name, invocation, ctx));
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    return reportFailure(err, io, log, program.opts()["debug"] === true);
  } finally {
    root?.close();
  }
}

function reportFailure(err: unknown, io: CliIo, log: Logger | undefined, debug: boolean): number {
  if (err instanceof CommanderError) {
    if (DISPLAY_CODES.has(err.code)) return err.exitCode;
    const message = oneLine(err.message.replace(/^error: /, ""));
    log?.error(message);
    io.stderr(`runsc-ts: ${message}\n`);
    return err.exitCode === 0 ? 1 : err.exitCode;
  }
  if (err instanceof ExitStatus) return err.exitCode;
  if (err instanceof CliError) {
    const message = oneLine(err.message);
    log?.error(message);
    io.stderr(`runsc-ts: ${message}\n`);
    return err.exitCode;
  }
  // Anything else is a bug: say so in one line, keep the stack for the log and --debug.
  const message = oneLine(err instanceof Error ? err.message : String(err));
  log?.error({ err }, message);
  io.stderr(`runsc-ts: ${message}\n`);
  if (debug && err instanceof Error && err.stack !== undefined) io.stderr(`${err.stack}\n`);
  return 1;
}
