import { Message } from "capnp-es";
import { describe, expect, it } from "vitest";
import { dataListItems, setDataList } from "./data.js";
import { File_Walk$Params } from "./gen/gofer.js";

describe("setDataList / dataListItems", () => {
  it("round-trips arbitrary bytes, including invalid UTF-8, NULs and empty items", () => {
    const items = [new Uint8Array([0x62, 0xff]), new Uint8Array(0), new Uint8Array([0, 1, 2]), new TextEncoder().encode("usr")];
    const m = new Message();
    const p = m.initRoot(File_Walk$Params);
    setDataList(p._initNames(items.length), items);
    const seg = m.getSegment(0);
    const back = new Message(seg.buffer.slice(0, seg.byteLength), false, true).getRoot(File_Walk$Params);
    expect(dataListItems(back.names)).toEqual(items);
  });
  it("refuses a length mismatch", () => {
    const p = new Message().initRoot(File_Walk$Params);
    expect(() => setDataList(p._initNames(2), [new Uint8Array(1)])).toThrow(RangeError);
  });
});
