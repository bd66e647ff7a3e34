import { execFileSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { EINVAL, ENOEXEC, EIO, ET_DYN, ET_EXEC, PROT_EXEC, PROT_READ, PROT_WRITE, type LinuxError } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { type ExecFile, type ElfImage, TASK_SIZE, hasElfMagic, parseElf } from "./elf.js";

/** An ExecFile over a host file's bytes (tests only: the sentry reads through its VFS). */
function hostFile(path: string): ExecFile {
  return memFile(new Uint8Array(readFileSync(path)));
}

function memFile(bytes: Uint8Array): ExecFile {
  return {
    size: bytes.length,
    async read(offset, length) {
      return bytes.slice(offset, offset + length);
    },
  };
}

interface ReadelfView {
  type: string;
  entry: bigint;
  loads: Array<{ offset: bigint; vaddr: bigint; filesz: bigint; memsz: bigint; flags: string }>;
  interp: string | undefined;
}

/** What binutils' readelf says about a file: the independent reference. */
function readelf(path: string): ReadelfView {
  const out = execFileSync("readelf", ["-hlW", path], { encoding: "utf8" });
  const type = /Type:\s+(\w+)/.exec(out)?.[1] ?? "";
  const entry = BigInt(/Entry point address:\s+(0x[0-9a-f]+)/.exec(out)?.[1] ?? "0");
  const loads = [...out.matchAll(/^\s+LOAD\s+(0x\w+)\s+(0x\w+)\s+0x\w+\s+(0x\w+)\s+(0x\w+)\s+([RWE ]+?)\s+0x\w+$/gm)].map((m) => ({
    offset: BigInt(m[1] ?? 0),
    vaddr: BigInt(m[2] ?? 0),
    filesz: BigInt(m[3] ?? 0),
    memsz: BigInt(m[4] ?? 0),
    flags: (m[5] ?? "").replace(/\s/g, ""),
  }));
  const interp = /\[Requesting program interpreter: ([^\]]+)\]/.exec(out)?.[1];
  return { type, entry, loads, interp };
}

function protString(prot: number): string {
  return (prot & PROT_READ ? "R" : "") + (prot & PROT_WRITE ? "W" : "") + (prot & PROT_EXEC ? "E" : "");
}

async function parsed(file: ExecFile): Promise<ElfImage> {
  const r = await parseElf(file);
  if (!("loads" in r)) throw new Error(`parse failed: ${r.name}`);
  return r;
}

describe("parseElf on real binaries, compared with readelf", () => {
  const candidates = ["/bin/ls", "/bin/busybox", "/lib64/ld-linux-x86-64.so.2", "/usr/bin/python3"].filter((p) => existsSync(p));

  it.each(candidates)("%s", async (path) => {
    const want = readelf(path);
    const got = await parsed(hostFile(path));
    expect(got.type).toBe(want.type === "EXEC" ? ET_EXEC : ET_DYN);
    expect(got.entry).toBe(want.entry);
    expect(got.loads.map((l) => ({ offset: l.fileOffset, vaddr: l.vaddr, filesz: l.filesz, memsz: l.memsz, flags: protString(l.prot) }))).toEqual(
      want.loads.filter((l) => l.memsz > 0n),
    );
    expect(got.interpreter === undefined ? undefined : new TextDecoder().decode(got.interpreter)).toBe(want.interp);
    expect(got.phdrVaddr).toBeDefined();
  });

  it("sees a text file as not ELF", () => {
    expect(hasElfMagic(new TextEncoder().encode("root:x:0:0"))).toBe(false);
  });
});

/** A minimal valid static executable image: ELF header, one PT_LOAD, optional extras. */
function minimalElf(opts: { phdrs?: Array<Partial<Record<string, number | bigint>>>; patch?: ((dv: DataView) => void) | undefined } = {}): Uint8Array {
  const phdrs = opts.phdrs ?? [{ p_type: 1, p_flags: 5, p_offset: 0n, p_vaddr: 0x400000n, p_filesz: 0x200n, p_memsz: 0x200n }];
  const size = 64 + 56 * phdrs.length + 0x200;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 62, true); // EM_X86_64
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, 0x400100n, true);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, phdrs.length, true);
  phdrs.forEach((p, i) => {
    const o = 64 + 56 * i;
    dv.setUint32(o, Number(p["p_type"] ?? 1), true);
    dv.setUint32(o + 4, Number(p["p_flags"] ?? 5), true);
    dv.setBigUint64(o + 8, BigInt(p["p_offset"] ?? 0n), true);
    dv.setBigUint64(o + 16, BigInt(p["p_vaddr"] ?? 0x400000n), true);
    dv.setBigUint64(o + 32, BigInt(p["p_filesz"] ?? 0x200n), true);
    dv.setBigUint64(o + 40, BigInt(p["p_memsz"] ?? 0x200n), true);
    dv.setBigUint64(o + 48, 0x1000n, true);
  });
  opts.patch?.(dv);
  return b;
}

describe("parseElf on hostile input", () => {
  const expectErr = async (bytes: Uint8Array, err: LinuxError) => expect(await parseElf(memFile(bytes))).toBe(err);

  it("accepts the minimal image it is mutating", async () => {
    const img = await parsed(memFile(minimalElf()));
    expect(img.entry).toBe(0x400100n);
    expect(img.start).toBe(0x400000n);
    expect(img.end).toBe(0x401000n);
    expect(img.phdrVaddr).toBe(0x400040n);
    expect(img.execStack).toBe(true);
  });

  it("returns ENOEXEC for empty, truncated and non-ELF files", async () => {
    await expectErr(new Uint8Array(0), ENOEXEC);
    await expectErr(minimalElf().subarray(0, 40), ENOEXEC);
    await expectErr(new TextEncoder().encode("#!/bin/sh\necho hi\n"), ENOEXEC);
  });

  it("returns ENOEXEC for the wrong class, byte order, version, type or machine", async () => {
    for (const [off, val] of [
      [4, 1],
      [5, 2],
      [6, 0],
    ] as const) {
      const b = minimalElf();
      b[off] = val;
      await expectErr(b, ENOEXEC);
    }
    await expectErr(minimalElf({ patch: (dv) => dv.setUint16(16, 1, true) }), ENOEXEC); // ET_REL
    await expectErr(minimalElf({ patch: (dv) => dv.setUint16(18, 3, true) }), ENOEXEC); // EM_386
  });

  it("returns ENOEXEC for absurd program header tables", async () => {
    await expectErr(minimalElf({ patch: (dv) => dv.setUint16(54, 32, true) }), ENOEXEC); // e_phentsize
    await expectErr(minimalElf({ patch: (dv) => dv.setUint16(56, 0, true) }), ENOEXEC); // no phdrs
    await expectErr(minimalElf({ patch: (dv) => dv.setUint16(56, 0xffff, true) }), ENOEXEC); // > one page
    await expectErr(minimalElf({ patch: (dv) => dv.setBigUint64(32, 0xffff_ffff_ffff_fff0n, true) }), ENOEXEC); // e_phoff
    await expectErr(minimalElf({ patch: (dv) => dv.setBigUint64(32, 100_000n, true) }), ENOEXEC); // past EOF
  });

  it("returns ENOEXEC without a loadable segment", async () => {
    await expectErr(minimalElf({ phdrs: [{ p_type: 4 }] }), ENOEXEC);
  });

  it("returns EINVAL for segments Linux cannot map", async () => {
    await expectErr(minimalElf({ phdrs: [{ p_filesz: 0x300n, p_memsz: 0x200n }] }), EINVAL); // filesz > memsz
    await expectErr(minimalElf({ phdrs: [{ p_vaddr: 0x400010n }] }), EINVAL); // offset/vaddr not congruent
    await expectErr(minimalElf({ phdrs: [{ p_vaddr: 0xffff_ffff_ffff_f000n, p_memsz: 0x2000n }] }), EINVAL); // wraps
    await expectErr(minimalElf({ phdrs: [{ p_vaddr: TASK_SIZE, p_memsz: 0x1000n }] }), EINVAL); // above TASK_SIZE
  });

  it("returns ENOEXEC for segments out of order", async () => {
    await expectErr(
      minimalElf({
        phdrs: [
          { p_vaddr: 0x500000n, p_offset: 0n },
          { p_vaddr: 0x400000n, p_offset: 0n },
        ],
      }),
      ENOEXEC,
    );
  });

  it("checks PT_INTERP: in the file, NUL-terminated, not empty, at most PATH_MAX", async () => {
    const interp = (offset: bigint, size: bigint, patch?: (dv: DataView) => void) =>
      minimalElf({ phdrs: [{ p_type: 3, p_offset: offset, p_filesz: size, p_memsz: size }, {}], patch });
    const base = 64 + 56 * 2;
    const good = interp(BigInt(base), 5n, (dv) => new Uint8Array(dv.buffer).set([0x2f, 0x6c, 0x64, 0x32, 0], base));
    const img = await parsed(memFile(good));
    expect(new TextDecoder().decode(img.interpreter)).toBe("/ld2");
    await expectErr(interp(BigInt(base), 4n, (dv) => new Uint8Array(dv.buffer).set([0x2f, 0x6c, 0x64, 0x32], base)), ENOEXEC); // no NUL
    await expectErr(interp(BigInt(base), 1n), ENOEXEC); // too short
    await expectErr(interp(BigInt(base), 5000n), ENOEXEC); // > PATH_MAX
    await expectErr(interp(0xffff_ffffn, 5n), ENOEXEC); // past EOF
    await expectErr(interp(BigInt(base), 3n, (dv) => new Uint8Array(dv.buffer).set([0, 0x61, 0], base)), ENOEXEC); // embedded NUL
  });

  it("reads PT_GNU_STACK", async () => {
    const img = await parsed(memFile(minimalElf({ phdrs: [{}, { p_type: 0x6474e551, p_flags: 6 }] })));
    expect(img.execStack).toBe(false);
  });

  it("passes on a read error", async () => {
    const failing: ExecFile = { size: 1000, read: async () => EIO };
    expect(await parseElf(failing)).toBe(EIO);
  });

  it("survives random mutations of a real binary without throwing", async () => {
    const path = existsSync("/bin/busybox") ? "/bin/busybox" : "/bin/ls";
    const fd = openSync(path, "r");
    const head = new Uint8Array(8192);
    readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const b = head.slice();
      for (let k = 0; k < 1 + (rand() % 8); k++) b[rand() % 512] = rand() & 0xff;
      const r = await parseElf(memFile(b));
      if (!("loads" in r)) expect([ENOEXEC, EINVAL]).toContain(r);
    }
  });
});
