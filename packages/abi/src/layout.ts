/**
 * Struct layouts as data, and reads/writes of them over guest or host memory.
 *
 * A layout (`stat`, `sigaction`, ... in gen/layouts.ts) lists each member's offset and type as
 * the C compiler computed them from the kernel headers. `readStruct` turns bytes into a plain
 * object and `writeStruct` does the reverse; both check bounds and values and throw on bad
 * input, so a truncated buffer or an out-of-range value is a clear error, never a silent wrap.
 *
 * Value conventions (the same for every layout):
 * - 8-byte integers (`i64`, `u64`, `be64`, and pointers) read as `bigint`; writes accept a
 *   `bigint` or a safe-integer `number`.
 * - 1-, 2- and 4-byte integers read and write as `number`.
 * - Signedness is the C member's: an `i32` reads -1, a `u32` reads 4294967295. Writes accept
 *   either reading of the same bits (-1 and 0xffffffff both fit a u32 or an i32), because JS
 *   bitwise operators return signed 32-bit numbers.
 * - Everything is little-endian (x86-64) except members the headers declare `__be16`/`__be32`
 *   (`sin_port`, `s_addr`, `sin6_flowinfo`), typed `be16`/`be32`, read in network byte order.
 * - Arrays of 1-byte integers (names, paths, `c_cc`, padding) and members that are unions or
 *   structs without a layout of their own are `bytes`: a `Uint8Array` copy on read; on write,
 *   at most `size` bytes, the rest of the member zeroed. Arrays of wider integers are arrays
 *   (`number[]` or `bigint[]`), written the same way.
 * - A flexible array member (`d_name[]`, `__cmsg_data[]`) is `flex`: it records the offset
 *   where the variable part starts and is never read or written; the layout's `size` is the
 *   fixed header's (what `sizeof` gives in C).
 */

/** The integer types a member can have. `be*` are big-endian (network byte order). */
export type ScalarType = "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64" | "be16" | "be32" | "be64";

/** The 8-byte scalar types, which read as bigint. */
export type WideScalarType = "i64" | "u64" | "be64";

export interface ScalarField<T extends ScalarType = ScalarType> {
  readonly kind: "scalar";
  readonly offset: number;
  readonly size: number;
  readonly type: T;
}

export interface ArrayField<T extends ScalarType = ScalarType> {
  readonly kind: "array";
  readonly offset: number;
  readonly size: number;
  readonly type: T;
  readonly count: number;
}

export interface BytesField {
  readonly kind: "bytes";
  readonly offset: number;
  readonly size: number;
}

export interface NestedField<L extends StructLayout = StructLayout> {
  readonly kind: "nested";
  readonly offset: number;
  readonly size: number;
  readonly layout: L;
}

export interface FlexField {
  readonly kind: "flex";
  readonly offset: number;
  readonly size: 0;
}

export type Field = ScalarField | ArrayField | BytesField | NestedField | FlexField;

export type Fields = { readonly [name: string]: Field };

export interface StructLayout<F extends Fields = Fields> {
  /** The TypeScript name of the layout (`stat`, `siginfo_kill`). */
  readonly name: string;
  /** The C type it was measured from (`struct stat`, `siginfo_t`). */
  readonly cType: string;
  /** sizeof in bytes (for a layout with a flexible array member, the fixed header's). */
  readonly size: number;
  /** _Alignof in bytes. */
  readonly align: number;
  readonly fields: F;
}

type ScalarValue<T extends ScalarType> = T extends WideScalarType ? bigint : number;
type ScalarInput<T extends ScalarType> = T extends WideScalarType ? bigint | number : number;

/** The value `readStruct` returns for one member. */
export type FieldValue<F extends Field> =
  F extends ScalarField<infer T> ? ScalarValue<T>
  : F extends ArrayField<infer T> ? ScalarValue<T>[]
  : F extends BytesField ? Uint8Array
  : F extends NestedField<infer L> ? StructValue<L>
  : never;

/** The value `writeStruct` accepts for one member. */
export type FieldInput<F extends Field> =
  F extends ScalarField<infer T> ? ScalarInput<T>
  : F extends ArrayField<infer T> ? readonly ScalarInput<T>[]
  : F extends BytesField ? Uint8Array
  : F extends NestedField<infer L> ? StructInput<L>
  : never;

type ValueKeys<F extends Fields> = { [K in keyof F]: F[K] extends FlexField ? never : K }[keyof F];

/** A whole struct as a plain object: every member except flexible arrays. */
export type StructValue<L extends StructLayout> = {
  [K in ValueKeys<L["fields"]>]: FieldValue<L["fields"][K]>;
};

/** What `writeStruct` writes: any subset of the members; absent ones are left as they are. */
export type StructInput<L extends StructLayout> = {
  [K in ValueKeys<L["fields"]>]?: FieldInput<L["fields"][K]>;
};

const SCALAR_SIZE: { readonly [T in ScalarType]: number } = {
  i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, be16: 2, be32: 4, be64: 8,
};

// ---------------------------------------------------------------- construction (gen/ only)

/**
 * Builds a frozen layout. Used by the generated gen/layouts.ts; it checks that every member
 * lies inside the struct, so a corrupted generated file fails at import rather than later.
 */
export function defineLayout<const F extends Fields>(
  name: string,
  cType: string,
  size: number,
  align: number,
  fields: F,
): StructLayout<F> {
  for (const [fname, f] of Object.entries(fields)) {
    if (!Number.isInteger(f.offset) || f.offset < 0 || f.offset + f.size > size) {
      throw new RangeError(`layout ${name}: member ${fname} (offset ${f.offset}, ${f.size} bytes) lies outside its ${size} bytes`);
    }
  }
  return Object.freeze({ name, cType, size, align, fields: Object.freeze(fields) });
}

export function scalar<T extends ScalarType>(offset: number, type: T): ScalarField<T> {
  return Object.freeze({ kind: "scalar", offset, size: SCALAR_SIZE[type], type });
}

export function array<T extends ScalarType>(offset: number, type: T, count: number): ArrayField<T> {
  return Object.freeze({ kind: "array", offset, size: SCALAR_SIZE[type] * count, type, count });
}

export function bytes(offset: number, size: number): BytesField {
  return Object.freeze({ kind: "bytes", offset, size });
}

export function nested<L extends StructLayout>(offset: number, layout: L): NestedField<L> {
  return Object.freeze({ kind: "nested", offset, size: layout.size, layout });
}

export function flex(offset: number): FlexField {
  return Object.freeze({ kind: "flex", offset, size: 0 });
}

// ---------------------------------------------------------------- reads

function viewOf(buf: Uint8Array | DataView): DataView {
  return buf instanceof DataView ? buf : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function checkBounds(op: string, layout: StructLayout, view: DataView, offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + layout.size > view.byteLength) {
    throw new RangeError(
      `${op}(${layout.name}): ${layout.size} bytes needed at offset ${offset}, but the buffer holds ${view.byteLength}`,
    );
  }
}

function readScalar(view: DataView, at: number, type: ScalarType): number | bigint {
  switch (type) {
    case "i8": return view.getInt8(at);
    case "u8": return view.getUint8(at);
    case "i16": return view.getInt16(at, true);
    case "u16": return view.getUint16(at, true);
    case "i32": return view.getInt32(at, true);
    case "u32": return view.getUint32(at, true);
    case "i64": return view.getBigInt64(at, true);
    case "u64": return view.getBigUint64(at, true);
    case "be16": return view.getUint16(at, false);
    case "be32": return view.getUint32(at, false);
    case "be64": return view.getBigUint64(at, false);
  }
}

function readFieldAt(view: DataView, base: number, f: Field): unknown {
  const at = base + f.offset;
  switch (f.kind) {
    case "scalar":
      return readScalar(view, at, f.type);
    case "array": {
      const step = f.size / f.count;
      const out: (number | bigint)[] = [];
      for (let i = 0; i < f.count; i++) out.push(readScalar(view, at + i * step, f.type));
      return out;
    }
    case "bytes":
      return new Uint8Array(view.buffer, view.byteOffset + at, f.size).slice();
    case "nested":
      return readAt(view, at, f.layout);
    case "flex":
      return undefined;
  }
}

function readAt(view: DataView, base: number, layout: StructLayout): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(layout.fields)) {
    if (f.kind !== "flex") out[name] = readFieldAt(view, base, f);
  }
  return out;
}

/**
 * Reads a whole struct at `offset` in `buf`.
 *
 * Throws RangeError if the buffer is too short for `layout.size` bytes at `offset`.
 */
export function readStruct<L extends StructLayout>(
  layout: L,
  buf: Uint8Array | DataView,
  offset = 0,
): StructValue<L> {
  const view = viewOf(buf);
  checkBounds("readStruct", layout, view, offset);
  return readAt(view, offset, layout) as StructValue<L>;
}

/** Reads one member of the struct at `offset`; cheaper than readStruct on hot paths. */
export function readField<L extends StructLayout, K extends ValueKeys<L["fields"]>>(
  layout: L,
  name: K,
  buf: Uint8Array | DataView,
  offset = 0,
): FieldValue<L["fields"][K]> {
  const view = viewOf(buf);
  checkBounds("readField", layout, view, offset);
  const f = fieldOf("readField", layout, name as string);
  return readFieldAt(view, offset, f) as FieldValue<L["fields"][K]>;
}

// ---------------------------------------------------------------- writes

const TWO_64 = 1n << 64n;
const MIN_I64 = -(1n << 63n);

function fieldOf(op: string, layout: StructLayout, name: string): Field {
  const f = Object.hasOwn(layout.fields, name) ? layout.fields[name] : undefined;
  if (f === undefined || f.kind === "flex") {
    throw new TypeError(`${op}(${layout.name}): no member ${JSON.stringify(name)}`);
  }
  return f;
}

function writeScalar(op: string, where: string, view: DataView, at: number, type: ScalarType, v: unknown): void {
  const size = SCALAR_SIZE[type];
  if (size === 8) {
    let b: bigint;
    if (typeof v === "bigint") b = v;
    else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
    else throw new TypeError(`${op}: ${where} needs a bigint or a safe integer, got ${describe(v)}`);
    if (b < MIN_I64 || b >= TWO_64) throw new RangeError(`${op}: ${where} = ${b} does not fit ${type}`);
    view.setBigUint64(at, BigInt.asUintN(64, b), type !== "be64");
    return;
  }
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(`${op}: ${where} needs an integer number, got ${describe(v)}`);
  }
  const bits = size * 8;
  if (v < -(2 ** (bits - 1)) || v >= 2 ** bits) {
    throw new RangeError(`${op}: ${where} = ${v} does not fit ${type}`);
  }
  switch (size) {
    case 1: view.setUint8(at, v & 0xff); return;
    case 2: view.setUint16(at, v & 0xffff, type !== "be16"); return;
    default: view.setUint32(at, v >>> 0, type !== "be32"); return;
  }
}

function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  return Array.isArray(v) ? `array(${v.length})` : String(v);
}

function writeFieldAt(op: string, where: string, view: DataView, base: number, f: Field, v: unknown): void {
  const at = base + f.offset;
  switch (f.kind) {
    case "scalar":
      writeScalar(op, where, view, at, f.type, v);
      return;
    case "array": {
      if (!Array.isArray(v)) throw new TypeError(`${op}: ${where} needs an array, got ${describe(v)}`);
      if (v.length > f.count) {
        throw new RangeError(`${op}: ${where} holds ${f.count} elements, got ${v.length}`);
      }
      const step = f.size / f.count;
      for (let i = 0; i < f.count; i++) {
        writeScalar(op, `${where}[${i}]`, view, at + i * step, f.type, i < v.length ? v[i] : 0);
      }
      return;
    }
    case "bytes": {
      if (!(v instanceof Uint8Array)) throw new TypeError(`${op}: ${where} needs a Uint8Array, got ${describe(v)}`);
      if (v.length > f.size) throw new RangeError(`${op}: ${where} holds ${f.size} bytes, got ${v.length}`);
      const dst = new Uint8Array(view.buffer, view.byteOffset + at, f.size);
      dst.set(v);
      dst.fill(0, v.length);
      return;
    }
    case "nested":
      if (typeof v !== "object" || v === null) {
        throw new TypeError(`${op}: ${where} needs an object, got ${describe(v)}`);
      }
      writeAt(op, where, view, at, f.layout, v as Record<string, unknown>);
      return;
    case "flex":
      throw new TypeError(`${op}: ${where} is a flexible array member; write it separately`);
  }
}

function writeAt(op: string, where: string, view: DataView, base: number, layout: StructLayout, value: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(value)) {
    if (v === undefined) continue;
    writeFieldAt(op, `${where}.${name}`, view, base, fieldOf(op, layout, name), v);
  }
}

/**
 * Writes into a copy of the struct's bytes and copies them back only if every value was good,
 * so a TypeError or RangeError leaves the buffer unchanged.
 */
function writeChecked(op: string, layout: StructLayout, buf: Uint8Array | DataView, offset: number, value: Record<string, unknown>): void {
  const view = viewOf(buf);
  checkBounds(op, layout, view, offset);
  const target = new Uint8Array(view.buffer, view.byteOffset + offset, layout.size);
  const scratch = target.slice();
  writeAt(op, layout.name, new DataView(scratch.buffer), 0, layout, value);
  target.set(scratch);
}

/**
 * Writes the members present in `value` into the struct at `offset` in `buf`; absent members
 * keep their bytes. All values are checked first: on a TypeError or RangeError nothing has
 * been written.
 *
 * Throws RangeError if the buffer is too short, or a value does not fit its member; TypeError
 * for a member the layout does not have or a value of the wrong kind.
 */
export function writeStruct<L extends StructLayout>(
  layout: L,
  buf: Uint8Array | DataView,
  offset: number,
  value: StructInput<L>,
): void {
  writeChecked("writeStruct", layout, buf, offset, value as Record<string, unknown>);
}

/** Writes one member of the struct at `offset`. Same checks as writeStruct. */
export function writeField<L extends StructLayout, K extends ValueKeys<L["fields"]>>(
  layout: L,
  name: K,
  buf: Uint8Array | DataView,
  offset: number,
  value: FieldInput<L["fields"][K]>,
): void {
  writeChecked("writeField", layout, buf, offset, { [name]: value });
}

/** A new zero-filled buffer of `layout.size` bytes with `value` written into it. */
export function encodeStruct<L extends StructLayout>(layout: L, value: StructInput<L>): Uint8Array {
  const out = new Uint8Array(layout.size);
  writeStruct(layout, out, 0, value);
  return out;
}
