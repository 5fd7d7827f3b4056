/**
 * The TF.js embedder: Universal Sentence Encoder lite (a TF.js graph model, 512-d) behind the `Embedder`
 * interface, run on the process's TF.js runtime (runtime.ts). It checks the graph's inputs and output and feeds
 * batches in the model's sparse form.
 *
 * USE lite takes one batch as `indices` (int32 [n, 2]: row, position) and `values` (int32 [n]: token id) and
 * pools in the graph: it returns [rows, 512], already L2-normalised by its last op. The number of rows is one
 * more than the largest row index, so a sequence with no ids cannot be sent (a trailing one would vanish, a
 * batch of them fails); such a sequence gets a zero vector here, like a text with no real token under mean
 * pooling. The graph also drops every id at position 128 or later (its ClipToMaxLength step), so
 * `maxSequenceLength` is capped at that limit when the graph declares it.
 *
 * The graph has dynamic ops (`Where`), so it runs with `executeAsync`, which rules out `tf.tidy`: the inputs
 * and the output are disposed by hand, and the executor disposes the intermediates (tests check that the
 * tensor count does not grow).
 */
import * as tf from '@tensorflow/tfjs';
import { FileError } from '../../../core/errors.js';
import type { Embedder } from '../../text/embedder.js';
import type { ModelSpec } from '../../tensor/model-repository.js';
import { loadGraphModelFile, type TfjsRuntime } from './runtime.js';

/** The graph inputs of Universal Sentence Encoder lite. */
export const USE_INPUTS = Object.freeze({ indices: 'indices', values: 'values' });

/** The weight holding USE lite's length limit (its ClipToMaxLength step drops ids at or past it). */
const CLIP_WEIGHT_SUFFIX = 'ClipToMaxLength/Less/y';

/** A batch in USE lite's sparse form. Sequences with no ids have no row. */
export interface SparseBatch {
  /** Row-major [values.length, 2]: for each id, its row (among the rows sent) and its position. */
  readonly indices: Int32Array;
  /** The ids, row after row. */
  readonly values: Int32Array;
  /** For each row sent, the index of its sequence in the batch. */
  readonly rows: readonly number[];
}

/** Builds the sparse inputs of a batch; sequences with no ids are left out and listed nowhere in `rows`. */
export function toSparseBatch(batch: readonly Int32Array[]): SparseBatch {
  let n = 0;
  for (const ids of batch) n += ids.length;
  const indices = new Int32Array(2 * n);
  const values = new Int32Array(n);
  const rows: number[] = [];
  let at = 0;
  batch.forEach((ids, b) => {
    if (ids.length === 0) return;
    const row = rows.length;
    rows.push(b);
    values.set(ids, at);
    for (let t = 0; t < ids.length; t++) {
      indices[2 * (at + t)] = row;
      indices[2 * (at + t) + 1] = t;
    }
    at += ids.length;
  });
  return { indices, values, rows };
}

/**
 * Loads a Universal Sentence Encoder lite graph model (spec.modelPath: model.json, its shards beside it) on
 * TF.js's wasm backend. Rejects with FileError naming the file when model.json or a shard is missing, when
 * model.json is not a TF.js graph model, when its inputs are not USE lite's sparse ones, or when its output
 * does not have models.yaml's `dimension`.
 */
export async function loadTfjsEmbedder(spec: ModelSpec): Promise<Embedder> {
  if (spec.tokenizer !== 'use' || spec.tokenizerPath === null) {
    throw new FileError(
      spec.modelPath,
      `model ${spec.id} runs on tfjs (Universal Sentence Encoder lite), which needs a "use" tokenizer; set tokenizer.kind: use and paths.tokenizer to its vocab.json in models.yaml`,
    );
  }
  const { model, runtime: rt } = await loadGraphModelFile(spec.modelPath, spec.threads.intraOp);
  try {
    return await embedderOf(model, spec, spec.tokenizerPath, rt);
  } catch (err) {
    model.dispose();
    throw err;
  }
}

async function embedderOf(
  model: tf.GraphModel,
  spec: ModelSpec,
  tokenizerPath: string,
  rt: TfjsRuntime,
): Promise<Embedder> {
  const inputNames = model.inputs.map((i) => i.name);
  if (!inputNames.includes(USE_INPUTS.indices) || !inputNames.includes(USE_INPUTS.values)) {
    throw new FileError(
      spec.modelPath,
      `has inputs (${inputNames.join(', ')}); expected Universal Sentence Encoder lite's sparse inputs "indices" [n, 2] and "values" [n]`,
    );
  }
  const outputNames = model.outputs.map((o) => o.name);
  const output = outputNames.length === 1 ? outputNames[0] : outputNames.find((n) => n === spec.output);
  if (output === undefined) {
    throw new FileError(
      spec.modelPath,
      `has outputs (${outputNames.join(', ')}) and none is "${spec.output}"; set output in models.yaml`,
    );
  }
  const graphLimit = graphMaxLength(model);
  const maxSequenceLength = Math.min(spec.maxSequenceLength, graphLimit ?? Infinity);

  /** Runs the sequences that have ids; resolves with [rows sent, dimension] values and the row map. */
  const run = async (
    batch: readonly Int32Array[],
  ): Promise<{ data: Float32Array; dims: readonly number[]; rows: readonly number[] }> => {
    const sparse = toSparseBatch(batch);
    const indices = tf.tensor2d(sparse.indices, [sparse.values.length, 2], 'int32');
    const values = tf.tensor1d(sparse.values, 'int32');
    let result: tf.Tensor | tf.Tensor[] | undefined;
    try {
      result = await model.executeAsync(
        { [USE_INPUTS.indices]: indices, [USE_INPUTS.values]: values },
        output,
      );
      if (Array.isArray(result)) {
        throw new Error(`${spec.modelPath}: the run returned ${result.length} outputs`);
      }
      const data = await result.data();
      if (!(data instanceof Float32Array)) {
        throw new FileError(spec.modelPath, `output "${output}" is ${result.dtype}; expected float32`);
      }
      return { data, dims: result.shape, rows: sparse.rows };
    } finally {
      indices.dispose();
      values.dispose();
      if (result !== undefined) tf.dispose(result);
    }
  };

  // The dimension from a real run, checked against models.yaml (the graph's signature leaves it unknown).
  const probe = await run([Int32Array.of(9, 10, 11)]);
  const [probeRows, dimension = 0] = probe.dims;
  if (probe.dims.length !== 2 || probeRows !== 1 || dimension < 1) {
    throw new FileError(
      spec.modelPath,
      `gives output of shape [${probe.dims.join(', ')}] for one sequence; expected [1, dimension] (pooled in the graph)`,
    );
  }
  if (spec.dimension !== null && spec.dimension !== dimension) {
    throw new FileError(
      spec.modelPath,
      `gives ${dimension}-dimensional vectors but models.yaml declares dimension ${spec.dimension} for model ${spec.id}`,
    );
  }

  let closed = false;
  const embed = async (batch: readonly Int32Array[]): Promise<Float32Array[]> => {
    if (closed) throw new Error(`${spec.modelPath}: the model was closed`);
    const out = batch.map(() => new Float32Array(dimension));
    if (batch.every((ids) => ids.length === 0)) return out;
    const { data, dims, rows } = await run(batch);
    if (dims[0] !== rows.length || dims[1] !== dimension) {
      throw new Error(
        `${spec.modelPath}: expected [${rows.length}, ${dimension}] from the model, got [${dims.join(', ')}]`,
      );
    }
    rows.forEach((b, row) => {
      out[b] = data.slice(row * dimension, (row + 1) * dimension);
    });
    return out;
  };

  return {
    info: {
      backend: 'tfjs',
      runtime: rt.description,
      modelPath: spec.modelPath,
      threads: { intraOp: rt.threads, interOp: 1 },
    },
    dimension,
    maxSequenceLength,
    tokenizer: { kind: 'use', path: tokenizerPath },
    embed,
    warmUp: async () => {
      const t0 = performance.now();
      // One sequence, then a small batch of longer ones, so that the first request finds the kernels ready.
      await embed([Int32Array.of(9, 10, 11)]);
      await embed(
        Array.from({ length: 4 }, (_, i) =>
          Int32Array.from({ length: 24 }, (_, t) => 6 + ((i * 31 + t * 7) % 500)),
        ),
      );
      return performance.now() - t0;
    },
    close: () => {
      if (!closed) {
        closed = true;
        model.dispose();
      }
      return Promise.resolve();
    },
  };
}

/** USE lite's own length limit (ids at or past it are dropped by the graph), when the graph has one. */
function graphMaxLength(model: tf.GraphModel): number | null {
  for (const [name, tensors] of Object.entries(model.weights)) {
    const t = tensors[0];
    if (!name.endsWith(CLIP_WEIGHT_SUFFIX) || t === undefined || t.size !== 1) continue;
    const limit = t.dataSync()[0];
    if (limit !== undefined && Number.isInteger(limit) && limit > 0) return limit;
  }
  return null;
}
