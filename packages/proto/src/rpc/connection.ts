/**
 * A Cap'n Proto RPC connection over an FdStream: our own lean engine speaking rpc.capnp's
 * Message format, driving the client and server classes that capnp-es generates.
 *
 * Why not capnp-es's own Conn: it allocates heavily per message, hung on promise pipelining in
 * our tests, and has no way to attach FDs. This engine implements the part of level 1 that our
 * processes use:
 *
 *   Bootstrap, Call (to an imported capability or a promised answer, i.e. pipelining), Return
 *   (results or exception), Finish, Release, Abort; capabilities in params and results
 *   (senderHosted, receiverHosted) and host FDs as capabilities (attachedFd).
 *
 * It never sends a promise capability (senderPromise), so Resolve and Disembargo never arise;
 * messages it does not implement are answered with Unimplemented, as the protocol asks.
 *
 * Lifetimes: a question lives from Call until its Return has been handled (and Finish sent); an
 * answer from Call until Finish (or until Return when the results hold no capability, where the
 * callee sets `noFinishNeeded`). An export lives while the peer holds references to it (each
 * time it is sent counts one; Release subtracts); an import until its client is closed or
 * garbage collected, which sends Release.
 *
 * Concurrency: everything runs on the event loop of the thread that owns the stream. Handlers
 * are async and may complete in any order; Returns go out as they complete.
 */
import {
  type Call,
  type Client,
  type Method,
  type Server,
  type ServerMethod,
  type StructCtor,
  Message,
  ObjectSize,
  Pointer,
  PointerType,
  Struct,
  placeParams,
  utils,
} from "capnp-es";
import { Message as RpcMessage } from "capnp-es/capnp/rpc";
import type { Answer, PipelineOp } from "./capnp-types.js";
import type { FdStream } from "../transport/fd-stream.js";
import { type Frame, type FrameLimits, FrameDecoder, encodeFrameHeader } from "../transport/frame.js";
import { DisconnectedError, ProtocolError, RpcError, rpcErrorTypeFromWire, rpcErrorTypeToWire } from "./errors.js";
import { type CloseFd, FdCapability, failedAnswer } from "./host-fd.js";
import {
  CAP_NONE,
  CAP_RECEIVER_HOSTED,
  CAP_SENDER_HOSTED,
  type CallTarget,
  type CapDesc,
  type Envelope,
  NO_FD,
  type OutEnvelope,
  type PayloadIn,
  RETURN_EXCEPTION,
  RETURN_RESULTS,
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

/** Optional observer for connection events (a pino logger fits). */
export interface RpcLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ConnectionOptions {
  /** The capability a peer's bootstrap() gets. Without it, bootstrap requests fail. */
  readonly bootstrap?: Server;
  /** Closes host FDs (platform's native close); needed to dispose of FDs nobody took. */
  readonly closeFd: CloseFd;
  readonly limits?: Partial<FrameLimits>;
  readonly logger?: RpcLogger;
}

/** A local capability exported to the peer. */
interface Export {
  readonly id: number;
  readonly target: Client;
  /** References the peer holds (times sent minus Release counts). */
  refs: number;
}

/** A capability of the peer's that we hold. */
interface Import {
  readonly id: number;
  /** References received and not yet released. */
  refs: number;
  client: WeakRef<ImportClient>;
}

type AnswerState = "pending" | "returned" | "failed";

/** An incoming call (or bootstrap) being answered. */
interface AnswerEntry {
  readonly id: number;
  state: AnswerState;
  /** The results struct, once returned (its message's cap table holds the result caps). */
  results?: Struct;
  /** For bootstrap answers: the capability itself. */
  cap?: Client;
  error?: Error;
  /** Pipelined calls that arrived before the answer was ready. */
  queue: Array<() => void>;
  finished: boolean;
}

/** An outgoing call awaiting its Return. */
class Question<R extends Struct> {
  state: "pending" | "returned" | "failed" = "pending";
  results?: R;
  /** A bootstrap question's answer: the capability itself. */
  cap?: Client;
  error?: Error;
  private readonly waiters: Array<[(r: R) => void, (e: Error) => void]> = [];
  /** Capabilities pipelined on before the Return, closed once it arrives. */
  readonly pendingCloses: PipelineOp[][] = [];

  constructor(
    readonly conn: RpcConnection,
    readonly id: number,
    readonly ResultsClass: StructCtor<R> | undefined,
  ) {}

  wait(): Promise<R> {
    if (this.state === "returned") return Promise.resolve(this.results as R);
    if (this.state === "failed") return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.waiters.push([resolve, reject]));
  }

  resolve(r: R): void {
    this.state = "returned";
    this.results = r;
    for (const [res] of this.waiters.splice(0)) res(r);
  }

  reject(e: Error): void {
    this.state = "failed";
    this.error = e;
    for (const [, rej] of this.waiters.splice(0)) rej(e);
  }
}

/** The Answer a remote call returns: awaitable, and a target for pipelined calls. */
class RemoteAnswer<R extends Struct> implements Answer<R> {
  constructor(readonly question: Question<R>) {}

  struct(): Promise<R> {
    return this.question.wait();
  }

  pipelineCall<P2 extends Struct, R2 extends Struct>(transform: PipelineOp[], call: Call<P2, R2>): Answer<R2> {
    const q = this.question;
    if (q.state === "pending") return q.conn.sendCall({ questionId: q.id, transform }, call);
    if (q.state === "failed") return failedAnswer(q.error ?? new RpcError("call failed"));
    return capabilityAt(q.results as R, transform).call(call);
  }

  pipelineClose(transform: PipelineOp[]): void {
    const q = this.question;
    if (q.state === "pending") q.pendingCloses.push(transform);
    else if (q.state === "returned") capabilityAt(q.results as R, transform).close();
  }
}

/** A capability the peer hosts. */
export class ImportClient implements Client {
  closed = false;
  constructor(
    readonly conn: RpcConnection,
    readonly importId: number,
  ) {}

  call<P extends Struct, R extends Struct>(call: Call<P, R>): Answer<R> {
    if (this.closed && !this.conn.isClosed) return failedAnswer(new RpcError("call on a released capability"));
    return this.conn.sendCall({ importId: this.importId }, call);
  }

  /** Releases our references to the peer's object. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.releaseImport(this.importId, this);
  }
}

/** The bootstrap capability before (and after) the peer's answer arrives. */
class BootstrapClient implements Client {
  constructor(private readonly question: Question<Struct>) {}

  call<P extends Struct, R extends Struct>(call: Call<P, R>): Answer<R> {
    const q = this.question;
    if (q.state === "pending") return q.conn.sendCall({ questionId: q.id, transform: [] }, call);
    if (q.state === "failed") return failedAnswer(q.error ?? new RpcError("bootstrap failed"));
    return (q.cap ?? nullCapability).call(call);
  }

  close(): void {
    const q = this.question;
    if (q.state === "pending") q.pendingCloses.push([]);
    else if (q.state === "returned") q.cap?.close();
  }
}

/** Finds the capability at `transform` inside a results struct. */
function capabilityAt(results: Struct, transform: readonly PipelineOp[]): Client {
  let p: Pointer = results;
  for (const op of transform) {
    if (utils.getTargetPointerType(p) !== PointerType.STRUCT) {
      throw new RpcError("pipelined call through a field that is not a struct");
    }
    p = utils.getPointer(op.field, p as Struct);
  }
  return capabilityOfPointer(p);
}

/**
 * Reads an interface pointer (capnp-es's own getter returns cap table entry 0 for a null
 * pointer; we check the pointer kind first).
 */
function capabilityOfPointer(p: Pointer): Client {
  if (utils.isNull(p)) return nullCapability;
  if (utils.getTargetPointerType(p) !== PointerType.OTHER) throw new RpcError("expected a capability pointer");
  return utils.getInterfaceClientOrNull(p);
}

const nullCapability: Client = {
  call: <P extends Struct, R extends Struct>(call: Call<P, R>) =>
    failedAnswer<R>(new RpcError(`${call.method.methodName ?? "call"} on a null capability`)),
  close: () => {},
};

/**
 * The struct behind a received Payload's content pointer (at byte `at` of the message's one
 * segment), as `Class`. A null or absent pointer reads as an empty struct, as capnp does.
 */
function contentAs<T extends Struct>(Class: StructCtor<T>, m: Message, at: number): T {
  const seg = m.getSegment(0);
  if (at < 0 || seg.isWordZero(at)) return new Message().initRoot(Class);
  const dv = new DataView(seg.buffer);
  if ((dv.getUint32(at, true) & 3) !== 0) throw new ProtocolError("payload content is not a struct");
  return new Class(seg, at);
}

/** Limits on ids the peer chooses, so tables stay bounded. */
const MAX_TABLE_SIZE = 1 << 20;

export class RpcConnection {
  private readonly stream: FdStream;
  private readonly options: ConnectionOptions;
  private readonly decoder: FrameDecoder;
  private readonly log: RpcLogger | undefined;

  private readonly questions = new Map<number, Question<Struct>>();
  private nextQuestionId = 0;
  private readonly freeQuestionIds: number[] = [];

  private readonly answers = new Map<number, AnswerEntry>();

  private readonly exports = new Map<number, Export>();
  private readonly exportIds = new Map<Client, number>();
  private nextExportId = 0;
  private readonly freeExportIds: number[] = [];

  private readonly imports = new Map<number, Import>();
  private readonly importFinalizer = new FinalizationRegistry<number>((id) => this.onImportCollected(id));

  private closedError: Error | undefined;
  private readonly closeWaiters: Array<(e: Error | undefined) => void> = [];
  private ended = false;

  constructor(stream: FdStream, options: ConnectionOptions) {
    this.stream = stream;
    this.options = options;
    this.log = options.logger;
    this.decoder = new FrameDecoder(options.limits);
    stream.start({
      data: (bytes, fds) => this.onData(bytes, fds),
      end: (err) => this.onEnd(err),
    });
  }

  /** True once the connection has ended for any reason. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Resolves when the connection ends: undefined for an orderly close, else the reason. */
  closed(): Promise<Error | undefined> {
    if (this.ended) return Promise.resolve(this.closedError);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Counts of live table entries, for tests and leak checks. */
  stats(): { questions: number; answers: number; exports: number; imports: number } {
    return {
      questions: this.questions.size,
      answers: this.answers.size,
      exports: this.exports.size,
      imports: this.imports.size,
    };
  }

  /**
   * Asks the peer for its bootstrap capability. Calls may be made on the result at once; they
   * are pipelined on the bootstrap answer.
   */
  bootstrap<C>(ClientClass: new (client: Client) => C): C {
    if (this.ended) return new ClientClass(new ErrorCapability(this.disconnected()));
    const q = this.newQuestion(undefined);
    this.send(writeBootstrap(q.id), []);
    return new ClientClass(new BootstrapClient(q));
  }

  /** Closes the connection: pending calls fail, exports are released. Idempotent. */
  close(reason?: Error): void {
    this.shutdown(reason);
  }

  // ---- Outgoing calls -------------------------------------------------------------------------

  /** @internal Sends a call to a capability of the peer's. */
  sendCall<P extends Struct, R extends Struct>(target: CallTarget, call: Call<P, R>): Answer<R> {
    if (this.ended) return failedAnswer(this.disconnected());
    const method: Method<P, R> = call.method;
    const q = this.newQuestion(method.ResultsClass);
    const env = writeCall(q.id, method.interfaceId, method.methodId, target);
    let fds: number[];
    try {
      if ("params" in call) throw new RpcError("calls with prebuilt params are not supported; use a params function");
      placeParams(call, contentPointer(env));
      fds = this.finishCapTable(env);
    } catch (e) {
      this.discardOutgoing(env.message);
      this.releaseQuestion(q.id);
      return failedAnswer(e instanceof Error ? e : new Error(String(e)));
    }
    this.send(env.message, fds);
    return new RemoteAnswer(q as Question<R>);
  }

  /** @internal Drops one import client: sends Release for the references it held. */
  releaseImport(id: number, client: ImportClient): void {
    const imp = this.imports.get(id);
    if (imp === undefined || imp.client.deref() !== client) return;
    this.imports.delete(id);
    this.importFinalizer.unregister(client);
    if (!this.ended) this.send(writeRelease(id, imp.refs), []);
  }

  private onImportCollected(id: number): void {
    const imp = this.imports.get(id);
    if (imp === undefined || imp.client.deref() !== undefined) return;
    this.imports.delete(id);
    if (!this.ended) this.send(writeRelease(id, imp.refs), []);
  }

  private newQuestion<R extends Struct>(ResultsClass: StructCtor<R> | undefined): Question<R> {
    const id = this.freeQuestionIds.pop() ?? this.nextQuestionId++;
    const q = new Question<R>(this, id, ResultsClass);
    this.questions.set(id, q as unknown as Question<Struct>);
    return q;
  }

  private releaseQuestion(id: number): void {
    if (this.questions.delete(id)) this.freeQuestionIds.push(id);
  }

  // ---- Sending ----------------------------------------------------------------------------------

  /** Sends a one-segment message as one frame (a gather write: the segment is not copied). */
  private send(m: Message, fds: number[]): void {
    if (this.ended) {
      for (const fd of fds) this.options.closeFd(fd);
      return;
    }
    const seg = m.getSegment(0);
    const header = encodeFrameHeader([seg.byteLength], fds.length);
    this.stream.write([header, new Uint8Array(seg.buffer, 0, seg.byteLength)], fds);
  }

  /**
   * Writes the envelope's cap table from the capabilities the params or results builder added
   * to the message, and returns the FDs to attach (ownership moves from their FdCapability).
   */
  private finishCapTable(env: OutEnvelope): number[] {
    const table = env.message._capnp.capTable;
    const fds: number[] = [];
    if (table === undefined || table.length === 0) return fds;
    writeCapTable(env, table.map((c) => this.describeCap(c ?? null, fds)));
    return fds;
  }

  private describeCap(client: Client | null, fds: number[]): CapDesc {
    if (client === null) return { which: CAP_NONE, id: 0, attachedFd: NO_FD };
    if (client instanceof FdCapability) {
      const fd = client.take();
      if (fd < 0) throw new RpcError("an FD capability was sent twice (its FD is already gone)");
      fds.push(fd);
      return { which: CAP_NONE, id: 0, attachedFd: fds.length - 1 };
    }
    if (client instanceof ImportClient) {
      if (client.conn !== this) throw new RpcError("capabilities from another connection cannot be passed on");
      if (client.closed) throw new RpcError("a released capability cannot be passed on");
      return { which: CAP_RECEIVER_HOSTED, id: client.importId, attachedFd: NO_FD };
    }
    if (client instanceof BootstrapClient || client instanceof ErrorCapability || client === nullCapability) {
      throw new RpcError("an unresolved or broken capability cannot be passed on");
    }
    return { which: CAP_SENDER_HOSTED, id: this.exportCap(client), attachedFd: NO_FD };
  }

  private exportCap(target: Client): number {
    let id = this.exportIds.get(target);
    if (id !== undefined) {
      const e = this.exports.get(id);
      if (e !== undefined) e.refs++;
      return id;
    }
    id = this.freeExportIds.pop() ?? this.nextExportId++;
    this.exports.set(id, { id, target, refs: 1 });
    this.exportIds.set(target, id);
    return id;
  }

  private dropExport(e: Export): void {
    this.exports.delete(e.id);
    this.exportIds.delete(e.target);
    this.freeExportIds.push(e.id);
    notifyReleased(e.target);
  }

  /** Closes FDs still held by FD capabilities of a message that will not be sent. */
  private discardOutgoing(m: Message): void {
    this.disposeFds(m);
  }

  // ---- Receiving --------------------------------------------------------------------------------

  private onData(bytes: Uint8Array, fds: number[]): void {
    if (this.ended) {
      for (const fd of fds) this.options.closeFd(fd);
      return;
    }
    let frames: Frame[];
    try {
      frames = this.decoder.push(bytes, fds);
    } catch (e) {
      this.abort(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    for (const f of frames) {
      if (this.ended) {
        for (const fd of f.fds) this.options.closeFd(fd);
        continue;
      }
      try {
        this.handleFrame(f);
      } catch (e) {
        this.abort(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private onEnd(err?: Error): void {
    if (this.ended) return;
    if (err !== undefined) {
      this.shutdown(new DisconnectedError(`connection failed: ${err.message}`, { cause: err }));
    } else if (this.decoder.bufferedBytes > 0) {
      this.shutdown(new DisconnectedError(`peer closed the connection in the middle of a frame (${this.decoder.bufferedBytes} bytes buffered)`));
    } else {
      this.shutdown(undefined);
    }
  }

  private handleFrame(frame: Frame): void {
    const fdsUsed = new Set<number>();
    let m: Message | undefined;
    try {
      const seg = frame.segments[0];
      if (frame.segments.length !== 1 || seg === undefined) {
        throw new ProtocolError(`RPC messages are one segment; this one has ${frame.segments.length}`);
      }
      const env = readEnvelope(seg);
      if (env.kind === "call" || env.kind === "return") {
        m = new Message(seg, false, true);
        const payload = env.kind === "call" ? env.params : env.results;
        if (payload !== undefined) this.readCapTable(m, payload, frame.fds, fdsUsed);
      }
      this.handleEnvelope(env, m, frame);
    } catch (e) {
      // FDs named by the cap table are owned by their FdCapability objects; close the rest.
      if (m !== undefined) this.disposeFds(m);
      frame.fds.forEach((fd, i) => {
        if (!fdsUsed.has(i)) this.options.closeFd(fd);
      });
      throw e;
    }
    // Any FD the frame carried that no cap descriptor named is a protocol violation.
    if (frame.fds.length !== fdsUsed.size) {
      frame.fds.forEach((fd, i) => {
        if (!fdsUsed.has(i)) this.options.closeFd(fd);
      });
      throw new ProtocolError(`frame carried ${frame.fds.length} FDs but its cap table named ${fdsUsed.size}`);
    }
  }

  private handleEnvelope(env: Envelope, m: Message | undefined, frame: Frame): void {
    switch (env.kind) {
      case "call":
        this.handleCall(env, m as Message);
        break;
      case "return":
        this.handleReturn(env, m as Message);
        break;
      case "bootstrap":
        this.handleBootstrap(env.questionId);
        break;
      case "finish":
        this.handleFinish(env.questionId);
        break;
      case "release":
        this.handleRelease(env.id, env.count);
        break;
      case "abort":
        this.shutdown(new DisconnectedError(`peer aborted the connection: ${env.reason}`));
        break;
      case "unimplemented":
        this.handleUnimplemented(env.which, env.questionId);
        break;
      case "other":
        this.sendUnimplemented(frame);
        break;
    }
  }

  /** Builds the clients of a received payload's cap table into the message's cap table. */
  private readCapTable(m: Message, payload: PayloadIn, fds: readonly number[], used: Set<number>): void {
    const table: Array<Client | null> = [];
    for (const d of payload.caps) table.push(this.capOfDescriptor(d, fds, used));
    m._capnp.capTable = table;
  }

  private capOfDescriptor(d: CapDesc, fds: readonly number[], used: Set<number>): Client | null {
    if (d.attachedFd !== NO_FD) {
      const fd = fds[d.attachedFd];
      if (fd === undefined) throw new ProtocolError(`cap descriptor names attached FD ${d.attachedFd}, which the frame does not carry`);
      if (used.has(d.attachedFd)) throw new ProtocolError(`attached FD ${d.attachedFd} named twice`);
      used.add(d.attachedFd);
      if (d.which !== CAP_NONE) throw new ProtocolError("attached FDs are only supported on plain FD capabilities");
      return new FdCapability(fd);
    }
    switch (d.which) {
      case CAP_NONE:
        return null;
      case CAP_SENDER_HOSTED:
        return this.importCap(d.id);
      case CAP_RECEIVER_HOSTED: {
        const e = this.exports.get(d.id);
        if (e === undefined) throw new ProtocolError(`peer passed back export ${d.id}, which does not exist`);
        return e.target;
      }
      default:
        throw new ProtocolError(`unsupported capability descriptor kind ${d.which}`);
    }
  }

  private importCap(id: number): ImportClient {
    let imp = this.imports.get(id);
    let client = imp?.client.deref();
    if (imp !== undefined && client !== undefined) {
      imp.refs++;
      return client;
    }
    if (this.imports.size >= MAX_TABLE_SIZE) throw new ProtocolError("too many imports");
    client = new ImportClient(this, id);
    // A collected client's references have not been released yet; they carry over.
    const refs = imp !== undefined ? imp.refs + 1 : 1;
    imp = { id, refs, client: new WeakRef(client) };
    this.imports.set(id, imp);
    this.importFinalizer.register(client, id, client);
    return client;
  }

  private handleBootstrap(questionId: number): void {
    const entry = this.newAnswer(questionId);
    const boot = this.options.bootstrap;
    if (boot === undefined) {
      this.finishAnswer(entry, undefined, new RpcError("this peer offers no bootstrap capability"));
      return;
    }
    const env = writeReturnResults(questionId);
    writeCapabilityContent(env, env.message.addCap(boot));
    entry.cap = boot;
    this.finishAnswer(entry, { env, results: undefined }, undefined);
  }

  private handleCall(call: Extract<Envelope, { kind: "call" }>, m: Message): void {
    const entry = this.newAnswer(call.questionId);
    const run = (cap: Client | Error): void => this.dispatch(entry, cap, call, m);
    const target = call.target;
    if ("importId" in target) {
      const e = this.exports.get(target.importId);
      run(e?.target ?? new RpcError(`call to export ${target.importId}, which does not exist`));
      return;
    }
    const on = this.answers.get(target.questionId);
    if (on === undefined) {
      run(new RpcError(`pipelined call on answer ${target.questionId}, which does not exist`));
    } else if (on.state === "pending") {
      if (on.queue.length >= 4096) run(new RpcError("too many calls pipelined on one answer", "overloaded"));
      else on.queue.push(() => run(resolveAnswerCap(on, target.transform)));
    } else {
      run(resolveAnswerCap(on, target.transform));
    }
  }

  /** Runs a call against a local capability and sends its Return. */
  private dispatch(entry: AnswerEntry, cap: Client | Error, call: Extract<Envelope, { kind: "call" }>, callMsg: Message): void {
    const method = cap instanceof Error ? undefined : findMethod(cap, call.interfaceId, call.methodId);
    if (method === undefined) {
      const err =
        cap instanceof Error
          ? cap
          : new RpcError(`method ${call.methodId} of interface 0x${call.interfaceId.toString(16)} is not implemented here`, "unimplemented");
      this.disposeFds(callMsg);
      this.finishAnswer(entry, undefined, err);
      return;
    }
    const server = cap as Server;
    const env = writeReturnResults(entry.id);
    let results: Struct | undefined;
    let p: Promise<void>;
    try {
      const args = contentAs(method.ParamsClass, callMsg, call.params.content);
      // Build the results in place behind the Return's content pointer.
      const r = new method.ResultsClass(env.segment, env.payload);
      utils.initStruct(method.ResultsClass._capnp.size, r);
      results = r;
      p = method.impl.call(server.target, args, results);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => {
        this.disposeFds(callMsg);
        this.finishAnswer(entry, { env, results }, undefined);
      },
      (e: unknown) => {
        this.disposeFds(callMsg);
        this.discardOutgoing(env.message);
        this.finishAnswer(entry, undefined, e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /** Sends a Return for an answer and runs the calls pipelined on it. */
  private finishAnswer(entry: AnswerEntry, ok: { env: OutEnvelope; results: Struct | undefined } | undefined, err: Error | undefined): void {
    if (this.ended) {
      if (ok !== undefined) this.discardOutgoing(ok.env.message);
      return;
    }
    let fds: number[] = [];
    let m: Message;
    let retain: boolean;
    if (ok !== undefined) {
      try {
        fds = this.finishCapTable(ok.env);
      } catch (e) {
        this.discardOutgoing(ok.env.message);
        return this.finishAnswer(entry, undefined, e instanceof Error ? e : new Error(String(e)));
      }
      m = ok.env.message;
      entry.state = "returned";
      if (ok.results !== undefined) entry.results = ok.results;
      // Keep the answer until Finish only if a pipelined call could still target it.
      retain = (m._capnp.capTable?.length ?? 0) > 0;
      if (!retain) setNoFinishNeeded(ok.env);
    } else {
      const e = err ?? new RpcError("call failed");
      entry.state = "failed";
      entry.error = e;
      // Failed answers wait for Finish, so that calls pipelined on them fail with this error.
      retain = true;
      m = writeReturnException(entry.id, e.message, rpcErrorTypeToWire(e instanceof RpcError ? e.type : "failed"));
      this.log?.debug({ answerId: entry.id, err: e.message }, "rpc call failed");
    }
    if (!retain || entry.finished) this.answers.delete(entry.id);
    for (const run of entry.queue.splice(0)) run();
    this.send(m, fds);
  }

  private handleReturn(ret: Extract<Envelope, { kind: "return" }>, m: Message): void {
    const q = this.questions.get(ret.answerId);
    if (q === undefined) throw new ProtocolError(`return for question ${ret.answerId}, which is not outstanding`);
    if (!ret.noFinishNeeded) this.send(writeFinish(q.id), []);
    this.releaseQuestion(q.id);
    if (ret.which === RETURN_RESULTS && ret.results !== undefined) {
      if (q.ResultsClass === undefined) {
        // Bootstrap: the content is the capability itself.
        q.cap = bootstrapCap(m, ret.results.content);
        q.resolve(new Message().initRoot(EmptyStruct));
        for (const _ of q.pendingCloses.splice(0)) q.cap.close();
      } else {
        const results = contentAs(q.ResultsClass, m, ret.results.content);
        q.resolve(results);
        for (const t of q.pendingCloses.splice(0)) capabilityAt(results, t).close();
      }
      this.scheduleFdDisposal(m);
      return;
    }
    q.reject(
      ret.which === RETURN_EXCEPTION && ret.exception !== undefined
        ? new RpcError(ret.exception.reason, rpcErrorTypeFromWire(ret.exception.type))
        : new RpcError(`unsupported return kind ${ret.which}`),
    );
  }

  private handleFinish(questionId: number): void {
    const a = this.answers.get(questionId);
    if (a === undefined) return;
    a.finished = true;
    if (a.state !== "pending") this.answers.delete(questionId);
  }

  private handleRelease(id: number, count: number): void {
    const e = this.exports.get(id);
    if (e === undefined) throw new ProtocolError(`release of export ${id}, which does not exist`);
    if (count > e.refs) throw new ProtocolError(`release of ${count} references to export ${id}, which has ${e.refs}`);
    e.refs -= count;
    if (e.refs === 0) this.dropExport(e);
  }

  private handleUnimplemented(which: number, questionId: number | undefined): void {
    // The peer did not understand something we sent. Fail the question it belongs to.
    if (questionId !== undefined) {
      const q = this.questions.get(questionId);
      if (q !== undefined) {
        this.releaseQuestion(q.id);
        q.reject(new RpcError("the peer does not implement this call", "unimplemented"));
      }
      return;
    }
    this.log?.warn({ which }, "peer did not implement a message we sent");
  }

  /** Echoes a message we do not implement back inside Unimplemented, as rpc.capnp asks (rare). */
  private sendUnimplemented(frame: Frame): void {
    const original = new Message(frame.segments[0] as ArrayBuffer, false, true).getRoot(RpcMessage);
    const m = new Message();
    utils.copyFrom(original, m.initRoot(RpcMessage)._initUnimplemented());
    this.send(m, []);
  }

  private newAnswer(id: number): AnswerEntry {
    if (this.answers.has(id)) throw new ProtocolError(`question ${id} reused while still outstanding`);
    if (this.answers.size >= MAX_TABLE_SIZE) throw new ProtocolError("too many outstanding questions");
    const entry: AnswerEntry = { id, state: "pending", queue: [], finished: false };
    this.answers.set(id, entry);
    return entry;
  }

  /** Closes FDs of a message (received or unsent) that nobody took. */
  private disposeFds(m: Message): void {
    for (const c of m._capnp.capTable ?? []) {
      if (c instanceof FdCapability) c.dispose(this.options.closeFd);
    }
  }

  /** Results' FDs must be taken in the turn they arrive; after it, close what is left. */
  private scheduleFdDisposal(m: Message): void {
    if (!(m._capnp.capTable ?? []).some((c) => c instanceof FdCapability)) return;
    setImmediate(() => this.disposeFds(m));
  }

  // ---- Shutdown ---------------------------------------------------------------------------------

  private disconnected(): DisconnectedError {
    return this.closedError instanceof DisconnectedError
      ? this.closedError
      : new DisconnectedError(this.closedError ? `connection closed: ${this.closedError.message}` : "connection closed");
  }

  /** A protocol violation: tell the peer why, then close. */
  private abort(err: Error): void {
    if (this.ended) return;
    this.log?.warn({ err: err.message }, "rpc protocol error; aborting the connection");
    try {
      this.send(writeAbort(err.message, rpcErrorTypeToWire("failed")), []);
    } catch {
      // The stream may already be unusable; closing is all that is left.
    }
    this.shutdown(new DisconnectedError(`protocol error: ${err.message}`, { cause: err }));
  }

  private shutdown(reason: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.closedError = reason;
    const err = this.disconnected();
    for (const q of this.questions.values()) q.reject(err);
    this.questions.clear();
    for (const a of this.answers.values()) a.queue.length = 0;
    this.answers.clear();
    for (const e of [...this.exports.values()]) this.dropExport(e);
    for (const imp of this.imports.values()) {
      const c = imp.client.deref();
      if (c !== undefined) {
        c.closed = true;
        this.importFinalizer.unregister(c);
      }
    }
    this.imports.clear();
    for (const fd of this.decoder.drainFds()) this.options.closeFd(fd);
    this.stream.close();
    for (const w of this.closeWaiters.splice(0)) w(reason);
  }
}

/** A capability that fails every call with a fixed error. */
class ErrorCapability implements Client {
  constructor(readonly err: Error) {}
  call<P extends Struct, R extends Struct>(_call: Call<P, R>): Answer<R> {
    return failedAnswer(this.err);
  }
  close(): void {}
}

/** The results "struct" of a bootstrap question (its capability is kept on the question). */
class EmptyStruct extends Struct {
  static override readonly _capnp = { displayName: "EmptyStruct", id: "0", size: new ObjectSize(0, 0) };
}

/** A bootstrap Return's content: a capability pointer into the cap table. */
function bootstrapCap(m: Message, at: number): Client {
  if (at < 0) return nullCapability;
  const p = new Pointer(m.getSegment(0), at);
  return capabilityOfPointer(p);
}

/** Lets an exported object know the peer dropped its last reference. */
function notifyReleased(target: Client): void {
  const t = (target as Partial<Server>).target as { onRelease?: () => void } | undefined;
  if (t !== undefined && typeof t.onRelease === "function") {
    try {
      t.onRelease();
    } catch {
      // A release hook must not break the connection.
    }
  }
}

function findMethod(cap: Client, interfaceId: bigint, methodId: number): ServerMethod<Struct, Struct> | undefined {
  const methods = (cap as Partial<Server>).methods;
  if (methods === undefined) return undefined;
  const direct = methods[methodId];
  if (direct !== undefined && direct.interfaceId === interfaceId && direct.methodId === methodId) return direct;
  return methods.find((m) => m.interfaceId === interfaceId && m.methodId === methodId);
}

function resolveAnswerCap(a: AnswerEntry, transform: readonly PipelineOp[]): Client | Error {
  if (a.state === "failed") return a.error ?? new RpcError("call failed");
  if (a.cap !== undefined) {
    return transform.length === 0 ? a.cap : new RpcError("pipelined call into the bootstrap capability's fields");
  }
  if (a.results === undefined) return new RpcError("answer has no results");
  try {
    return capabilityAt(a.results, transform);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
