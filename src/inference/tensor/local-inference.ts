/**
 * In-process inference over the models of a repository: the InferenceEngine behind `pitlane serve models` and
 * behind `pitlane serve ingest` when no `--inference` URL is given. Each model has `instances` copies, each on a
 * thread of its own, and a dynamic batcher with Triton's semantics:
 *
 * - `max_batch_size > 0`: the first dimension of every input and output is the batch one. Requests whose other
 *   dimensions, datatypes and wanted outputs match are concatenated along it, up to `max_batch_size`.
 * - A batch runs as soon as an instance is free and it has reached the largest `preferred_batch_size` (or
 *   `max_batch_size`), or when its oldest request has waited `max_queue_delay_microseconds` (0: never waits, so a
 *   lone request runs at once and batches grow only while instances are busy).
 * - The queue holds at most `queue_capacity` batch elements; beyond that a request is refused at once with a retry
 *   estimate (QueueFullError → HTTP 429). A request whose signal aborted is dropped before it runs.
 *
 * Requests are checked against the model's metadata first: every input present, known, of the right datatype,
 * rank and fixed dimensions, data length matching the shape (request-check.ts). The message names the input and
 * what is wrong.
 */
import { ModelNotFoundError, QueueFullError } from '../../core/errors.js';
import { performance } from 'node:perf_hooks';
import type { ModelSpec } from './model-repository.js';
import {
  type InferenceEngine,
  type InferenceRequest,
  type InferenceResult,
  type ModelMetadata,
  type Tensor,
} from './tensor.js';
import { loadTensorModel } from '../backends/registry.js';
import { concatenateBatch, splitBatch } from './batch-tensors.js';
import { checkRequest, type CheckedRequest } from './request-check.js';
import type { TensorModel } from './tensor-model.js';
import { loadTensorModelOnThread } from './thread-tensor-model.js';

/** The only version pitlane serves of each model. */
export const MODEL_VERSION = '1';

/** Triton's default `max_batch_size` for a model whose first dimensions are all variable. */
export const AUTO_MAX_BATCH_SIZE = 4;

/** Cumulative counters of one model (Triton's statistics extension, simplified). */
export interface ModelStatistics {
  readonly name: string;
  readonly version: string;
  /** Requests that succeeded / failed (validation, model or queue errors). */
  readonly success: number;
  readonly failure: number;
  /** Batch elements inferred (sum of request batch sizes). */
  readonly inferenceCount: number;
  /** Model runs (batches). */
  readonly executionCount: number;
  /** Sum over succeeded requests of time queued, and of time in the model run that served them (µs). */
  readonly queueUs: number;
  readonly computeUs: number;
  /** Batch elements waiting now. */
  readonly queued: number;
}

export interface LocalInference extends InferenceEngine {
  /** The served models and their resolved batching. */
  readonly models: readonly ServedModel[];
  statistics(): ModelStatistics[];
}

export interface ServedModel {
  readonly spec: ModelSpec;
  readonly metadata: ModelMetadata;
  /** Resolved: 0 means no batching. */
  readonly maxBatchSize: number;
  readonly runtime: string;
  readonly warmUpMs: number | null;
}

export interface LocalInferenceOptions {
  /** Run each instance on a worker thread (default true). false runs models on the calling thread (tests). */
  readonly threads?: boolean;
}

/** Loads every model (all instances) and returns the engine. Rejects as the model loaders do (FileError). */
export async function createLocalInference(
  specs: readonly ModelSpec[],
  options: LocalInferenceOptions = {},
): Promise<LocalInference> {
  const onThread = options.threads ?? true;
  const entries = new Map<string, ModelEntry>();
  try {
    for (const spec of specs) {
      const instances: TensorModel[] = [];
      let warmUpMs: number | null = null;
      for (let i = 0; i < spec.instances; i++) {
        if (onThread) {
          const m = await loadTensorModelOnThread(spec);
          warmUpMs ??= m.warmUpMs;
          instances.push(m);
        } else {
          instances.push(await loadTensorModel(spec));
        }
      }
      const first = instances[0];
      if (first === undefined) throw new Error(`model ${spec.id} has no instance`);
      entries.set(spec.id, new ModelEntry(spec, instances, warmUpMs));
    }
  } catch (err) {
    await Promise.all([...entries.values()].map((e) => e.close()));
    throw err;
  }
  let closed = false;
  const entryOf = (model: string, version?: string): ModelEntry => {
    const e = entries.get(model);
    if (e === undefined) throw new ModelNotFoundError(model);
    if (version !== undefined && version !== '' && version !== MODEL_VERSION)
      throw new ModelNotFoundError(model, version);
    return e;
  };
  return {
    models: [...entries.values()].map((e) => e.served),
    ready: () => Promise.resolve(!closed),
    modelReady: (model, version) => {
      try {
        entryOf(model, version);
        return Promise.resolve(!closed);
      } catch {
        return Promise.resolve(false);
      }
    },
    modelMetadata: (model, version) => {
      try {
        return Promise.resolve(entryOf(model, version).served.metadata);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    infer: async (model, request, version) => entryOf(model, version).infer(request),
    statistics: () => [...entries.values()].map((e) => e.statistics()),
    close: async () => {
      closed = true;
      await Promise.all([...entries.values()].map((e) => e.close()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

interface Pending {
  readonly request: InferenceRequest;
  /** Inputs in the model's input order. */
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly string[];
  /** Batch elements (first dimension), 1 when the model does not batch. */
  readonly size: number;
  /** Requests with the same key can share a batch. */
  readonly key: string;
  readonly enqueuedAt: number;
  readonly resolve: (r: InferenceResult) => void;
  readonly reject: (e: Error) => void;
}

class ModelEntry {
  readonly served: ServedModel;
  private readonly queue: Pending[] = [];
  private queuedElements = 0;
  private readonly free: TensorModel[];
  private timer: NodeJS.Timeout | null = null;
  private readonly stats = {
    success: 0,
    failure: 0,
    inferenceCount: 0,
    executionCount: 0,
    queueUs: 0,
    computeUs: 0,
  };
  /** Moving average of a batch's run time (ms), for retry estimates. */
  private runMs = 10;
  private closed = false;

  constructor(
    readonly spec: ModelSpec,
    private readonly instances: readonly TensorModel[],
    warmUpMs: number | null,
  ) {
    const m = instances[0] as TensorModel;
    const batchable = [...m.inputs, ...m.outputs].every((t) => t.shape.length > 0 && t.shape[0] === -1);
    const maxBatchSize = spec.dynamicBatching.maxBatchSize ?? (batchable ? AUTO_MAX_BATCH_SIZE : 0);
    if (maxBatchSize > 0 && !batchable) {
      const fixed = [...m.inputs, ...m.outputs].find((t) => t.shape[0] !== -1);
      throw new Error(
        `model ${spec.id}: dynamic_batching.max_batch_size is ${maxBatchSize}, but '${fixed?.name ?? '?'}' has a fixed first dimension (shape [${fixed?.shape.join(', ') ?? ''}]); set max_batch_size: 0`,
      );
    }
    this.served = {
      spec,
      maxBatchSize,
      runtime: m.info.runtime,
      warmUpMs,
      metadata: {
        name: spec.id,
        versions: [MODEL_VERSION],
        platform: m.info.platform,
        inputs: m.inputs,
        outputs: m.outputs,
      },
    };
    this.free = [...instances];
  }

  infer(request: InferenceRequest): Promise<InferenceResult> {
    if (this.closed) return Promise.reject(new Error(`model ${this.spec.id} is closed`));
    let checked: CheckedRequest;
    try {
      checked = checkRequest(request, this.served.metadata, this.served.maxBatchSize);
    } catch (err) {
      this.stats.failure++;
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const capacity = this.spec.dynamicBatching.queueCapacity;
    if (this.queuedElements + checked.size > capacity) {
      this.stats.failure++;
      const perBatch = Math.max(1, this.served.maxBatchSize);
      const retry = ((this.queuedElements / perBatch) * this.runMs) / this.instances.length;
      return Promise.reject(new QueueFullError(Math.max(1000, retry), this.queuedElements));
    }
    if (request.signal?.aborted === true) {
      this.stats.failure++;
      return Promise.reject(abortError(request.signal));
    }
    return new Promise<InferenceResult>((resolve, reject) => {
      this.queue.push({ request, ...checked, enqueuedAt: performance.now(), resolve, reject });
      this.queuedElements += checked.size;
      this.dispatch();
    });
  }

  statistics(): ModelStatistics {
    return { name: this.spec.id, version: MODEL_VERSION, ...this.stats, queued: this.queuedElements };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const p of this.queue.splice(0)) p.reject(new Error(`model ${this.spec.id} was closed`));
    this.queuedElements = 0;
    await Promise.all(this.instances.map((m) => m.close()));
  }

  private dispatch(): void {
    while (this.free.length > 0 && this.queue.length > 0) {
      // Requests whose client went away never run.
      const head = this.queue[0] as Pending;
      if (head.request.signal?.aborted === true) {
        this.queue.shift();
        this.queuedElements -= head.size;
        this.stats.failure++;
        head.reject(abortError(head.request.signal));
        continue;
      }
      const batch = this.takeBatch(head);
      if (batch === null) return;
      const instance = this.free.pop() as TensorModel;
      void this.run(instance, batch).finally(() => {
        this.free.push(instance);
        this.dispatch();
      });
    }
  }

  /** The batch to run now, starting with the oldest request; null when it should wait for more. */
  private takeBatch(head: Pending): Pending[] | null {
    const max = Math.max(1, this.served.maxBatchSize);
    const picked: Pending[] = [];
    let total = 0;
    for (const p of this.queue) {
      if (p.key !== head.key || total + p.size > max) continue;
      if (p.request.signal?.aborted === true) continue;
      picked.push(p);
      total += p.size;
      if (total === max) break;
    }
    const { maxQueueDelayUs, preferredBatchSizes } = this.spec.dynamicBatching;
    const target = preferredBatchSizes.length > 0 ? Math.min(max, preferredBatchSizes.at(-1) ?? max) : max;
    const waitedUs = (performance.now() - head.enqueuedAt) * 1000;
    if (this.served.maxBatchSize > 0 && total < target && waitedUs < maxQueueDelayUs) {
      if (this.timer === null) {
        this.timer = setTimeout(
          () => {
            this.timer = null;
            this.dispatch();
          },
          Math.max(0, (maxQueueDelayUs - waitedUs) / 1000),
        );
      }
      return null;
    }
    const taken = new Set(picked);
    const rest = this.queue.filter((p) => !taken.has(p));
    this.queue.length = 0;
    this.queue.push(...rest);
    this.queuedElements -= total;
    return picked;
  }

  private async run(instance: TensorModel, batch: readonly Pending[]): Promise<void> {
    const first = batch[0] as Pending;
    const t0 = performance.now();
    const total = batch.reduce((n, p) => n + p.size, 0);
    try {
      const inputs = batch.length === 1 ? first.inputs : concatenateBatch(batch.map((p) => p.inputs));
      const outputs = await instance.run(inputs, first.outputs);
      const t1 = performance.now();
      this.runMs = 0.8 * this.runMs + 0.2 * (t1 - t0);
      this.stats.executionCount++;
      const parts =
        batch.length === 1
          ? [outputs]
          : splitBatch(
              outputs,
              batch.map((p) => p.size),
              total,
              this.spec.id,
            );
      batch.forEach((p, i) => {
        this.stats.success++;
        this.stats.inferenceCount += p.size;
        this.stats.queueUs += Math.round((t0 - p.enqueuedAt) * 1000);
        this.stats.computeUs += Math.round((t1 - t0) * 1000);
        p.resolve({
          modelName: this.spec.id,
          modelVersion: MODEL_VERSION,
          ...(p.request.id !== undefined ? { id: p.request.id } : {}),
          outputs: parts[i] ?? [],
        });
      });
    } catch (err) {
      this.stats.executionCount++;
      const e = err instanceof Error ? err : new Error(String(err));
      for (const p of batch) {
        this.stats.failure++;
        p.reject(e);
      }
    }
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error('the request was aborted before inference');
  e.name = 'AbortError';
  return e;
}
