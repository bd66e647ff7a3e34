/**
 * ELF64 parsing and validation for execve (the part of Linux's fs/binfmt_elf.c that decides
 * whether and how a file can be loaded). Everything here is pure: it reads bytes through an
 * `ExecFile` and returns an `ElfImage` describing what to map, or the errno execve would return.
 *
 * Hostile input is the normal case: every offset and size is checked (with bigint arithmetic, so
 * nothing overflows) before it is used, and a malformed file yields ENOEXEC (or EINVAL where
 * Linux's own mapping would fail with it), never an exception.
 */
import {
  EI_CLASS,
  EI_DATA,
  EI_MAG0,
  EI_MAG1,
  EI_MAG2,
  EI_MAG3,
  EI_NIDENT,
  EI_VERSION,
  EINVAL,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFMAG0,
  ELFMAG1,
  ELFMAG2,
  ELFMAG3,
  EM_X86_64,
  ENOEXEC,
  ET_DYN,
  ET_EXEC,
  EV_CURRENT,
  EXEC_PAGESIZE,
  type LinuxError,
  PF_R,
  PF_W,
  PF_X,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  PT_GNU_STACK,
  PT_INTERP,
  PT_LOAD,
  PT_PHDR,
  PT_TLS,
  elf64_ehdr,
  elf64_phdr,
  readStruct,
} from "@runsc-ts/abi";

/** The bytes of an executable, however the VFS provides them. */
export interface ExecFile {
  /** Size in bytes. */
  readonly size: number;
  /**
   * Reads up to `length` bytes at `offset` (fewer only at end of file). A failure is the errno
   * the read failed with.
   */
  read(offset: number, length: number): Promise<Uint8Array | LinuxError>;
}

/** One PT_LOAD segment, validated. Addresses are before any load bias. */
export interface LoadSegment {
  readonly vaddr: bigint;
  readonly memsz: bigint;
  readonly fileOffset: bigint;
  readonly filesz: bigint;
  /** PROT_READ | PROT_WRITE | PROT_EXEC from p_flags. */
  readonly prot: number;
}

export interface ElfImage {
  /** ET_EXEC (fixed addresses) or ET_DYN (position independent: needs a load bias). */
  readonly type: typeof ET_EXEC | typeof ET_DYN;
  readonly entry: bigint;
  /** PT_LOAD segments in file order (Linux requires ascending vaddr; so do we). */
  readonly loads: readonly LoadSegment[];
  /** Page-aligned extent of all PT_LOAD segments: [start, end). */
  readonly start: bigint;
  readonly end: bigint;
  /** Where the program headers are in memory (before bias), for AT_PHDR; undefined if unmapped. */
  readonly phdrVaddr: bigint | undefined;
  readonly phnum: number;
  readonly phentsize: number;
  /** The PT_INTERP path (without its NUL), if any. */
  readonly interpreter: Uint8Array | undefined;
  /** PT_GNU_STACK asks for an executable stack (or is absent, which on x86-64 means yes). */
  readonly execStack: boolean;
  readonly hasTls: boolean;
}

const PAGE = BigInt(EXEC_PAGESIZE);
/** x86-64 user address space top with 4-level paging (TASK_SIZE). */
export const TASK_SIZE = 0x7fff_ffff_f000n;
/** Linux reads at most one page of program headers (and never more than 64 KiB). */
const MAX_PHDR_BYTES = Math.min(EXEC_PAGESIZE, 65536);
/** PATH_MAX: the longest PT_INTERP Linux accepts. */
const PATH_MAX = 4096;

export const pageDown = (a: bigint): bigint => a & ~(PAGE - 1n);
export const pageUp = (a: bigint): bigint => (a + PAGE - 1n) & ~(PAGE - 1n);

/** True if the first bytes start with the ELF magic (the test binfmt_elf makes first). */
export function hasElfMagic(head: Uint8Array): boolean {
  return (
    head.length >= 4 &&
    head[EI_MAG0] === ELFMAG0 &&
    head[EI_MAG1] === ELFMAG1 &&
    head[EI_MAG2] === ELFMAG2 &&
    head[EI_MAG3] === ELFMAG3
  );
}

/**
 * Parses and validates an x86-64 ELF executable or shared object (as the interpreter).
 * Returns ENOEXEC for anything that is not a loadable x86-64 ELF64 file, EINVAL for segments
 * Linux would refuse to map, or the errno of a failed read.
 */
export async function parseElf(file: ExecFile): Promise<ElfImage | LinuxError> {
  const head = await file.read(0, elf64_ehdr.size);
  if (!(head instanceof Uint8Array)) return head;
  if (head.length < elf64_ehdr.size || !hasElfMagic(head)) return ENOEXEC;
  if (head[EI_CLASS] !== ELFCLASS64 || head[EI_DATA] !== ELFDATA2LSB || head[EI_VERSION] !== EV_CURRENT) {
    return ENOEXEC;
  }
  if (EI_NIDENT !== 16) return ENOEXEC;
  const eh = readStruct(elf64_ehdr, head);
  if (eh.e_type !== ET_EXEC && eh.e_type !== ET_DYN) return ENOEXEC;
  if (eh.e_machine !== EM_X86_64) return ENOEXEC;
  if (eh.e_phentsize !== elf64_phdr.size) return ENOEXEC;
  const phnum = eh.e_phnum;
  const phBytes = phnum * elf64_phdr.size;
  if (phnum < 1 || phBytes > MAX_PHDR_BYTES) return ENOEXEC;
  const phoff = eh.e_phoff;
  if (phoff > BigInt(file.size) || phoff + BigInt(phBytes) > BigInt(file.size)) return ENOEXEC;
  const table = await file.read(Number(phoff), phBytes);
  if (!(table instanceof Uint8Array)) return table;
  if (table.length < phBytes) return ENOEXEC;

  const loads: LoadSegment[] = [];
  let interpreter: Uint8Array | undefined;
  let phdrVaddr: bigint | undefined;
  let execStack = true; // x86-64: no PT_GNU_STACK means an executable stack
  let hasTls = false;
  for (let i = 0; i < phnum; i++) {
    const ph = readStruct(elf64_phdr, table, i * elf64_phdr.size);
    switch (ph.p_type) {
      case PT_LOAD: {
        if (ph.p_memsz === 0n) break; // Linux skips empty segments
        const seg = validateLoad(ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, ph.p_flags);
        if (!("vaddr" in seg)) return seg;
        const prev = loads[loads.length - 1];
        if (prev !== undefined && seg.vaddr < prev.vaddr) return ENOEXEC;
        loads.push(seg);
        break;
      }
      case PT_INTERP: {
        if (interpreter !== undefined) break; // the first one wins, as in Linux
        const path = await readInterp(file, ph.p_offset, ph.p_filesz);
        if (!(path instanceof Uint8Array)) return path;
        interpreter = path;
        break;
      }
      case PT_PHDR:
        phdrVaddr = ph.p_vaddr;
        break;
      case PT_GNU_STACK:
        execStack = (ph.p_flags & PF_X) !== 0;
        break;
      case PT_TLS:
        hasTls = true;
        break;
      default:
        break;
    }
  }
  if (loads.length === 0) return ENOEXEC;
  const first = loads[0] as LoadSegment;
  const last = loads[loads.length - 1] as LoadSegment;
  const start = pageDown(first.vaddr);
  const end = pageUp(last.vaddr + last.memsz);
  if (end > TASK_SIZE) return EINVAL;
  // Without PT_PHDR, the headers are in memory if a PT_LOAD maps the bytes at e_phoff.
  if (phdrVaddr === undefined) {
    for (const l of loads) {
      if (phoff >= l.fileOffset && phoff + BigInt(phBytes) <= l.fileOffset + l.filesz) {
        phdrVaddr = l.vaddr + (phoff - l.fileOffset);
        break;
      }
    }
  }
  return {
    type: eh.e_type === ET_EXEC ? ET_EXEC : ET_DYN,
    entry: eh.e_entry,
    loads,
    start,
    end,
    phdrVaddr,
    phnum,
    phentsize: eh.e_phentsize,
    interpreter,
    execStack,
    hasTls,
  };
}

function validateLoad(vaddr: bigint, memsz: bigint, offset: bigint, filesz: bigint, flags: number): LoadSegment | LinuxError {
  if (filesz > memsz) return EINVAL;
  if (memsz > TASK_SIZE || vaddr > TASK_SIZE - memsz) return EINVAL;
  // mmap needs the file offset and the address to agree within a page.
  if (vaddr % PAGE !== offset % PAGE) return EINVAL;
  if (offset > TASK_SIZE || filesz > TASK_SIZE) return ENOEXEC;
  let prot = 0;
  if (flags & PF_R) prot |= PROT_READ;
  if (flags & PF_W) prot |= PROT_WRITE;
  if (flags & PF_X) prot |= PROT_EXEC;
  return { vaddr, memsz, fileOffset: offset, filesz, prot };
}

async function readInterp(file: ExecFile, offset: bigint, size: bigint): Promise<Uint8Array | LinuxError> {
  // Linux: at least 2 bytes, at most PATH_MAX, NUL-terminated at the last byte.
  if (size < 2n || size > BigInt(PATH_MAX)) return ENOEXEC;
  if (offset > BigInt(file.size) || offset + size > BigInt(file.size)) return ENOEXEC;
  const bytes = await file.read(Number(offset), Number(size));
  if (!(bytes instanceof Uint8Array)) return bytes;
  if (bytes.length !== Number(size) || bytes[bytes.length - 1] !== 0) return ENOEXEC;
  const path = bytes.subarray(0, bytes.length - 1);
  if (path.includes(0) || path.length === 0) return ENOEXEC;
  return path.slice();
}
