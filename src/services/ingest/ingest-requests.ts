/**
 * What the ingest API reads from a request: the images and switches of `POST /ingest/batch` (multipart files
 * spooled to disk, or JSON server-side paths) and the query of `POST /search` (a vector, an indexed id, or an
 * uploaded image; k, labels, index). Every bad field is an HttpProblem 400 naming it; every limit, the limit's
 * refusal (services/http/request-limits.ts). A JSON body has passed its schema already (openapi.ts, refusals
 * naming the JSON path); the checks here are for the fields that come as text (query string, multipart fields),
 * which are merged with the JSON ones and read by the same code.
 */
import type { FastifyRequest } from 'fastify';
import { INDEX_NAMES, MAX_K, type IndexName } from '../../index/index-port.js';
import { HttpProblem } from '../http/problem.js';
import { overLimit } from '../http/request-limits.js';
import type { IngestItem, IngestOptions } from './pipeline/ingest-types.js';
import { readMultipart, type UploadLimits, type UploadSpool } from './upload-spool.js';

const BOOL_OPTIONS = ['enable_faces', 'enable_ocr', 'box_embeddings'] as const;

function parseBool(name: string, v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new HttpProblem(400, `${name} must be true or false, got ${JSON.stringify(v)}`);
}

/** The images and options of an ingest request: multipart (spooled to `spool`) or JSON. */
export async function readBatch(
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

export interface SearchQuery {
  vector: Float32Array | null;
  id: string | null;
  /** An uploaded query image, spooled to a file. */
  image: { name: string; file: string } | null;
  k: number;
  labels: string[] | null;
  index: IndexName;
}

export async function readSearch(
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
