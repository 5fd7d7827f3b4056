/**
 * `pitlane serve models`: a KServe v2 / Triton-protocol HTTP server for the tensor models of a model repository
 * (every model by default; text-embedding models are served as their raw graphs). Listens at once (readiness 503
 * while models load), loads and warms every model on threads of its own, then reports ready. The models of the
 * file not named with --model are in the repository too (Triton's repository extension): UNAVAILABLE, and
 * loadable with POST /v2/repository/models/{m}/load.
 */
import { UsageError } from '../core/errors.js';
import { MODEL_VERSION, openLocalInference } from '../inference/tensor/local-inference.js';
import { loadModelRepository, unservedNotes, type ModelSpec } from '../inference/tensor/model-repository.js';
import { buildModelServerApp } from '../services/models/app.js';
import { resolveModelsFile, serviceLogger } from './serve-command.js';
import { announceReady, closeServer, listen, untilSignal } from '../services/http/lifecycle.js';
import { lineLog, type LogFormat, type LogLevel } from '../services/http/request-log.js';
import { exitCodeForStop } from './exit-codes.js';

export interface ServeModelsOptions {
  readonly models?: string;
  readonly model?: string[];
  readonly host: string;
  readonly port: number;
  readonly maxBodyMb: number;
  /** Request body bytes of all requests in flight together, in MiB. */
  readonly maxInflightMb: number;
  readonly json?: boolean;
  /** Least severe log level (--log-level; default info). */
  readonly logLevel?: LogLevel;
  /** JSON or readable log lines (--log-format; default readable on a TTY, JSON otherwise and with --json). */
  readonly logFormat?: LogFormat;
  readonly version: string;
}

/** The models a command serves: the named ones (in order), or every one. */
export function pickSpecs(
  all: readonly ModelSpec[],
  wanted: readonly string[] | undefined,
  file: string,
): ModelSpec[] {
  if (wanted === undefined || wanted.length === 0) {
    if (all.length === 0) throw new UsageError(`${file} lists no models`);
    return [...all];
  }
  return wanted.map((id) => {
    const spec = all.find((s) => s.id === id);
    if (spec === undefined) {
      throw new UsageError(`--model ${id}: not in ${file}; models: ${all.map((s) => s.id).join(', ')}`);
    }
    return spec;
  });
}

export async function serveModelsCommand(options: ServeModelsOptions): Promise<number> {
  if (options.maxInflightMb < options.maxBodyMb) {
    throw new UsageError(
      `--max-inflight-mb (${options.maxInflightMb}) is below --max-body-mb (${options.maxBodyMb}): ` +
        'a request of the largest size allowed could never be served',
    );
  }
  const file = resolveModelsFile(options.models);
  const repository = await loadModelRepository(file);
  const specs = pickSpecs(repository, options.model, file);
  const logger = serviceLogger('models', options);
  const log = lineLog(logger);
  // Live at once; not ready, and its models LOADING (503 to their requests), until they are loaded.
  const engine = openLocalInference(repository);
  const app = buildModelServerApp({
    engine,
    version: options.version,
    logger,
    bodyLimitBytes: Math.round(options.maxBodyMb * 1024 * 1024),
    inFlightLimitBytes: Math.round(options.maxInflightMb * 1024 * 1024),
    models: () => repository.map((s) => ({ name: s.id, versions: [MODEL_VERSION] })),
    statistics: () => engine.statistics().map((s) => ({ ...s, model: s.name })),
    control: engine,
  });
  const port = await listen(app, options.host, options.port);
  log(`listening on http://${options.host}:${port} (loading ${specs.length} model(s) from ${file})`);
  for (const note of unservedNotes(specs)) log(note);
  const t0 = performance.now();
  try {
    await engine.start(specs);
  } catch (err) {
    await app.close();
    await engine.close();
    throw err;
  }
  for (const m of engine.models) {
    const warm = m.warmUpMs === null ? 'no warm-up' : `warm-up ${Math.round(m.warmUpMs)} ms`;
    const batching = m.maxBatchSize > 0 ? `max_batch_size ${m.maxBatchSize}` : 'no batching';
    log(`${m.spec.id}: ${m.runtime}, ${batching}, ${m.spec.instances} instance(s), ${warm}`);
  }
  announceReady(log, {
    json: options.json,
    url: `http://${options.host}:${port}`,
    models: specs.map((s) => s.id),
    readyMs: Math.round(performance.now() - t0),
    routes:
      'KServe v2 at /v2 (health, models, infer; Triton repository, config and statistics extensions), /metrics',
  });
  return exitCodeForStop(
    await untilSignal(log, async () => {
      await closeServer(app);
      await engine.close();
    }),
  );
}
