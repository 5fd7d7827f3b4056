/**
 * Prometheus metrics of the embed service (prom-client, on the service's own registry): requests, their
 * duration, queue size and wait, tokenization and inference time, batch sizes and tokens. `observerFor(model)`
 * is the EmbeddingObserver that feeds them from the inference layer.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EmbeddingObserver, EmbeddingService } from '../../inference/text/embedding-service.js';

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
