// Tests of the generated schema code (src/gen, from schema/*.capnp by tools/gen-proto) and a
// record of what capnp-es 0.0.16 does with bad input, which the RPC engine builds on.
import * as $ from "capnp-es";
import { describe, expect, it } from "vitest";
import { HostFd, Statx } from "./gen/common.js";
import { ContainerManager$Client, ContainerManager_StartRoot$Params, SignalMode } from "./gen/control.js";
import {
  File$Client,
  File$Server,
  File_OpenCreateAt$Results,
  File_Walk$Params,
  File_Walk$Results,
  Gofer$Client,
  Gofer$Server,
  type File$Server$Target,
  WalkStatus,
} from "./gen/gofer.js";
import { Endpoint$Client, Notifier$Client, SockAddr, Stack$Client } from "./gen/netstack.js";

/** Serializes unpacked (our wire format) and parses the bytes back as a new message. */
function roundTrip<T extends $.Struct>(msg: $.Message, Root: $.StructCtor<T>): T {
  const bytes = new Uint8Array(msg.toArrayBuffer());
  return new $.Message(bytes, false).getRoot(Root);
}

/**
 * Stores bytes as element i of a List(Data). capnp-es has no API for this (DataList.set copies
 * from another Data pointer), so allocate the byte list and point the element at it.
 */
function setDataElement(list: $.List<$.Data>, i: number, bytes: Uint8Array): void {
  const slot = list.get(i);
  const content = slot.segment.allocate(bytes.length);
  const res = $.utils.initPointer(content.segment, content.byteOffset, slot);
  $.utils.setListPointer(res.offsetWords, $.ListElementSize.BYTE, bytes.length, res.pointer);
  list.get(i).copyBuffer(bytes);
}

/** A message frame of one segment built from 64-bit words given as [low, high] 32-bit halves. */
function frame(...words: Array<[number, number]>): Uint8Array {
  const b = new Uint8Array(8 + words.length * 8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0, true); // segment count - 1
  dv.setUint32(4, words.length, true); // segment 0 length in words
  words.forEach(([lo, hi], i) => {
    dv.setUint32(8 + i * 8, lo >>> 0, true);
    dv.setUint32(12 + i * 8, hi >>> 0, true);
  });
  return b;
}
/** A root struct pointer: offset 0, `data` data words, `ptrs` pointers. */
const rootStruct = (data: number, ptrs: number): [number, number] => [0, data | (ptrs << 16)];
/** A list pointer at offset `off` words, element size code `size`, `len` elements. */
const listPtr = (off: number, size: number, len: number): [number, number] => [(off << 2) | 1, size | (len << 3)];

const fakeServerTarget = (): File$Server$Target =>
  new Proxy({} as File$Server$Target, {
    get: () => async () => {
      throw new Error("not called in these tests");
    },
  });

describe("Statx", () => {
  it("round-trips every field, 64-bit values and the timestamp groups included", () => {
    const msg = new $.Message();
    const s = msg.initRoot(Statx);
    s.mask = 0x17ff;
    s.blksize = 4096;
    s.attributes = 0x100000n;
    s.nlink = 3;
    s.uid = 1000;
    s.gid = 0xfffffffe;
    s.mode = 0o100644;
    s.ino = 0xfedcba9876543210n;
    s.size = (1n << 53n) + 1n;
    s.blocks = 8n;
    s.attributesMask = 0x3074n;
    s.atime.sec = -1n;
    s.atime.nsec = 999_999_999;
    s.btime.sec = 1_700_000_000n;
    s.ctime.sec = 2n;
    s.ctime.nsec = 3;
    s.mtime.sec = 4n;
    s.mtime.nsec = 5;
    s.rdevMajor = 136;
    s.rdevMinor = 7;
    s.devMajor = 8;
    s.devMinor = 1;
    s.mntId = 42n;

    const r = roundTrip(msg, Statx);
    expect([r.mask, r.blksize, r.attributes, r.nlink, r.uid, r.gid, r.mode]).toEqual([
      0x17ff, 4096, 0x100000n, 3, 1000, 0xfffffffe, 0o100644,
    ]);
    expect([r.ino, r.size, r.blocks, r.attributesMask]).toEqual([0xfedcba9876543210n, (1n << 53n) + 1n, 8n, 0x3074n]);
    expect([r.atime.sec, r.atime.nsec, r.btime.sec, r.btime.nsec]).toEqual([-1n, 999_999_999, 1_700_000_000n, 0]);
    expect([r.ctime.sec, r.ctime.nsec, r.mtime.sec, r.mtime.nsec]).toEqual([2n, 3, 4n, 5]);
    expect([r.rdevMajor, r.rdevMinor, r.devMajor, r.devMinor, r.mntId]).toEqual([136, 7, 8, 1, 42n]);
  });

  it("is one flat struct: 136 data bytes and no pointers", () => {
    expect(Statx._capnp.size.dataByteLength).toBe(136);
    expect(Statx._capnp.size.pointerLength).toBe(0);
  });
});

describe("gofer walk", () => {
  it("carries file names as exact bytes, including ones that are not UTF-8", () => {
    const names = [new Uint8Array([0x66, 0x6f, 0x6f]), new Uint8Array([0x62, 0xff, 0xfe, 0x80]), new Uint8Array([0xc3, 0xa9])];
    const msg = new $.Message();
    const params = msg.initRoot(File_Walk$Params);
    const list = params._initNames(names.length);
    names.forEach((n, i) => setDataElement(list, i, n));

    const r = roundTrip(msg, File_Walk$Params);
    expect(r.names.length).toBe(3);
    for (let i = 0; i < names.length; i++) expect(r.names.get(i).toUint8Array()).toEqual(names[i]);
  });

  it("would corrupt such names as Text: invalid UTF-8 decodes to U+FFFD (why names are Data)", () => {
    // ContainerManager.startRoot's containerId is Text: root struct with one pointer to the
    // byte list "b\xff" + NUL.
    const bytes = frame(rootStruct(0, 1), listPtr(0, 2, 3), [0x00ff62, 0]);
    const r = new $.Message(bytes, false).getRoot(ContainerManager_StartRoot$Params);
    expect(r.containerId).toBe("b\ufffd");
  });

  it("returns walked entries with their stats and one capability each, in cap-table order", () => {
    const msg = new $.Message();
    const res = msg.initRoot(File_Walk$Results);
    res.status = WalkStatus.SYMLINK;
    const entries = res._initEntries(2);
    const files = [new File$Server(fakeServerTarget()).client(), new File$Server(fakeServerTarget()).client()];
    files.forEach((f, i) => {
      const e = entries.get(i);
      e.file = f;
      e._initStat().ino = BigInt(100 + i);
    });

    // Same message: the getter hands back the client that was stored.
    expect(entries.get(1).file.client).toBe(files[1]?.client);

    // Across the wire the cap table is the engine's job (CapDescriptors): the struct keeps the
    // capability pointers with their indices, and with no table the getter yields a null client.
    const r = roundTrip(msg, File_Walk$Results);
    expect(r.errno).toBe(0);
    expect(r.status).toBe(WalkStatus.SYMLINK);
    expect(r.entries.length).toBe(2);
    for (let i = 0; i < 2; i++) {
      const e = r.entries.get(i);
      expect(e.stat.ino).toBe(BigInt(100 + i));
      expect(e._hasFile()).toBe(true);
      const capPtr = $.utils.getPointer(0, e);
      expect($.utils.getPointerType(capPtr)).toBe($.PointerType.OTHER);
      expect($.utils.getInterfacePointer(capPtr)).toBe(i);
    }
  });
});

describe("capability fields", () => {
  it("read a null HostFd as null even when the message carries other capabilities", () => {
    // openCreateAt's results with `child` set (cap 0) and no fd.
    const msg = new $.Message();
    const res = msg.initRoot(File_OpenCreateAt$Results);
    const child = new File$Server(fakeServerTarget()).client();
    res.child = child;
    expect(res._hasChild()).toBe(true);
    expect(res._hasFd()).toBe(false);
    expect(res.fd.client).not.toBe(child.client);
    expect(res.fd.client).toBeInstanceOf($.ErrorClient);

    // Unpatched capnp-es reads the null pointer as cap index 0: the generator's fix exists for this.
    const raw = $.utils.getInterfaceClientOrNullAt(2, res);
    expect(raw).toBe(child.client);
  });

  it("do not read a struct pointer in a capability slot as a capability", () => {
    const msg = new $.Message();
    const res = msg.initRoot(File_OpenCreateAt$Results);
    res.child = new File$Server(fakeServerTarget()).client();
    // Point `fd` (pointer 2) at a struct whose upper word happens to be 0 = cap index 0.
    $.utils.setStructPointer(0, new $.ObjectSize(0, 0), $.utils.getPointer(2, res));
    expect(res._hasFd()).toBe(false);
    expect(res.fd.client).toBeInstanceOf($.ErrorClient);
  });
});

describe("generated interfaces", () => {
  const names = (c: { methods: ReadonlyArray<$.Method<$.Struct, $.Struct>> }) =>
    c.methods.map((m) => `${m.methodId}:${m.methodName}`);

  it("number methods in schema order", () => {
    expect(names(Gofer$Client)).toEqual(["0:mount"]);
    expect(names(File$Client)).toEqual([
      "0:walk", "1:walkStat", "2:openAt", "3:openCreateAt", "4:mkdirAt", "5:mknodAt", "6:symlinkAt",
      "7:linkAt", "8:unlinkAt", "9:renameAt", "10:readLinkAt", "11:fstat", "12:setStat", "13:getdents64",
      "14:fsync", "15:statfs", "16:getXattr", "17:setXattr", "18:listXattr", "19:removeXattr", "20:bindAt",
      "21:connect",
    ]);
    expect(names(ContainerManager$Client)).toEqual([
      "0:startRoot", "1:startSubcontainer", "2:executeAsync", "3:wait", "4:waitPid", "5:signal",
      "6:processes", "7:event", "8:pause", "9:resume", "10:destroy",
    ]);
    expect(names(Stack$Client)).toEqual(["0:socket", "1:interfaces", "2:addresses", "3:routes"]);
    expect(names(Endpoint$Client)).toEqual([
      "0:bind", "1:listen", "2:accept", "3:connect", "4:sendMsg", "5:recvMsg", "6:shutdown", "7:getSockOpt",
      "8:setSockOpt", "9:getSockName", "10:getPeerName", "11:ioctl", "12:readiness", "13:setNotifier",
    ]);
    expect(names(Notifier$Client)).toEqual(["0:notify"]);
  });

  it("have distinct interface IDs, carried by every method", () => {
    const clients = [Gofer$Client, File$Client, ContainerManager$Client, Stack$Client, Endpoint$Client, Notifier$Client];
    const ids = clients.map((c) => c.interfaceId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(HostFd.Client.interfaceId).not.toBe(0n);
    for (const c of clients) for (const m of c.methods) expect(m.interfaceId).toBe(c.interfaceId);
  });

  it("put errno first (@0, data offset 0) in every result that can fail", () => {
    const infallible = new Set([
      "Stack.interfaces", "Stack.addresses", "Stack.routes", "Endpoint.readiness", "Endpoint.setNotifier",
      "Notifier.notify",
    ]);
    const all = [Gofer$Client, File$Client, ContainerManager$Client, Stack$Client, Endpoint$Client, Notifier$Client];
    for (const c of all) {
      for (const m of c.methods) {
        const label = `${(m.interfaceName ?? "").split(":")[1] ?? ""}.${m.methodName}`;
        const results = new $.Message().initRoot(m.ResultsClass);
        if (infallible.has(label)) {
          expect("errno" in results, label).toBe(false);
          continue;
        }
        expect(Reflect.set(results, "errno", 0xbeef), label).toBe(true);
        expect($.utils.getUint16(0, results), label).toBe(0xbeef);
      }
    }
  });

  it("dispatch a local call through the generated server and client", async () => {
    const gofer = new Gofer$Server({
      async mount(_params, results) {
        results.errno = 0;
        results.readOnly = true;
        results._initRootStat().mode = 0o40755;
      },
    }).client();
    const r = await gofer.mount().promise();
    expect([r.errno, r.readOnly, r.rootStat.mode]).toEqual([0, true, 0o40755]);
  });

  it("keep enums as plain numbers", () => {
    expect(SignalMode.FOREGROUND_PROCESS_GROUP).toBe(2);
    const msg = new $.Message();
    const a = msg.initRoot(SockAddr);
    a.family = 10;
    a.port = 8080;
    a._initAddr(16).set(15, 1);
    const r = roundTrip(msg, SockAddr);
    expect([r.family, r.port, r.addr.toUint8Array()[15]]).toEqual([10, 8080, 1]);
  });
});

// What capnp-es 0.0.16 does with malformed bytes. The engine parses every frame with
// `new Message(bytes, false)` inside a try/catch and treats any throw as "peer sent garbage":
// these tests record which inputs throw (and with what), and which are accepted silently.
describe("malformed input", () => {
  const parse = (b: Uint8Array) => new $.Message(b, false).getRoot(File_Walk$Params);

  it("rejects a truncated frame with CAPNP-TS001", () => {
    const msg = new $.Message();
    msg.initRoot(File_Walk$Params)._initNames(1);
    const good = new Uint8Array(msg.toArrayBuffer());
    expect(() => parse(good.subarray(0, good.length - 8))).toThrow(/CAPNP-TS001/);
  });

  it("throws a RangeError, not a capnp-es error, for a buffer shorter than the segment count", () => {
    expect(() => parse(new Uint8Array(3))).toThrow(RangeError);
    expect(() => parse(new Uint8Array(0))).toThrow(RangeError);
  });

  it("allocates the segment table before checking the segment count against the buffer", () => {
    // Count 2^32: Array.from({length: 2^32}) throws before any bounds check. A count of ~10^7 in
    // a 16-byte frame is accepted long enough to allocate a 10^7-entry array (hundreds of ms)
    // and only then fails with CAPNP-TS001: the engine must bound the count itself.
    const b = new Uint8Array(16);
    new DataView(b.buffer).setUint32(0, 0xffffffff, true);
    expect(() => parse(b)).toThrow(/Invalid array length/);
    new DataView(b.buffer).setUint32(0, 100_000, true);
    expect(() => parse(b)).toThrow(/CAPNP-TS001/);
  });

  it("rejects a first segment too small for the root pointer (CAPNP-TS005)", () => {
    // One segment of 0 words (then 8 ignored bytes: the header check wants 4 spare bytes).
    expect(() => parse(new Uint8Array(16))).toThrow(/CAPNP-TS005/);
  });

  it("rejects a root pointer of the wrong kind (CAPNP-TS024)", () => {
    expect(() => parse(frame(listPtr(0, 2, 0)))).toThrow(/CAPNP-TS024/);
  });

  it("rejects a far pointer into a missing segment (CAPNP-TS004)", () => {
    expect(() => parse(frame(rootStruct(0, 1), [2, 5])).names.length).toThrow(/CAPNP-TS004/);
  });

  it("throws a RangeError when a struct's data runs past the segment end", () => {
    // Root claims 16 data words in a 2-word segment.
    expect(() => new $.Message(frame(rootStruct(16, 0), [1, 2]), false).getRoot(Statx).ino).toThrow(RangeError);
  });

  it("overflows the stack copying a self-referencing struct (no depth limit)", () => {
    // Root struct with one pointer that points back at the root struct itself (offset -1).
    const cyclic = frame(rootStruct(0, 1), [(-1 << 2) | 0, 0 | (1 << 16)]);
    const src = new $.Message(cyclic, false);
    expect(() => new $.Message().setRoot(new $.Pointer(src.getSegment(0), 0))).toThrow(/call stack/);
  });

  describe("accepted without complaint", () => {
    it("trailing bytes after the last segment", () => {
      const msg = new $.Message();
      msg.initRoot(File_Walk$Results).status = WalkStatus.MISSING;
      const good = new Uint8Array(msg.toArrayBuffer());
      const padded = new Uint8Array(good.length + 24).fill(0xab);
      padded.set(good);
      expect(new $.Message(padded, false).getRoot(File_Walk$Results).status).toBe(WalkStatus.MISSING);
    });

    it("a list length the segment cannot hold (checked only when an element is read)", () => {
      const names = parse(frame(rootStruct(0, 1), listPtr(0, 6, 0x1fffffff))).names;
      expect(names.length).toBe(0x1fffffff);
      expect(() => names.get(1000).length).toThrow(/CAPNP-TS019/);
    });

    it("a list pointer of the wrong element size, or a struct pointer where a list belongs", () => {
      // names is List(Data) (pointer elements) but the pointer says bytes / is a struct pointer.
      expect(parse(frame(rootStruct(0, 1), listPtr(0, 2, 5))).names.length).toBe(5);
      expect(parse(frame(rootStruct(0, 1), [0, 1], [0, 0])).names.length).toBe(0);
    });

    it("an enum value outside the schema", () => {
      const msg = new $.Message();
      const res = msg.initRoot(File_Walk$Results);
      $.utils.setUint16(2, 99, res); // status lives after errno
      expect(roundTrip(msg, File_Walk$Results).status).toBe(99);
    });

    it("a Text without its NUL terminator (the last byte is dropped)", () => {
      const bytes = frame(rootStruct(0, 1), listPtr(0, 2, 3), [0x636261, 0]); // "abc", no NUL
      expect(new $.Message(bytes, false).getRoot(ContainerManager_StartRoot$Params).containerId).toBe("ab");
    });

    it("an unpacked frame parsed with the default packed=true misreads instead of failing cleanly", () => {
      const msg = new $.Message();
      msg.initRoot(File_Walk$Params)._initNames(1);
      const good = new Uint8Array(msg.toArrayBuffer());
      expect(() => new $.Message(good).getRoot(File_Walk$Params)).toThrow();
      expect(() => new $.Message(new Uint8Array(40).fill(0xff)).getRoot(Statx)).toThrow(RangeError);
    });
  });
});
