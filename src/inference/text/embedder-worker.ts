/**
 * The inference thread of a served model. onnxruntime-node runs `session.run` synchronously on the thread that
 * calls it (its promise only defers the start with setImmediate), and TF.js's wasm backend computes on the
 * calling thread too: on the main thread, a 50 ms batch would stop the server from reading, tokenizing,
 * queueing and answering for 50 ms. So each model is loaded here, and the main thread only posts batches
 * (token ids, transferred) and receives vectors (transferred).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileError, PitlaneError } from '../../core/errors.js';
import type { ModelSpec } from '../tensor/model-repository.js';
import { loadEmbedder } from '../backends/registry.js';
import type { EmbedderThreadReply, EmbedderThreadRequest } from './thread-embedder.js';

const port = parentPort;
if (port === null) throw new Error('embedder-worker.js runs on a worker thread');

const spec = workerData as ModelSpec;
try {
  const embedder = await loadEmbedder(spec);
  const ready: EmbedderThreadReply = {
    kind: 'ready',
    info: embedder.info,
    dimension: embedder.dimension,
    maxSequenceLength: embedder.maxSequenceLength,
    tokenizer: embedder.tokenizer,
  };
  port.postMessage(ready);
  port.on('message', (req: EmbedderThreadRequest) => {
    void (async () => {
      try {
        if (req.kind === 'close') {
          await embedder.close();
          port.close();
          return;
        }
        if (req.kind === 'warmUp') {
          const reply: EmbedderThreadReply = { kind: 'warm', id: req.id, ms: await embedder.warmUp() };
          port.postMessage(reply);
          return;
        }
        const batch: Int32Array[] = [];
        let at = 0;
        for (const n of req.lengths) {
          batch.push(req.ids.subarray(at, at + n));
          at += n;
        }
        const vectors = await embedder.embed(batch);
        const dim = embedder.dimension;
        const out = new Float32Array(vectors.length * dim);
        vectors.forEach((v, i) => out.set(v, i * dim));
        const reply: EmbedderThreadReply = { kind: 'vectors', id: req.id, data: out };
        port.postMessage(reply, [out.buffer]);
      } catch (err) {
        const reply: EmbedderThreadReply = {
          kind: 'error',
          id: req.kind === 'close' ? 0 : req.id,
          message: err instanceof Error ? err.message : String(err),
        };
        port.postMessage(reply);
      }
    })();
  });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  const reply: EmbedderThreadReply = {
    kind: 'loadError',
    message: e.message,
    code: e instanceof PitlaneError ? e.code : null,
    path: e instanceof FileError ? e.path : null,
  };
  port.postMessage(reply);
}
