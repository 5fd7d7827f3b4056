/**
 * Where a text-embedding model runs: on a worker thread of its own, or on the server's own thread (`instance_kind`
 * in models.yaml). A thread of its own keeps the event loop free while a batch runs, which pays when there are cores
 * to spare: HTTP, JSON and tokenizing run beside inference. When the model's intra-op threads already take every
 * core, nothing runs beside it for free, and the thread only adds a hand-over each way: a message that wakes a
 * sleeping thread, which then competes for a core with the one that woke it and with ONNX Runtime's own threads
 * (measured in bench/embed-placement.yaml: about 0.3-0.5 ms a request on 2 cores, the same throughput at 16 clients).
 */
import type { ModelSpec } from '../tensor/model-repository.js';

export interface EmbedderPlacement {
  readonly kind: 'thread' | 'inline';
  /**
   * `asked`: models.yaml's instance_kind; `auto` chose from the machine: `all-cores` (inline: the intra-op threads
   * take every core), `spare-cores` (thread: cores are left for the event loop), `several-models` (thread: each
   * model runs beside the others).
   */
  readonly why: 'asked' | 'all-cores' | 'spare-cores' | 'several-models';
  /** The model's intra-op threads (0: ONNX Runtime's default, one per core) and the cores it was weighed against. */
  readonly intraOpThreads: number;
  readonly cores: number;
}

/**
 * Where `spec` runs when the server serves `modelsServed` text models on a machine of `cores` cores (the ones this
 * process may use). `auto`: inline when it is the only model and its intra-op threads take every core, else thread.
 */
export function embedderPlacement(spec: ModelSpec, modelsServed: number, cores: number): EmbedderPlacement {
  const intraOpThreads = spec.threads.intraOp;
  const base = { intraOpThreads, cores };
  if (spec.instanceKind !== 'auto') return { kind: spec.instanceKind, why: 'asked', ...base };
  if (modelsServed > 1) return { kind: 'thread', why: 'several-models', ...base };
  const threads = intraOpThreads === 0 ? cores : intraOpThreads;
  return threads >= cores
    ? { kind: 'inline', why: 'all-cores', ...base }
    : { kind: 'thread', why: 'spare-cores', ...base };
}

/** The placement as the start-up line says it. */
export function describeEmbedderPlacement(p: EmbedderPlacement): string {
  const n = p.intraOpThreads;
  const threads = n === 0 ? 'one intra-op thread per core' : `${n} intra-op thread${n === 1 ? '' : 's'}`;
  switch (p.why) {
    case 'asked':
      return `${p.kind === 'inline' ? "on the server's thread" : 'on a thread of its own'} (instance_kind: ${p.kind})`;
    case 'all-cores':
      return `on the server's thread (instance_kind auto: ${threads} take all ${p.cores} cores)`;
    case 'spare-cores':
      return `on a thread of its own (instance_kind auto: ${threads} leave cores of ${p.cores} to the server)`;
    case 'several-models':
      return 'on a thread of its own (instance_kind auto: several models served, each beside the others)';
  }
}
