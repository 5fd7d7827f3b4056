/**
 * Prometheus metrics of the embed service (prom-client, on the service's own registry): requests, their
 * duration, queue size and wait, tokenization and inference time, batch sizes and tokens. `observerFor(model)`
 * is the EmbeddingObserver that feeds them from the inference layer.
 *
 * Beside pitlane's own, TEI's series (`te_*`, as TEI's router and core name them: router/src/http/server.rs,
 * router/src/lib.rs, core/src/infer.rs, core/src/queue.rs), fed by the same measurements, so that dashboards
 * and alerts made for TEI work unchanged. As TEI's exporter writes them: counters without a `_total` suffix,
 * no model label (TEI serves one model), durations in seconds on TEI's buckets.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EmbeddingObserver, EmbeddingService } from '../../inference/text/embedding-service.js';

/** TEI's duration buckets: 35 steps of x1.5 from 15 µs (router/src/prometheus.rs). */
const TEI_SECONDS = Array.from({ length: 35 }, (_, i) => 0.00001 * 1.5 ** (i + 1));
const powersOfTwo = (n: number): number[] => Array.from({ length: n }, (_, i) => 2 ** i);

/** Why a request failed, in TEI's `te_request_failure{err}` words. */
export type TeFailure =
  'validation' | 'batch_size' | 'tokenization' | 'overloaded' | 'model_type' | 'inference';

/** A TEI request: a single input, or a batch (TEI's `method` label). */
export type TeMethod = 'single' | 'batch';

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class EmbedMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'pitlane_embed_requests_total',
    help: 'HTTP requests by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'pitlane_embed_request_duration_seconds',
    help: 'Time from request to response, by route.',
    labelNames: ['route'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly queueWait = this.perModel(
    'pitlane_embed_queue_wait_seconds',
    'Time a sequence waited in the batcher queue before its batch started.',
    SECONDS,
  );
  private readonly tokenization = this.perModel(
    'pitlane_embed_tokenization_seconds',
    'Time to tokenize one request.',
    SECONDS,
  );
  private readonly inference = this.perModel(
    'pitlane_embed_inference_seconds',
    'Time to run one batch through the model (pooling included).',
    SECONDS,
  );
  private readonly batchSize = this.perModel(
    'pitlane_embed_batch_size',
    'Sequences per batch.',
    [1, 2, 4, 8, 16, 32, 64, 128, 256],
  );
  private readonly batchTokens = this.perModel(
    'pitlane_embed_batch_tokens',
    'Real tokens per batch.',
    [16, 64, 256, 1024, 4096, 16384, 65536],
  );
  private readonly paddedTokens = new Counter({
    name: 'pitlane_embed_padded_tokens_total',
    help: 'Tokens computed including padding (compare with pitlane_embed_batch_tokens_sum for the waste).',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  // TEI's series.
  private readonly teRequestCount = this.teCounter(
    'te_request_count',
    'Inference requests received, by method.',
    'method',
  );
  private readonly teRequestSuccess = this.teCounter(
    'te_request_success',
    'Inference requests answered, by method.',
    'method',
  );
  private readonly teRequestFailure = this.teCounter(
    'te_request_failure',
    'Inference requests failed, by reason.',
    'err',
  );
  private readonly teEmbedCount = this.teCounter(
    'te_embed_count',
    'Inputs embedded (one per input of a request).',
  );
  private readonly teEmbedSuccess = this.teCounter('te_embed_success', 'Inputs embedded successfully.');
  private readonly teRequestDuration = this.teHistogram(
    'te_request_duration',
    'Time from request to answer.',
  );
  private readonly teTokenization = this.teHistogram(
    'te_request_tokenization_duration',
    'Time to tokenize a request.',
  );
  private readonly teQueue = this.teHistogram(
    'te_request_queue_duration',
    "Longest wait of one of a request's inputs in the batcher queue.",
  );
  private readonly teInference = this.teHistogram(
    'te_request_inference_duration',
    'Inference time of the batches a request ran in.',
  );
  private readonly teInputLength = this.teHistogram(
    'te_request_input_length',
    'Tokens of each input (specials included).',
    powersOfTwo(20),
  );
  private readonly teBatchSize = this.teHistogram('te_batch_next_size', 'Inputs per batch.', powersOfTwo(13));
  private readonly teBatchTokens = this.teHistogram(
    'te_batch_next_tokens',
    'Tokens per batch.',
    powersOfTwo(21),
  );

  private teCounter<L extends string>(name: string, help: string, label?: L): Counter<L> {
    return new Counter({
      name,
      help,
      labelNames: label === undefined ? [] : [label],
      registers: [this.registry],
    });
  }

  private teHistogram(name: string, help: string, buckets: number[] = TEI_SECONDS): Histogram {
    return new Histogram({ name, help, buckets, registers: [this.registry] });
  }

  /** A TEI inference request came (te_request_count). */
  teRequest(method: TeMethod): void {
    this.teRequestCount.inc({ method });
  }

  /** The inputs of a valid request go to the model (te_embed_count). */
  teInputs(inputs: number): void {
    this.teEmbedCount.inc(inputs);
  }

  /** A TEI inference request was answered: its times (seconds) and the tokens of each of its inputs. */
  teSuccess(
    method: TeMethod,
    seconds: { total: number; tokenization: number; queue: number; inference: number },
    tokens: readonly number[],
  ): void {
    this.teRequestSuccess.inc({ method });
    this.teEmbedSuccess.inc(tokens.length);
    this.teRequestDuration.observe(seconds.total);
    this.teTokenization.observe(seconds.tokenization);
    this.teQueue.observe(seconds.queue);
    this.teInference.observe(seconds.inference);
    for (const n of tokens) this.teInputLength.observe(n);
  }

  /** A TEI inference request failed. */
  teFailure(err: TeFailure): void {
    this.teRequestFailure.inc({ err });
  }

  /** A histogram labelled by model, on this registry. */
  private perModel(name: string, help: string, buckets: number[]): Histogram<'model'> {
    return new Histogram({ name, help, labelNames: ['model'] as const, buckets, registers: [this.registry] });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pitlane_' });
  }

  /** The observer that feeds this model's metrics. */
  observerFor(model: string): EmbeddingObserver {
    const wait = this.queueWait.labels(model);
    const tok = this.tokenization.labels(model);
    const inf = this.inference.labels(model);
    const size = this.batchSize.labels(model);
    const tokens = this.batchTokens.labels(model);
    const padded = this.paddedTokens.labels(model);
    return {
      tokenized: (ms) => tok.observe(ms / 1000),
      queueWait: (ms) => wait.observe(ms / 1000),
      batch: (n, real, pad, ms) => {
        size.observe(n);
        tokens.observe(real);
        this.teBatchSize.observe(n);
        this.teBatchTokens.observe(real);
        padded.inc(pad);
        inf.observe(ms / 1000);
      },
    };
  }

  /** Gauges read from the services when /metrics is scraped. */
  watch(services: ReadonlyMap<string, EmbeddingService>): void {
    const gauges: [name: string, help: string, read: (s: EmbeddingService) => number][] = [
      ['pitlane_embed_queue_size', 'Sequences waiting in the batcher queue.', (s) => s.stats.queued],
      [
        'pitlane_embed_abandoned_requests',
        'Requests dropped before inference because their client went away (since start).',
        (s) => s.stats.abandoned,
      ],
      [
        'pitlane_embed_failed_batches',
        'Batches whose inference failed (since start).',
        (s) => s.stats.failedBatches,
      ],
    ];
    new Gauge({
      name: 'te_queue_size',
      help: 'Inputs waiting in the batcher queues (all models).',
      registers: [this.registry],
      collect() {
        let queued = 0;
        for (const s of services.values()) queued += s.stats.queued;
        this.set(queued);
      },
    });
    for (const [name, help, read] of gauges) {
      new Gauge({
        name,
        help,
        labelNames: ['model'] as const,
        registers: [this.registry],
        collect() {
          for (const [id, s] of services) this.set({ model: id }, read(s));
        },
      });
    }
  }
}
