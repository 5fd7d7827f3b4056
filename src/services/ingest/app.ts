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
 * - `GET /metrics`: Prometheus text.
 *
 * Errors are `{"status":"error","error":"..."}` with a 4xx naming the field or the limit and its flag, or 5xx.
 *
 * Multipart uploads are spooled to a per-request temp folder (upload-spool.ts), never held whole in memory, and
 * the folder is removed when the request ends, whatever the outcome. Limits (`ingestLimits`): the whole body
 * (--max-request-mb) and the number of images (--max-batch) refuse the request with 413; a file over
 * --max-file-mb fails alone (reason `too-large`) and the rest of the batch is indexed.
 */
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { INDEX_NAMES, MAX_K, type IndexName, type SearchIndex } from '../../index/index-port.js';
import type { IngestPipeline } from './pipeline/ingest-pipeline.js';
import type { IngestItem, IngestOptions } from './pipeline/ingest-types.js';
import { setServiceErrorHandler } from '../http/error-handler.js';
import { HttpProblem } from '../http/problem.js';
import { formatLimitValue, overLimit, type RequestLimit } from '../http/request-limits.js';
import {
  MAX_FIELDS,
  MAX_FIELD_BYTES,
  UploadSpool,
  readMultipart,
  type UploadLimits,
} from './upload-spool.js';

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

const BOOL_OPTIONS = ['enable_faces', 'enable_ocr', 'box_embeddings'] as const;

function parseBool(name: string, v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new HttpProblem(400, `${name} must be true or false, got ${JSON.stringify(v)}`);
}

export function buildIngestApp(state: IngestState, options: IngestAppOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimitBytes });
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

  app.post('/ingest/batch', async (request, reply) => {
    const { pipeline } = ready();
    const spool = new UploadSpool();
    try {
      return await ingestBatch(request, reply, pipeline, spool);
    } finally {
      await spool.remove();
    }
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

  app.post('/search', async (request) => {
    const { pipeline, index } = ready();
    const spool = new UploadSpool();
    try {
      return await search(request, pipeline, index, spool);
    } finally {
      await spool.remove();
    }
  });

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

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/images/:id', async (request) => {
    const { index } = ready();
    const image = await index.getImage(request.params.id);
    if (image === null) throw new HttpProblem(404, `no indexed image has id '${request.params.id}'`);
    const { embedding, ...rest } = image;
    return isTrue(request.query, 'embedding') ? { ...rest, embedding: Array.from(embedding) } : rest;
  });

  return app;
}

function isTrue(query: unknown, key: string): boolean {
  const v = (query as Record<string, unknown> | undefined)?.[key];
  return v === 'true' || v === '1' || v === true;
}

/** The images and options of an ingest request: multipart (spooled to `spool`) or JSON. */
async function readBatch(
  request: FastifyRequest,
  limits: UploadLimits,
  spool: UploadSpool,
): Promise<{ items: IngestItem[]; opts: IngestOptions }> {
  const fields: Record<string, unknown> = { ...(request.query as Record<string, unknown>) };
  const items: IngestItem[] = [];
  if (request.isMultipart()) {
    const upload = await readMultipart(request, limits, spool);
    Object.assign(fields, upload.fields);
    for (const f of upload.files) {
      if ('path' in f) items.push({ name: f.name, spooled: f.path });
      else items.push({ name: f.name, refused: { reason: f.reason, message: f.message } });
    }
  } else {
    const body = request.body as Record<string, unknown> | null | undefined;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpProblem(400, 'send multipart images, or a JSON object {"paths": [...]}');
    }
    Object.assign(fields, body);
    const paths = body.paths;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p !== '')) {
      throw new HttpProblem(400, 'paths must be a list of server-side file paths (non-empty strings)');
    }
    if (paths.length > limits.files.value) throw overLimit(limits.files, 'the batch', paths.length);
    for (const path of paths as string[]) items.push({ name: path, path });
  }
  const [enableFaces, enableOcr, boxEmbeddings] = BOOL_OPTIONS.map((k) => parseBool(k, fields[k]));
  return {
    items,
    opts: {
      enableFaces: enableFaces === true,
      enableOcr: enableOcr === true,
      boxEmbeddings: boxEmbeddings === true,
    },
  };
}

interface SearchQuery {
  vector: Float32Array | null;
  id: string | null;
  /** An uploaded query image, spooled to a file. */
  image: { name: string; file: string } | null;
  k: number;
  labels: string[] | null;
  index: IndexName;
}

async function readSearch(
  request: FastifyRequest,
  limits: UploadLimits,
  spool: UploadSpool,
): Promise<SearchQuery> {
  const fields: Record<string, unknown> = { ...(request.query as Record<string, unknown>) };
  let image: SearchQuery['image'] = null;
  if (request.isMultipart()) {
    // The first file is the query image; later ones are read and dropped.
    const upload = await readMultipart(request, limits, spool, 1);
    Object.assign(fields, upload.fields);
    const [first] = upload.files;
    if (first !== undefined && !('path' in first)) {
      throw overLimit(limits.file, `the query image ${first.name}`, undefined, 'image');
    }
    if (first !== undefined) image = { name: first.name, file: first.path };
  } else {
    const body = request.body as Record<string, unknown> | null | undefined;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpProblem(
        400,
        'send a JSON object ({"vector": [...]} or {"id": "..."}) or a multipart image',
      );
    }
    Object.assign(fields, body);
  }
  const k = fields.k === undefined ? 10 : Number(fields.k);
  if (!Number.isInteger(k) || k < 1 || k > MAX_K)
    throw new HttpProblem(400, `k must be an integer in 1..${MAX_K}`);
  const index = (fields.index ?? 'global') as IndexName;
  if (!INDEX_NAMES.includes(index))
    throw new HttpProblem(400, `index must be one of ${INDEX_NAMES.join(', ')}`);
  let labels: string[] | null = null;
  if (fields.labels !== undefined) {
    const l =
      typeof fields.labels === 'string' ? fields.labels.split(',').map((s) => s.trim()) : fields.labels;
    if (!Array.isArray(l) || !l.every((s) => typeof s === 'string')) {
      throw new HttpProblem(400, 'labels must be a list of class names (or a comma-separated string)');
    }
    labels = l;
  }
  let vector: Float32Array | null = null;
  if (fields.vector !== undefined) {
    const v = fields.vector;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new HttpProblem(400, 'vector must be a non-empty list of finite numbers');
    }
    vector = Float32Array.from(v as number[]);
  }
  if (fields.id !== undefined && typeof fields.id !== 'string')
    throw new HttpProblem(400, 'id must be a string');
  const id = fields.id ?? null;
  return { vector, id, image, k, labels, index };
}
