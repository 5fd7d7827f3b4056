/**
 * The ONNX Runtime embedder: a BERT-like text model (`input_ids`, `attention_mask`, optionally
 * `token_type_ids`, one [batch, seq, hidden] output) behind the `Embedder` interface. A batch is padded to its
 * longest sequence; padding is masked in attention and left out of pooling, so a sequence's vector does not
 * depend on what it was batched with.
 */
import { createRequire } from 'node:module';
import { FileError } from '../../../core/errors.js';
import type { Embedder } from '../../text/embedder.js';
import type { ModelSpec } from '../../tensor/model-repository.js';
import { meanPool } from '../../text/pooling.js';
import { int64Tensor, loadOnnxModel, onnxOptionsOf, type OnnxModel } from './session.js';

const ORT_VERSION = (
  createRequire(import.meta.url)('onnxruntime-node/package.json') as { readonly version: string }
).version;

/** Loads an ONNX text-embedding model with the spec's threads; checks its inputs and output by name. */
export async function loadOnnxEmbedder(spec: ModelSpec): Promise<Embedder> {
  if (spec.tokenizer === 'none' || spec.tokenizerPath === null) {
    throw new FileError(
      spec.modelPath,
      `model ${spec.id} has no tokenizer; set paths.tokenizer in models.yaml`,
    );
  }
  const model = await loadOnnxModel(spec.modelPath, onnxOptionsOf(spec));
  try {
    return await embedderOf(model, spec);
  } catch (err) {
    await model.close();
    throw err;
  }
}

async function embedderOf(model: OnnxModel, spec: ModelSpec): Promise<Embedder> {
  const { inputIds, attentionMask, tokenTypeIds } = spec.inputs;
  for (const name of [inputIds, attentionMask]) {
    if (!model.inputNames.includes(name)) {
      throw new FileError(
        spec.modelPath,
        `has no input "${name}" (its inputs: ${model.inputNames.join(', ')}); set inputs in models.yaml`,
      );
    }
  }
  if (!model.outputNames.includes(spec.output)) {
    throw new FileError(
      spec.modelPath,
      `has no output "${spec.output}" (its outputs: ${model.outputNames.join(', ')}); set output in models.yaml`,
    );
  }
  const wantsTypes = model.inputNames.includes(tokenTypeIds);
  const pooling = spec.pooling;

  // One padded run of a batch; `read` takes what it needs from the output before its tensors are released.
  const run = async <T>(
    batch: readonly Int32Array[],
    read: (data: Float32Array, dims: readonly number[], seq: number, mask: BigInt64Array) => T,
  ): Promise<T> => {
    let seq = 1;
    for (const ids of batch) seq = Math.max(seq, ids.length);
    const n = batch.length * seq;
    const idsData = new BigInt64Array(n);
    const maskData = new BigInt64Array(n);
    batch.forEach((ids, row) => {
      const at = row * seq;
      for (let i = 0; i < ids.length; i++) {
        idsData[at + i] = BigInt(ids[i] ?? 0);
        maskData[at + i] = 1n;
      }
    });
    const feeds = {
      [inputIds]: int64Tensor(idsData, batch.length, seq),
      [attentionMask]: int64Tensor(maskData, batch.length, seq),
      ...(wantsTypes ? { [tokenTypeIds]: int64Tensor(new BigInt64Array(n), batch.length, seq) } : {}),
    };
    const outputs = await model.run(feeds);
    const out = outputs[spec.output];
    if (out === undefined) throw new Error(`${spec.modelPath}: the run returned no "${spec.output}"`);
    try {
      return read(out.data as Float32Array, out.dims, seq, maskData);
    } finally {
      for (const t of Object.values(outputs)) t.dispose();
    }
  };

  const embed = async (batch: readonly Int32Array[]): Promise<Float32Array[]> => {
    if (batch.length === 0) return [];
    return run(batch, (data, dims, seq, mask) => {
      if (pooling === 'mean') return meanPool(data, dims, mask);
      if (dims.length === 2)
        return batch.map((_, b) => data.slice(b * (dims[1] ?? 0), (b + 1) * (dims[1] ?? 0)));
      // cls (and none on a 3-d output): the first token's vector.
      const hidden = dims[2] ?? 0;
      return batch.map((_, b) => data.slice(b * seq * hidden, b * seq * hidden + hidden));
    });
  };

  // The output before pooling, each sequence's real tokens only (TEI's /embed_all); a separate path, so that
  // the pooled one copies nothing more.
  const embedTokens = async (
    batch: readonly Int32Array[],
  ): Promise<{ hidden: number; rows: Float32Array[] }> => {
    if (batch.length === 0) return { hidden: 0, rows: [] };
    return run(batch, (data, dims, seq) => {
      if (dims.length !== 3) {
        throw new Error(`${spec.modelPath}: output "${spec.output}" is [${dims.join(', ')}], not per token`);
      }
      const hidden = dims[2] ?? 0;
      const rows = batch.map((ids, b) => data.slice(b * seq * hidden, (b * seq + ids.length) * hidden));
      return { hidden, rows };
    });
  };

  // Find the dimension from a real run (ids 1-3 exist in any vocabulary), and check it against models.yaml.
  const probe = await embed([Int32Array.of(1, 2, 3)]);
  const perToken = await run([Int32Array.of(1)], (_data, dims) => dims.length === 3);
  const dimension = probe[0]?.length ?? 0;
  if (spec.dimension !== null && spec.dimension !== dimension) {
    throw new FileError(
      spec.modelPath,
      `gives ${dimension}-dimensional vectors but models.yaml declares dimension ${spec.dimension}`,
    );
  }

  return {
    info: {
      backend: 'onnx',
      runtime: `onnxruntime-node ${ORT_VERSION}`,
      modelPath: spec.modelPath,
      threads: spec.threads,
    },
    dimension,
    maxSequenceLength: spec.maxSequenceLength,
    tokenizer: { kind: spec.tokenizer === 'use' ? 'use' : 'wordpiece', path: spec.tokenizerPath ?? '' },
    embed,
    ...(perToken ? { embedTokens } : {}),
    warmUp: async () => {
      const t0 = performance.now();
      // One short and one long batch so that ONNX Runtime sizes its buffers before the first request.
      await embed([Int32Array.of(1, 2, 3)]);
      await embed(Array.from({ length: 8 }, () => new Int32Array(128).fill(3)));
      return performance.now() - t0;
    },
    close: () => model.close(),
  };
}
