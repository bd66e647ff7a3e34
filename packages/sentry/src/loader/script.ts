/**
 * "#!" scripts (Linux's fs/binfmt_script.c): the first line names an interpreter and at most one
 * argument. execve then runs `interpreter [arg] script-path original-argv[1:]`.
 */
import { ENOEXEC, type LinuxError } from "@runsc-ts/abi";

/** Linux reads this many bytes of the file to recognise a format (BINPRM_BUF_SIZE). */
export const BINPRM_BUF_SIZE = 256;

export interface Shebang {
  readonly interpreter: Uint8Array;
  /** The single optional argument: everything after the interpreter, trimmed. */
  readonly arg: Uint8Array | undefined;
}

const isBlank = (c: number | undefined): boolean => c === 0x20 || c === 0x09;

/**
 * Parses the first line of a script. Returns undefined if `head` does not start with "#!",
 * ENOEXEC if it names no interpreter, or if the interpreter name does not fit in the first
 * BINPRM_BUF_SIZE bytes (Linux refuses to run a truncated interpreter path).
 */
export function parseShebang(head: Uint8Array): Shebang | LinuxError | undefined {
  if (head.length < 2 || head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  const buf = head.subarray(0, BINPRM_BUF_SIZE);
  let end = buf.indexOf(0x0a);
  const truncated = end < 0;
  if (truncated) end = buf.length;
  let line = buf.subarray(2, end);
  // Trim surrounding blanks.
  let s = 0;
  while (s < line.length && isBlank(line[s])) s++;
  let e = line.length;
  while (e > s && (isBlank(line[e - 1]) || line[e - 1] === 0)) e--;
  line = line.subarray(s, e);
  if (line.length === 0) return ENOEXEC;
  let i = 0;
  while (i < line.length && !isBlank(line[i]) && line[i] !== 0) i++;
  const interpreter = line.subarray(0, i);
  // A first line with no newline in the buffer is only acceptable if the interpreter name ended
  // before the buffer did.
  if (truncated && i === line.length && end === BINPRM_BUF_SIZE) return ENOEXEC;
  while (i < line.length && isBlank(line[i])) i++;
  const arg = i < line.length ? line.subarray(i) : undefined;
  return { interpreter: interpreter.slice(), arg: arg?.slice() };
}
