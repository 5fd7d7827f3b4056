/**
 * `pitlane serve models`: a KServe v2 / Triton-protocol server for the tensor models of a model repository (every
 * model by default; text-embedding models are served as their raw graphs), over HTTP and gRPC (port 8001 by
 * default, as Triton) at once: one engine, one in-flight budget and one set of metrics for both. Listens at once
 * (readiness 503 / UNAVAILABLE while models load), loads and warms every model on threads of its own, then reports
 * ready. The models of the file not named with --model are in the repository too (Triton's repository
 * extension): UNAVAILABLE, and loadable with POST /v2/repository/models/{m}/load or RepositoryModelLoad.
 */
import { UsageError } from '../core/errors.js';
import {
  INLINE_MAX_RUN_MS,
  MODEL_VERSION,
  openLocalInference,
  type InstancePlacement,
} from '../inference/tensor/local-inference.js';
import { loadModelRepository, unservedNotes, type ModelSpec } from '../inference/tensor/model-repository.js';
import { buildModelServerApp, modelServerRequestLimits } from '../services/models/app.js';
import {
  DEFAULT_GRPC_PORT,
  grpcAddress,
  startModelGrpcServer,
  type ModelGrpcServer,
} from '../services/models/grpc/server.js';
import { ModelServerMetrics } from '../services/models/metrics.js';
import { InFlightBudget, type RequestLimit } from '../services/http/request-limits.js';
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
  /** The gRPC port; 0: no gRPC; absent: 8001, or any free port when `port` is 0. */
  readonly grpcPort?: number;
  /** The gRPC address (default: `host`). */
  readonly grpcHost?: string;
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

/** Where a model runs and what its warm-up measured, for the start-up lines. */
export function describePlacement(p: InstancePlacement, instances: number): string {
  const warm =
    p.warmUpMs === null || p.warmRunMs === null
      ? 'no warm-up (a batch of 1 of zeros does not fit it)'
      : `warm-up ${formatMs(p.warmUpMs)}, then ${formatMs(p.warmRunMs)} a run`;
  if (p.kind === 'thread') return `${instances} instance(s) on threads of their own, ${warm}`;
  const why =
    p.why === 'short'
      ? ` (instance_kind auto: a warm run takes at most ${formatMs(INLINE_MAX_RUN_MS)}, less than a hand-over to a thread)`
      : '';
  return `inline on the server's thread${why}, ${warm}`;
}

function formatMs(ms: number): string {
  return ms < 1 ? `${Math.round(ms * 1000)} µs` : `${Math.round(ms)} ms`;
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
  const bodyLimitBytes = Math.round(options.maxBodyMb * 1024 * 1024);
  const inFlightLimitBytes = Math.round(options.maxInflightMb * 1024 * 1024);
  const models = () => repository.map((s) => ({ name: s.id, versions: [MODEL_VERSION] }));
  const statistics = () => engine.statistics().map((s) => ({ ...s, model: s.name }));
  // One budget of request bytes in flight and one set of metrics for both protocols.
  const [, inFlightLimit] = modelServerRequestLimits(bodyLimitBytes, inFlightLimitBytes) as [
    RequestLimit,
    RequestLimit,
  ];
  const inFlight = new InFlightBudget(inFlightLimit);
  const metrics = new ModelServerMetrics({ models, statistics });
  const app = buildModelServerApp({
    engine,
    version: options.version,
    logger,
    bodyLimitBytes,
    inFlightLimitBytes,
    inFlight,
    metrics,
    models,
    statistics,
    control: engine,
  });
  const port = await listen(app, options.host, options.port);
  const grpcHost = options.grpcHost ?? options.host;
  const grpcPort = options.grpcPort ?? (options.port === 0 ? 0 : DEFAULT_GRPC_PORT);
  let grpc: ModelGrpcServer | null = null;
  if (options.grpcPort !== 0) {
    try {
      grpc = await startModelGrpcServer(
        { engine, version: options.version, bodyLimitBytes, inFlight, metrics, control: engine, logger },
        grpcHost,
        grpcPort,
      );
    } catch (err) {
      await app.close();
      await engine.close();
      throw new UsageError(
        `cannot listen for gRPC on ${grpcAddress(grpcHost, grpcPort)} (--grpc-port, --grpc-host; ` +
          `--grpc-port 0 turns gRPC off): ${(err as Error).message}`,
      );
    }
  }
  const grpcUrl = grpc === null ? undefined : `grpc://${grpcAddress(grpcHost, grpc.port)}`;
  log(
    `listening on http://${options.host}:${port}${grpcUrl === undefined ? '' : ` and ${grpcUrl}`} ` +
      `(loading ${specs.length} model(s) from ${file})`,
  );
  for (const note of unservedNotes(specs)) log(note);
  const t0 = performance.now();
  try {
    await engine.start(specs);
  } catch (err) {
    await Promise.all([app.close(), grpc?.close(0)]);
    await engine.close();
    throw err;
  }
  for (const m of engine.models) {
    const batching = m.maxBatchSize > 0 ? `max_batch_size ${m.maxBatchSize}` : 'no batching';
    log(`${m.spec.id}: ${m.runtime}, ${batching}, ${describePlacement(m.placement, m.spec.instances)}`);
  }
  announceReady(log, {
    json: options.json,
    url: `http://${options.host}:${port}`,
    ...(grpcUrl !== undefined && { grpcUrl }),
    models: specs.map((s) => s.id),
    readyMs: Math.round(performance.now() - t0),
    routes:
      'KServe v2 at /v2 (health, models, infer; Triton repository, config and statistics extensions), /metrics' +
      (grpcUrl === undefined ? '' : `; gRPC inference.GRPCInferenceService at ${grpcUrl}`),
  });
  return exitCodeForStop(
    await untilSignal(log, async () => {
      await Promise.all([closeServer(app), grpc?.close()]);
      await engine.close();
    }),
  );
}
