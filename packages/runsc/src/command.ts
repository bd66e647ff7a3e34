/**
 * How a subcommand is declared. Each file under `commands/` exports one `defineCommand({...})`:
 *
 *  - `configure` declares its arguments and options on the commander `Command` (the help text),
 *  - `parse` turns what commander parsed into a typed, validated arguments object,
 *  - `run` is the action: it receives the `CommandContext` (global options, a logger for the
 *    command's component, the output writers, the host probe) and the typed arguments.
 *
 * Nothing here touches process globals: `runCli` builds the context and catches what `run` throws.
 */
import type { Command } from "commander";
import type { GlobalOptions } from "./global-options.js";
import { CommandInput } from "./input.js";
import type { Logger } from "./logging.js";
import type { HostProbe } from "./platform-check.js";

/** The command's own output (help, `state` JSON, `list` tables). Logs never go here. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** What every action receives besides its own arguments. */
export interface CommandContext {
  /** The subcommand's name (`"gofer"`). */
  readonly name: string;
  readonly globals: GlobalOptions;
  /** The root logger's child for this command: `{ component: name }`. */
  readonly log: Logger;
  readonly io: CliIo;
  readonly host: HostProbe;
}

export interface CommandDefinition<A> {
  readonly name: string;
  /** One line, shown in `runsc-ts --help`. */
  readonly summary: string;
  /** Help group heading; commands without one are listed under "Commands:". */
  readonly group?: string;
  /** Declares arguments and options (and, for commands that take a program, pass-through). */
  configure(command: Command): void;
  /** The typed arguments; throws `CliError` for input that is invalid as a whole. */
  parse(input: CommandInput): A;
  run(ctx: CommandContext, args: A): Promise<void>;
}

/** A parsed command line, ready to run. */
export interface Invocation {
  /** The typed arguments `parse` produced (for logging and tests). */
  readonly args: unknown;
  run(ctx: CommandContext): Promise<void>;
}

/**
 * Called by a subcommand's action. `prepare` parses the arguments; it is called after the
 * logger exists, so argument errors are logged like any other failure.
 */
export type Invoke = (name: string, prepare: () => Invocation) => Promise<void>;

/** A subcommand, with its argument type erased so the program can hold a list of them. */
export interface CliCommand {
  readonly name: string;
  /** Adds the subcommand to `program`; its action calls `invoke`. */
  register(program: Command, invoke: Invoke): void;
}

export function defineCommand<A>(definition: CommandDefinition<A>): CliCommand {
  return {
    name: definition.name,
    register(program, invoke) {
      // program.command() (not addCommand) so the subcommand inherits the program's output and
      // exit settings.
      const command = program.command(definition.name).description(definition.summary);
      if (definition.group !== undefined) command.helpGroup(definition.group);
      definition.configure(command);
      command.action(() =>
        invoke(definition.name, () => {
          const args = definition.parse(new CommandInput(command));
          return { args, run: (ctx) => definition.run(ctx, args) };
        }),
      );
    },
  };
}
