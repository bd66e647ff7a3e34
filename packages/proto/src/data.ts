/**
 * Byte lists in messages, for packages that may not import capnp-es. capnp-es 0.0.16 has no way
 * to fill an element of a `List(Data)` from bytes; these helpers do it with its pointer utilities.
 */
import { type Data, type List, ListElementSize, utils } from "capnp-es";

/**
 * Fills a `List(Data)` field, already initialised with `items.length` elements
 * (`params._initNames(n)`), with the given byte strings.
 */
export function setDataList(list: List<Data>, items: readonly Uint8Array[]): void {
  if (list.length !== items.length) throw new RangeError(`list has ${list.length} elements, not ${items.length}`);
  items.forEach((bytes, i) => {
    const slot = list.get(i);
    const content = slot.segment.allocate(bytes.length);
    const res = utils.initPointer(content.segment, content.byteOffset, slot);
    utils.setListPointer(res.offsetWords, ListElementSize.BYTE, bytes.length, res.pointer);
    list.get(i).copyBuffer(bytes);
  });
}

/** The elements of a `List(Data)` as byte arrays (copies, safe to keep). */
export function dataListItems(list: List<Data>): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < list.length; i++) out.push(list.get(i).toUint8Array().slice());
  return out;
}
