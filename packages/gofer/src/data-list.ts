/**
 * Filling a `List(Data)` from byte arrays without importing capnp-es (only proto may).
 *
 * capnp-es 0.0.16 cannot initialise a List(Data) element from bytes (schema README). Its lists'
 * `set(i, data)` deep-copies a Data that lives elsewhere, so each element is first built as a
 * `Dirent.name` in a scratch message (a new instance of the list's own Message class) and then
 * copied in. Used for listXattr results (and by tests to build walk requests). A helper in proto
 * would be the better home; see the README's "Not implemented".
 */
import { gofer } from "@runsc-ts/proto";

/** The parts of a capnp-es List(Data) this needs. */
export interface DataList {
  readonly length: number;
  set(index: number, value: gofer.Dirent["name"]): void;
  readonly segment: { readonly message: object };
}

interface ScratchMessage {
  initRoot<T>(Class: new (...args: never[]) => T): T;
}

/** Copies `items` into `list` (already initialised with `items.length` elements). */
export function setDataList(list: DataList, items: readonly Uint8Array[]): void {
  if (list.length !== items.length) throw new RangeError(`list has ${list.length} elements, not ${items.length}`);
  const MessageClass = list.segment.message.constructor as new () => ScratchMessage;
  items.forEach((bytes, i) => {
    const scratch = new MessageClass().initRoot(gofer.Dirent);
    scratch._initName(bytes.length).copyBuffer(bytes);
    list.set(i, scratch.name);
  });
}
