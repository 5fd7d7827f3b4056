/**
 * An Embedder whose model lives on its own worker thread (embedder-worker.ts), so that inference never blocks
 * the event loop. Same interface as the in-thread backends; batches go over as one transferred Int32Array of
 * ids and come back as one transferred Float32Array. A batch that throws fails only that call; a thread that
 * dies fails what it held and every later call, with a message saying so.
 */
import { Worker } from 'node:worker_threads';
import { FileError } from '../../core/errors.js';
import type { Embedder, EmbedderInfo, TokenizerSpec } from './embedder.js';
import type { ModelSpec } from '../tensor/model-repository.js';

export type EmbedderThreadRequest =
  | { readonly kind: 'embed'; readonly id: number; readonly ids: Int32Array; readonly lengths: Int32Array }
  | { readonly kind: 'warmUp'; readonly id: number }
  | { readonly kind: 'close' };

export type EmbedderThreadReply =
  | {
      readonly kind: 'ready';
      readonly info: EmbedderInfo;
      readonly dimension: number;
      readonly maxSequenceLength: number;
      readonly tokenizer: TokenizerSpec;
    }
  | {
      readonly kind: 'loadError';
      readonly message: string;
      readonly code: string | null;
      readonly path: string | null;
    }
  | { readonly kind: 'vectors'; readonly id: number; readonly data: Float32Array }
  | { readonly kind: 'warm'; readonly id: number; readonly ms: number }
  | { readonly kind: 'error'; readonly id: number; readonly message: string };

const WORKER_URL = new URL('./embedder-worker.js', import.meta.url);

/** Loads the model on a new thread; rejects as the backend would (FileError naming the file). */
export function loadEmbedderOnThread(spec: ModelSpec): Promise<Embedder> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: spec });
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    let nextId = 1;
    let dead: Error | null = null;
    let loaded = false;

    const call = <T>(request: EmbedderThreadRequest, transfer: ArrayBuffer[] = []): Promise<T> => {
      if (dead !== null) return Promise.reject(dead);
      return new Promise<T>((res, rej) => {
        if (request.kind !== 'close')
          pending.set(request.id, { resolve: res as (v: unknown) => void, reject: rej });
        worker.postMessage(request, transfer);
      });
    };

    worker.on('message', (reply: EmbedderThreadReply) => {
      switch (reply.kind) {
        case 'ready': {
          loaded = true;
          const dim = reply.dimension;
          let closed = false;
          resolve({
            info: reply.info,
            dimension: dim,
            maxSequenceLength: reply.maxSequenceLength,
            tokenizer: reply.tokenizer,
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
              const data = await call<Float32Array>({ kind: 'embed', id: nextId++, ids, lengths }, [
                ids.buffer,
                lengths.buffer,
              ]);
              return batch.map((_, i) => data.subarray(i * dim, (i + 1) * dim));
            },
            warmUp: () => call<number>({ kind: 'warmUp', id: nextId++ }),
            close: async () => {
              if (closed) return;
              closed = true;
              dead = new Error('the model was closed');
              worker.postMessage({ kind: 'close' } satisfies EmbedderThreadRequest);
              await new Promise<void>((done) => {
                const timer = setTimeout(() => void worker.terminate().then(() => done()), 2000);
                worker.once('exit', () => {
                  clearTimeout(timer);
                  done();
                });
              });
            },
          });
          return;
        }
        case 'loadError':
          reject(
            reply.path !== null
              ? new FileError(reply.path, reply.message.replace(`${reply.path}: `, ''))
              : new Error(reply.message),
          );
          void worker.terminate();
          return;
        case 'vectors':
        case 'warm':
        case 'error': {
          const p = pending.get(reply.id);
          if (p === undefined) return;
          pending.delete(reply.id);
          if (reply.kind === 'error') p.reject(new Error(reply.message));
          else p.resolve(reply.kind === 'vectors' ? reply.data : reply.ms);
        }
      }
    });
    const fail = (err: Error): void => {
      dead ??= err;
      for (const p of pending.values()) p.reject(dead);
      pending.clear();
      if (!loaded) reject(dead);
    };
    worker.on('error', (err) => fail(new Error(`the inference thread of ${spec.id} failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`the inference thread of ${spec.id} exited (code ${code})`)));
  });
}
