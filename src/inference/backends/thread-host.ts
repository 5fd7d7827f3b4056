/**
 * One worker thread that runs one service of the inference layer (a text embedder, a tensor model, a
 * tokenizer: THREAD_SERVICES in thread-worker.ts), seen from the thread that started it. onnxruntime-node and
 * TF.js's wasm backend compute on the thread that calls them, and a large tokenization is CPU work too: on the
 * main thread, they would stop a server from reading, queueing and answering while they run.
 *
 * One protocol for every service: the thread loads its service from plain data and says `ready` (with what the
 * service tells about itself) or `loadError`; then each `call` (method, arguments, transferred buffers) gets one
 * `result` or `error` back by id, and `close` releases the service and ends the thread. A call that throws
 * fails only that call; a thread that dies fails what it held and every later call, with a message saying so.
 * The per-use adapters (text/thread-embedder.ts, tensor/thread-tensor-model.ts, text/tokenizer-pool.ts) turn
 * this into their own interface.
 */
import { Worker } from 'node:worker_threads';
import { FileError, InferenceInputError } from '../../core/errors.js';
import type { HostMessage, ThreadMessage, ThreadServiceName, ThreadWorkerData } from './thread-protocol.js';

/** How a thread's failures read to the callers. */
export interface ThreadHostOptions {
  readonly service: ThreadServiceName;
  readonly init: unknown;
  /** The error pending and later calls fail with when the thread reports an uncaught error. */
  readonly failed: (err: Error) => Error;
  /** The error pending and later calls fail with when the thread exits on its own. */
  readonly exited: (code: number) => Error;
  /** The error a call fails with when the service throws (default: InferenceInputError for bad input). */
  readonly callError?: (message: string, input: boolean) => Error;
}

/** A started thread whose service is loaded. */
export interface ThreadHost<Ready> {
  /** What the service said about itself once loaded. */
  readonly ready: Ready;
  /** Calls sent and not answered yet. */
  readonly pending: number;
  /** Calls the service's `method`; `transfer` lists buffers of `args` moved to the thread, not copied. */
  call<T>(method: string, args: unknown, transfer?: readonly ArrayBuffer[]): Promise<T>;
  /** Runs `listener` once when the thread dies (not after close or terminate), with the error calls got. */
  onDeath(listener: (err: Error) => void): void;
  /** Releases the service and ends the thread (terminated after `graceMs`); later calls fail with `reason`. */
  close(reason: Error, graceMs?: number): Promise<void>;
  /** Ends the thread at once; pending and later calls fail as when it exits. */
  terminate(): Promise<void>;
}

const WORKER_URL = new URL('./thread-worker.js', import.meta.url);

const defaultCallError = (message: string, input: boolean): Error =>
  input ? new InferenceInputError(message) : new Error(message);

/**
 * Starts a thread and loads its service there. Rejects as the service's load would (FileError naming the file,
 * carried across the thread), or with the thread's failure when it dies before it is ready.
 */
export function startThread<Ready>(options: ThreadHostOptions): Promise<ThreadHost<Ready>> {
  const callError = options.callError ?? defaultCallError;
  return new Promise((resolve, reject) => {
    const data: ThreadWorkerData = { service: options.service, init: options.init };
    const worker = new Worker(WORKER_URL, { workerData: data });
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    const deathListeners: ((err: Error) => void)[] = [];
    let nextId = 1;
    let dead: Error | null = null;
    let loaded = false;
    let ended = false;

    const failAll = (err: Error): void => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };

    worker.on('message', (m: ThreadMessage) => {
      switch (m.kind) {
        case 'ready':
          loaded = true;
          resolve(host(m.ready as Ready));
          return;
        case 'loadError':
          reject(
            m.path !== null
              ? new FileError(m.path, m.message.replace(`${m.path}: `, ''))
              : new Error(m.message),
          );
          ended = true;
          void worker.terminate();
          return;
        case 'result':
        case 'error': {
          const p = pending.get(m.id);
          if (p === undefined) return;
          pending.delete(m.id);
          if (m.kind === 'result') p.resolve(m.value);
          else p.reject(callError(m.message, m.input));
        }
      }
    });
    const die = (err: Error): void => {
      const first = dead === null;
      dead ??= err;
      failAll(dead);
      if (!loaded) reject(dead);
      if (first && !ended) for (const listener of deathListeners) listener(dead);
    };
    worker.on('error', (err) => die(options.failed(err)));
    worker.on('exit', (code) => die(options.exited(code)));

    const host = (ready: Ready): ThreadHost<Ready> => ({
      ready,
      get pending() {
        return pending.size;
      },
      call: <T>(method: string, args: unknown, transfer: readonly ArrayBuffer[] = []): Promise<T> => {
        if (dead !== null) return Promise.reject(dead);
        return new Promise<T>((res, rej) => {
          const id = nextId++;
          pending.set(id, { resolve: res as (v: unknown) => void, reject: rej });
          const message: HostMessage = { kind: 'call', id, method, args };
          worker.postMessage(message, transfer);
        });
      },
      onDeath: (listener) => {
        deathListeners.push(listener);
      },
      close: async (reason, graceMs = 2000) => {
        if (ended) return;
        ended = true;
        dead = reason;
        worker.postMessage({ kind: 'close' } satisfies HostMessage);
        await new Promise<void>((done) => {
          const timer = setTimeout(() => void worker.terminate().then(() => done()), graceMs);
          worker.once('exit', () => {
            clearTimeout(timer);
            done();
          });
        });
      },
      terminate: async () => {
        if (ended) return;
        ended = true;
        await worker.terminate();
      },
    });
  });
}
