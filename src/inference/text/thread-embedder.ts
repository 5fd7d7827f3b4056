/**
 * An Embedder whose model lives on a worker thread of its own (backends/thread-host.ts), so that inference never
 * blocks the event loop: the same interface as the in-thread backends. Batches go over as one transferred
 * Int32Array of ids (and one of lengths) and come back as one transferred Float32Array. This module holds both
 * halves: `loadEmbedderOnThread` on the calling side, `embedderThreadService` on the thread.
 */
import type { ThreadAnswer, ThreadServiceLoader } from '../backends/thread-protocol.js';
import { startThread } from '../backends/thread-host.js';
import { loadEmbedder } from '../backends/registry.js';
import type { ModelSpec } from '../tensor/model-repository.js';
import type { Embedder, EmbedderInfo, TokenizerSpec } from './embedder.js';

/** What the thread says once its model is loaded. */
interface EmbedderReady {
  readonly info: EmbedderInfo;
  readonly dimension: number;
  readonly maxSequenceLength: number;
  readonly tokenizer: TokenizerSpec;
}

/** One batch as it crosses: every sequence's ids back to back, and each sequence's length. */
interface PackedBatch {
  readonly ids: Int32Array;
  readonly lengths: Int32Array;
}

/** Loads the model on a new thread; rejects as the backend would (FileError naming the file). */
export async function loadEmbedderOnThread(spec: ModelSpec): Promise<Embedder> {
  const host = await startThread<EmbedderReady>({
    service: 'embedder',
    init: spec,
    failed: (err) => new Error(`the inference thread of ${spec.id} failed: ${err.message}`),
    exited: (code) => new Error(`the inference thread of ${spec.id} exited (code ${code})`),
    callError: (message) => new Error(message),
  });
  const { info, dimension: dim, maxSequenceLength, tokenizer } = host.ready;
  return {
    info,
    dimension: dim,
    maxSequenceLength,
    tokenizer,
    embed: async (batch) => {
      let total = 0;
      for (const s of batch) total += s.length;
      const ids = new Int32Array(total);
      const lengths = new Int32Array(batch.length);
      let at = 0;
      batch.forEach((s, i) => {
        ids.set(s, at);
        at += s.length;
        lengths[i] = s.length;
      });
      const packed: PackedBatch = { ids, lengths };
      const data = await host.call<Float32Array>('embed', packed, [ids.buffer, lengths.buffer]);
      return batch.map((_, i) => data.subarray(i * dim, (i + 1) * dim));
    },
    warmUp: () => host.call<number>('warmUp', null),
    close: () => host.close(new Error('the model was closed')),
  };
}

/** The thread's half: loads the model on its backend and answers `embed` and `warmUp`. */
export const embedderThreadService: ThreadServiceLoader = async (init) => {
  const embedder = await loadEmbedder(init as ModelSpec);
  const ready: EmbedderReady = {
    info: embedder.info,
    dimension: embedder.dimension,
    maxSequenceLength: embedder.maxSequenceLength,
    tokenizer: embedder.tokenizer,
  };
  return {
    ready,
    handle: async (method, args): Promise<ThreadAnswer> => {
      if (method === 'warmUp') return { value: await embedder.warmUp() };
      const { ids, lengths } = args as PackedBatch;
      const batch: Int32Array[] = [];
      let at = 0;
      for (const n of lengths) {
        batch.push(ids.subarray(at, at + n));
        at += n;
      }
      const vectors = await embedder.embed(batch);
      const dim = embedder.dimension;
      const out = new Float32Array(vectors.length * dim);
      vectors.forEach((v, i) => out.set(v, i * dim));
      return { value: out, transfer: [out.buffer] };
    },
    close: () => embedder.close(),
  };
};
