/**
 * The photo-ingest service's HTTP API (fastify):
 *
 * - `GET /health` → `{"status":"ok","service":"pitlane-ingest","version":...,"api_version":"v1"}` (503 and
 *   `"status":"loading"` until the models are loaded);
 * - `POST /ingest/batch`: multipart images (any file field; options as fields or query parameters), or JSON
 *   `{"paths": [...], "enable_faces": bool, "enable_ocr": bool, "box_embeddings": bool}` for server-side files
 *   under the configured roots. Answers with the documented response plus `errors` (one entry per image that
 *   failed, naming it and why); `?details=true` adds `images` (what happened to each image);
 * - `POST /search`: JSON `{"vector": [...]}` or `{"id": "..."}`, or a multipart image; `k`, `labels` (class
 *   filter), `index` (`global`, `vehicles`, `people`);
 * - `GET /images/{id}`: an indexed image (`?embedding=true` includes its vector);
 * - `GET /metrics`: Prometheus text;
 * - `GET /openapi.json` and `GET /docs`: the OpenAPI document of these routes (openapi.ts) and its page.
 *
 * One log line per request (services/http/request-log.ts).
 *
 * Errors are `{"status":"error","error":"..."}` with a 4xx naming the field or the limit and its flag, or 5xx
 * (the shared handler of services/http). What a request holds is read by ingest-requests.ts.
 *
 * Multipart uploads are spooled to a per-request temp folder (upload-spool.ts), never held whole in memory, and
 * the folder is removed when the request ends, whatever the outcome. Limits (`ingestLimits`): the whole body
 * (--max-request-mb) and the number of images (--max-batch) refuse the request with 413; a file over
 * --max-file-mb fails alone (reason `too-large`) and the rest of the batch is indexed.
 */
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SearchIndex } from '../../index/index-port.js';
import { setServiceErrorHandler } from '../http/error-handler.js';
import { HttpProblem } from '../http/problem.js';
import { registerOpenApi, validatedBy } from '../http/openapi.js';
import { SCHEMA_VALIDATION, schemaRefusal } from '../http/schema-refusal.js';
import { formatLimitValue, overLimit, type RequestLimit } from '../http/request-limits.js';
import { installRequestLog, loggingOptions } from '../http/request-log.js';
import { readBatch, readSearch } from './ingest-requests.js';
import { INGEST_ROUTES, ingestApiDoc } from './openapi.js';
import type { IngestPipeline } from './pipeline/ingest-pipeline.js';
import { MAX_FIELDS, MAX_FIELD_BYTES, UploadSpool, type UploadLimits } from './upload-spool.js';

export interface IngestState {
  pipeline: IngestPipeline | null;
  index: SearchIndex | null;
  ready: boolean;
}

export interface IngestAppOptions {
  readonly version: string;
  /** Most images in one request (more: 413, nothing processed). */
  readonly maxBatchImages: number;
  /** Largest uploaded file, in bytes (larger: that image fails with reason `too-large`). */
  readonly maxFileBytes: number;
  /** Largest multipart request body, in bytes (larger: 413, nothing processed). */
  readonly maxRequestBytes: number;
  /** Largest JSON body, in bytes. */
  readonly bodyLimitBytes: number;
  /** Where request lines go (services/http/request-log.ts); none: no logs. */
  readonly logger?: Logger;
}

export const DEFAULT_INGEST_APP_OPTIONS = Object.freeze({
  maxBatchImages: 256,
  maxFileBytes: 50 * 1024 * 1024,
  maxRequestBytes: 2048 * 1024 * 1024,
  bodyLimitBytes: 4 * 1024 * 1024,
});

/** The request limits of the ingest service, as enforced and as documented (docs/ingest.md, the README table). */
export function ingestLimits(
  options: Pick<IngestAppOptions, 'maxBatchImages' | 'maxFileBytes' | 'maxRequestBytes' | 'bodyLimitBytes'>,
): UploadLimits & { readonly json: RequestLimit } {
  return {
    request: {
      name: 'multipart request body',
      flag: '--max-request-mb',
      value: options.maxRequestBytes,
      unit: 'bytes',
      status: 413,
    },
    files: {
      name: 'images per request',
      flag: '--max-batch',
      value: options.maxBatchImages,
      unit: 'files',
      status: 413,
    },
    // A batch answers 200 with a `too-large` error for that image; /search refuses its one image with 413.
    file: {
      name: 'one image file',
      flag: '--max-file-mb',
      value: options.maxFileBytes,
      unit: 'bytes',
      status: 413,
    },
    json: {
      name: 'JSON body',
      flag: 'fixed',
      value: options.bodyLimitBytes,
      unit: 'bytes',
      status: 413,
    },
  };
}

/** How the ingest API refuses a value its schema does not allow: 400, naming the field. */
const INGEST_REFUSAL = schemaRefusal({ status: 400, separator: ' ' });

export function buildIngestApp(state: IngestState, options: IngestAppOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes,
    ...loggingOptions(options.logger),
    ...SCHEMA_VALIDATION,
  });
  installRequestLog(app);
  registerOpenApi(app, ingestApiDoc(options.version));
  const limits = ingestLimits(options);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'pitlane_ingest_' });
  const images = new Counter({
    name: 'pitlane_ingest_images_total',
    help: 'Images received, by outcome (indexed, duplicate, error).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const nearDuplicates = new Counter({
    name: 'pitlane_ingest_near_duplicates_total',
    help: 'Images indexed as near duplicates of an indexed image.',
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'pitlane_ingest_request_duration_seconds',
    help: 'Time to answer, by route.',
    labelNames: ['route'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  // The per-request limits are passed to every parse (readMultipart); these are the same, as a backstop.
  void app.register(multipart, {
    // A file over the limit is truncated and fails alone (upload-spool.ts), not the whole request.
    throwFileSizeLimit: false,
    limits: {
      fileSize: options.maxFileBytes,
      files: options.maxBatchImages + 1,
      fields: MAX_FIELDS,
      fieldSize: MAX_FIELD_BYTES,
    },
  });

  app.addHook('onResponse', (request, reply, done) => {
    duration.observe({ route: request.routeOptions.url ?? 'unknown' }, reply.elapsedTime / 1000);
    done();
  });

  setServiceErrorHandler(app, {
    send: (reply, problem) => reply.send({ status: 'error', error: problem.message }),
    bodyTooLarge: () =>
      new HttpProblem(
        413,
        `the JSON body is over the limit of ${formatLimitValue(limits.json.value, 'bytes')}; upload images as multipart`,
      ),
    drain: 'none',
  });

  const ready = (): { pipeline: IngestPipeline; index: SearchIndex } => {
    if (!state.ready || state.pipeline === null || state.index === null) {
      throw new HttpProblem(503, 'the service is loading its models; retry shortly (GET /health)');
    }
    return { pipeline: state.pipeline, index: state.index };
  };

  app.get('/health', async (_request, reply) => {
    const body = { service: 'pitlane-ingest', version: options.version, api_version: 'v1' };
    if (!state.ready) return reply.code(503).send({ status: 'loading', ...body });
    return { status: 'ok', ...body };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  // JSON bodies are validated from their schemas; the query strings and multipart fields are read by hand.
  const batchRoute = validatedBy(INGEST_ROUTES['POST /ingest/batch'], INGEST_REFUSAL, ['body']);
  app.post('/ingest/batch', batchRoute, async (request, reply) => {
    const { pipeline } = ready();
    return withSpool((spool) => ingestBatch(request, reply, pipeline, spool));
  });

  const ingestBatch = async (
    request: FastifyRequest,
    reply: FastifyReply,
    pipeline: IngestPipeline,
    spool: UploadSpool,
  ): Promise<unknown> => {
    const { items, opts } = await readBatch(request, limits, spool);
    if (items.length === 0) {
      throw new HttpProblem(
        400,
        'no images: send multipart files, or JSON {"paths": [...]} with server-side paths',
      );
    }
    if (items.length > limits.files.value) throw overLimit(limits.files, 'the batch', items.length);
    const abort = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    reply.raw.once('close', onClose);
    try {
      const { response, outcomes } = await pipeline.ingest(items, opts, abort.signal);
      for (const o of outcomes) images.inc({ outcome: o.status });
      nearDuplicates.inc(response.near_duplicates);
      return isTrue(request.query, 'details') ? { ...response, images: outcomes } : response;
    } finally {
      reply.raw.off('close', onClose);
    }
  };

  app.post(
    '/search',
    validatedBy(INGEST_ROUTES['POST /search'], INGEST_REFUSAL, ['body']),
    async (request) => {
      const { pipeline, index } = ready();
      return withSpool((spool) => search(request, pipeline, index, spool));
    },
  );

  const search = async (
    request: FastifyRequest,
    pipeline: IngestPipeline,
    index: SearchIndex,
    spool: UploadSpool,
  ): Promise<unknown> => {
    const t0 = performance.now();
    const q = await readSearch(request, limits, spool);
    let vector: Float32Array;
    if (q.vector !== null) {
      if (q.vector.length !== index.dimension) {
        throw new HttpProblem(
          400,
          `vector has ${q.vector.length} numbers; this index holds ${index.dimension}-d embeddings`,
        );
      }
      vector = q.vector;
    } else if (q.id !== null) {
      const image = await index.getImage(q.id);
      if (image === null) throw new HttpProblem(404, `no indexed image has id '${q.id}'`);
      vector = image.embedding;
    } else if (q.image !== null) {
      vector = await pipeline.embedQuery(q.image.file, q.image.name);
    } else {
      throw new HttpProblem(400, 'search by "vector", by indexed "id", or by uploading an image (multipart)');
    }
    const hits = await index.nearest(vector, {
      k: q.k,
      index: q.index,
      ...(q.labels !== null ? { labels: q.labels } : {}),
      ...(q.id !== null && q.index === 'global' ? { excludeIds: [q.id] } : {}),
    });
    return { hits, took_ms: Math.round((performance.now() - t0) * 10) / 10 };
  };

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(
    '/images/:id',
    validatedBy(INGEST_ROUTES['GET /images/:id'], INGEST_REFUSAL),
    async (request) => {
      const { index } = ready();
      const image = await index.getImage(request.params.id);
      if (image === null) throw new HttpProblem(404, `no indexed image has id '${request.params.id}'`);
      const { embedding, ...rest } = image;
      return isTrue(request.query, 'embedding') ? { ...rest, embedding: Array.from(embedding) } : rest;
    },
  );

  return app;
}

function isTrue(query: unknown, key: string): boolean {
  const v = (query as Record<string, unknown> | undefined)?.[key];
  return v === 'true' || v === '1' || v === true;
}

/** Runs a request's work with a temp folder for its uploads, removed when the work ends, whatever the outcome. */
async function withSpool<T>(work: (spool: UploadSpool) => Promise<T>): Promise<T> {
  const spool = new UploadSpool();
  try {
    return await work(spool);
  } finally {
    await spool.remove();
  }
}
