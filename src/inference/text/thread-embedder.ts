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
  /** Whether the model gives its per-token output (Embedder.embedTokens). */
  readonly perToken: boolean;
}

/** One batch as it crosses: every sequence's ids back to back, and each sequence's length. */
interface PackedBatch {
  readonly ids: Int32Array<ArrayBuffer>;
  readonly lengths: Int32Array<ArrayBuffer>;
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
  const { info, dimension: dim, maxSequenceLength, tokenizer, perToken } = host.ready;
  const call = <T>(method: string, batch: readonly Int32Array[]): Promise<T> => {
    const packed = pack(batch);
    return host.call<T>(method, packed, [packed.ids.buffer, packed.lengths.buffer]);
  };
  return {
    info,
    dimension: dim,
    maxSequenceLength,
    tokenizer,
    embed: async (batch) => {
      const data = await call<Float32Array>('embed', batch);
      return batch.map((_, i) => data.subarray(i * dim, (i + 1) * dim));
    },
    ...(perToken
      ? {
          embedTokens: async (batch: readonly Int32Array[]) => {
            const { hidden, data } = await call<{ hidden: number; data: Float32Array }>('embedTokens', batch);
            let at = 0;
            const rows = batch.map((s) => data.subarray(at, (at += s.length * hidden)));
            return { hidden, rows };
          },
        }
      : {}),
    warmUp: () => host.call<number>('warmUp', null),
    close: () => host.close(new Error('the model was closed')),
  };
}

/** A batch packed to cross to the thread: every sequence's ids back to back, and each one's length. */
function pack(batch: readonly Int32Array[]): PackedBatch {
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
  return { ids, lengths };
}

/** The thread's half: loads the model on its backend and answers `embed` and `warmUp`. */
export const embedderThreadService: ThreadServiceLoader = async (init) => {
  const embedder = await loadEmbedder(init as ModelSpec);
  const ready: EmbedderReady = {
    info: embedder.info,
    dimension: embedder.dimension,
    maxSequenceLength: embedder.maxSequenceLength,
    tokenizer: embedder.tokenizer,
    perToken: embedder.embedTokens !== undefined,
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
      if (method === 'embedTokens' && embedder.embedTokens !== undefined) {
        const { hidden, rows } = await embedder.embedTokens(batch);
        let total = 0;
        for (const r of rows) total += r.length;
        const data = new Float32Array(total);
        let to = 0;
        for (const r of rows) {
          data.set(r, to);
          to += r.length;
        }
        return { value: { hidden, data }, transfer: [data.buffer] };
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
