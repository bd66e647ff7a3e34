/**
 * The CLI's error space. A `CliError` is a user-facing failure with a one-line message (bad
 * input, a missing device, an unimplemented command); anything else that reaches the top of
 * `runCli` is a bug and is reported the same way, with its stack only under `--debug`.
 */

/** A failure the user can act on: printed as `runsc-ts: <message>`, exit status `exitCode`. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Not a failure: the command finished and wants this exit status (a sandboxed program's own
 * status, passed through by `do` and `boot`). Nothing is printed.
 */
export class ExitStatus extends Error {
  override readonly name = "ExitStatus";
  constructor(readonly exitCode: number) {
    super(`exit status ${exitCode}`);
  }
}

/**
 * The one place an unimplemented command fails. Every command's action calls this until it is
 * written, so the message and exit status stay the same across all of them.
 */
export function notImplemented(command: string): never {
  throw new CliError(`"${command}" is not implemented yet`);
}

/** Collapses a message onto one line: the CLI never prints a multi-line error. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, " ").trim();
}
