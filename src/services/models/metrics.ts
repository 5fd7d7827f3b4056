/**
 * Prometheus metrics of the model server (prom-client, on the server's own registry), under Triton's names so
 * that dashboards and alerts written for Triton work unchanged: `nv_inference_request_success`,
 * `nv_inference_request_failure` (with Triton's `reason`), `nv_inference_count`, `nv_inference_exec_count`,
 * `nv_inference_request_duration_us`, `nv_inference_queue_duration_us`,
 * `nv_inference_compute_input_duration_us`, `nv_inference_compute_infer_duration_us`,
 * `nv_inference_compute_output_duration_us` and `nv_inference_pending_request_count`, each labelled `model`
 * and `version`. Like Triton's, the counts and durations are cumulative counters (durations in microseconds).
 *
 * The server counts requests itself. What only the engine knows (model executions, i.e. batches; queue and
 * compute_input / compute_infer / compute_output time) comes from an optional statistics hook read at each scrape; without it, every request counts
 * as one execution of its batch size and queue / compute time are not reported.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Cumulative statistics of one model version, as the engine keeps them (all since start). */
export interface ModelStatistics {
  readonly model: string;
  readonly version: string;
  /** Inferences run: the batch items of every request (Triton's inference count). */
  readonly inferenceCount: number;
  /** Model executions: batches run, a batch serving one or more requests. */
  readonly executionCount: number;
  /** Total time requests waited in the queue before their batch ran, in microseconds. */
  readonly queueUs?: number;
  /** Total time requests' inputs took to be prepared for their run (batching, hand-over), in microseconds. */
  readonly computeInputUs?: number;
  /** Total time the model ran, in microseconds. */
  readonly computeUs?: number;
  /** Total time requests' outputs took to come back from their run (hand-over, batch split), in microseconds. */
  readonly computeOutputUs?: number;
}

/** A model and its versions, as the server serves them. */
export interface ServedModel {
  readonly name: string;
  readonly versions: readonly string[];
}

/** Why a request failed, in Triton's words. */
export type FailureReason = 'REJECTED' | 'CANCELED' | 'BACKEND' | 'OTHER';

export interface ModelServerMetricsOptions {
  /** The models served: their series exist (at 0) from the start, and only they are labelled. */
  readonly models: () => readonly ServedModel[];
  /** Engine statistics read at each scrape (see ModelStatistics). */
  readonly statistics?: () => readonly ModelStatistics[];
  /** Node.js process metrics, prefixed `pitlane_` (default true). */
  readonly processMetrics?: boolean;
}

export class ModelServerMetrics {
  readonly registry = new Registry();
  private readonly success: Counter<'model' | 'version'>;
  private readonly failure: Counter<'model' | 'version' | 'reason'>;
  private readonly inferences: Counter<'model' | 'version'>;
  private readonly executions: Counter<'model' | 'version'>;
  private readonly requestDuration: Counter<'model' | 'version'>;
  private readonly pending: Gauge<'model' | 'version'>;
  /** Counted here when there is no statistics hook. */
  private readonly ownCounts = new Map<string, { inferences: number; executions: number }>();

  constructor(private readonly options: ModelServerMetricsOptions) {
    const registers = [this.registry];
    const labelNames = ['model', 'version'] as const;
    /** A counter labelled model and version; `collect` refreshes it at each scrape. */
    const counter = (
      name: string,
      help: string,
      collect?: (c: Counter<'model' | 'version'>) => void,
    ): Counter<'model' | 'version'> =>
      new Counter({
        name,
        help,
        labelNames,
        registers,
        ...(collect !== undefined && {
          collect(this: Counter<'model' | 'version'>) {
            collect(this);
          },
        }),
      });
    this.success = counter(
      'nv_inference_request_success',
      'Number of successful inference requests, all batch sizes',
    );
    this.failure = new Counter({
      name: 'nv_inference_request_failure',
      help: 'Number of failed inference requests, all batch sizes',
      labelNames: ['model', 'version', 'reason'] as const,
      registers,
    });
    const statistics = options.statistics;
    this.inferences = counter('nv_inference_count', 'Number of inferences performed (batch items)', (c) => {
      this.refreshCounts(c, 'inferences', statistics);
    });
    this.executions = counter(
      'nv_inference_exec_count',
      'Number of model executions performed (batches)',
      (c) => {
        this.refreshCounts(c, 'executions', statistics);
      },
    );
    this.requestDuration = counter(
      'nv_inference_request_duration_us',
      'Cumulative inference request duration in microseconds (successful requests, parsing included)',
    );
    this.pending = new Gauge({
      name: 'nv_inference_pending_request_count',
      help: 'Instantaneous number of inference requests in the server (waiting or running)',
      labelNames,
      registers,
    });
    if (statistics !== undefined) {
      const cumulative =
        (field: 'queueUs' | 'computeInputUs' | 'computeUs' | 'computeOutputUs') =>
        (c: Counter<'model' | 'version'>) => {
          c.reset();
          for (const s of statistics()) {
            const us = s[field];
            if (us !== undefined) c.inc(labelsOf(s), us);
          }
        };
      counter(
        'nv_inference_queue_duration_us',
        'Cumulative inference queuing duration in microseconds',
        cumulative('queueUs'),
      );
      counter(
        'nv_inference_compute_input_duration_us',
        'Cumulative compute input duration in microseconds',
        cumulative('computeInputUs'),
      );
      counter(
        'nv_inference_compute_infer_duration_us',
        'Cumulative compute inference duration in microseconds',
        cumulative('computeUs'),
      );
      counter(
        'nv_inference_compute_output_duration_us',
        'Cumulative inference compute output duration in microseconds',
        cumulative('computeOutputUs'),
      );
    }
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'pitlane_' });
  }

  /** Whether `model` / `version` are served (only served ones are labelled: no unbounded label values). */
  labelsFor(model: string, version: string | undefined): { model: string; version: string } | null {
    const served = this.options.models().find((m) => m.name === model);
    if (served === undefined) return null;
    if (version !== undefined) return served.versions.includes(version) ? { model, version } : null;
    // No version asked: the model's only version, else the latest (the highest, as Triton's default policy).
    const latest = [...served.versions].sort(compareVersions).at(-1);
    return latest === undefined ? null : { model, version: latest };
  }

  /** A request reached the engine. */
  started(labels: { model: string; version: string }): void {
    this.pending.inc(labels);
  }

  /** The request left (answered or not). */
  finished(labels: { model: string; version: string }): void {
    this.pending.dec(labels);
  }

  succeeded(labels: { model: string; version: string }, durationUs: number, batchSize: number): void {
    this.success.inc(labels);
    this.requestDuration.inc(labels, durationUs);
    if (this.options.statistics === undefined) {
      const key = keyOf(labels);
      const c = this.ownCounts.get(key) ?? { inferences: 0, executions: 0 };
      c.inferences += batchSize;
      c.executions += 1;
      this.ownCounts.set(key, c);
    }
  }

  failed(labels: { model: string; version: string }, reason: FailureReason): void {
    this.failure.inc({ ...labels, reason });
  }

  /** The Prometheus text of every metric; every served model version has its series, at 0 if idle. */
  async text(): Promise<string> {
    for (const m of this.options.models()) {
      for (const version of m.versions) {
        const labels = { model: m.name, version };
        this.success.inc(labels, 0);
        this.requestDuration.inc(labels, 0);
        this.pending.inc(labels, 0);
      }
    }
    return this.registry.metrics();
  }

  private refreshCounts(
    counter: Counter<'model' | 'version'>,
    field: 'inferences' | 'executions',
    statistics: (() => readonly ModelStatistics[]) | undefined,
  ): void {
    counter.reset();
    for (const m of this.options.models()) {
      for (const version of m.versions) counter.inc({ model: m.name, version }, 0);
    }
    if (statistics !== undefined) {
      for (const s of statistics()) {
        counter.inc(labelsOf(s), field === 'inferences' ? s.inferenceCount : s.executionCount);
      }
      return;
    }
    for (const [key, c] of this.ownCounts) {
      const [model = '', version = ''] = JSON.parse(key) as string[];
      counter.inc({ model, version }, c[field]);
    }
  }
}

function labelsOf(s: ModelStatistics): { model: string; version: string } {
  return { model: s.model, version: s.version };
}

function keyOf(labels: { model: string; version: string }): string {
  return JSON.stringify([labels.model, labels.version]);
}

/** Numeric versions by value ("10" after "9"), others as strings after them. */
function compareVersions(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
