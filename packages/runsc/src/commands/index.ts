/** Every subcommand, in the order `runsc-ts --help` lists them. */
import type { CliCommand } from "../command.js";
import { boot } from "./boot.js";
import { create } from "./create.js";
import { delete_ } from "./delete.js";
import { do_ } from "./do.js";
import { exec } from "./exec.js";
import { gofer } from "./gofer.js";
import { kill } from "./kill.js";
import { list } from "./list.js";
import { netstack } from "./netstack.js";
import { ps } from "./ps.js";
import { run } from "./run.js";
import { spec } from "./spec.js";
import { start } from "./start.js";
import { state } from "./state.js";
import { wait } from "./wait.js";

export const COMMANDS: readonly CliCommand[] = [
  create, start, run, exec, kill, wait, delete_, state, list, ps, spec, do_,
  boot, gofer, netstack,
];
