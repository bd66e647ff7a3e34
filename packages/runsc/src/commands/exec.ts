import { isAbsolute } from "node:path";
import { Argument, Option } from "commander";
import { defineCommand } from "../command.js";
import { CliError } from "../errors.js";
import { type UserSpec, parseUser } from "../flags.js";
import { hasKeys, isNonNegativeInteger, isString, isStringArray } from "../input.js";
import {
  absolute,
  consoleSocketOption,
  containerIdArgument,
  envOption,
  notImplementedAction,
  pidFileOption,
  preserveFdsOption,
} from "./common.js";

export interface ExecArgs {
  readonly containerId: string;
  /** The program and its arguments; empty when `processFile` gives them. */
  readonly command: readonly string[];
  /** Absolute path of an OCI `process` JSON file that replaces the other process flags. */
  readonly processFile: string | undefined;
  readonly tty: boolean;
  readonly cwd: string | undefined;
  /** `KEY=VALUE` entries added to the container's environment. */
  readonly env: readonly string[];
  readonly user: UserSpec | undefined;
  readonly detach: boolean;
  readonly pidFile: string | undefined;
  readonly consoleSocket: string | undefined;
  readonly preserveFds: number;
}

export const exec = defineCommand<ExecArgs>({
  name: "exec",
  summary: "run a new process inside a running container",
  configure(command) {
    command
      .addArgument(containerIdArgument())
      .addArgument(new Argument("[command...]", "the program and its arguments"))
      .option("-p, --process <file>", "an OCI process JSON file describing the process (instead of a command)")
      .option("-t, --tty", "allocate a pseudo-terminal")
      .option("--cwd <dir>", "working directory inside the container (absolute)")
      .addOption(envOption("-e, --env <KEY=VALUE>"))
      .addOption(new Option("-u, --user <uid[:gid]>", "user and group IDs to run as").argParser(parseUser))
      .option("-d, --detach", "return once the process has started")
      .addOption(pidFileOption())
      .addOption(consoleSocketOption())
      .addOption(preserveFdsOption())
      // Options end at the container ID: `exec ID ls -la` runs `ls -la`.
      .passThroughOptions();
  },
  parse(input) {
    // Options stop at the container ID, so a `--` after it arrives as the first word: drop it.
    const words = input.optionalArg(1, isStringArray) ?? [];
    const command = words[0] === "--" ? words.slice(1) : words;
    const processFile = absolute(input.optionalOption("process", isString));
    if (processFile === undefined && command.length === 0) {
      throw new CliError("exec needs a command or --process FILE");
    }
    if (processFile !== undefined && command.length > 0) {
      throw new CliError("exec takes either a command or --process FILE, not both");
    }
    const cwd = input.optionalOption("cwd", isString);
    if (cwd !== undefined && !isAbsolute(cwd)) {
      throw new CliError(`exec --cwd must be an absolute path inside the container, not "${cwd}"`);
    }
    return {
      containerId: input.arg(0, isString),
      command,
      processFile,
      tty: input.flag("tty"),
      cwd,
      env: input.list("env", isStringArray),
      user: input.optionalOption("user", hasKeys<UserSpec>("uid", "gid")),
      detach: input.flag("detach"),
      pidFile: absolute(input.optionalOption("pidFile", isString)),
      consoleSocket: absolute(input.optionalOption("consoleSocket", isString)),
      preserveFds: input.option("preserveFds", isNonNegativeInteger),
    };
  },
  run: notImplementedAction,
});
