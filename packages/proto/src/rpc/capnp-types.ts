/**
 * Types capnp-es uses in its Client interface but does not export. They are structural, so these
 * declarations are interchangeable with capnp-es's own.
 */
import type { Call, Pointer, Struct } from "capnp-es";

/** One step from a results struct to a capability inside it (a pointer field index). */
export interface PipelineOp {
  field: number;
  defaultValue?: Pointer;
}

/** The eventual results of a call. */
export interface Answer<R extends Struct> {
  struct(): Promise<R>;
  pipelineCall<P2 extends Struct, R2 extends Struct>(transform: PipelineOp[], call: Call<P2, R2>): Answer<R2>;
  pipelineClose(transform: PipelineOp[]): void;
}
