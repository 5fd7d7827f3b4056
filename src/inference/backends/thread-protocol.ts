/**
 * The protocol between a thread that hosts an inference service (thread-host.ts) and the thread that runs it
 * (thread-worker.ts): the messages both ways, and what a service is on its thread. Types only, so that the host,
 * the worker entry and the per-use adapters (each defining its service) share them without importing each other.
 */

/** The services a thread can run (the keys of THREAD_SERVICES in thread-worker.ts). */
export type ThreadServiceName = 'embedder' | 'tensor-model' | 'tokenizer';

/** What the starting thread posts as workerData. */
export interface ThreadWorkerData {
  readonly service: ThreadServiceName;
  /** Plain data the service loads from (a model spec, a tokenizer spec). */
  readonly init: unknown;
}

/** A message to the thread. */
export type HostMessage =
  | { readonly kind: 'call'; readonly id: number; readonly method: string; readonly args: unknown }
  | { readonly kind: 'close' };

/** A message from the thread. */
export type ThreadMessage =
  | { readonly kind: 'ready'; readonly ready: unknown }
  | {
      readonly kind: 'loadError';
      readonly message: string;
      readonly code: string | null;
      readonly path: string | null;
    }
  | { readonly kind: 'result'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'error'; readonly id: number; readonly message: string; readonly input: boolean };

/** A service loaded on its thread. */
export interface ThreadService {
  /** Plain data posted back with `ready` (what the service says about itself). */
  readonly ready: unknown;
  /** Answers one call: its value, and the buffers of the value to transfer rather than copy. */
  handle(method: string, args: unknown): Promise<ThreadAnswer>;
  /** Releases what the service holds. */
  close(): Promise<void>;
}

/** One call's answer. */
export interface ThreadAnswer {
  readonly value: unknown;
  readonly transfer?: readonly ArrayBuffer[];
}

/** Loads a service on its thread from plain data. */
export type ThreadServiceLoader = (init: unknown) => Promise<ThreadService>;
