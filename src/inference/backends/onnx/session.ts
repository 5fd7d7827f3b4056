/**
 * The ONNX Runtime adapter: the only module that creates onnxruntime-node sessions. It turns a model file into
 * an `OnnxModel` (names, run, close) with pitlane's session options and clear errors, so the rest of the
 * inference layer (and its tests) depends on that small interface, not on the runtime. It also builds the feeds
 * of BERT-like text models (int64 ids and masks) and warms them up.
 */
import { stat } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { FileError } from '../../../core/errors.js';
import type { ModelSpec } from '../../tensor/model-repository.js';
import type { TensorDataType, TensorMetadata } from '../../tensor/tensor.js';

/** A tensor as ONNX Runtime takes and returns it. */
export type OnnxTensor = ort.Tensor;

/** Named inputs or outputs of one run. */
export type OnnxTensorMap = Readonly<Record<string, OnnxTensor>>;

/** Session options pitlane exposes (defaults in DEFAULT_ONNX_OPTIONS). */
export interface OnnxModelOptions {
  /** Threads used inside one operator (matrix multiplications). 0 lets ONNX Runtime choose (one per core). */
  readonly intraOpThreads?: number;
  /** Threads used to run independent operators in parallel; only matters with parallel execution. */
  readonly interOpThreads?: number;
  /** How far ONNX Runtime rewrites the graph before running it. */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Whether ONNX Runtime keeps a memory arena for CPU tensors (faster, holds on to memory). */
  readonly enableCpuMemArena?: boolean;
  /**
   * Whether idle intra-op threads spin waiting for work after a run (ONNX Runtime's default). Spinning shortens the
   * next run's start when runs come back to back, but burns a core that a server's event loop or a load generator
   * on the same machine needs.
   */
  readonly allowSpinning?: boolean;
}

/** The defaults of OnnxModelOptions. */
export const DEFAULT_ONNX_OPTIONS: Required<OnnxModelOptions> = Object.freeze({
  intraOpThreads: 0,
  interOpThreads: 1,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: true,
  allowSpinning: true,
});

/** The session options a model spec asks for (threads and session settings of models.yaml). */
export function onnxOptionsOf(spec: ModelSpec): OnnxModelOptions {
  return {
    intraOpThreads: spec.threads.intraOp,
    interOpThreads: spec.threads.interOp,
    allowSpinning: spec.threads.spinning,
    graphOptimizationLevel: spec.session.graphOptimization,
    enableCpuMemArena: spec.session.memoryArena,
  };
}

/** A loaded ONNX model. */
export interface OnnxModel {
  /** The file it was loaded from. */
  readonly path: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Datatype and shape of each input, as the model declares them (-1 for a symbolic or unknown dimension). */
  readonly inputMetadata: readonly TensorMetadata[];
  readonly outputMetadata: readonly TensorMetadata[];
  /** Runs the model on one set of inputs; resolves with every output by name. */
  run(feeds: OnnxTensorMap): Promise<OnnxTensorMap>;
  /** Releases the session. Never rejects; calling it twice is harmless. */
  close(): Promise<void>;
}

/**
 * Loads an ONNX model on the CPU execution provider.
 * Rejects with FileError (naming the file) when the file is missing or is not a model ONNX Runtime can load.
 */
export async function loadOnnxModel(path: string, options: OnnxModelOptions = {}): Promise<OnnxModel> {
  const o = { ...DEFAULT_ONNX_OPTIONS, ...options };
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new FileError(path, 'is not a file; expected an ONNX model (.onnx)');
  } catch (err) {
    if (err instanceof FileError) throw err;
    throw new FileError(path, 'ONNX model file not found; check the model path', { cause: err });
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      // Warnings only (e.g. unused initializers in exported graphs) would print on every load.
      logSeverityLevel: 3,
      intraOpNumThreads: o.intraOpThreads,
      interOpNumThreads: o.interOpThreads,
      graphOptimizationLevel: o.graphOptimizationLevel,
      enableCpuMemArena: o.enableCpuMemArena,
      extra: { session: { intra_op: { allow_spinning: o.allowSpinning ? '1' : '0' } } },
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new FileError(path, `is not an ONNX model ONNX Runtime can load: ${why}`, { cause: err });
  }
  let closed = false;
  return {
    path,
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    inputMetadata: session.inputMetadata.map(tensorMetadataOf),
    outputMetadata: session.outputMetadata.map(tensorMetadataOf),
    run: (feeds) => session.run(feeds),
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await session.release();
      } catch {
        // Releasing a session that failed is not worth an error at shutdown.
      }
    },
  };
}

/** ONNX Runtime's element types by KServe datatype, and back. */
export const ORT_TYPE_OF: Readonly<Record<TensorDataType, ort.Tensor.Type>> = Object.freeze({
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
});

const DATATYPE_OF_ORT = new Map<string, TensorDataType>(
  Object.entries(ORT_TYPE_OF).map(([k, v]) => [v, k as TensorDataType]),
);

/** The KServe datatype of an ONNX Runtime element type; null for strings and other types pitlane does not serve. */
export function datatypeOfOrt(type: string): TensorDataType | null {
  return DATATYPE_OF_ORT.get(type) ?? null;
}

function tensorMetadataOf(m: ort.InferenceSession.ValueMetadata): TensorMetadata {
  const datatype = m.isTensor ? datatypeOfOrt(m.type) : null;
  return {
    name: m.name,
    // Sequences, maps and strings are not served; FP32 keeps the metadata well-formed, and a run fails clearly.
    datatype: datatype ?? 'FP32',
    shape: m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : [],
  };
}

/** Builds an int64 tensor of shape [batch, seq] (token ids, masks). */
export function int64Tensor(data: BigInt64Array, batch: number, seq: number): OnnxTensor {
  return new ort.Tensor('int64', data, [batch, seq]);
}

/**
 * Feeds for a BERT-like text model from a padded batch: `input_ids`, `attention_mask` and, when the model
 * takes it, `token_type_ids`.
 */
export function textModelFeeds(
  model: Pick<OnnxModel, 'inputNames'>,
  batch: {
    readonly batchSize: number;
    readonly seqLength: number;
    readonly inputIds: BigInt64Array;
    readonly attentionMask: BigInt64Array;
    readonly tokenTypeIds: BigInt64Array;
  },
): Record<string, OnnxTensor> {
  const { batchSize: b, seqLength: s } = batch;
  const feeds: Record<string, OnnxTensor> = {
    input_ids: int64Tensor(batch.inputIds, b, s),
    attention_mask: int64Tensor(batch.attentionMask, b, s),
  };
  if (model.inputNames.includes('token_type_ids'))
    feeds.token_type_ids = int64Tensor(batch.tokenTypeIds, b, s);
  return feeds;
}

/**
 * Runs one small batch (default 1 × 8 tokens) through a BERT-like text model so that the first real request
 * does not pay for ONNX Runtime's lazy allocations. Resolves with the time the run took, in milliseconds.
 */
export async function warmUpTextModel(
  model: OnnxModel,
  { batchSize = 1, seqLength = 8 }: { readonly batchSize?: number; readonly seqLength?: number } = {},
): Promise<number> {
  const n = batchSize * seqLength;
  const inputIds = new BigInt64Array(n);
  for (let i = 0; i < n; i++) inputIds[i] = i % seqLength === 0 ? 101n : 1000n + BigInt(i % 97);
  const feeds = textModelFeeds(model, {
    batchSize,
    seqLength,
    inputIds,
    attentionMask: new BigInt64Array(n).fill(1n),
    tokenTypeIds: new BigInt64Array(n),
  });
  const t0 = performance.now();
  await model.run(feeds);
  return performance.now() - t0;
}
