/**
 * A platform for kernel tests: "programs" are async functions that make syscalls through a fake
 * CPU, and memory is a sparse page map with protections. It runs no host code, so the kernel's
 * logic is tested deterministically; the real platform is tested in packages/platform and e2e.
 * (Private file mappings read the host file: tmpfs files have a memfd behind them.)
 */
import { readSync } from "node:fs";
import { EINVAL, ENODEV, ENOMEM, type LinuxError, MADV_DONTNEED, MAP_FIXED, MAP_PRIVATE, MAP_TYPE, PROT_READ, PROT_WRITE, SIGSEGV } from "@runsc-ts/abi";
import { type AddressSpace, type AppEvent, type Context, type CpuUsage, NO_USAGE, type Platform } from "@runsc-ts/platform";

const PAGE = 4096n;

export interface FakeCpu {
  /** Makes a system call; resolves with rax as the kernel set it. */
  syscall(nr: number, ...args: Array<bigint | number>): Promise<bigint>;
  /** Takes a fault (SIGSEGV at `addr`). Never resolves: the kernel decides what happens. */
  fault(addr: bigint): Promise<never>;
  readonly as: FakeAddressSpace;
}

export type Program = (cpu: FakeCpu) => Promise<void>;

export class FakeAddressSpace implements AddressSpace {
  destroyed = false;
  readonly pages = new Map<bigint, { data: Uint8Array; prot: number }>();
  private nextHint = 0x7f00_0000_0000n;
  readonly contexts = new Set<FakeContext>();

  mmap(addr: bigint, length: bigint, prot: number, flags: number): bigint | LinuxError {
    if (length <= 0n || length % PAGE !== 0n) return EINVAL;
    let base = addr;
    if ((flags & MAP_FIXED) === 0) {
      base = this.nextHint;
      this.nextHint += length + PAGE;
    }
    if (base + length > 0x7fff_ffff_f000n) return ENOMEM;
    for (let p = base; p < base + length; p += PAGE) this.pages.set(p, { data: new Uint8Array(Number(PAGE)), prot });
    return base;
  }
  /**
   * A private mapping of host file `fd` is simulated as a copy of its bytes (zeroes past its
   * end); a shared one cannot be, and is ENODEV.
   */
  mapFile(addr: bigint, length: bigint, prot: number, flags: number, fd: number, offset: bigint): bigint | LinuxError {
    if ((flags & MAP_TYPE) !== MAP_PRIVATE) return ENODEV;
    const base = this.mmap(addr, length, prot, flags);
    if (typeof base !== "bigint") return base;
    for (let p = 0n; p < length; p += PAGE) {
      const page = this.pages.get(base + p);
      if (page !== undefined) readSync(fd, page.data, 0, page.data.length, Number(offset + p));
    }
    return base;
  }
  munmap(addr: bigint, length: bigint): LinuxError | undefined {
    for (let p = addr; p < addr + length; p += PAGE) this.pages.delete(p);
    return undefined;
  }
  mprotect(addr: bigint, length: bigint, prot: number): LinuxError | undefined {
    for (let p = addr; p < addr + length; p += PAGE) {
      const pg = this.pages.get(p);
      if (pg !== undefined) pg.prot = prot;
    }
    return undefined;
  }
  mremap(): bigint | LinuxError {
    return EINVAL;
  }
  /** Every mapped page counts as resident. */
  residentBytes(): number {
    return this.destroyed ? 0 : this.pages.size * Number(PAGE);
  }
  /** MADV_DONTNEED zeroes the pages (the only advice with an effect here). */
  madvise(addr: bigint, length: bigint, advice: number): LinuxError | undefined {
    if (advice === MADV_DONTNEED) {
      for (let p = addr; p < addr + length; p += PAGE) this.pages.get(p)?.data.fill(0);
    }
    return undefined;
  }
  /** Host-level access (ignores protections only for the test's own setup via `poke`). */
  private copy(addr: bigint, buf: Uint8Array, write: boolean, checkProt: boolean): number {
    let done = 0;
    while (done < buf.length) {
      const a = addr + BigInt(done);
      const pg = this.pages.get(a - (a % PAGE));
      if (pg === undefined) return done;
      if (checkProt && (pg.prot & (write ? PROT_WRITE : PROT_READ)) === 0) return done;
      const off = Number(a % PAGE);
      const n = Math.min(buf.length - done, Number(PAGE) - off);
      if (write) pg.data.set(buf.subarray(done, done + n), off);
      else buf.set(pg.data.subarray(off, off + n), done);
      done += n;
    }
    return done;
  }
  read(addr: bigint, buf: Uint8Array): number {
    return this.copy(addr, buf, false, false);
  }
  write(addr: bigint, buf: Uint8Array): number {
    return this.copy(addr, buf, true, false);
  }
  readv(pieces: readonly (readonly [bigint, number])[], buf: Uint8Array): number {
    let off = 0;
    for (const [a, n] of pieces) {
      const got = this.read(a, buf.subarray(off, off + n));
      off += got;
      if (got < n) break;
    }
    return off;
  }
  writev(pieces: readonly (readonly [bigint, number])[], buf: Uint8Array): number {
    let off = 0;
    for (const [a, n] of pieces) {
      const got = this.write(a, buf.subarray(off, off + n));
      off += got;
      if (got < n) break;
    }
    return off;
  }
  cloneThread(): Context {
    throw new Error("not in the fake platform");
  }
  fork(): { addressSpace: AddressSpace; context: Context } {
    throw new Error("not in the fake platform");
  }
  destroy(): void {
    this.destroyed = true;
    for (const c of this.contexts) c.release();
    this.pages.clear();
  }
}

export class FakeContext implements Context {
  readonly regs = new BigUint64Array(27);
  fsBase = 0n;
  dead = false;
  /** Every rax the kernel returned, in order (for assertions). */
  readonly returns: bigint[] = [];
  private started = false;
  private rax = 0n;
  private resume: ((rax: bigint) => void) | undefined;
  private readonly events: AppEvent[] = [];
  private waiter: ((e: AppEvent) => void) | undefined;
  private interrupted = false;

  constructor(
    readonly addressSpace: FakeAddressSpace,
    private readonly program: Program,
  ) {
    addressSpace.contexts.add(this);
  }

  setReturn(value: bigint): void {
    this.rax = value;
  }
  getFpState(): Uint8Array {
    return new Uint8Array(512);
  }
  setFpState(): void {}

  switchToApp(): Promise<AppEvent> {
    if (this.dead) return Promise.resolve({ kind: "killed", signo: 9 });
    const p = new Promise<AppEvent>((resolve) => (this.waiter = resolve));
    if (this.interrupted) {
      this.interrupted = false;
      this.emit({ kind: "interrupt" });
      return p;
    }
    const queued = this.events.shift();
    if (queued !== undefined) {
      this.emit(queued);
      return p;
    }
    if (!this.started) {
      this.started = true;
      const cpu: FakeCpu = {
        as: this.addressSpace,
        syscall: (nr, ...args) =>
          new Promise<bigint>((resolve) => {
            const six = [0n, 0n, 0n, 0n, 0n, 0n].map((z, i) => BigInt.asUintN(64, BigInt(args[i] ?? z))) as unknown as readonly [bigint, bigint, bigint, bigint, bigint, bigint];
            this.resume = resolve;
            this.emit({ kind: "syscall", nr, args: six });
          }),
        fault: (addr) =>
          new Promise<never>(() => {
            this.emit({ kind: "signal", signo: SIGSEGV, code: 1, addr, siginfo: new Uint8Array(128) });
          }),
      };
      this.program(cpu).then(
        () => this.emit({ kind: "exited", status: 0 }),
        () => this.emit({ kind: "killed", signo: 9 }),
      );
    } else {
      const r = this.resume;
      this.resume = undefined;
      this.returns.push(this.rax);
      r?.(this.rax);
    }
    return p;
  }

  cpuUsage(): CpuUsage {
    return NO_USAGE;
  }

  interrupt(): void {
    if (this.waiter !== undefined) this.emit({ kind: "interrupt" });
    else this.interrupted = true;
  }

  release(): void {
    this.dead = true;
    if (this.waiter !== undefined) this.emit({ kind: "killed", signo: 9 });
  }

  private emit(e: AppEvent): void {
    const w = this.waiter;
    if (w === undefined) {
      this.events.push(e);
      return;
    }
    this.waiter = undefined;
    w(e);
  }
}

/** A platform whose next address space runs `program`. */
export class FakePlatform implements Platform {
  readonly name = "fake";
  readonly spaces: FakeAddressSpace[] = [];
  constructor(private program: Program) {}
  setProgram(p: Program): void {
    this.program = p;
  }
  newAddressSpace(): { addressSpace: FakeAddressSpace; context: FakeContext } {
    const as = new FakeAddressSpace();
    this.spaces.push(as);
    return { addressSpace: as, context: new FakeContext(as, this.program) };
  }
  close(): void {
    for (const s of this.spaces) s.destroy();
  }
}
