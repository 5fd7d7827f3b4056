/**
 * A TensorModel on a worker thread of its own (tensor-model-worker.ts): onnxruntime-node and TF.js's wasm
 * backend compute on the thread that calls them, so a model on the main thread would stop the server from reading
 * and answering requests while a batch runs. Tensors cross as transferred buffers. A batch that throws fails only
 * that call; a thread that dies fails what it held and every later call, with a message saying so.
 */
import { Worker } from 'node:worker_threads';
import { FileError } from '../../core/errors.js';
import type { ModelSpec } from './model-repository.js';
import { InferenceInputError, type Tensor, type TensorMetadata } from './tensor.js';
import type { TensorModel, TensorModelInfo } from './tensor-model.js';

export type TensorThreadRequest =
  | {
      readonly kind: 'run';
      readonly id: number;
      readonly inputs: readonly Tensor[];
      readonly outputs: readonly string[];
    }
  | { readonly kind: 'close' };

export type TensorThreadReply =
  | {
      readonly kind: 'ready';
      readonly info: TensorModelInfo;
      readonly inputs: readonly TensorMetadata[];
      readonly outputs: readonly TensorMetadata[];
      readonly warmUpMs: number | null;
    }
  | {
      readonly kind: 'loadError';
      readonly message: string;
      readonly code: string | null;
      readonly path: string | null;
    }
  | { readonly kind: 'outputs'; readonly id: number; readonly outputs: Tensor[] }
  | { readonly kind: 'error'; readonly id: number; readonly message: string; readonly input: boolean };

const WORKER_URL = new URL('./tensor-model-worker.js', import.meta.url);

/** A TensorModel that also says how long its warm-up run took. */
export interface ThreadTensorModel extends TensorModel {
  readonly warmUpMs: number | null;
}

/**
 * Loads the model on a new thread. `transferInputs`: the caller gives up the input buffers (they are moved to the
 * thread, not copied); leave it false when the caller keeps using them.
 */
export function loadTensorModelOnThread(
  spec: ModelSpec,
  { transferInputs = true }: { readonly transferInputs?: boolean } = {},
): Promise<ThreadTensorModel> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: spec });
    const pending = new Map<number, { resolve: (v: Tensor[]) => void; reject: (e: Error) => void }>();
    let nextId = 1;
    let dead: Error | null = null;
    let loaded = false;

    worker.on('message', (reply: TensorThreadReply) => {
      switch (reply.kind) {
        case 'ready': {
          loaded = true;
          let closed = false;
          resolve({
            info: reply.info,
            inputs: reply.inputs,
            outputs: reply.outputs,
            warmUpMs: reply.warmUpMs,
            run: (inputs, outputs) => {
              if (dead !== null) return Promise.reject(dead);
              return new Promise<Tensor[]>((res, rej) => {
                const id = nextId++;
                pending.set(id, { resolve: res, reject: rej });
                const request: TensorThreadRequest = { kind: 'run', id, inputs, outputs };
                const transfer = transferInputs
                  ? [...new Set(inputs.map((t) => t.data.buffer))].filter(
                      (b): b is ArrayBuffer => b instanceof ArrayBuffer,
                    )
                  : [];
                worker.postMessage(request, transfer);
              });
            },
            close: async () => {
              if (closed) return;
              closed = true;
              dead = new Error(`model ${spec.id} was closed`);
              worker.postMessage({ kind: 'close' } satisfies TensorThreadRequest);
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
        case 'outputs':
        case 'error': {
          const p = pending.get(reply.id);
          if (p === undefined) return;
          pending.delete(reply.id);
          if (reply.kind === 'outputs') p.resolve(reply.outputs);
          else p.reject(reply.input ? new InferenceInputError(reply.message) : new Error(reply.message));
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
