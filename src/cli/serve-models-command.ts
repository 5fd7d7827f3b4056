/**
 * `pitlane serve models`: a KServe v2 / Triton-protocol HTTP server for the tensor models of a model repository
 * (every model by default; text-embedding models are served as their raw graphs). Listens at once (readiness 503
 * while models load), loads and warms every model on threads of its own, then reports ready.
 */
import { UsageError } from '../core/errors.js';
import {
  createLocalInference,
  MODEL_VERSION,
  type LocalInference,
} from '../inference/tensor/local-inference.js';
import { loadModelRepository, unservedNotes, type ModelSpec } from '../inference/tensor/model-repository.js';
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
  const specs = pickSpecs(await loadModelRepository(file), options.model, file);
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
  const app = buildModelServerApp({
    engine,
    version: options.version,
    bodyLimitBytes: Math.round(options.maxBodyMb * 1024 * 1024),
    inFlightLimitBytes: Math.round(options.maxInflightMb * 1024 * 1024),
    models: () => specs.map((s) => ({ name: s.id, versions: [MODEL_VERSION] })),
    statistics: () =>
      (local?.statistics() ?? []).map((s) => ({
        model: s.name,
        version: s.version,
        inferenceCount: s.inferenceCount,
        executionCount: s.executionCount,
        queueUs: s.queueUs,
        computeUs: s.computeUs,
      })),
  });
  const port = await listen(app, options.host, options.port);
  log(`listening on http://${options.host}:${port} (loading ${specs.length} model(s) from ${file})`);
  for (const note of unservedNotes(specs)) log(note);
  const t0 = performance.now();
  try {
    local = await createLocalInference(specs);
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
    routes: 'KServe v2 at /v2 (health, models, infer), /metrics',
  });
  return exitCodeForStop(
    await untilSignal(log, async () => {
      await closeServer(app);
      await local.close();
    }),
  );
}
