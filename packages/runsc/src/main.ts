/**
 * The runsc-ts process entry (bin/runsc-ts.js imports the built copy): runs the command line and
 * sets the exit status. Everything else lives in cli.ts so that tests can run it in-process.
 */
import { runCli } from "./cli.js";
import { oneLine } from "./errors.js";

const debug = process.argv.includes("--debug");

/** Last resort for errors outside runCli (a stray promise): one line, the stack only with --debug. */
function die(err: unknown): void {
  process.stderr.write(`runsc-ts: internal error: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
  if (debug && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
process.on("uncaughtException", die);
process.on("unhandledRejection", die);

// A reader that goes away (`runsc-ts list | head -1`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") die(err);
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  io: {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  },
});
