/**
 * The cumulative statistics of one model, in Triton's terms (model-control.ts): per request, the whole time in the
 * engine (success or fail) and its split into queue, compute_input, compute_infer and compute_output; per model
 * run, the same compute split by batch size. The engine records a few numbers per request and per run into plain
 * counters (no allocation per request); a snapshot builds Triton's shape when asked.
 *
 * Durations are recorded in milliseconds (performance.now() differences) and reported in whole nanoseconds.
 */
import type { InferStatistics, StatisticDuration, TritonModelStatistics } from './model-control.js';
import type { InferenceTiming } from './tensor.js';

/** A count and a total duration (ms), mutable. */
class Duration {
  count = 0;
  ms = 0;

  add(ms: number, count = 1): void {
    this.count += count;
    this.ms += ms;
  }

  get us(): number {
    return Math.round(this.ms * 1000);
  }

  toJSON(): StatisticDuration {
    return { count: this.count, ns: Math.round(this.ms * 1e6) };
  }
}

/** The runs of one batch size. */
interface BatchRuns {
  readonly input: Duration;
  readonly infer: Duration;
  readonly output: Duration;
}

/** The counters of one model version, since the server started (kept across unload and reload). */
export class ModelStatisticsAccumulator {
  private readonly success = new Duration();
  private readonly fail = new Duration();
  private readonly queue = new Duration();
  private readonly input = new Duration();
  private readonly infer = new Duration();
  private readonly output = new Duration();
  private readonly batches = new Map<number, BatchRuns>();
  private inferences = 0;
  private executions = 0;
  private lastInference = 0;

  constructor(
    readonly name: string,
    readonly version: string,
  ) {}

  /** A model run of `batchSize` elements succeeded, with its compute split (the queue part is per request). */
  runSucceeded(batchSize: number, timing: InferenceTiming): void {
    this.executions++;
    let runs = this.batches.get(batchSize);
    if (runs === undefined) {
      runs = { input: new Duration(), infer: new Duration(), output: new Duration() };
      this.batches.set(batchSize, runs);
    }
    runs.input.add(timing.inputMs);
    runs.infer.add(timing.inferMs);
    runs.output.add(timing.outputMs);
  }

  /**
   * A request of `elements` batch elements was answered: `totalMs` is its whole time in the engine, `timing` the
   * split of the run that served it (each request of a batch is charged the batch's compute time, as Triton does).
   */
  requestSucceeded(elements: number, totalMs: number, timing: InferenceTiming): void {
    this.success.add(totalMs);
    this.queue.add(timing.queueMs);
    this.input.add(timing.inputMs);
    this.infer.add(timing.inferMs);
    this.output.add(timing.outputMs);
    this.inferences += elements;
    this.lastInference = Date.now();
  }

  /** A request failed (refused, aborted, or its run failed) after `totalMs` in the engine. */
  requestFailed(totalMs: number): void {
    this.fail.add(totalMs);
    this.lastInference = Date.now();
  }

  /** Triton's ModelStatistics. */
  snapshot(): TritonModelStatistics {
    const stats: InferStatistics = {
      success: this.success.toJSON(),
      fail: this.fail.toJSON(),
      queue: this.queue.toJSON(),
      compute_input: this.input.toJSON(),
      compute_infer: this.infer.toJSON(),
      compute_output: this.output.toJSON(),
      cache_hit: { count: 0, ns: 0 },
      cache_miss: { count: 0, ns: 0 },
    };
    return {
      name: this.name,
      version: this.version,
      last_inference: this.lastInference,
      inference_count: this.inferences,
      execution_count: this.executions,
      inference_stats: stats,
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batchSize, runs]) => ({
          batch_size: batchSize,
          compute_input: runs.input.toJSON(),
          compute_infer: runs.infer.toJSON(),
          compute_output: runs.output.toJSON(),
        })),
    };
  }

  /** The counters /metrics exports (cumulative; durations in µs, summed over requests as Triton's are). */
  counters(): EngineCounters {
    return {
      success: this.success.count,
      failure: this.fail.count,
      inferenceCount: this.inferences,
      executionCount: this.executions,
      queueUs: this.queue.us,
      computeInputUs: this.input.us,
      computeUs: this.infer.us,
      computeOutputUs: this.output.us,
    };
  }
}

/** What ModelStatisticsAccumulator.counters() gives. */
export interface EngineCounters {
  /** Requests that succeeded / failed (validation, model, queue or abort errors). */
  readonly success: number;
  readonly failure: number;
  /** Batch elements inferred (sum of request batch sizes). */
  readonly inferenceCount: number;
  /** Model runs that succeeded (batches). */
  readonly executionCount: number;
  /** Sums over succeeded requests of their time queued, preparing inputs, in the model run and taking outputs (µs). */
  readonly queueUs: number;
  readonly computeInputUs: number;
  readonly computeUs: number;
  readonly computeOutputUs: number;
}
