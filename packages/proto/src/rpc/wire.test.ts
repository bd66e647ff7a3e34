import { Message, utils } from "capnp-es";
import { Message as RpcMessage, Return_Which } from "capnp-es/capnp/rpc";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "./errors.js";
import {
  CAP_RECEIVER_HOSTED,
  CAP_SENDER_HOSTED,
  NO_FD,
  contentPointer,
  readEnvelope,
  setNoFinishNeeded,
  writeAbort,
  writeBootstrap,
  writeCall,
  writeCapTable,
  writeCapabilityContent,
  writeFinish,
  writeRelease,
  writeReturnException,
  writeReturnResults,
} from "./wire.js";
import { Echo_Echo$Params } from "../gen/testing.js";

/** The one segment of a message, as the receiver gets it. */
function bytesOf(m: Message): ArrayBuffer {
  const seg = m.getSegment(0);
  return seg.buffer.slice(0, seg.byteLength);
}

/** The reference decoder: capnp-es's generic rpc.capnp classes. */
function reference(buf: ArrayBuffer): RpcMessage {
  return new Message(buf, false, true).getRoot(RpcMessage);
}

describe("wire: our envelopes read back the same through capnp-es's rpc.capnp classes", () => {
  it("Call to an imported capability, with params and a cap table", () => {
    const env = writeCall(7, 0x1234_5678_9abc_def0n, 3, { importId: 42 });
    // Build params the way placeParams does: a struct at the content pointer.
    const p = contentPointer(env);
    const params = new Echo_Echo$Params(p.segment, p.byteOffset);
    utils.initStruct(Echo_Echo$Params._capnp.size, params);
    params.value = 0xdeadn;
    writeCapTable(env, [
      { which: CAP_SENDER_HOSTED, id: 5, attachedFd: NO_FD },
      { which: 0, id: 0, attachedFd: 0 },
    ]);
    const ref = reference(bytesOf(env.message));
    expect(ref.which()).toBe(2);
    const call = ref.call;
    expect(call.questionId).toBe(7);
    expect(call.interfaceId).toBe(0x1234_5678_9abc_def0n);
    expect(call.methodId).toBe(3);
    expect(call.target.importedCap).toBe(42);
    expect(call.sendResultsTo.which()).toBe(0);
    const caps = call.params.capTable;
    expect(caps.length).toBe(2);
    expect(caps.get(0).senderHosted).toBe(5);
    expect(caps.get(0).attachedFd).toBe(255);
    expect(caps.get(1).attachedFd).toBe(0);
    expect(new Echo_Echo$Params(call.params.content.segment, call.params.content.byteOffset).value).toBe(0xdeadn);

    const ours = readEnvelope(bytesOf(env.message));
    expect(ours).toMatchObject({ kind: "call", questionId: 7, methodId: 3, interfaceId: 0x1234_5678_9abc_def0n, target: { importId: 42 } });
  });

  it("Call to a promised answer with a transform", () => {
    const env = writeCall(9, 1n, 0, { questionId: 4, transform: [{ field: 2 }, { field: 0 }] });
    const ref = reference(bytesOf(env.message)).call;
    expect(ref.target.promisedAnswer.questionId).toBe(4);
    expect(ref.target.promisedAnswer.transform.length).toBe(2);
    expect(ref.target.promisedAnswer.transform.get(0).getPointerField).toBe(2);
    const ours = readEnvelope(bytesOf(env.message));
    expect(ours).toMatchObject({ kind: "call", target: { questionId: 4, transform: [{ field: 2 }, { field: 0 }] } });
  });

  it("Return with results, noFinishNeeded and releaseParamCaps = false", () => {
    const env = writeReturnResults(11);
    writeCapTable(env, [{ which: CAP_RECEIVER_HOSTED, id: 3, attachedFd: NO_FD }]);
    setNoFinishNeeded(env);
    const ref = reference(bytesOf(env.message)).return;
    expect(ref.answerId).toBe(11);
    expect(ref.which()).toBe(Return_Which.RESULTS);
    expect(ref.noFinishNeeded).toBe(true);
    expect(ref.releaseParamCaps).toBe(false);
    expect(ref.results.capTable.get(0).receiverHosted).toBe(3);
    const ours = readEnvelope(bytesOf(env.message));
    expect(ours).toMatchObject({ kind: "return", answerId: 11, noFinishNeeded: true, which: 0 });
  });

  it("Return with a capability as content (bootstrap)", () => {
    const env = writeReturnResults(0);
    writeCapabilityContent(env, 0);
    writeCapTable(env, [{ which: CAP_SENDER_HOSTED, id: 0, attachedFd: NO_FD }]);
    const ref = reference(bytesOf(env.message)).return;
    expect(ref.results.content.segment.getUint32(ref.results.content.byteOffset)).toBe(3);
  });

  it("Return with an exception, Abort, Bootstrap, Finish and Release", () => {
    const ex = reference(bytesOf(writeReturnException(5, "no such file ✓", 3))).return;
    expect(ex.which()).toBe(Return_Which.EXCEPTION);
    expect(ex.exception.reason).toBe("no such file ✓");
    expect(ex.exception.type).toBe(3);
    expect(readEnvelope(bytesOf(writeReturnException(5, "x", 1)))).toMatchObject({ kind: "return", exception: { reason: "x", type: 1 } });

    expect(reference(bytesOf(writeAbort("bye", 2))).abort.reason).toBe("bye");
    expect(readEnvelope(bytesOf(writeAbort("bye", 2)))).toEqual({ kind: "abort", reason: "bye" });

    expect(reference(bytesOf(writeBootstrap(77))).bootstrap.questionId).toBe(77);
    expect(readEnvelope(bytesOf(writeBootstrap(77)))).toEqual({ kind: "bootstrap", questionId: 77 });

    const fin = reference(bytesOf(writeFinish(8))).finish;
    expect(fin.questionId).toBe(8);
    expect(fin.releaseResultCaps).toBe(false);
    expect(readEnvelope(bytesOf(writeFinish(8)))).toEqual({ kind: "finish", questionId: 8 });

    const rel = reference(bytesOf(writeRelease(3, 9))).release;
    expect([rel.id, rel.referenceCount]).toEqual([3, 9]);
    expect(readEnvelope(bytesOf(writeRelease(3, 9)))).toEqual({ kind: "release", id: 3, count: 9 });
  });

  it("reads what capnp-es's generic classes write", () => {
    const m = new Message();
    const call = m.initRoot(RpcMessage)._initCall();
    call.questionId = 99;
    call.methodId = 4;
    call.interfaceId = 5n;
    const pa = call._initTarget()._initPromisedAnswer();
    pa.questionId = 2;
    pa._initTransform(1).get(0).getPointerField = 1;
    const caps = call._initParams()._initCapTable(1);
    caps.get(0).senderHosted = 12;
    caps.get(0).attachedFd = 0;
    const env = readEnvelope(bytesOf(m));
    expect(env).toMatchObject({
      kind: "call",
      questionId: 99,
      methodId: 4,
      interfaceId: 5n,
      target: { questionId: 2, transform: [{ field: 1 }] },
      params: { caps: [{ which: CAP_SENDER_HOSTED, id: 12, attachedFd: 0 }] },
    });
  });

  it("reports an echoed call in Unimplemented with its question id", () => {
    const m = new Message();
    const inner = m.initRoot(RpcMessage)._initUnimplemented()._initCall();
    inner.questionId = 31;
    expect(readEnvelope(bytesOf(m))).toEqual({ kind: "unimplemented", which: 2, questionId: 31 });
  });
});

describe("wire: malformed envelopes are protocol errors", () => {
  const word = (lo: number, hi: number) => {
    const b = new ArrayBuffer(8);
    const dv = new DataView(b);
    dv.setUint32(0, lo, true);
    dv.setUint32(4, hi, true);
    return b;
  };
  const concat = (...bufs: ArrayBuffer[]) => {
    const out = new Uint8Array(bufs.reduce((n, b) => n + b.byteLength, 0));
    let o = 0;
    for (const b of bufs) {
      out.set(new Uint8Array(b), o);
      o += b.byteLength;
    }
    return out.buffer;
  };

  it("rejects an empty message", () => {
    expect(() => readEnvelope(word(0, 0))).toThrow(ProtocolError);
  });
  it("rejects a root pointer that points outside the segment", () => {
    expect(() => readEnvelope(word(100 << 2, 1 | (1 << 16)))).toThrow(/outside the message/);
    expect(() => readEnvelope(word((-5 << 2) >>> 0, 1))).toThrow(/outside the message/);
  });
  it("rejects far pointers and lists where structs belong", () => {
    expect(() => readEnvelope(word(2, 0))).toThrow(/struct pointer/);
    expect(() => readEnvelope(word(1, 0))).toThrow(/struct pointer/);
  });
  it("rejects a call without a body or a target", () => {
    // Message{which=call} with a null member pointer.
    const msg = concat(word(0, 1 | (1 << 16)), word(2, 0), word(0, 0));
    expect(() => readEnvelope(msg)).toThrow(/no body/);
  });
  it("rejects a cap table whose tag claims more elements than the list holds", () => {
    const env = writeReturnResults(1);
    writeCapTable(env, [{ which: 1, id: 1, attachedFd: NO_FD }]);
    const buf = bytesOf(env.message);
    const dv = new DataView(buf);
    // The tag word is 16 bytes before the end (tag + one 16-byte element): claim 1000 elements.
    dv.setUint32(buf.byteLength - 24, 1000 << 2, true);
    expect(() => readEnvelope(buf)).toThrow(/malformed struct list/);
  });
  it("never throws anything but ProtocolError on random bytes", () => {
    let seed = 99;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const base = new Uint8Array(bytesOf(writeCall(1, 2n, 3, { questionId: 4, transform: [{ field: 1 }] }).message));
    for (let i = 0; i < 3000; i++) {
      const b = base.slice();
      for (let k = 0; k < 1 + (rand() % 6); k++) b[rand() % b.length] = rand() & 0xff;
      try {
        readEnvelope(b.buffer);
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
      }
    }
  });
});
