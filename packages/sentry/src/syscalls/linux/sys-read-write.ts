/** read, write, readv, writev, pread64, pwrite64, close. */
import { EBADF, EFAULT, EINVAL, EPIPE, type LinuxError, SIGPIPE, SI_USER, isLinuxError } from "@runsc-ts/abi";
import { killInfo } from "../../kernel/signals.js";
import { sendSignal } from "../../kernel/task-signals.js";
import type { Task } from "../../kernel/task.js";
import type { FileDescription } from "../../vfs/file-description.js";
import type { SyscallArgs } from "../args.js";
import type { SyscallValue } from "../table.js";

/** The largest count one read or write moves (Linux's MAX_RW_COUNT: INT_MAX rounded to a page). */
const MAX_RW_COUNT = 0x7fff_f000;
/** Bytes moved per step between application memory and a file. */
const CHUNK = 1 << 20;
/** UIO_MAXIOV. */
const IOV_MAX = 1024;

function fileOf(t: Task, fd: number): FileDescription | LinuxError {
  return t.fdTable.get(fd) ?? EBADF;
}

/**
 * Reads from `file` into application memory at `addr`, in chunks. A fault after some bytes
 * were read returns the partial count, as Linux does.
 */
async function readInto(t: Task, file: FileDescription, addr: bigint, size: number, offset?: number): Promise<SyscallValue> {
  const want = Math.min(size, MAX_RW_COUNT);
  if (want > 0 && !t.mm.writable(addr, BigInt(Math.min(want, CHUNK)))) return EFAULT;
  let done = 0;
  while (done < want) {
    const buf = new Uint8Array(Math.min(CHUNK, want - done));
    const n = offset === undefined ? await file.read(buf, t.interrupter) : await file.pread(buf, offset + done, t.interrupter);
    if (typeof n !== "number") return done > 0 ? done : n;
    if (n === 0) break;
    if (t.mm.copyOut(addr + BigInt(done), buf.subarray(0, n)) !== undefined) return done > 0 ? done : EFAULT;
    done += n;
    if (n < buf.length) break;
  }
  return done;
}

async function writeFrom(t: Task, file: FileDescription, addr: bigint, size: number, offset?: number): Promise<SyscallValue> {
  const want = Math.min(size, MAX_RW_COUNT);
  let done = 0;
  while (done < want) {
    const data = t.mm.copyIn(addr + BigInt(done), Math.min(CHUNK, want - done));
    if (!(data instanceof Uint8Array)) return done > 0 ? done : EFAULT;
    const n = offset === undefined ? await file.write(data, t.interrupter) : await file.pwrite(data, offset + done, t.interrupter);
    if (typeof n !== "number") return done > 0 ? done : n;
    done += n;
    if (n < data.length) break;
  }
  return done;
}

/** read(2). */
export async function sysRead(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const file = fileOf(t, a.int(0));
  if (isLinuxError(file)) return file;
  return readInto(t, file, a.pointer(1), a.sizeT(2));
}

/**
 * A write that found no reader (a pipe or socket) fails with EPIPE and raises SIGPIPE, whose
 * default action ends the writer (how `yes | head -1` stops).
 */
export function raiseSigpipe(t: Task, r: SyscallValue): SyscallValue {
  if (r === EPIPE) sendSignal(t, killInfo(SIGPIPE, t.tg.tgid, t.creds.uid, SI_USER));
  return r;
}

/** write(2). */
export async function sysWrite(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const file = fileOf(t, a.int(0));
  if (isLinuxError(file)) return file;
  return raiseSigpipe(t, await writeFrom(t, file, a.pointer(1), a.sizeT(2)));
}

/** pread64(2). */
export async function sysPread64(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const file = fileOf(t, a.int(0));
  if (isLinuxError(file)) return file;
  const off = a.long(3);
  if (off < 0n) return EINVAL;
  return readInto(t, file, a.pointer(1), a.sizeT(2), Number(off));
}

/** pwrite64(2). */
export async function sysPwrite64(t: Task, a: SyscallArgs): Promise<SyscallValue> {
  const file = fileOf(t, a.int(0));
  if (isLinuxError(file)) return file;
  const off = a.long(3);
  if (off < 0n) return EINVAL;
  return writeFrom(t, file, a.pointer(1), a.sizeT(2), Number(off));
}

/** The (base, len) pairs of an iovec array, validated as Linux does. */
export function iovecs(t: Task, addr: bigint, count: number): Array<[bigint, number]> | LinuxError {
  if (count < 0 || count > IOV_MAX) return EINVAL;
  const raw = t.mm.copyIn(addr, count * 16);
  if (!(raw instanceof Uint8Array)) return EFAULT;
  const dv = new DataView(raw.buffer);
  const out: Array<[bigint, number]> = [];
  let total = 0n;
  for (let i = 0; i < count; i++) {
    const base = dv.getBigUint64(16 * i, true);
    const len = dv.getBigUint64(16 * i + 8, true);
    if (len > 0x7fff_ffff_ffff_ffffn) return EINVAL;
    total += len;
    if (total > 0x7fff_ffff_ffff_ffffn) return EINVAL;
    out.push([base, Number(len > BigInt(MAX_RW_COUNT) ? BigInt(MAX_RW_COUNT) : len)]);
  }
  return out;
}

/**
 * Moves data between `file` and application memory described by `iov`, one iovec after another,
 * at `offset` onward (undefined: at the file offset). Stops at the first short transfer; an
 * error after some progress reports the progress, as Linux does.
 */
export async function transferVectored(t: Task, file: FileDescription, iov: ReadonlyArray<readonly [bigint, number]>, write: boolean, offset?: number): Promise<SyscallValue> {
  let done = 0;
  for (const [base, len] of iov) {
    if (len === 0) continue;
    const pos = offset === undefined ? undefined : offset + done;
    const n = write ? await writeFrom(t, file, base, len, pos) : await readInto(t, file, base, len, pos);
    if (typeof n !== "number") return done > 0 ? done : n;
    done += n;
    if (n < len) break;
  }
  return done;
}

/** readv(2) and writev(2). */
async function readvWritev(t: Task, a: SyscallArgs, write: boolean): Promise<SyscallValue> {
  const file = fileOf(t, a.int(0));
  if (isLinuxError(file)) return file;
  const iov = iovecs(t, a.pointer(1), a.int(2));
  if (isLinuxError(iov)) return iov;
  return transferVectored(t, file, iov, write);
}

export const sysReadv = (t: Task, a: SyscallArgs): Promise<SyscallValue> => readvWritev(t, a, false);
export const sysWritev = async (t: Task, a: SyscallArgs): Promise<SyscallValue> => raiseSigpipe(t, await readvWritev(t, a, true));

/** close(2). */
export function sysClose(t: Task, a: SyscallArgs): SyscallValue {
  return t.fdTable.close(a.int(0)) ?? 0;
}
