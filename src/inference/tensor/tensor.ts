/**
 * Tensors as the model server, its client and the ingest service exchange them: the KServe v2 / Triton data
 * model (datatype names, row-major shapes, one typed array per tensor). `InferenceEngine` is what the ingest
 * service calls, whether inference runs in this process (local-inference.ts) or in any KServe v2 server
 * (kserve/client.ts: pitlane's own `serve models`, or a real Triton).
 */
import { InferenceInputError } from '../../core/errors.js';

/** KServe v2 tensor datatypes (BYTES excluded: pitlane's models take numbers). */
export type TensorDataType =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64';

/** The typed array of each datatype. BOOL is one byte per element (0 or 1); FP16 holds raw IEEE half bits. */
export interface TensorArrayOf {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
}

export type TensorData = TensorArrayOf[TensorDataType];

/** Bytes per element of each datatype. */
export const DATATYPE_BYTES: Readonly<Record<TensorDataType, number>> = Object.freeze({
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
});

export const TENSOR_DATATYPES = Object.freeze(Object.keys(DATATYPE_BYTES) as TensorDataType[]);

export function isTensorDataType(s: unknown): s is TensorDataType {
  return typeof s === 'string' && Object.hasOwn(DATATYPE_BYTES, s);
}

/** One named tensor. `data.length` is the product of `shape`. */
export interface Tensor {
  readonly name: string;
  readonly datatype: TensorDataType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** What a model says about one input or output. -1 marks a variable dimension (the batch one included). */
export interface TensorMetadata {
  readonly name: string;
  readonly datatype: TensorDataType;
  readonly shape: readonly number[];
}

/** KServe v2 model metadata. */
export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  /** e.g. `onnxruntime_onnx`, `tensorflow_graphdef` (Triton's names). */
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}

/** One inference request. */
export interface InferenceRequest {
  readonly id?: string;
  readonly inputs: readonly Tensor[];
  /** Outputs wanted, by name; all of the model's outputs when absent. */
  readonly outputs?: readonly string[];
  /** Aborts the request (the client went away): it is dropped before inference when it has not started. */
  readonly signal?: AbortSignal;
}

export interface InferenceResult {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id?: string;
  readonly outputs: readonly Tensor[];
  /** Where the request's time in the engine went (a local engine gives it; a remote one may not). */
  readonly timing?: InferenceTiming;
}

/**
 * The split of one request's time in the engine, in milliseconds (Triton's statistics split): `queueMs` waiting for
 * an instance; `inputMs` preparing the inputs (batch concatenation, hand-over to the model's thread); `inferMs` the
 * model run itself (measured on the thread that runs it); `outputMs` taking the outputs back and splitting the
 * batch. The compute parts are those of the run that served the request, shared by every request of its batch.
 */
export interface InferenceTiming {
  readonly queueMs: number;
  readonly inputMs: number;
  readonly inferMs: number;
  readonly outputMs: number;
}

/** Inference, wherever it runs. */
export interface InferenceEngine {
  /** Whether the server is up and every model is loaded. */
  ready(): Promise<boolean>;
  modelReady(model: string, version?: string): Promise<boolean>;
  /** Rejects with ModelNotFoundError for an unknown model or version. */
  modelMetadata(model: string, version?: string): Promise<ModelMetadata>;
  /**
   * Runs a request. Rejects with ModelNotFoundError, InferenceInputError (wrong name, datatype or shape:
   * the message names the input), QueueFullError from the batcher (retry later), or an Error when the model
   * failed.
   */
  infer(model: string, request: InferenceRequest, version?: string): Promise<InferenceResult>;
  /** Releases models or connections. Never rejects. */
  close(): Promise<void>;
}

/** Element count of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const ARRAY_OF: Readonly<Record<TensorDataType, new (n: number) => TensorData>> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/** A zeroed typed array of `n` elements of a datatype. */
export function allocTensorData<D extends TensorDataType>(datatype: D, n: number): TensorArrayOf[D] {
  return new ARRAY_OF[datatype](n) as TensorArrayOf[D];
}

/**
 * A typed array of `datatype` viewing `bytes` (little-endian, as the binary tensor extension sends them).
 * Copies only when the bytes are not aligned for the element size.
 */
export function tensorDataFromBytes(datatype: TensorDataType, bytes: Uint8Array): TensorData {
  const size = DATATYPE_BYTES[datatype];
  if (bytes.byteLength % size !== 0) {
    throw new InferenceInputError(
      `${bytes.byteLength} bytes is not a whole number of ${datatype} elements (${size} bytes each)`,
    );
  }
  let b = bytes;
  // Uint8Array's slice copies (a Buffer's would only make another view).
  if (b.byteOffset % size !== 0) b = Uint8Array.prototype.slice.call(b);
  const Ctor = ARRAY_OF[datatype] as unknown as new (
    buffer: ArrayBufferLike,
    offset: number,
    length: number,
  ) => TensorData;
  return new Ctor(b.buffer, b.byteOffset, b.byteLength / size);
}

/** The bytes of a tensor's data (a view, no copy). */
export function tensorBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
