/**
 * execve's loading half: find the file through the VFS, follow "#!" scripts, parse the ELF (and
 * its interpreter), map the segments into the task's address space, build the initial stack,
 * and set the registers so the next switch to the application starts at the entry point.
 *
 * Segments are mapped from the file, private, as Linux's elf_map does, when the file has a host
 * FD for its data (gofer and tmpfs files): every process running a program shares its pages
 * until it writes them, and exec copies nothing. The part of the last file page past the
 * segment's file bytes is zeroed when the segment has bss, and the rest of the bss is anonymous
 * memory. Files without a host FD, and segments that cannot be mapped (a file offset not
 * congruent with the address, a file shorter than its segments), are copied into anonymous
 * memory instead.
 */
import { randomFillSync } from "node:crypto";
import {
  AT_FDCWD,
  AUXV,
  EACCES,
  ELIBBAD,
  ELOOP,
  ENOEXEC,
  ET_DYN,
  EXEC_PAGESIZE,
  HZ,
  type LinuxError,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  O_RDONLY,
  PROT_READ,
  PROT_WRITE,
  RLIMIT_STACK,
  X_OK,
  isLinuxError,
} from "@runsc-ts/abi";
import { type Context, REG } from "@runsc-ts/platform";
import type { Task } from "../kernel/task.js";
import { type FileIdentity, type MemoryManager, PAGE_SIZE, TASK_SIZE, pageDown, pageUp } from "../mm/memory-manager.js";
import type { FileDescription } from "../vfs/file-description.js";
import { isReg } from "../vfs/stat.js";
import { type ElfImage, type ExecFile, type LoadSegment, hasElfMagic, parseElf } from "./elf.js";
import { BINPRM_BUF_SIZE, parseShebang } from "./script.js";
import { buildStack } from "./stack.js";

/** Where a position-independent executable is placed (Linux's ELF_ET_DYN_BASE, no randomization). */
const PIE_BASE = 0x5555_5555_4000n;
/** Top of the initial stack: below the stub page, with a guard gap. */
export const STACK_TOP = 0x7fff_fff0_0000n;
/** Linux follows at most this many "#!" levels (BINPRM_MAX_RECURSION). */
const MAX_INTERPRETER_DEPTH = 4;

export interface ExecRequest {
  /** The path execve was given (resolved against the task's cwd and root). */
  readonly path: string;
  readonly argv: readonly Uint8Array[];
  readonly envp: readonly Uint8Array[];
}

export interface LoadedProgram {
  readonly entry: bigint;
  readonly sp: bigint;
  /** The path of the file finally loaded (after "#!" interpreters). */
  readonly executable: string;
}

/** Where a program is loaded: a fresh memory map and the context that will run it. */
export interface LoadTarget {
  readonly mm: MemoryManager;
  readonly context: Context;
}

/** An ExecFile that can also be mapped: the file being loaded. */
interface LoadFile extends ExecFile {
  /** What mappings of it are named in /proc/<pid>/maps (its path in the task's root). */
  readonly name: string;
  /** Its device and inode, for the same. */
  readonly identity: FileIdentity;
  /** The host FD to map its pages from, if it has one (see FileDescriptionImpl.mappableFd). */
  mappableFd(): number | LinuxError | undefined;
}

/** A LoadFile over an open file description, as task `t` sees it. */
function loadFile(t: Task, { file, size, identity }: { file: FileDescription; size: number; identity: FileIdentity }): LoadFile {
  return {
    size,
    identity,
    name: t.kernel.vfs.describe(t.fs.root, file.vd),
    mappableFd: () => file.impl.mappableFd?.(),
    async read(offset, length) {
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let done = 0;
      while (done < buf.length) {
        const n = await file.pread(buf.subarray(done), offset + done);
        if (typeof n !== "number") return n;
        if (n === 0) break;
        done += n;
      }
      return buf.subarray(0, done);
    },
  };
}

/** Opens `path` for execution: it must exist, be a regular file, and be executable by the task. */
async function openExec(t: Task, path: string): Promise<{ file: FileDescription; size: number; identity: FileIdentity } | LinuxError> {
  const vfs = t.kernel.vfs;
  const file = await vfs.openAt(t, AT_FDCWD, path, O_RDONLY);
  if (isLinuxError(file)) return file;
  const st = await vfs.statFd(file);
  if (isLinuxError(st)) {
    file.decRef();
    return st;
  }
  if (!isReg(st.mode)) {
    file.decRef();
    return EACCES;
  }
  const access = await vfs.accessAt(t, AT_FDCWD, path, X_OK);
  if (access !== undefined) {
    file.decRef();
    return access;
  }
  return { file, size: st.size, identity: { devMajor: st.devMajor, devMinor: st.devMinor, ino: st.ino } };
}

/**
 * Loads `req` into `target` (by default the task's own memory and context, which must then be
 * fresh), finding files as task `t`. Returns the errno execve would return; on success, the
 * target's registers are set.
 */
export async function loadExecutable(t: Task, req: ExecRequest, target: LoadTarget = t): Promise<LoadedProgram | LinuxError> {
  let path = req.path;
  let argv = [...req.argv];
  for (let depth = 0; ; depth++) {
    if (depth > MAX_INTERPRETER_DEPTH) return ELOOP;
    const opened = await openExec(t, path);
    if (isLinuxError(opened)) return opened;
    const { file } = opened;
    try {
      const ef = loadFile(t, opened);
      const head = await ef.read(0, BINPRM_BUF_SIZE);
      if (isLinuxError(head)) return head;
      const script = parseShebang(head);
      if (script !== undefined) {
        if (isLinuxError(script)) return script;
        const interp = Buffer.from(script.interpreter).toString("latin1");
        argv = [script.interpreter, ...(script.arg !== undefined ? [script.arg] : []), Buffer.from(path, "latin1"), ...argv.slice(1)];
        path = interp;
        continue;
      }
      if (!hasElfMagic(head)) return ENOEXEC;
      const image = await parseElf(ef);
      if (isLinuxError(image)) return image;
      return await loadElf(t, target, path, ef, image, argv, req);
    } finally {
      file.decRef();
    }
  }
}

async function loadElf(t: Task, target: LoadTarget, path: string, ef: LoadFile, image: ElfImage, argv: Uint8Array[], req: ExecRequest): Promise<LoadedProgram | LinuxError> {
  const bias = image.type === ET_DYN ? PIE_BASE - image.start : 0n;
  const mapped = await mapImage(target.mm, ef, image, bias);
  if (mapped !== undefined) return mapped;
  let entry = image.entry + bias;
  let interpBase = 0n;
  if (image.interpreter !== undefined) {
    const interpPath = Buffer.from(image.interpreter).toString("latin1");
    const opened = await openExec(t, interpPath);
    if (isLinuxError(opened)) return opened;
    try {
      const iff = loadFile(t, opened);
      const interp = await parseElf(iff);
      // Linux: an interpreter that is not a loadable ELF is ELIBBAD.
      if (isLinuxError(interp)) return interp === ENOEXEC ? ELIBBAD : interp;
      const span = interp.end - interp.start;
      const base = target.mm.mmap(0n, span, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
      if (isLinuxError(base)) return base;
      target.mm.munmap(base, span);
      interpBase = base - interp.start;
      const m = await mapImage(target.mm, iff, interp, interpBase);
      if (m !== undefined) return m;
      entry = interp.entry + interpBase;
    } finally {
      opened.file.decRef();
    }
  }
  // The heap starts after the executable's last segment.
  target.mm.brkStart = target.mm.brk = pageUp(image.end + bias);

  // The stack.
  const stackLimit = t.tg.limits.cur(RLIMIT_STACK);
  const stackSize = BigInt(Math.min(Math.max(stackLimit, 128 * 1024), 8 << 20));
  const stackBase = STACK_TOP - stackSize;
  const s = target.mm.mmap(stackBase, stackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, "[stack]");
  if (isLinuxError(s)) return s;
  const random = randomFillSync(new Uint8Array(16));
  const c = t.creds;
  const stack = buildStack({
    top: STACK_TOP,
    argv,
    envp: req.envp,
    execfn: Buffer.from(req.path, "latin1"),
    random,
    auxv: [
      { type: AUXV.AT_PHDR, value: (image.phdrVaddr ?? 0n) + bias },
      { type: AUXV.AT_PHENT, value: BigInt(image.phentsize) },
      { type: AUXV.AT_PHNUM, value: BigInt(image.phnum) },
      { type: AUXV.AT_PAGESZ, value: BigInt(EXEC_PAGESIZE) },
      { type: AUXV.AT_BASE, value: interpBase },
      { type: AUXV.AT_FLAGS, value: 0n },
      { type: AUXV.AT_ENTRY, value: image.entry + bias },
      { type: AUXV.AT_UID, value: BigInt(c.uid) },
      { type: AUXV.AT_EUID, value: BigInt(c.euid) },
      { type: AUXV.AT_GID, value: BigInt(c.gid) },
      { type: AUXV.AT_EGID, value: BigInt(c.egid) },
      { type: AUXV.AT_SECURE, value: 0n },
      { type: AUXV.AT_CLKTCK, value: BigInt(HZ) },
      { type: AUXV.AT_HWCAP, value: 0n },
      { type: AUXV.AT_HWCAP2, value: 0n },
      { type: AUXV.AT_MINSIGSTKSZ, value: 2048n },
    ],
    // Linux allows argument and environment strings up to a quarter of the stack limit.
    maxBytes: Math.min(Number(stackSize) / 4, 32 << 20),
  });
  if (isLinuxError(stack)) return stack;
  const w = target.mm.copyOut(stack.sp, stack.bytes);
  if (w !== undefined) return w;
  target.mm.argStart = stack.argStart;
  target.mm.argEnd = stack.argEnd;
  target.mm.envStart = stack.envStart;
  target.mm.envEnd = stack.envEnd;
  target.mm.executable = path;

  // Registers: everything zero but the entry point and the stack (rdx = 0: no atexit hook).
  const regs = target.context.regs;
  for (const r of ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"] as const) {
    regs[REG[r]] = 0n;
  }
  regs[REG.rip] = entry;
  regs[REG.rsp] = stack.sp;
  target.context.fsBase = 0n;
  return { entry, sp: stack.sp, executable: path };
}

/** Maps every PT_LOAD of `image` at `bias`: from the file where it can, else as a copy. */
async function mapImage(mm: MemoryManager, ef: LoadFile, image: ElfImage, bias: bigint): Promise<LinuxError | undefined> {
  const hostFd = ef.mappableFd();
  if (isLinuxError(hostFd)) return hostFd;
  for (const seg of image.loads) {
    const start = pageDown(seg.vaddr + bias);
    const end = pageUp(seg.vaddr + bias + seg.memsz);
    if (end > TASK_SIZE) return ENOEXEC;
    const mappable =
      hostFd !== undefined && seg.filesz > 0n && seg.fileOffset % PAGE_SIZE === seg.vaddr % PAGE_SIZE && seg.fileOffset + seg.filesz <= BigInt(ef.size);
    const e = mappable ? mapSegment(mm, ef, hostFd, seg, bias, start, end) : await copySegment(mm, ef, seg, bias, start, end);
    if (e !== undefined) return e;
  }
  return undefined;
}

/** One segment from the file (elf_map): file pages, the last one's bss part zeroed, anonymous bss. */
function mapSegment(mm: MemoryManager, ef: LoadFile, hostFd: number, seg: LoadSegment, bias: bigint, start: bigint, end: bigint): LinuxError | undefined {
  const fileEnd = seg.vaddr + bias + seg.filesz;
  const mapEnd = pageUp(fileEnd);
  // bss starting inside the last file page: that page's tail must read as zeroes, not file bytes.
  const zeroTail = seg.memsz > seg.filesz && fileEnd < mapEnd;
  const prot = zeroTail ? seg.prot | PROT_WRITE : seg.prot;
  const m = mm.mmapFile(start, mapEnd - start, prot, MAP_PRIVATE | MAP_FIXED, hostFd, pageDown(seg.fileOffset), ef.name, ef.identity);
  if (isLinuxError(m)) return m;
  if (zeroTail) {
    const w = mm.copyOut(fileEnd, new Uint8Array(Number(mapEnd - fileEnd)));
    if (w !== undefined) return w;
    if (prot !== seg.prot) {
      const p = mm.mprotect(start, mapEnd - start, seg.prot);
      if (p !== undefined) return p;
    }
  }
  if (end > mapEnd) {
    const bss = mm.mmap(mapEnd, end - mapEnd, seg.prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    if (isLinuxError(bss)) return bss;
  }
  return undefined;
}

/** One segment as anonymous memory holding a copy of the file's bytes. */
async function copySegment(mm: MemoryManager, ef: LoadFile, seg: LoadSegment, bias: bigint, start: bigint, end: bigint): Promise<LinuxError | undefined> {
  const m = mm.mmap(start, end - start, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ef.name, ef.identity);
  if (isLinuxError(m)) return m;
  if (seg.filesz > 0n) {
    const bytes = await ef.read(Number(seg.fileOffset), Number(seg.filesz));
    if (isLinuxError(bytes)) return bytes;
    // A file shorter than its segments: Linux maps what exists and faults on the rest; we
    // copy what exists and leave zeroes.
    const w = mm.copyOut(seg.vaddr + bias, bytes);
    if (w !== undefined) return w;
  }
  if (seg.prot !== (PROT_READ | PROT_WRITE)) {
    const p = mm.mprotect(start, end - start, seg.prot);
    if (p !== undefined) return p;
  }
  return undefined;
}
