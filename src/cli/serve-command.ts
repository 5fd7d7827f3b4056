/**
 * `pitlane serve embed`: loads the model repository, starts listening at once (so /health answers 503 while
 * the models load and warm up), then loads every model, and only then reports ready. A model that cannot be
 * loaded stops the server with an error naming the file. SIGTERM and SIGINT close it gracefully: the server
 * stops accepting, requests in flight finish, then the models are released.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../core/errors.js';
import { describeEmbedderPlacement, embedderPlacement } from '../inference/text/embedder-placement.js';
import { EmbeddingService } from '../inference/text/embedding-service.js';
import { loadModelRepository, unservedNotes, type ModelSpec } from '../inference/tensor/model-repository.js';
import { buildEmbedApp, type EmbedState } from '../services/embed/app.js';
import { EmbedMetrics } from '../services/embed/metrics.js';
import { announceReady, listen, untilSignal } from '../services/http/lifecycle.js';
import { createServiceLogger, lineLog, type LogFormat, type LogLevel } from '../services/http/request-log.js';
import { exitCodeForStop } from './exit-codes.js';

export interface ServeEmbedOptions {
  readonly models?: string;
  readonly model?: string[];
  readonly host: string;
  readonly port: number;
  readonly tokenizerThreads: number;
  readonly intraOpThreads?: number;
  readonly maxBodyMb: number;
  /** Inputs per request (TEI's --max-client-batch-size). */
  readonly maxClientBatchSize: number;
  /** Tokens per request, all inputs together. */
  readonly maxRequestTokens: number;
  /** POST requests in flight at once. */
  readonly maxConcurrentRequests: number;
  /** `truncate` when a request does not say (TEI's --auto-truncate). */
  readonly autoTruncate: boolean;
  /** Every model's batching.max_batch_tokens (TEI's --max-batch-tokens). */
  readonly maxBatchTokens?: number;
  /** Every model's batching.max_batch_size (TEI's --max-batch-requests). */
  readonly maxBatchRequests?: number;
  /** The name the one model is served under (TEI's and vLLM's --served-model-name); default its models.yaml id. */
  readonly servedModelName?: string;
  readonly json?: boolean;
  /** Least severe log level (--log-level; default info). */
  readonly logLevel?: LogLevel;
  /** JSON or readable log lines (--log-format; default readable on a TTY, JSON otherwise and with --json). */
  readonly logFormat?: LogFormat;
  readonly version: string;
}

/** The models.yaml of the package (the bundled models), found from dist/bundle/ or dist/cli/. */
export function packagedModelsFile(): string {
  return fileURLToPath(new URL('../../models.yaml', import.meta.url));
}

/** The logger of a `serve` command: --log-level, and --log-format (JSON with --json unless it says otherwise). */
export function serviceLogger(
  service: string,
  options: { json?: boolean; logLevel?: LogLevel; logFormat?: LogFormat },
): ReturnType<typeof createServiceLogger> {
  const format = options.logFormat ?? (options.json === true ? 'json' : undefined);
  return createServiceLogger(service, {
    ...(options.logLevel !== undefined && { level: options.logLevel }),
    ...(format !== undefined && { format }),
  });
}

/** Where models come from: --models, else ./models.yaml, else the package's own. */
export function resolveModelsFile(given: string | undefined): string {
  if (given !== undefined) return resolve(given);
  const local = resolve('models.yaml');
  return existsSync(local) ? local : packagedModelsFile();
}

/**
 * The models under the name they are served as: `--served-model-name` renames the one model served (the name
 * requests give as `model`, and /v1/models, /info and the answers give back); with several, it is a usage error.
 */
function servedUnder(specs: ModelSpec[], name: string | undefined): ModelSpec[] {
  if (name === undefined) return specs;
  if (specs.length !== 1) {
    throw new UsageError(
      `--served-model-name names one model, and ${specs.length} are served (${specs.map((s) => s.id).join(', ')}); pick one with --model`,
    );
  }
  return specs.map((s) => ({ ...s, id: name }));
}

export async function serveEmbedCommand(options: ServeEmbedOptions): Promise<number> {
  const file = resolveModelsFile(options.models);
  const all = await loadModelRepository(file);
  const picked = pickModels(all, options.model, file).map((s) => withOverrides(s, options));
  const specs = servedUnder(picked, options.servedModelName);
  const logger = serviceLogger('embed', options);
  const metrics = new EmbedMetrics();
  const state: EmbedState = { services: new Map(), ready: false };
  const app = buildEmbedApp(state, {
    defaultModel: specs[0]?.id ?? '',
    bodyLimitBytes: Math.round(options.maxBodyMb * 1024 * 1024),
    limits: {
      maxClientBatchSize: options.maxClientBatchSize,
      maxRequestTokens: options.maxRequestTokens,
      maxConcurrentRequests: options.maxConcurrentRequests,
    },
    modelRoot: dirname(file),
    autoTruncate: options.autoTruncate,
    version: options.version,
    metrics,
    logger,
  });
  metrics.watch(state.services);
  const port = await listen(app, options.host, options.port);
  const log = lineLog(logger);
  log(`listening on http://${options.host}:${port} (loading ${specs.length} model(s) from ${file})`);
  for (const note of unservedNotes(specs)) log(note);

  const started = performance.now();
  try {
    for (const spec of specs) {
      const t0 = performance.now();
      const placement = embedderPlacement(spec, specs.length, availableParallelism());
      const service = await EmbeddingService.load(spec, {
        tokenizerThreads: options.tokenizerThreads,
        observer: metrics.observerFor(spec.id),
        placement: placement.kind,
      });
      state.services.set(spec.id, service);
      const warm = await service.embedder.warmUp();
      log(
        `${spec.id}: ${service.embedder.info.runtime}, ${service.embedder.dimension}-d, ` +
          `loaded in ${Math.round(performance.now() - t0)} ms (warm-up ${Math.round(warm)} ms), ` +
          `runs ${describeEmbedderPlacement(placement)}`,
      );
    }
  } catch (err) {
    await app.close();
    await Promise.all([...state.services.values()].map((s) => s.close()));
    throw err;
  }
  state.ready = true;
  announceReady(log, {
    json: options.json,
    url: `http://${options.host}:${port}`,
    models: [...state.services.keys()],
    readyMs: Math.round(performance.now() - started),
    routes:
      'POST /embed, /embed_all, /v1/embeddings, /tokenize, /decode; GET /health, /info, /metrics, /v1/models',
  });

  return exitCodeForStop(
    await untilSignal(log, async () => {
      await app.close();
      await Promise.all([...state.services.values()].map((s) => s.close()));
    }),
  );
}

/** A model's settings with the flags that override models.yaml's for every model. */
function withOverrides(spec: ModelSpec, options: ServeEmbedOptions): ModelSpec {
  const { intraOpThreads, maxBatchTokens, maxBatchRequests } = options;
  if (maxBatchTokens !== undefined && maxBatchTokens < spec.maxSequenceLength) {
    throw new UsageError(
      `--max-batch-tokens ${maxBatchTokens} is less than the max_sequence_length of model ${spec.id} ` +
        `(${spec.maxSequenceLength}): its longest input could never be batched`,
    );
  }
  return {
    ...spec,
    threads: { ...spec.threads, ...(intraOpThreads !== undefined && { intraOp: intraOpThreads }) },
    batching: {
      ...spec.batching,
      ...(maxBatchTokens !== undefined && { maxBatchTokens }),
      ...(maxBatchRequests !== undefined && { maxBatchSize: maxBatchRequests }),
    },
  };
}

function pickModels(
  all: readonly ModelSpec[],
  wanted: readonly string[] | undefined,
  file: string,
): ModelSpec[] {
  const text = all.filter((s) => s.kind === 'text-embedding');
  if (wanted === undefined || wanted.length === 0) {
    if (text.length === 0) throw new UsageError(`${file} lists no text-embedding models`);
    return text;
  }
  return wanted.map((id) => {
    const spec = all.find((s) => s.id === id);
    if (spec === undefined) {
      throw new UsageError(
        `--model ${id}: not in ${file}; text-embedding models: ${text.map((s) => s.id).join(', ')}`,
      );
    }
    if (spec.kind !== 'text-embedding') {
      throw new UsageError(
        `--model ${id}: a tensor model, not a text-embedding one; serve it with \`pitlane serve models\``,
      );
    }
    return spec;
  });
}
