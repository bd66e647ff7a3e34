/**
 * rpc.capnp's Message envelope, encoded and decoded directly.
 *
 * The envelope (Message → Call/Return/Finish/... → MessageTarget, Payload, CapDescriptor list)
 * has a fixed shape, and building or reading it through capnp-es's generic accessors cost more
 * than everything else in a call (each accessor allocates pointer objects). So the engine writes
 * and reads these few structs with plain DataView operations at the offsets rpc.capnp defines,
 * and uses capnp-es only for what varies: the params and results structs of each method (the
 * generated classes), which live in the same message behind `Payload.content`.
 *
 * The wire format is unchanged — these are ordinary rpc.capnp messages. Our profile of it:
 * every message is one segment (capnp-es builds nothing else), so the envelope never contains far
 * pointers; a message that does is refused as a protocol error.
 *
 * Layouts (rpc.capnp; offsets in bytes within the data section, pointers by index):
 *   Message        1 data word, 1 ptr    which:u16@0 (call 2, return 3, finish 4, release 6,
 *                                        bootstrap 8, abort 1, unimplemented 0); ptr0: the member
 *   Bootstrap      1 word, 1 ptr         questionId:u32@0
 *   Call           3 words, 3 ptrs       questionId:u32@0 methodId:u16@4 sendResultsTo.which:u16@6
 *                                        interfaceId:u64@8; ptr0 target, ptr1 params
 *   Return         2 words, 1 ptr        answerId:u32@0 releaseParamCaps:bit32 (default true)
 *                                        noFinishNeeded:bit33 which:u16@6 (results 0, exception 1)
 *                                        ptr0: results Payload / Exception
 *   Finish         1 word                questionId:u32@0 releaseResultCaps:bit32 (default true)
 *   Release        1 word                id:u32@0 referenceCount:u32@4
 *   MessageTarget  1 word, 1 ptr         importedCap:u32@0 which:u16@4 (0 imported, 1 promised)
 *   PromisedAnswer 1 word, 1 ptr         questionId:u32@0; ptr0 transform List(Op)
 *   Op             1 word                which:u16@0 (0 noop, 1 getPointerField) field:u16@2
 *   Payload        0 words, 2 ptrs       ptr0 content, ptr1 capTable List(CapDescriptor)
 *   CapDescriptor  1 word, 1 ptr         which:u16@0 attachedFd:u8@2 (default 255) id:u32@4
 *   Exception      1 word, 2 ptrs        type:u16@4; ptr0 reason Text
 * Fields are stored XOR their default, so a default-true bit is stored as 0.
 */
import { Message, Pointer } from "capnp-es";
import { ProtocolError } from "./errors.js";
import type { PipelineOp } from "./capnp-types.js";

/** capnp-es's Segment (not exported by name). */
export type Segment = ReturnType<Message["getSegment"]>;

export const MSG_UNIMPLEMENTED = 0;
export const MSG_ABORT = 1;
export const MSG_CALL = 2;
export const MSG_RETURN = 3;
export const MSG_FINISH = 4;
export const MSG_RELEASE = 6;
export const MSG_BOOTSTRAP = 8;

export const CAP_NONE = 0;
export const CAP_SENDER_HOSTED = 1;
export const CAP_RECEIVER_HOSTED = 3;
/** CapDescriptor.attachedFd's "no FD" (its default). */
export const NO_FD = 0xff;

export const RETURN_RESULTS = 0;
export const RETURN_EXCEPTION = 1;

// ---- Writing --------------------------------------------------------------------------------------

/** A capability as it goes into a Payload's cap table. */
export interface CapDesc {
  readonly which: number;
  /** Export or import id (senderHosted / receiverHosted); 0 for none. */
  readonly id: number;
  /** Index into the frame's FDs, or NO_FD. */
  readonly attachedFd: number;
}

/** An envelope under construction: the message and where its Payload is. */
export interface OutEnvelope {
  readonly message: Message;
  readonly segment: Segment;
  /** Byte offset of the Payload struct (its content pointer; the cap table pointer follows). */
  readonly payload: number;
}

/** Writes a struct pointer at `at` to a struct at `target` (both byte offsets, target after at). */
function structPtr(dv: DataView, at: number, target: number, dataWords: number, ptrCount: number): void {
  dv.setUint32(at, (((target - at - 8) / 8) << 2) >>> 0, true);
  dv.setUint16(at + 4, dataWords, true);
  dv.setUint16(at + 6, ptrCount, true);
}

/** Writes a composite-list pointer and its tag word (`tag` is where the tag goes). */
function compositeListPtr(dv: DataView, at: number, tag: number, count: number, dataWords: number, ptrCount: number): void {
  const words = count * (dataWords + ptrCount);
  dv.setUint32(at, ((((tag - at - 8) / 8) << 2) | 1) >>> 0, true);
  dv.setUint32(at + 4, (7 | (words << 3)) >>> 0, true);
  dv.setUint32(tag, (count << 2) >>> 0, true);
  dv.setUint16(tag + 4, dataWords, true);
  dv.setUint16(tag + 6, ptrCount, true);
}

/**
 * Starts a message: the root pointer, the Message struct (which = `which`) and `bytes` more bytes
 * right after it for the member struct and what follows it. Returns the DataView and the offset
 * of the member (where Message's ptr0 points).
 */
function begin(which: number, memberDataWords: number, memberPtrs: number, bytes: number): { m: Message; seg: Segment; dv: DataView; member: number } {
  const m = new Message();
  const seg = m.getSegment(0); // allocates the root pointer at 0
  const at = seg.allocate(16 + bytes).byteOffset; // Message struct, then the rest
  const dv = new DataView(seg.buffer);
  structPtr(dv, 0, at, 1, 1);
  dv.setUint16(at, which, true);
  const member = at + 16;
  structPtr(dv, at + 8, member, memberDataWords, memberPtrs);
  return { m, seg, dv, member };
}

export type CallTarget = { readonly importId: number } | { readonly questionId: number; readonly transform: readonly PipelineOp[] };

/** A Call envelope; build the params at `contentPointer(env)`. */
export function writeCall(questionId: number, interfaceId: bigint, methodId: number, target: CallTarget): OutEnvelope {
  const promised = "questionId" in target;
  const ops = promised ? target.transform.length : 0;
  // Call (3+3 words), MessageTarget (1+1), Payload (0+2), [PromisedAnswer (1+1), tag, ops]
  const extra = promised ? 16 + 8 + 8 * ops : 0;
  const { m, seg, dv, member: call } = begin(MSG_CALL, 3, 3, 48 + 16 + 16 + extra);
  dv.setUint32(call, questionId, true);
  dv.setUint16(call + 4, methodId, true);
  dv.setBigUint64(call + 8, interfaceId, true);
  const tgt = call + 48;
  const payload = tgt + 16;
  structPtr(dv, call + 24, tgt, 1, 1);
  structPtr(dv, call + 32, payload, 0, 2);
  if (promised) {
    dv.setUint16(tgt + 4, 1, true);
    const pa = payload + 16;
    structPtr(dv, tgt + 8, pa, 1, 1);
    dv.setUint32(pa, target.questionId, true);
    if (ops > 0) {
      const tag = pa + 16;
      compositeListPtr(dv, pa + 8, tag, ops, 1, 0);
      target.transform.forEach((op, i) => {
        dv.setUint16(tag + 8 + 8 * i, 1, true);
        dv.setUint16(tag + 8 + 8 * i + 2, op.field, true);
      });
    }
  } else {
    dv.setUint32(tgt, target.importId, true);
  }
  return { message: m, segment: seg, payload };
}

/** A Return carrying results; build them at `contentPointer(env)`. */
export function writeReturnResults(answerId: number): OutEnvelope {
  const { m, seg, dv, member: ret } = begin(MSG_RETURN, 2, 1, 24 + 16);
  dv.setUint32(ret, answerId, true);
  // releaseParamCaps = false (default true, so stored as 1): we release param caps with Release.
  dv.setUint8(ret + 4, 1);
  const payload = ret + 24;
  structPtr(dv, ret + 16, payload, 0, 2);
  return { message: m, segment: seg, payload };
}

/** Marks a Return written by writeReturnResults as needing no Finish. */
export function setNoFinishNeeded(env: OutEnvelope): void {
  const dv = new DataView(env.segment.buffer);
  // The Return struct sits 24 bytes before its Payload; noFinishNeeded is bit 33 (byte 4, bit 1).
  const ret = env.payload - 24;
  dv.setUint8(ret + 4, dv.getUint8(ret + 4) | 2);
}

/** The pointer to build the params or results struct at. */
export function contentPointer(env: OutEnvelope): Pointer {
  return new Pointer(env.segment, env.payload);
}

/** Writes the bootstrap capability (cap table entry 0) as a Return's content. */
export function writeCapabilityContent(env: OutEnvelope, capIndex: number): void {
  const dv = new DataView(env.segment.buffer);
  dv.setUint32(env.payload, 3, true); // an "other" pointer: a capability
  dv.setUint32(env.payload + 4, capIndex, true);
}

/** Appends the cap table to an envelope's Payload. */
export function writeCapTable(env: OutEnvelope, caps: readonly CapDesc[]): void {
  if (caps.length === 0) return;
  const tag = env.segment.allocate(8 + 16 * caps.length).byteOffset;
  const dv = new DataView(env.segment.buffer); // allocate may have grown the buffer
  compositeListPtr(dv, env.payload + 8, tag, caps.length, 1, 1);
  caps.forEach((c, i) => {
    const d = tag + 8 + 16 * i;
    dv.setUint16(d, c.which, true);
    dv.setUint8(d + 2, c.attachedFd ^ NO_FD);
    dv.setUint32(d + 4, c.id, true);
  });
}

function writeException(which: number, answerId: number | undefined, reason: string, type: number): Message {
  const text = new TextEncoder().encode(reason);
  const textBytes = (text.length + 1 + 7) & ~7;
  if (which === MSG_RETURN) {
    const { m, dv, member: ret } = begin(MSG_RETURN, 2, 1, 24 + 24 + textBytes);
    dv.setUint32(ret, answerId ?? 0, true);
    dv.setUint8(ret + 4, 1); // releaseParamCaps = false
    dv.setUint16(ret + 6, RETURN_EXCEPTION, true);
    const ex = ret + 24;
    structPtr(dv, ret + 16, ex, 1, 2);
    putException(dv, ex, text, type);
    return m;
  }
  const { m, dv, member: ex } = begin(which, 1, 2, 24 + textBytes);
  putException(dv, ex, text, type);
  return m;
}

function putException(dv: DataView, ex: number, text: Uint8Array, type: number): void {
  dv.setUint16(ex + 4, type, true);
  const t = ex + 24;
  dv.setUint32(ex + 8, ((((t - ex - 8 - 8) / 8) << 2) | 1) >>> 0, true);
  dv.setUint32(ex + 12, (2 | ((text.length + 1) << 3)) >>> 0, true);
  new Uint8Array(dv.buffer, t, text.length).set(text);
}

export function writeReturnException(answerId: number, reason: string, type: number): Message {
  return writeException(MSG_RETURN, answerId, reason, type);
}

export function writeAbort(reason: string, type: number): Message {
  return writeException(MSG_ABORT, undefined, reason, type);
}

export function writeBootstrap(questionId: number): Message {
  const { m, dv, member } = begin(MSG_BOOTSTRAP, 1, 1, 16);
  dv.setUint32(member, questionId, true);
  return m;
}

export function writeFinish(questionId: number): Message {
  const { m, dv, member } = begin(MSG_FINISH, 1, 0, 8);
  dv.setUint32(member, questionId, true);
  dv.setUint8(member + 4, 1); // releaseResultCaps = false (default true)
  return m;
}

export function writeRelease(id: number, count: number): Message {
  const { m, dv, member } = begin(MSG_RELEASE, 1, 0, 8);
  dv.setUint32(member, id, true);
  dv.setUint32(member + 4, count, true);
  return m;
}

// ---- Reading --------------------------------------------------------------------------------------

/** A decoded Payload: where its content pointer is, and its cap table. */
export interface PayloadIn {
  /** Byte offset of the content pointer in the segment. */
  readonly content: number;
  readonly caps: CapDesc[];
}

export type Envelope =
  | {
      readonly kind: "call";
      readonly questionId: number;
      readonly interfaceId: bigint;
      readonly methodId: number;
      readonly target: CallTarget;
      readonly params: PayloadIn;
    }
  | {
      readonly kind: "return";
      readonly answerId: number;
      readonly noFinishNeeded: boolean;
      readonly which: number;
      readonly results?: PayloadIn;
      readonly exception?: { readonly reason: string; readonly type: number };
    }
  | { readonly kind: "bootstrap"; readonly questionId: number }
  | { readonly kind: "finish"; readonly questionId: number }
  | { readonly kind: "release"; readonly id: number; readonly count: number }
  | { readonly kind: "abort"; readonly reason: string }
  | { readonly kind: "unimplemented"; readonly which: number; readonly questionId: number | undefined }
  | { readonly kind: "other"; readonly which: number };

interface StructRef {
  readonly data: number;
  readonly dataBytes: number;
  readonly ptrs: number;
  readonly ptrCount: number;
}

/** Bounds-checked reads of an envelope in one segment. Malformed input throws ProtocolError. */
class Reader {
  readonly dv: DataView;
  constructor(readonly buf: ArrayBuffer) {
    this.dv = new DataView(buf);
  }

  /** The struct a pointer at `at` points to; undefined for a null pointer. */
  struct(at: number): StructRef | undefined {
    this.check(at, 8);
    const lo = this.dv.getUint32(at, true);
    const hi = this.dv.getUint32(at + 4, true);
    if (lo === 0 && hi === 0) return undefined;
    if ((lo & 3) !== 0) throw new ProtocolError(`expected a struct pointer in the RPC envelope (kind ${lo & 3})`);
    const data = at + 8 + (lo >> 2) * 8;
    const dataWords = hi & 0xffff;
    const ptrCount = hi >>> 16;
    this.check(data, (dataWords + ptrCount) * 8);
    return { data, dataBytes: dataWords * 8, ptrs: data + dataWords * 8, ptrCount };
  }

  /** Where pointer `i` of `s` is, or -1 if the struct has no such pointer (it reads as null). */
  ptr(s: StructRef, i: number): number {
    return i < s.ptrCount ? s.ptrs + 8 * i : -1;
  }

  child(s: StructRef, i: number): StructRef | undefined {
    const p = this.ptr(s, i);
    return p < 0 ? undefined : this.struct(p);
  }

  u8(s: StructRef, off: number): number {
    return off + 1 <= s.dataBytes ? this.dv.getUint8(s.data + off) : 0;
  }
  u16(s: StructRef, off: number): number {
    return off + 2 <= s.dataBytes ? this.dv.getUint16(s.data + off, true) : 0;
  }
  u32(s: StructRef, off: number): number {
    return off + 4 <= s.dataBytes ? this.dv.getUint32(s.data + off, true) : 0;
  }
  u64(s: StructRef, off: number): bigint {
    return off + 8 <= s.dataBytes ? this.dv.getBigUint64(s.data + off, true) : 0n;
  }

  /** The elements of a composite list (a List of structs) at pointer `at`. */
  structList(at: number): StructRef[] {
    if (at < 0) return [];
    this.check(at, 8);
    const lo = this.dv.getUint32(at, true);
    const hi = this.dv.getUint32(at + 4, true);
    if (lo === 0 && hi === 0) return [];
    if ((lo & 3) !== 1 || (hi & 7) !== 7) throw new ProtocolError("expected a list of structs in the RPC envelope");
    const tag = at + 8 + (lo >> 2) * 8;
    const words = hi >>> 3;
    this.check(tag, 8 + words * 8);
    const tlo = this.dv.getUint32(tag, true);
    const count = tlo >>> 2;
    const dataWords = this.dv.getUint16(tag + 4, true);
    const ptrCount = this.dv.getUint16(tag + 6, true);
    const size = dataWords + ptrCount;
    if ((tlo & 3) !== 0 || count * size > words) throw new ProtocolError("malformed struct list in the RPC envelope");
    const out: StructRef[] = [];
    for (let i = 0; i < count; i++) {
      const data = tag + 8 + i * size * 8;
      out.push({ data, dataBytes: dataWords * 8, ptrs: data + dataWords * 8, ptrCount });
    }
    return out;
  }

  /** A Text pointer's string ("" for null). */
  text(at: number): string {
    if (at < 0) return "";
    this.check(at, 8);
    const lo = this.dv.getUint32(at, true);
    const hi = this.dv.getUint32(at + 4, true);
    if (lo === 0 && hi === 0) return "";
    if ((lo & 3) !== 1 || (hi & 7) !== 2) throw new ProtocolError("expected text in the RPC envelope");
    const start = at + 8 + (lo >> 2) * 8;
    const len = hi >>> 3;
    this.check(start, len);
    const bytes = new Uint8Array(this.buf, start, len);
    return new TextDecoder().decode(len > 0 && bytes[len - 1] === 0 ? bytes.subarray(0, len - 1) : bytes);
  }

  private check(off: number, len: number): void {
    if (off < 0 || off + len > this.buf.byteLength || !Number.isInteger(off)) {
      throw new ProtocolError("a pointer in the RPC envelope points outside the message");
    }
  }
}

/** Decodes the envelope of a one-segment message. */
export function readEnvelope(segment: ArrayBuffer): Envelope {
  const r = new Reader(segment);
  const root = r.struct(0);
  if (root === undefined) throw new ProtocolError("empty RPC message");
  return readMessage(r, root, true);
}

function readMessage(r: Reader, msg: StructRef, top: boolean): Envelope {
  const which = r.u16(msg, 0);
  const member = (): StructRef => {
    const s = r.child(msg, 0);
    if (s === undefined) throw new ProtocolError(`RPC message of kind ${which} has no body`);
    return s;
  };
  switch (which) {
    case MSG_CALL: {
      const c = member();
      const tgt = r.child(c, 0);
      if (tgt === undefined) throw new ProtocolError("call without a target");
      let target: CallTarget;
      const tw = r.u16(tgt, 4);
      if (tw === 0) {
        target = { importId: r.u32(tgt, 0) };
      } else if (tw === 1) {
        const pa = r.child(tgt, 0);
        if (pa === undefined) throw new ProtocolError("promised-answer target without an answer");
        const transform: PipelineOp[] = [];
        for (const op of r.structList(r.ptr(pa, 0))) {
          if (r.u16(op, 0) === 1) transform.push({ field: r.u16(op, 2) });
        }
        target = { questionId: r.u32(pa, 0), transform };
      } else {
        throw new ProtocolError(`unknown call target kind ${tw}`);
      }
      if (r.u16(c, 6) !== 0) throw new ProtocolError("calls must send their results to the caller");
      return {
        kind: "call",
        questionId: r.u32(c, 0),
        methodId: r.u16(c, 4),
        interfaceId: r.u64(c, 8),
        target,
        params: readPayload(r, r.child(c, 1)),
      };
    }
    case MSG_RETURN: {
      const ret = member();
      const w = r.u16(ret, 6);
      const base = { kind: "return" as const, answerId: r.u32(ret, 0), noFinishNeeded: (r.u8(ret, 4) & 2) !== 0, which: w };
      if (w === RETURN_RESULTS) return { ...base, results: readPayload(r, r.child(ret, 0)) };
      if (w === RETURN_EXCEPTION) {
        const ex = r.child(ret, 0);
        return { ...base, exception: ex === undefined ? { reason: "", type: 0 } : { reason: r.text(r.ptr(ex, 0)), type: r.u16(ex, 4) } };
      }
      return base;
    }
    case MSG_BOOTSTRAP:
      return { kind: "bootstrap", questionId: r.u32(member(), 0) };
    case MSG_FINISH:
      return { kind: "finish", questionId: r.u32(member(), 0) };
    case MSG_RELEASE: {
      const rel = member();
      return { kind: "release", id: r.u32(rel, 0), count: r.u32(rel, 4) };
    }
    case MSG_ABORT: {
      const ex = r.child(msg, 0);
      return { kind: "abort", reason: ex === undefined ? "" : r.text(r.ptr(ex, 0)) };
    }
    case MSG_UNIMPLEMENTED: {
      // The echo of something we sent: only which kind it was, and a call's question id, matter.
      if (!top) return { kind: "other", which };
      const inner = r.child(msg, 0);
      const innerWhich = inner === undefined ? -1 : r.u16(inner, 0);
      const innerCall = inner !== undefined && innerWhich === MSG_CALL ? r.child(inner, 0) : undefined;
      return { kind: "unimplemented", which: innerWhich, questionId: innerCall === undefined ? undefined : r.u32(innerCall, 0) };
    }
    default:
      return { kind: "other", which };
  }
}

function readPayload(r: Reader, p: StructRef | undefined): PayloadIn {
  if (p === undefined) return { content: -1, caps: [] };
  const caps = r.structList(r.ptr(p, 1)).map((d) => ({
    which: r.u16(d, 0),
    attachedFd: r.u8(d, 2) ^ NO_FD,
    id: r.u32(d, 4),
  }));
  return { content: r.ptr(p, 0), caps };
}
