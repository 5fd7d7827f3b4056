/**
 * `pitlane serve ingest`: the photo-ingest service. Inference runs in this process on the models of a model
 * repository (the default), or in any KServe v2 server (`--inference URL`: pitlane's `serve models`, or Triton).
 * The index is a SQLite file (WAL + sqlite-vec; the default) or an OpenSearch cluster (`--opensearch-url`).
 * Listens at once (/health 503 while loading), then loads the models and opens the index.
 */
import sharp from 'sharp';
import { UnreachableError, UsageError } from '../core/errors.js';
import type { SearchIndex } from '../index/index-port.js';
import { openIndex, type IndexSpec } from '../index/registry.js';
import { KServeClient } from '../inference/kserve/client.js';
import { KServeGrpcClient } from '../inference/kserve/grpc-client.js';
import { createLocalInference } from '../inference/tensor/local-inference.js';
import { loadModelRepository, unservedNotes } from '../inference/tensor/model-repository.js';
import type { InferenceEngine } from '../inference/tensor/tensor.js';
import { IngestPipeline } from '../services/ingest/pipeline/ingest-pipeline.js';
import { DEFAULT_INGEST_CONFIG } from '../services/ingest/pipeline/ingest-types.js';
import type { FaceFinder, TextReader } from '../services/ingest/ports.js';
import { openDetector } from '../services/ingest/vision/detector.js';
import { openFaceFinder, openTextReader } from '../services/ingest/vision/face-and-text.js';
import { openImageEmbedder } from '../services/ingest/vision/image-embedder.js';
import { DEFAULT_INGEST_APP_OPTIONS, buildIngestApp, type IngestState } from '../services/ingest/app.js';
import { removeStaleSpools } from '../services/ingest/upload-spool.js';
import { resolveModelsFile, serviceLogger } from './serve-command.js';
import { pickSpecs } from './serve-models-command.js';
import { announceReady, closeServer, listen, untilSignal } from '../services/http/lifecycle.js';
import { lineLog, type LogFormat, type LogLevel } from '../services/http/request-log.js';
import { exitCodeForStop } from './exit-codes.js';

export interface ServeIngestOptions {
  readonly models?: string;
  readonly inference?: string;
  readonly detector: string;
  readonly embedder: string;
  readonly facesModel: string;
  readonly ocrDetModel: string;
  readonly ocrRecModel: string;
  readonly faces: boolean;
  readonly ocr: boolean;
  readonly db: string;
  readonly opensearchUrl?: string;
  readonly root?: string[];
  readonly nearDuplicateThreshold: number;
  readonly maxBatch: number;
  readonly maxFileMb: number;
  readonly maxRequestMb: number;
  readonly maxMegapixels: number;
  readonly decodeConcurrency: number;
  readonly maxInFlight: number;
  readonly host: string;
  readonly port: number;
  readonly json?: boolean;
  /** Least severe log level (--log-level; default info). */
  readonly logLevel?: LogLevel;
  /** JSON or readable log lines (--log-format; default readable on a TTY, JSON otherwise and with --json). */
  readonly logFormat?: LogFormat;
  readonly version: string;
}

export async function serveIngestCommand(options: ServeIngestOptions): Promise<number> {
  if (!(options.nearDuplicateThreshold > 0 && options.nearDuplicateThreshold <= 1)) {
    throw new UsageError('--near-duplicate-threshold must be in (0, 1]');
  }
  for (const [flag, mb] of [
    ['--max-file-mb', options.maxFileMb],
    ['--max-request-mb', options.maxRequestMb],
  ] as const) {
    if (!(mb > 0)) throw new UsageError(`${flag} must be more than 0, got ${mb}`);
  }
  // Every image is decoded once: libvips' operation cache would only keep decoders, file handles and pixels of
  // images already done (24 decodes of a 45 MB JPEG: 320 MB RSS kept with the cache, 90 MB without).
  sharp.cache(false);
  const logger = serviceLogger('ingest', options);
  const log = lineLog(logger);
  const stale = await removeStaleSpools();
  if (stale > 0) log(`removed ${stale} upload folder(s) left in the temp folder by a killed service`);
  const state: IngestState = { pipeline: null, index: null, ready: false };
  const app = buildIngestApp(state, {
    version: options.version,
    logger,
    maxBatchImages: options.maxBatch,
    maxFileBytes: Math.round(options.maxFileMb * 1024 * 1024),
    maxRequestBytes: Math.round(options.maxRequestMb * 1024 * 1024),
    bodyLimitBytes: DEFAULT_INGEST_APP_OPTIONS.bodyLimitBytes,
  });
  const port = await listen(app, options.host, options.port);
  log(`listening on http://${options.host}:${port}`);
  const t0 = performance.now();

  let engine: InferenceEngine | null = null;
  let index: SearchIndex | null = null;
  const close = async (): Promise<void> => {
    await closeServer(app);
    await index?.close();
    await engine?.close();
  };
  try {
    const modelIds = [
      options.detector,
      options.embedder,
      ...(options.faces ? [options.facesModel] : []),
      ...(options.ocr ? [options.ocrDetModel, options.ocrRecModel] : []),
    ];
    const unique = [...new Set(modelIds)];
    if (options.inference !== undefined) {
      const client = kserveClient(options.inference);
      engine = client;
      await reachable(client, options.inference);
      for (const id of unique) {
        if (!(await client.modelReady(id))) {
          throw new UsageError(
            `--inference ${options.inference}: model '${id}' is not ready there (or unknown)`,
          );
        }
      }
      log(`inference: KServe v2 at ${options.inference}`);
    } else {
      const file = resolveModelsFile(options.models);
      const specs = pickSpecs(await loadModelRepository(file), unique, file);
      engine = await createLocalInference(specs);
      log(`inference: in-process, ${unique.join(', ')} from ${file}`);
      for (const note of unservedNotes(specs)) log(note);
    }
    const detector = await openDetector(engine, options.detector);
    const embedder = await openImageEmbedder(engine, options.embedder);
    const faces: FaceFinder | null = options.faces ? await openFaceFinder(engine, options.facesModel) : null;
    const ocr: TextReader | null = options.ocr
      ? await openTextReader(engine, options.ocrDetModel, options.ocrRecModel)
      : null;
    const spec: IndexSpec =
      options.opensearchUrl !== undefined
        ? { kind: 'opensearch', target: options.opensearchUrl }
        : { kind: 'sqlite', target: options.db };
    const opened = await openIndex(spec, embedder.dimension);
    index = opened.index;
    log(`index: ${opened.description}`);
    state.pipeline = new IngestPipeline({ detector, embedder, faces, ocr }, index, {
      ...DEFAULT_INGEST_CONFIG,
      nearDuplicateThreshold: options.nearDuplicateThreshold,
      roots: options.root ?? [],
      maxPixels: Math.round(options.maxMegapixels * 1e6),
      decodeConcurrency: options.decodeConcurrency,
      maxInFlight: options.maxInFlight,
      maxFileBytes: Math.round(options.maxFileMb * 1024 * 1024),
    });
    state.index = index;
  } catch (err) {
    await close();
    throw err;
  }
  state.ready = true;
  announceReady(log, {
    json: options.json,
    url: `http://${options.host}:${port}`,
    readyMs: Math.round(performance.now() - t0),
    routes: 'POST /ingest/batch, /search; GET /images/{id}, /health, /metrics',
  });
  return exitCodeForStop(await untilSignal(log, close));
}

/**
 * The client of `--inference URL`: gRPC for grpc://host:port, HTTP for http(s)://; any other URL is a usage
 * error.
 */
function kserveClient(url: string): KServeClient | KServeGrpcClient {
  if (!/^(grpc|https?):\/\//i.test(url)) {
    throw new UsageError(
      `--inference ${url}: give the KServe v2 server as http://host:port (HTTP) or grpc://host:port (gRPC)`,
    );
  }
  try {
    return /^grpc:\/\//i.test(url) ? new KServeGrpcClient({ url }) : new KServeClient({ url });
  } catch (err) {
    throw new UsageError(`--inference ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Asks the server whether it is live: a server that cannot be reached (nothing listening, unknown host, no answer)
 * is the user's to fix, named in one line (PL_ERR_UNREACHABLE), not a pitlane bug with a stack.
 */
async function reachable(client: KServeClient | KServeGrpcClient, url: string): Promise<void> {
  try {
    await client.live();
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new UnreachableError('--inference', url, detail, { cause: err });
  }
}
