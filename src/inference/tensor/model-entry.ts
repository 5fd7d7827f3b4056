/**
 * One loaded model: its instances and its dynamic batcher (the semantics are in local-inference.ts), and the
 * recording of where each request's time goes (model-statistics.ts). Also its unloading: `drain()` refuses new
 * requests, runs what is queued at once (no point waiting for more), and resolves when nothing is in flight.
 */
import { ModelNotReadyError, QueueFullError } from '../../core/errors.js';
import { performance } from 'node:perf_hooks';
import { concatenateBatch, splitBatch } from './batch-tensors.js';
import type { ModelSpec } from './model-repository.js';
import type { ModelStatisticsAccumulator } from './model-statistics.js';
import { checkRequest, type CheckedRequest } from './request-check.js';
import type { TimedTensorModel } from './tensor-model.js';
import type { InferenceRequest, InferenceResult, ModelMetadata, Tensor } from './tensor.js';

/** The only version pitlane serves of each model. */
export const MODEL_VERSION = '1';

/** Triton's default `max_batch_size` for a model whose first dimensions are all variable. */
export const AUTO_MAX_BATCH_SIZE = 4;

/** Where a model's instances run, why, and what its warm-up measured (ms; null: it could not warm up). */
export interface InstancePlacement {
  readonly kind: 'thread' | 'inline';
  /** `asked` in models.yaml; `short`/`long`: chosen by `auto` from the warm run; `tests`: the engine's option. */
  readonly why: 'asked' | 'short' | 'long' | 'tests';
  readonly warmUpMs: number | null;
  readonly warmRunMs: number | null;
}

export interface ServedModel {
  readonly spec: ModelSpec;
  readonly metadata: ModelMetadata;
  /** Resolved: 0 means no batching. */
  readonly maxBatchSize: number;
  readonly runtime: string;
  readonly placement: InstancePlacement;
}

interface Pending {
  readonly request: InferenceRequest;
  /** Inputs in the model's input order. */
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly string[];
  /** Batch elements (first dimension), 1 when the model does not batch. */
  readonly size: number;
  /** Requests with the same key can share a batch. */
  readonly key: string;
  readonly arrivedAt: number;
  readonly resolve: (r: InferenceResult) => void;
  readonly reject: (e: Error) => void;
}

export class ModelEntry {
  readonly served: ServedModel;
  private readonly queue: Pending[] = [];
  private queuedElements = 0;
  private readonly free: TimedTensorModel[];
  private timer: NodeJS.Timeout | null = null;
  /** Moving average of a batch's run time (ms), for retry estimates. */
  private runMs = 10;
  private closed = false;
  private draining = false;
  private idle: (() => void) | null = null;

  constructor(
    readonly spec: ModelSpec,
    private readonly instances: readonly TimedTensorModel[],
    placement: InstancePlacement,
    private readonly stats: ModelStatisticsAccumulator,
  ) {
    const m = instances[0] as TimedTensorModel;
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
      placement,
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

  /** Batch elements waiting now. */
  get queued(): number {
    return this.queuedElements;
  }

  infer(request: InferenceRequest): Promise<InferenceResult> {
    const arrivedAt = performance.now();
    if (this.closed || this.draining) {
      return Promise.reject(new ModelNotReadyError(this.spec.id, 'UNLOADING', 'being unloaded'));
    }
    let checked: CheckedRequest;
    try {
      checked = checkRequest(request, this.served.metadata, this.served.maxBatchSize);
    } catch (err) {
      return this.refuse(arrivedAt, err instanceof Error ? err : new Error(String(err)));
    }
    const capacity = this.spec.dynamicBatching.queueCapacity;
    if (this.queuedElements + checked.size > capacity) {
      const perBatch = Math.max(1, this.served.maxBatchSize);
      const retry = ((this.queuedElements / perBatch) * this.runMs) / this.instances.length;
      return this.refuse(arrivedAt, new QueueFullError(Math.max(1000, retry), this.queuedElements));
    }
    if (request.signal?.aborted === true) return this.refuse(arrivedAt, abortError(request.signal));
    return new Promise<InferenceResult>((resolve, reject) => {
      this.queue.push({ request, ...checked, arrivedAt, resolve, reject });
      this.queuedElements += checked.size;
      this.dispatch();
    });
  }

  /**
   * Refuses new requests, runs the queued ones without waiting for fuller batches, and resolves once every
   * request in flight has been answered.
   */
  drain(): Promise<void> {
    this.draining = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.dispatch();
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const p of this.queue.splice(0)) p.reject(new Error(`model ${this.spec.id} was closed`));
    this.queuedElements = 0;
    await Promise.all(this.instances.map((m) => m.close()));
  }

  private refuse(arrivedAt: number, error: Error): Promise<never> {
    this.stats.requestFailed(performance.now() - arrivedAt);
    return Promise.reject(error);
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.free.length === this.instances.length;
  }

  private dispatch(): void {
    while (this.free.length > 0 && this.queue.length > 0) {
      // Requests whose client went away never run.
      const head = this.queue[0] as Pending;
      if (head.request.signal?.aborted === true) {
        this.queue.shift();
        this.queuedElements -= head.size;
        this.stats.requestFailed(performance.now() - head.arrivedAt);
        head.reject(abortError(head.request.signal));
        continue;
      }
      const batch = this.takeBatch(head);
      if (batch === null) return;
      const instance = this.free.pop() as TimedTensorModel;
      void this.run(instance, batch).finally(() => {
        this.free.push(instance);
        this.dispatch();
      });
    }
    if (this.idle !== null && this.isIdle()) {
      this.idle();
      this.idle = null;
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
    const waitedUs = (performance.now() - head.arrivedAt) * 1000;
    if (this.served.maxBatchSize > 0 && !this.draining && total < target && waitedUs < maxQueueDelayUs) {
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

  private async run(instance: TimedTensorModel, batch: readonly Pending[]): Promise<void> {
    const first = batch[0] as Pending;
    const t0 = performance.now();
    const total = batch.reduce((n, p) => n + p.size, 0);
    try {
      const inputs = batch.length === 1 ? first.inputs : concatenateBatch(batch.map((p) => p.inputs));
      const t1 = performance.now();
      const ran = await instance.runTimed(inputs, first.outputs);
      const t2 = performance.now();
      const parts =
        batch.length === 1
          ? [ran.outputs]
          : splitBatch(
              ran.outputs,
              batch.map((p) => p.size),
              total,
              this.spec.id,
            );
      const t3 = performance.now();
      this.runMs = 0.8 * this.runMs + 0.2 * (t3 - t0);
      const inputMs = t1 - t0 + ran.inputHandOverMs;
      const outputMs = ran.outputHandOverMs + (t3 - t2);
      this.stats.runSucceeded(total, { queueMs: 0, inputMs, inferMs: ran.inferMs, outputMs });
      batch.forEach((p, i) => {
        const timing = { queueMs: t0 - p.arrivedAt, inputMs, inferMs: ran.inferMs, outputMs };
        this.stats.requestSucceeded(p.size, t3 - p.arrivedAt, timing);
        p.resolve({
          modelName: this.spec.id,
          modelVersion: MODEL_VERSION,
          ...(p.request.id !== undefined ? { id: p.request.id } : {}),
          outputs: parts[i] ?? [],
          timing,
        });
      });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const now = performance.now();
      for (const p of batch) {
        this.stats.requestFailed(now - p.arrivedAt);
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
