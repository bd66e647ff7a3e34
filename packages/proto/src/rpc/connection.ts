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
  type Pointer,
  type Server,
  type ServerMethod,
  type Struct,
  type StructCtor,
  Message,
  PointerType,
  placeParams,
  utils,
} from "capnp-es";
import {
  type CapDescriptor,
  type Exception,
  type Payload,
  Message as RpcMessage,
  MessageTarget_Which,
  Message_Which,
  PromisedAnswer_Op_Which,
  CapDescriptor_Which,
  Return_Which,
} from "capnp-es/capnp/rpc";
import type { Answer, PipelineOp } from "./capnp-types.js";
import type { FdStream } from "../transport/fd-stream.js";
import { type Frame, type FrameLimits, FrameDecoder, encodeFrameHeader } from "../transport/frame.js";
import { DisconnectedError, ProtocolError, RpcError, rpcErrorTypeFromWire, rpcErrorTypeToWire } from "./errors.js";
import { type CloseFd, FdCapability, failedAnswer } from "./host-fd.js";

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

/**
 * The bootstrap capability before (and after) the peer's answer arrives. On the wire a bootstrap
 * answer's content is the capability itself (transform []); locally its results are the
 * Payload struct, whose pointer 0 is that capability.
 */
class BootstrapClient implements Client {
  private static readonly CONTENT: PipelineOp[] = [{ field: 0 }];
  constructor(private readonly question: Question<Struct>) {}

  call<P extends Struct, R extends Struct>(call: Call<P, R>): Answer<R> {
    const q = this.question;
    if (q.state === "pending") return q.conn.sendCall({ questionId: q.id, transform: [] }, call);
    if (q.state === "failed") return failedAnswer(q.error ?? new RpcError("bootstrap failed"));
    return capabilityAt(q.results as Struct, BootstrapClient.CONTENT).call(call);
  }

  close(): void {
    const q = this.question;
    if (q.state === "pending") q.pendingCloses.push(BootstrapClient.CONTENT);
    else if (q.state === "returned") capabilityAt(q.results as Struct, BootstrapClient.CONTENT).close();
  }
}

type CallTarget = { readonly importId: number } | { readonly questionId: number; readonly transform: PipelineOp[] };

/** Finds the capability at `transform` inside a results struct (or the struct's own pointer). */
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
  const client = utils.getInterfaceClientOrNull(p);
  return client;
}

const nullCapability: Client = {
  call: <P extends Struct, R extends Struct>(call: Call<P, R>) =>
    failedAnswer<R>(new RpcError(`${call.method.methodName ?? "call"} on a null capability`)),
  close: () => {},
};

/** Reads a payload's content as `Class`, treating a null pointer as an empty struct. */
function contentAs<T extends Struct>(Class: StructCtor<T>, content: Pointer): T {
  if (utils.isNull(content)) {
    const scratch = new Message();
    const s = scratch.initRoot(Class);
    return s;
  }
  if (utils.getTargetPointerType(content) !== PointerType.STRUCT) {
    throw new ProtocolError("payload content is not a struct");
  }
  return utils.getAs(Class, content) as T;
}

/** Reads the message's cap table entries (clients) out of the capnp-es message internals. */
function capTableOf(m: Message): Array<Client | null> {
  return (m._capnp.capTable ??= []);
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
    const m = new Message();
    const root = m.initRoot(RpcMessage);
    root._initBootstrap().questionId = q.id;
    this.send(m, []);
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
    const m = new Message();
    const root = m.initRoot(RpcMessage);
    const c = root._initCall();
    c.questionId = q.id;
    c.interfaceId = method.interfaceId;
    c.methodId = method.methodId;
    const t = c._initTarget();
    if ("importId" in target) {
      t.importedCap = target.importId;
    } else {
      const pa = t._initPromisedAnswer();
      pa.questionId = target.questionId;
      const ops = pa._initTransform(target.transform.length);
      target.transform.forEach((op, i) => {
        ops.get(i).getPointerField = op.field;
      });
    }
    const payload = c._initParams();
    let fds: number[];
    try {
      if ("params" in call) throw new RpcError("calls with prebuilt params are not supported; use a params function");
      placeParams(call, payload.content);
      fds = this.writeCapTable(m, payload);
    } catch (e) {
      this.discardOutgoing(m);
      this.releaseQuestion(q.id);
      return failedAnswer(e instanceof Error ? e : new Error(String(e)));
    }
    this.send(m, fds);
    return new RemoteAnswer(q as Question<R>);
  }

  /** @internal Drops one import client: sends Release for the references it held. */
  releaseImport(id: number, client: ImportClient): void {
    const imp = this.imports.get(id);
    if (imp === undefined || imp.client.deref() !== client) return;
    this.imports.delete(id);
    this.importFinalizer.unregister(client);
    if (this.ended) return;
    this.sendRelease(id, imp.refs);
  }

  private onImportCollected(id: number): void {
    const imp = this.imports.get(id);
    if (imp === undefined || imp.client.deref() !== undefined) return;
    this.imports.delete(id);
    if (!this.ended) this.sendRelease(id, imp.refs);
  }

  private sendRelease(id: number, refs: number): void {
    const m = new Message();
    const rel = m.initRoot(RpcMessage)._initRelease();
    rel.id = id;
    rel.referenceCount = refs;
    this.send(m, []);
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

  /** Serializes a message into one frame (gather write: segments are not copied). */
  private send(m: Message, fds: number[]): void {
    if (this.ended) {
      for (const fd of fds) this.options.closeFd(fd);
      return;
    }
    const segs = m._capnp.segments;
    const sizes = segs.map((s) => s.byteLength);
    const chunks: Uint8Array[] = [encodeFrameHeader(sizes, fds.length)];
    for (const s of segs) chunks.push(new Uint8Array(s.buffer, 0, s.byteLength));
    this.stream.write(chunks, fds);
  }

  /**
   * Turns the capnp-es cap table of an outgoing message into the payload's CapDescriptors, and
   * collects the FDs to attach. Ownership of FD capabilities' FDs moves to the returned list.
   */
  private writeCapTable(m: Message, payload: Payload): number[] {
    const table = m._capnp.capTable;
    const fds: number[] = [];
    if (table === undefined || table.length === 0) return fds;
    const descs = payload._initCapTable(table.length);
    for (let i = 0; i < table.length; i++) {
      this.describeCap(table[i] ?? null, descs.get(i), fds);
    }
    return fds;
  }

  private describeCap(client: Client | null, d: CapDescriptor, fds: number[]): void {
    if (client === null) {
      d.none = true;
      return;
    }
    if (client instanceof FdCapability) {
      const fd = client.take();
      if (fd < 0) throw new RpcError("an FD capability was sent twice (its FD is already gone)");
      d.none = true;
      d.attachedFd = fds.length;
      fds.push(fd);
      return;
    }
    if (client instanceof ImportClient) {
      if (client.conn !== this) throw new RpcError("capabilities from another connection cannot be passed on");
      if (client.closed) throw new RpcError("a released capability cannot be passed on");
      d.receiverHosted = client.importId;
      return;
    }
    if (client instanceof BootstrapClient || client instanceof ErrorCapability || client === nullCapability) {
      throw new RpcError("an unresolved or broken capability cannot be passed on");
    }
    d.senderHosted = this.exportCap(client);
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
    for (const c of m._capnp.capTable ?? []) {
      if (c instanceof FdCapability) c.dispose(this.options.closeFd);
    }
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
      m = messageOfFrame(frame);
      this.handleMessage(frame, m, fdsUsed);
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

  private handleMessage(frame: Frame, m: Message, fdsUsed: Set<number>): void {
    const root = m.getRoot(RpcMessage);
    const which = root.which();
    switch (which) {
      case Message_Which.CALL:
        this.handleCall(m, root, frame.fds, fdsUsed);
        break;
      case Message_Which.RETURN:
        this.handleReturn(m, root, frame.fds, fdsUsed);
        break;
      case Message_Which.BOOTSTRAP:
        this.handleBootstrap(root.bootstrap.questionId);
        break;
      case Message_Which.FINISH:
        this.handleFinish(root.finish.questionId);
        break;
      case Message_Which.RELEASE:
        this.handleRelease(root.release.id, root.release.referenceCount);
        break;
      case Message_Which.ABORT:
        this.shutdown(new DisconnectedError(`peer aborted the connection: ${root.abort.reason}`));
        break;
      case Message_Which.UNIMPLEMENTED:
        this.handleUnimplemented(root.unimplemented);
        break;
      default:
        this.sendUnimplemented(frame);
        break;
    }
  }

  /** Builds the clients of a received payload's cap table into the message. */
  private readCapTable(m: Message, payload: Payload, fds: readonly number[], used: Set<number>): void {
    const table = capTableOf(m);
    table.length = 0;
    if (!payload._hasCapTable()) return;
    const descs = payload.capTable;
    if (descs.length > 0xffff) throw new ProtocolError("cap table too large");
    for (let i = 0; i < descs.length; i++) {
      table.push(this.capOfDescriptor(descs.get(i), fds, used));
    }
  }

  private capOfDescriptor(d: CapDescriptor, fds: readonly number[], used: Set<number>): Client | null {
    const attached = d.attachedFd;
    if (attached !== 0xff) {
      const fd = fds[attached];
      if (fd === undefined) throw new ProtocolError(`cap descriptor names attached FD ${attached}, which the frame does not carry`);
      if (used.has(attached)) throw new ProtocolError(`attached FD ${attached} named twice`);
      used.add(attached);
      if (d.which() !== CapDescriptor_Which.NONE) throw new ProtocolError("attached FDs are only supported on plain FD capabilities");
      return new FdCapability(fd);
    }
    switch (d.which()) {
      case CapDescriptor_Which.NONE:
        return null;
      case CapDescriptor_Which.SENDER_HOSTED:
        return this.importCap(d.senderHosted);
      case CapDescriptor_Which.RECEIVER_HOSTED: {
        const e = this.exports.get(d.receiverHosted);
        if (e === undefined) throw new ProtocolError(`peer passed back export ${d.receiverHosted}, which does not exist`);
        return e.target;
      }
      default:
        throw new ProtocolError(`unsupported capability descriptor kind ${d.which()}`);
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
    // A collected client's references are already on their way back (or will be); start afresh.
    const refs = imp !== undefined ? imp.refs + 1 : 1;
    imp = { id, refs, client: new WeakRef(client) };
    this.imports.set(id, imp);
    this.importFinalizer.register(client, id, client);
    return client;
  }

  private handleBootstrap(questionId: number): void {
    const entry = this.newAnswer(questionId);
    const m = new Message();
    const ret = m.initRoot(RpcMessage)._initReturn();
    ret.answerId = questionId;
    const boot = this.options.bootstrap;
    if (boot === undefined) {
      entry.state = "failed";
      entry.error = new RpcError("this peer offers no bootstrap capability");
      writeException(ret._initException(), entry.error);
      this.send(m, []);
      return;
    }
    entry.state = "returned";
    entry.cap = boot;
    const payload = ret._initResults();
    utils.setInterfacePointer(m.addCap(boot), payload.content);
    this.send(m, this.writeCapTable(m, payload));
  }

  private handleCall(m: Message, root: RpcMessage, fds: readonly number[], used: Set<number>): void {
    const call = root.call;
    const entry = this.newAnswer(call.questionId);
    const params = call.params;
    this.readCapTable(m, params, fds, used);
    const interfaceId = call.interfaceId;
    const methodId = call.methodId;
    const target = call.target;
    const run = (cap: Client | Error): void => this.dispatch(entry, cap, interfaceId, methodId, m, params);
    if (target.which() === MessageTarget_Which.IMPORTED_CAP) {
      const e = this.exports.get(target.importedCap);
      run(e?.target ?? new RpcError(`call to export ${target.importedCap}, which does not exist`));
      return;
    }
    const pa = target.promisedAnswer;
    const transform: PipelineOp[] = [];
    for (const op of pa.transform) {
      if (op.which() === PromisedAnswer_Op_Which.GET_POINTER_FIELD) transform.push({ field: op.getPointerField });
    }
    const on = this.answers.get(pa.questionId);
    if (on === undefined) {
      run(new RpcError(`pipelined call on answer ${pa.questionId}, which does not exist`));
    } else if (on.state === "pending") {
      if (on.queue.length >= 4096) run(new RpcError("too many calls pipelined on one answer", "overloaded"));
      else on.queue.push(() => run(resolveAnswerCap(on, transform)));
    } else {
      run(resolveAnswerCap(on, transform));
    }
  }

  /** Runs a call against a local capability and sends its Return. */
  private dispatch(entry: AnswerEntry, cap: Client | Error, interfaceId: bigint, methodId: number, callMsg: Message, params: Payload): void {
    const method = cap instanceof Error ? undefined : findMethod(cap, interfaceId, methodId);
    if (method === undefined) {
      const err =
        cap instanceof Error
          ? cap
          : new RpcError(`method ${methodId} of interface 0x${interfaceId.toString(16)} is not implemented here`, "unimplemented");
      this.disposeFds(callMsg);
      this.finishAnswer(entry, undefined, err);
      return;
    }
    const server = cap as Server;
    const m = new Message();
    const ret = m.initRoot(RpcMessage)._initReturn();
    ret.answerId = entry.id;
    const payload = ret._initResults();
    let results: Struct;
    let p: Promise<void>;
    try {
      const args = contentAs(method.ParamsClass, params.content);
      results = utils.initStructAt(0, method.ResultsClass, payload) as Struct;
      p = method.impl.call(server.target, args, results);
    } catch (e) {
      p = Promise.reject(e);
      results = undefined as unknown as Struct;
    }
    p.then(
      () => {
        this.disposeFds(callMsg);
        this.finishAnswer(entry, { m, payload, results }, undefined);
      },
      (e: unknown) => {
        this.disposeFds(callMsg);
        this.discardOutgoing(m);
        this.finishAnswer(entry, undefined, e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /** Sends a Return for an answer and runs the calls pipelined on it. */
  private finishAnswer(
    entry: AnswerEntry,
    ok: { m: Message; payload: Payload; results: Struct } | undefined,
    err: Error | undefined,
  ): void {
    if (this.ended) {
      if (ok !== undefined) this.discardOutgoing(ok.m);
      return;
    }
    let fds: number[] = [];
    let m: Message;
    if (ok !== undefined) {
      m = ok.m;
      try {
        fds = this.writeCapTable(m, ok.payload);
      } catch (e) {
        this.discardOutgoing(m);
        return this.finishAnswer(entry, undefined, e instanceof Error ? e : new Error(String(e)));
      }
      entry.state = "returned";
      entry.results = ok.results;
    } else {
      m = new Message();
      const ret = m.initRoot(RpcMessage)._initReturn();
      ret.answerId = entry.id;
      writeException(ret._initException(), err ?? new RpcError("call failed"));
      entry.state = "failed";
      entry.error = err ?? new RpcError("call failed");
      this.log?.debug({ answerId: entry.id, err: entry.error.message }, "rpc call failed");
    }
    // Keep the answer until Finish only if a pipelined call could still target it: results that
    // hold capabilities, or an exception (to fail such calls with the right error).
    const retain = entry.state === "failed" || (m._capnp.capTable?.length ?? 0) > 0;
    if (!retain) m.getRoot(RpcMessage).return.noFinishNeeded = true;
    if (!retain || entry.finished) this.answers.delete(entry.id);
    for (const run of entry.queue.splice(0)) run();
    this.send(m, fds);
  }

  private handleReturn(m: Message, root: RpcMessage, fds: readonly number[], used: Set<number>): void {
    const ret = root.return;
    const q = this.questions.get(ret.answerId);
    if (q === undefined) throw new ProtocolError(`return for question ${ret.answerId}, which is not outstanding`);
    const which = ret.which();
    const needFinish = !ret.noFinishNeeded;
    if (which === Return_Which.RESULTS) {
      const payload = ret.results;
      this.readCapTable(m, payload, fds, used);
      // Bootstrap answers carry the capability as the content; expose the payload struct, whose
      // pointer 0 it is (see BootstrapClient).
      const results = q.ResultsClass === undefined ? payload : contentAs(q.ResultsClass, payload.content);
      this.releaseQuestionAfter(q, needFinish);
      q.resolve(results);
      for (const t of q.pendingCloses.splice(0)) capabilityAt(results, t).close();
      this.scheduleFdDisposal(m);
      return;
    }
    this.releaseQuestionAfter(q, needFinish);
    q.reject(which === Return_Which.EXCEPTION ? exceptionToError(ret.exception) : new RpcError(`unsupported return kind ${which}`));
  }

  private releaseQuestionAfter(q: Question<Struct>, sendFinish: boolean): void {
    if (sendFinish) {
      const fm = new Message();
      const fin = fm.initRoot(RpcMessage)._initFinish();
      fin.questionId = q.id;
      fin.releaseResultCaps = false;
      this.send(fm, []);
    }
    this.releaseQuestion(q.id);
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

  private handleUnimplemented(echo: RpcMessage): void {
    // The peer did not understand something we sent. Fail the question it belongs to.
    if (echo.which() === Message_Which.CALL) {
      const q = this.questions.get(echo.call.questionId);
      if (q !== undefined) {
        this.releaseQuestion(q.id);
        q.reject(new RpcError("the peer does not implement this call", "unimplemented"));
      }
      return;
    }
    this.log?.warn({ which: echo.which() }, "peer did not implement a message we sent");
  }

  private sendUnimplemented(frame: Frame): void {
    // Echo the message back as rpc.capnp asks. Copy it whole into the new message.
    const original = messageOfFrame(frame).getRoot(RpcMessage);
    const m = new Message();
    const root = m.initRoot(RpcMessage);
    utils.copyFrom(original, root._initUnimplemented());
    this.send(m, []);
  }

  private newAnswer(id: number): AnswerEntry {
    if (this.answers.has(id)) throw new ProtocolError(`question ${id} reused while still outstanding`);
    if (this.answers.size >= MAX_TABLE_SIZE) throw new ProtocolError("too many outstanding questions");
    const entry: AnswerEntry = { id, state: "pending", queue: [], finished: false };
    this.answers.set(id, entry);
    return entry;
  }

  /** Closes FDs of a received message that nobody took. */
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
      const m = new Message();
      m.initRoot(RpcMessage)._initAbort().reason = err.message;
      this.send(m, []);
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

function writeException(x: Exception, err: Error): void {
  x.reason = err.message;
  x.type = rpcErrorTypeToWire(err instanceof RpcError ? err.type : "failed") as Exception["type"];
}

function exceptionToError(x: Exception): RpcError {
  return new RpcError(x.reason, rpcErrorTypeFromWire(x.type));
}

/** Builds a capnp-es Message over a frame's segments without further copies where possible. */
function messageOfFrame(frame: Frame): Message {
  const segs = frame.segments;
  if (segs.length === 1) return new Message(segs[0] as ArrayBuffer, false, true);
  // Rare (our senders produce single-segment messages): rebuild the standard framing.
  const table = (4 + 4 * segs.length + 7) & ~7;
  let total = table;
  for (const s of segs) total += s.byteLength;
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, segs.length - 1, true);
  let off = table;
  segs.forEach((s, i) => {
    dv.setUint32(4 + 4 * i, s.byteLength / 8, true);
    buf.set(new Uint8Array(s), off);
    off += s.byteLength;
  });
  return new Message(buf.buffer, false);
}
