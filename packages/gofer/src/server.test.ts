// The gofer server driven through a real RpcConnection over a socket pair (in this process,
// unconfined). Each operation is compared with the same operation done with node:fs on a copy of
// the tree: same result, same errno.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import {
  AT_REMOVEDIR,
  E2BIG,
  EADDRINUSE,
  ECONNREFUSED,
  EEXIST,
  EINVAL,
  EISDIR,
  ELOOP,
  ENAMETOOLONG,
  ENODATA,
  ENOENT,
  ENOTDIR,
  ENOTEMPTY,
  ENXIO,
  EOPNOTSUPP,
  EPERM,
  ERANGE,
  EXDEV,
  O_CREAT,
  O_DIRECTORY,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  STATX_ATIME,
  STATX_GID,
  STATX_MODE,
  STATX_MTIME,
  STATX_SIZE,
  STATX_UID,
  S_IFCHR,
  S_IFIFO,
  S_IFREG,
  S_IFSOCK,
  SOCK_STREAM,
  UTIME_OMIT,
  XATTR_CREATE,
  XATTR_REPLACE,
} from "@runsc-ts/abi";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { gofer } from "@runsc-ts/proto";
import { Harness, RemoteFile, buildTree, nativeErrno, nativeStat, openFds, readAndClose, tempDir } from "./test-util.js";

let base: string;
let tree: string;
let copy: string;

beforeAll(() => {
  process.umask(0); // as serveGofer does; node:fs on the copy runs under the same umask
  base = tempDir("gofer-unit-");
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

let n = 0;
let h: Harness;
let root: RemoteFile;
let fdsBefore: string[];

beforeEach(async () => {
  n++;
  tree = path.join(base, `tree${n}`);
  copy = path.join(base, `copy${n}`);
  fs.mkdirSync(tree);
  fs.mkdirSync(copy);
  buildTree(tree);
  buildTree(copy);
  fdsBefore = openFds();
  h = new Harness(tree);
  root = await h.mount();
});

afterEach(async () => {
  await h.close();
  await new Promise((r) => setImmediate(r));
  expect(h.server.nodes.live.size).toBe(0);
  expect(openFds()).toEqual(fdsBefore);
});

describe("mount and walk", () => {
  it("mount returns the root with its stat", async () => {
    const st = await root.fstat();
    expect(st.errno).toBe(0);
    expect(st.stat.ino).toBe(nativeStat(tree).ino);
    expect(st.stat.mode).toBe(nativeStat(tree).mode);
  });

  it("walks a path component by component with each component's stat", async () => {
    const w = await root.walk("a", "b", "c.txt");
    expect(w.errno).toBe(0);
    expect(w.status).toBe("complete");
    expect(w.stats).toEqual([nativeStat(path.join(tree, "a")), nativeStat(path.join(tree, "a/b")), nativeStat(path.join(tree, "a/b/c.txt"))]);
    w.files.forEach((f) => f.release());
  });

  it("stops at a missing name with what it walked (a partial walk is a success)", async () => {
    const w = await root.walk("a", "nope", "x");
    expect([w.errno, w.status, w.files.length]).toEqual([0, "missing", 1]);
    expect(nativeErrno(() => fs.lstatSync(path.join(copy, "a/nope")))).toBe(ENOENT.errno);
    w.files.forEach((f) => f.release());
  });

  it("stops at a symlink, includes it, and never follows it", async () => {
    for (const link of ["link-rel", "link-abs", "link-up", "link-root", "loop1", "dir-link", "magic"]) {
      const w = await root.walk(link, "anything");
      expect([w.errno, w.status, w.files.length]).toEqual([0, "symlink", 1]);
      expect(w.stats[0]).toEqual(nativeStat(path.join(tree, link)));
      const target = await (w.files[0] as RemoteFile).readLink();
      expect(target).toEqual({ errno: 0, target: fs.readlinkSync(path.join(copy, link)) });
      w.files.forEach((f) => f.release());
    }
  });

  it("reports notDirectory when a file has names after it", async () => {
    const w = await root.walk("top.txt", "x");
    expect([w.errno, w.status, w.files.length]).toEqual([0, "notDirectory", 1]);
    expect(nativeErrno(() => fs.lstatSync(path.join(copy, "top.txt/x")))).toBe(ENOTDIR.errno);
    w.files.forEach((f) => f.release());
  });

  it("refuses '.', '..', empty names and names with '/' or NUL (EINVAL), long names (ENAMETOOLONG)", async () => {
    for (const bad of [".", "..", "", "a/b", "/", new Uint8Array([0x61, 0, 0x62])]) {
      const w = await root.walk("a", bad);
      expect([w.errno, w.files.length]).toEqual([EINVAL.errno, 0]);
    }
    expect((await root.walk("x".repeat(256))).errno).toBe(ENAMETOOLONG.errno);
    expect(nativeErrno(() => fs.lstatSync(path.join(copy, "x".repeat(256))))).toBe(ENAMETOOLONG.errno);
    expect((await root.walk(...Array.from({ length: 257 }, () => "a"))).errno).toBe(EINVAL.errno);
  });

  it("answers ENOTDIR for a walk from a file", async () => {
    const f = await root.walkTo("top.txt");
    expect((await f.walk("x")).errno).toBe(ENOTDIR.errno);
    f.release();
  });

  it("walkStat returns the same stats and creates no capabilities", async () => {
    const before = h.serverConn.stats().exports;
    const w = await root.walkStat("a", "b", "c.txt");
    expect(w).toEqual({ errno: 0, status: "complete", stats: [nativeStat(path.join(tree, "a")), nativeStat(path.join(tree, "a/b")), nativeStat(path.join(tree, "a/b/c.txt"))] });
    expect(h.serverConn.stats().exports).toBe(before);
    expect((await root.walkStat()).errno).toBe(EINVAL.errno);
    expect((await root.walkStat("link-up", "x")).status).toBe("symlink");
  });

  it("releasing every capability closes every handle", async () => {
    const w = await root.walk("a", "b", "c.txt");
    expect(h.server.nodes.live.size).toBe(4);
    w.files.forEach((f) => f.release());
    await root.fstat(); // a round trip flushes the Releases
    expect(h.server.nodes.live.size).toBe(1);
  });
});

describe("openAt donates host FDs", () => {
  it("reads a file through the donated FD", async () => {
    const f = await root.walkTo("a", "b", "c.txt");
    const o = await f.openAt(O_RDONLY);
    expect(o.errno).toBe(0);
    expect(readAndClose(o.fd)).toBe(fs.readFileSync(path.join(copy, "a/b/c.txt"), "utf8"));
    f.release();
  });

  it("writes and truncates through the donated FD", async () => {
    const f = await root.walkTo("top.txt");
    const o = await f.openAt(O_WRONLY | O_TRUNC);
    expect(o.errno).toBe(0);
    fs.writeSync(o.fd, "new");
    fs.closeSync(o.fd);
    expect(fs.readFileSync(path.join(tree, "top.txt"), "utf8")).toBe("new");
    f.release();
  });

  it("matches Linux for directories, symlinks, FIFOs and sockets", async () => {
    const dir = await root.walkTo("a");
    const d = await dir.openAt(O_RDONLY | O_DIRECTORY);
    expect(d.errno).toBe(0);
    fs.closeSync(d.fd);
    expect((await dir.openAt(O_WRONLY)).errno).toBe(nativeErrno(() => fs.openSync(path.join(copy, "a"), "w")));
    expect((await dir.openAt(O_WRONLY)).errno).toBe(EISDIR.errno);
    dir.release();

    const link = (await root.walk("link-rel")).files[0] as RemoteFile;
    expect((await link.openAt(O_RDONLY)).errno).toBe(ELOOP.errno);
    expect(nativeErrno(() => fs.openSync(path.join(copy, "link-rel"), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW))).toBe(ELOOP.errno);
    link.release();

    // A FIFO with no writer opens without blocking the gofer.
    const fifo = await root.walkTo("fifo");
    const ff = await fifo.openAt(O_RDONLY);
    expect(ff.errno).toBe(0);
    fs.closeSync(ff.fd);
    fifo.release();

    const mk = await root.mknodAt("sock", S_IFSOCK | 0o644);
    expect(mk.errno).toBe(0);
    expect((await (mk.child as RemoteFile).openAt(O_RDONLY)).errno).toBe(ENXIO.errno);
    mk.child?.release();
  });

  it("refuses O_CREAT, O_PATH and a bad access mode (EINVAL)", async () => {
    const f = await root.walkTo("top.txt");
    for (const flags of [O_CREAT, O_PATH, 3]) expect((await f.openAt(flags)).errno).toBe(EINVAL.errno);
    f.release();
  });

  it("answers ESTALE when the name now names another file", async () => {
    const f = await root.walkTo("top.txt");
    fs.renameSync(path.join(tree, "top.txt"), path.join(tree, "moved.txt"));
    fs.writeFileSync(path.join(tree, "top.txt"), "impostor");
    const o = await f.openAt(O_RDONLY);
    expect(o.errno).toBe(116); // ESTALE
    f.release();
  });
});

describe("creating", () => {
  it("openCreateAt creates exclusively with the mode and owner asked, and donates the FD", async () => {
    const a = await root.walkTo("a");
    const c = await a.openCreateAt("new.txt", O_RDWR, 0o640, 1234, 5678);
    expect(c.errno).toBe(0);
    fs.writeSync(c.fd, "created");
    fs.closeSync(c.fd);
    const st = nativeStat(path.join(tree, "a/new.txt"));
    expect(st).toMatchObject({ mode: S_IFREG | 0o640, uid: 1234, gid: 5678, size: 7n });
    expect(c.stat).toMatchObject({ mode: S_IFREG | 0o640, uid: 1234, gid: 5678, ino: st.ino });
    c.child?.release();
    const again = await a.openCreateAt("new.txt", O_RDWR, 0o640);
    expect(again.errno).toBe(EEXIST.errno);
    expect(nativeErrno(() => fs.openSync(path.join(copy, "a/b"), "wx"))).toBe(EEXIST.errno);
    a.release();
  });

  it("keeps set-group-ID through the chown", async () => {
    const c = await root.openCreateAt("sgid", O_RDWR, 0o2755, 1, 1);
    expect(c.errno).toBe(0);
    fs.closeSync(c.fd);
    expect(nativeStat(path.join(tree, "sgid")).mode).toBe(S_IFREG | 0o2755);
    c.child?.release();
  });

  it("mkdirAt, mknodAt and symlinkAt create with mode and owner, like mkdir/mknod/symlink", async () => {
    const d = await root.mkdirAt("dir", 0o750, 7, 8);
    fs.mkdirSync(path.join(copy, "dir"), 0o750);
    expect(d.errno).toBe(0);
    expect(d.stat).toMatchObject({ mode: nativeStat(path.join(copy, "dir")).mode, uid: 7, gid: 8 });
    d.child?.release();
    expect((await root.mkdirAt("dir", 0o750)).errno).toBe(nativeErrno(() => fs.mkdirSync(path.join(copy, "dir"))));

    const f = await root.mknodAt("fifo2", S_IFIFO | 0o600, 3, 4);
    expect(f.stat).toMatchObject({ mode: S_IFIFO | 0o600, uid: 3, gid: 4 });
    f.child?.release();
    const r = await root.mknodAt("plain", 0o644);
    expect(r.stat?.mode).toBe(S_IFREG | 0o644);
    r.child?.release();
    expect((await root.mknodAt("dev", S_IFCHR | 0o666)).errno).toBe(EPERM.errno);
    expect(fs.existsSync(path.join(tree, "dev"))).toBe(false);

    const s = await root.symlinkAt("sl", "../../../etc/shadow", 9, 10);
    expect(s.errno).toBe(0);
    expect(fs.readlinkSync(path.join(tree, "sl"))).toBe("../../../etc/shadow");
    expect(s.stat).toMatchObject({ uid: 9, gid: 10 });
    s.child?.release();
    expect((await root.symlinkAt("empty", "")).errno).toBe(ENOENT.errno);
    expect(nativeErrno(() => fs.symlinkSync("", path.join(copy, "empty")))).toBe(ENOENT.errno);
  });

  it("linkAt makes a hard link to a File of this gofer; directories are EPERM; foreign Files EXDEV", async () => {
    const f = await root.walkTo("top.txt");
    const l = await root.linkAt(f, "hard");
    expect(l.errno).toBe(0);
    expect(nativeStat(path.join(tree, "hard")).ino).toBe(nativeStat(path.join(tree, "top.txt")).ino);
    expect(l.stat?.nlink).toBe(2);
    l.child?.release();
    expect((await root.linkAt(f, "hard")).errno).toBe(EEXIST.errno);
    const a = await root.walkTo("a");
    expect((await root.linkAt(a, "dirlink")).errno).toBe(EPERM.errno);
    expect(nativeErrno(() => fs.linkSync(path.join(copy, "a"), path.join(copy, "dirlink")))).toBe(EPERM.errno);

    // A File the client hosts itself (senderHosted) is not one of the gofer's: EXDEV.
    const fake = new gofer.File$Server(new Proxy({}, { get: () => async () => {} }) as gofer.File$Server$Target).client();
    expect((await root.linkAt(new RemoteFileOf(fake), "x")).errno).toBe(EXDEV.errno);
    expect(await root.renameAt("top.txt", new RemoteFileOf(fake), "x")).toBe(EXDEV.errno);

    const other = new Harness(copy);
    const otherRoot = await other.mount();
    const foreign = await otherRoot.walkTo("top.txt");
    // A capability of another connection cannot even be passed here: the client refuses.
    await expect(root.linkAt(foreign, "x")).rejects.toThrow(/another connection/);
    foreign.release();
    otherRoot.release();
    await other.close();
    f.release();
    a.release();
  });
});

describe("removing and renaming", () => {
  it("unlinkAt matches unlink/rmdir errnos", async () => {
    const a = await root.walkTo("a");
    expect(await a.unlinkAt("b")).toBe(nativeErrno(() => fs.unlinkSync(path.join(copy, "a/b"))));
    expect(await a.unlinkAt("b", AT_REMOVEDIR)).toBe(ENOTEMPTY.errno);
    expect(nativeErrno(() => fs.rmdirSync(path.join(copy, "a/b")))).toBe(ENOTEMPTY.errno);
    expect(await a.unlinkAt("empty", AT_REMOVEDIR)).toBe(0);
    expect(await a.unlinkAt("nope")).toBe(ENOENT.errno);
    expect(await a.unlinkAt("..", AT_REMOVEDIR)).toBe(EINVAL.errno);
    expect(await a.unlinkAt("b", 1)).toBe(EINVAL.errno);
    expect(fs.existsSync(path.join(tree, "a/empty"))).toBe(false);
    a.release();
  });

  it("renameAt renames across directories, honours NOREPLACE and EXCHANGE, and moves handles", async () => {
    const a = await root.walkTo("a");
    const b = await a.walkTo("b");
    const c = await b.walkTo("c.txt");
    expect(await b.renameAt("c.txt", root, "top.txt", RENAME_NOREPLACE)).toBe(EEXIST.errno);
    expect(await b.renameAt("c.txt", root, "c-moved.txt")).toBe(0);
    expect(fs.readFileSync(path.join(tree, "c-moved.txt"), "utf8")).toBe("hello gofer");
    // The handle followed the rename: it still re-opens.
    const o = await c.openAt(O_RDONLY);
    expect(o.errno).toBe(0);
    expect(readAndClose(o.fd)).toBe("hello gofer");

    expect(await root.renameAt("c-moved.txt", root, "top.txt", RENAME_EXCHANGE)).toBe(0);
    expect(fs.readFileSync(path.join(tree, "top.txt"), "utf8")).toBe("hello gofer");
    expect(fs.readFileSync(path.join(tree, "c-moved.txt"), "utf8")).toBe("top level\n");
    const o2 = await c.openAt(O_RDONLY);
    expect(readAndClose(o2.fd)).toBe("hello gofer");

    expect(await root.renameAt("nope", root, "x")).toBe(ENOENT.errno);
    expect(await root.renameAt("a", a, "x")).toBe(nativeErrno(() => fs.renameSync(path.join(copy, "a"), path.join(copy, "a/x"))));
    expect(await root.renameAt("top.txt", root, "x", 4 /* RENAME_WHITEOUT */)).toBe(EINVAL.errno);
    expect(await root.renameAt("top.txt", c, "x")).toBe(ENOTDIR.errno);
    [a, b, c].forEach((f) => f.release());
  });
});

describe("attributes", () => {
  it("readLinkAt is EINVAL on a non-symlink", async () => {
    expect((await root.readLink()).errno).toBe(EINVAL.errno);
  });

  it("setStat applies size, mode, owner and times like truncate/chmod/chown/utimes", async () => {
    const f = await root.walkTo("top.txt");
    const r = await f.setStat({
      mask: STATX_SIZE | STATX_MODE | STATX_UID | STATX_GID | STATX_ATIME | STATX_MTIME,
      size: 3n,
      mode: 0o600,
      uid: 42,
      gid: 43,
      atime: [1_000_000n, 5],
      mtime: [2_000_000n, 7],
    });
    expect(r).toEqual({ errno: 0, failedMask: 0 });
    const cp = path.join(copy, "top.txt");
    fs.truncateSync(cp, 3);
    fs.chmodSync(cp, 0o600);
    fs.chownSync(cp, 42, 43);
    const st = nativeStat(path.join(tree, "top.txt"));
    expect(st).toMatchObject({ size: 3n, mode: nativeStat(cp).mode, uid: 42, gid: 43, atimeSec: 1_000_000n, atimeNsec: 5, mtimeSec: 2_000_000n, mtimeNsec: 7 });
    // UTIME_OMIT leaves a time alone.
    expect(await f.setStat({ mask: STATX_ATIME, atime: [5n, UTIME_OMIT] })).toEqual({ errno: 0, failedMask: 0 });
    expect(nativeStat(path.join(tree, "top.txt")).atimeSec).toBe(1_000_000n);
    f.release();
  });

  it("setStat stops at the first failure and reports what was not applied", async () => {
    const a = await root.walkTo("a");
    const r = await a.setStat({ mask: STATX_SIZE | STATX_MODE, size: 0n, mode: 0o700 });
    expect(r).toEqual({ errno: nativeErrno(() => fs.truncateSync(path.join(copy, "a"))), failedMask: STATX_SIZE | STATX_MODE });
    expect(r.errno).toBe(EISDIR.errno);
    const link = (await root.walk("link-rel")).files[0] as RemoteFile;
    expect(await link.setStat({ mask: STATX_MODE, mode: 0o777 })).toEqual({ errno: EOPNOTSUPP.errno, failedMask: STATX_MODE });
    // Changing a symlink's own owner and times works (lchown, lutimes).
    expect(await link.setStat({ mask: STATX_UID, uid: 5 })).toEqual({ errno: 0, failedMask: 0 });
    expect(nativeStat(path.join(tree, "link-rel")).uid).toBe(5);
    link.release();
    a.release();
  });

  it("getdents64 lists what readdir lists, in pages, without . and ..", async () => {
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(tree, "a", `f${i}`), "");
    const a = await root.walkTo("a");
    const expected = fs.readdirSync(path.join(tree, "a")).sort();
    expect(await a.readdir(4096)).toEqual(expected);
    expect(await a.readdir(100)).toEqual(expected);
    const first = await a.getdents(0n, 4096);
    expect(first.entries.find((e) => e.name === "b")).toMatchObject({ type: 4 /* DT_DIR */, ino: nativeStat(path.join(tree, "a/b")).ino });
    expect((await a.getdents(0n, 0)).errno).toBe(EINVAL.errno);
    a.release();
    const f = await root.walkTo("top.txt");
    expect((await f.getdents(0n, 4096)).errno).toBe(ENOTDIR.errno);
    f.release();
  });

  it("fsync and statfs", async () => {
    const f = await root.walkTo("top.txt");
    expect(await f.fsync()).toBe(0);
    expect(await f.fsync(true)).toBe(0);
    expect(await root.fsync()).toBe(0);
    const s = await root.statfs();
    const ns = fs.statfsSync(copy, { bigint: true });
    expect(s).toMatchObject({ errno: 0, type: ns.type, bsize: ns.bsize, blocks: ns.blocks });
    f.release();
  });

  it("extended attributes: user.* only, with Linux's errnos", async () => {
    const f = await root.walkTo("top.txt");
    expect((await f.getXattr("user.k")).errno).toBe(ENODATA.errno);
    expect(await f.setXattr("user.k", "v1", XATTR_REPLACE)).toBe(ENODATA.errno);
    expect(await f.setXattr("user.k", "v1", XATTR_CREATE)).toBe(0);
    expect(await f.setXattr("user.k", "v2", XATTR_CREATE)).toBe(EEXIST.errno);
    expect(await f.setXattr("user.k", "value-2")).toBe(0);
    expect(await f.getXattr("user.k")).toEqual({ errno: 0, value: "value-2" });
    expect((await f.getXattr("user.k", 3)).errno).toBe(ERANGE.errno);
    expect(await f.listXattr()).toEqual({ errno: 0, names: ["user.k"] });
    expect((await f.listXattr(3)).errno).toBe(ERANGE.errno);
    expect(await f.setXattr("trusted.k", "v")).toBe(EOPNOTSUPP.errno);
    expect((await f.getXattr("security.selinux")).errno).toBe(EOPNOTSUPP.errno);
    expect(await f.setXattr("", "v")).toBe(ERANGE.errno);
    expect(await f.setXattr("user.big", "x".repeat(65537))).toBe(E2BIG.errno);
    expect(await f.removeXattr("user.k")).toBe(0);
    expect(await f.removeXattr("user.k")).toBe(ENODATA.errno);
    const a = await root.walkTo("a");
    expect(await a.setXattr("user.d", "dir")).toBe(0);
    expect(await a.getXattr("user.d")).toEqual({ errno: 0, value: "dir" });
    const link = (await root.walk("link-rel")).files[0] as RemoteFile;
    expect(await link.setXattr("user.k", "v")).toBe(EPERM.errno);
    expect((await link.getXattr("user.k")).errno).toBe(ENODATA.errno);
    expect(await link.listXattr()).toEqual({ errno: 0, names: [] });
    [f, a, link].forEach((x) => x.release());
  });

});

describe("Unix sockets", () => {
  it("bindAt donates a bound socket; connect donates a socket connected to it", async () => {
    const b = await root.bindAt("sock", SOCK_STREAM, 0o640, 11, 12);
    expect(b.errno).toBe(0);
    expect(b.stat).toMatchObject({ mode: S_IFSOCK | 0o640, uid: 11, gid: 12 });
    expect(nativeStat(path.join(tree, "sock"))).toMatchObject({ mode: S_IFSOCK | 0o640, uid: 11, gid: 12 });
    const server = net.createServer((conn) => conn.on("data", (d) => conn.end(`echo ${d.toString()}`)));
    await new Promise<void>((resolve) => server.listen({ fd: b.fd }, resolve));
    const c = await (b.child as RemoteFile).connect(SOCK_STREAM);
    expect(c.errno).toBe(0);
    const client = new net.Socket({ fd: c.fd, readable: true, writable: true });
    const reply = await new Promise<string>((resolve) => {
      let got = "";
      client.on("data", (d) => (got += d.toString()));
      client.on("end", () => resolve(got));
      client.write("ping");
    });
    expect(reply).toBe("echo ping");
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
    b.child?.release();
  });

  it("answers like Linux: EADDRINUSE, ECONNREFUSED, EINVAL", async () => {
    const b = await root.bindAt("sock", SOCK_STREAM, 0o600);
    fs.closeSync(b.fd); // bound, never listening
    expect((await root.bindAt("sock", SOCK_STREAM, 0o600)).errno).toBe(EADDRINUSE.errno);
    expect((await root.bindAt("top.txt", SOCK_STREAM, 0o600)).errno).toBe(EADDRINUSE.errno);
    expect((await root.bindAt("s2", 99, 0o600)).errno).toBe(EINVAL.errno);
    expect((await (b.child as RemoteFile).connect(SOCK_STREAM)).errno).toBe(ECONNREFUSED.errno);
    const f = await root.walkTo("top.txt");
    expect((await f.connect(SOCK_STREAM)).errno).toBe(ECONNREFUSED.errno);
    expect((await root.bindAt("x".repeat(108), SOCK_STREAM, 0o600)).errno).toBe(ENAMETOOLONG.errno);
    [f, b.child].forEach((x) => x?.release());
  });
});

describe("hostile clients", () => {
  it("a handler's non-errno failure becomes an RPC exception for that call only", async () => {
    const f = await root.walkTo("top.txt");
    // A File whose handle the server force-closed: its calls fail, the connection lives on.
    for (const node of h.server.nodes.live) if (!node.isDirectory) node.forceClose();
    await expect(f.fstat()).rejects.toThrow(/closed gofer handle/);
    expect((await root.fstat()).errno).toBe(0);
    f.release();
  });

  it("O_NONBLOCK requested on a regular file is kept", async () => {
    const f = await root.walkTo("top.txt");
    const o = await f.openAt(O_RDONLY | O_NONBLOCK);
    expect(o.errno).toBe(0);
    expect(fs.fstatSync(o.fd).isFile()).toBe(true);
    fs.closeSync(o.fd);
    f.release();
  });
});

/** A RemoteFile over any File capability. */
class RemoteFileOf extends RemoteFile {}
