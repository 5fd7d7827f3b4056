/**
 * `pitlane serve models`: a KServe v2 / Triton-protocol HTTP server for the tensor models of a model repository
 * (every model by default; text-embedding models are served as their raw graphs). Listens at once (readiness 503
 * while models load), loads and warms every model on threads of its own, then reports ready. The models of the
 * file not named with --model are in the repository too (Triton's repository extension): UNAVAILABLE, and
 * loadable with POST /v2/repository/models/{m}/load.
 */
import { ModelNotReadyError, UsageError } from '../core/errors.js';
import {
  createLocalInference,
  MODEL_VERSION,
  type LocalInference,
} from '../inference/tensor/local-inference.js';
import { loadModelRepository, type ModelSpec } from '../inference/tensor/model-repository.js';
import type { ModelControl } from '../inference/tensor/model-control.js';
import type { InferenceEngine } from '../inference/tensor/tensor.js';
import { buildModelServerApp } from '../services/models/app.js';
import { resolveModelsFile } from './serve-command.js';
import { announceReady, closeServer, listen, serviceLog, untilSignal } from '../services/http/lifecycle.js';
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
  const log = serviceLog('models', options.json);
  let local: LocalInference | null = null;
  // Until the models are loaded, the server is live but not ready, and every model call says so.
  const notYet = (): Promise<never> => Promise.reject(new Error('the server is still loading its models'));
  const engine: InferenceEngine = {
    ready: () => (local === null ? Promise.resolve(false) : local.ready()),
    modelReady: (m, v) => (local === null ? Promise.resolve(false) : local.modelReady(m, v)),
    modelMetadata: (m, v) => (local === null ? notYet() : local.modelMetadata(m, v)),
    infer: (m, r, v) => (local === null ? notYet() : local.infer(m, r, v)),
    close: () => local?.close() ?? Promise.resolve(),
  };
  const starting = (name: string): Promise<never> =>
    Promise.reject(new ModelNotReadyError(name, 'LOADING', 'the server is still loading its models'));
  const control: ModelControl = {
    repositoryIndex: (readyOnly) => {
      if (local !== null) return local.repositoryIndex(readyOnly);
      if (readyOnly) return Promise.resolve([]);
      return Promise.resolve(
        repository.map((s) =>
          specs.includes(s)
            ? { name: s.id, state: 'LOADING' as const, reason: '' }
            : { name: s.id, state: 'UNAVAILABLE' as const, reason: 'unloaded' },
        ),
      );
    },
    loadModel: (name) => (local === null ? starting(name) : local.loadModel(name)),
    unloadModel: (name) => (local === null ? starting(name) : local.unloadModel(name)),
    modelConfig: (name, v) => (local === null ? starting(name) : local.modelConfig(name, v)),
    modelStatistics: (name, v) => (local === null ? Promise.resolve([]) : local.modelStatistics(name, v)),
  };
  const app = buildModelServerApp({
    engine,
    version: options.version,
    bodyLimitBytes: Math.round(options.maxBodyMb * 1024 * 1024),
    inFlightLimitBytes: Math.round(options.maxInflightMb * 1024 * 1024),
    models: () => repository.map((s) => ({ name: s.id, versions: [MODEL_VERSION] })),
    statistics: () => (local?.statistics() ?? []).map((s) => ({ ...s, model: s.name })),
    control,
  });
  const port = await listen(app, options.host, options.port);
  log(`listening on http://${options.host}:${port} (loading ${specs.length} model(s) from ${file})`);
  const t0 = performance.now();
  try {
    local = await createLocalInference(specs, { repository });
  } catch (err) {
    await app.close();
    throw err;
  }
  for (const m of local.models) {
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
      await local.close();
    }),
  );
}
