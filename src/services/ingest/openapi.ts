/**
 * The ingest service's routes as its OpenAPI document describes them (services/http/openapi.ts): multipart
 * uploads or JSON server-side paths, search by vector, id or image, and the `{"status":"error","error":...}`
 * refusals. JSON bodies are validated from these schemas (app.ts, `validatedBy`), and so are the parameters of
 * `GET /images/{id}`; the fields of multipart uploads and query strings, which carry the same options as text, are
 * read by ingest-requests.ts (it also reads the JSON fields, merged with the query's, so one reader decides).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { INDEX_NAMES, MAX_K } from '../../index/index-port.js';
import { json, text, type ApiDoc, type RouteDocs } from '../http/openapi.js';

/** Every refusal and failure of the ingest API. */
const IngestError = Type.Object({
  status: Type.Literal('error'),
  error: Type.String({ description: 'what was wrong, naming the field or the limit and its flag' }),
});

const error = (description: string): TSchema => json(description, IngestError);

/** A switch in a JSON body, as the handlers read it (also documents the same switch as text). */
const Flag = (description: string) =>
  Type.Optional(
    Type.Union(
      [
        Type.Boolean(),
        Type.Literal('true'),
        Type.Literal('false'),
        Type.Literal('1'),
        Type.Literal('0'),
        Type.Null(),
      ],
      { title: 'true or false', default: false, description },
    ),
  );

/** A switch in the query string, as the handlers read it. */
const QueryFlag = (description: string) =>
  Type.Optional(
    Type.Unsafe<string>({ type: 'string', enum: ['true', 'false', '1', '0'], default: 'false', description }),
  );

const BatchOptions = {
  enable_faces: Flag('count faces (BlazeFace); refused when the service runs without'),
  enable_ocr: Flag('read text lines (PaddleOCR); refused when the service runs without'),
  box_embeddings: Flag('embed and index vehicle and people boxes'),
};

const Detection = Type.Object(
  {
    label: Type.String(),
    score: Type.Number(),
    box: Type.Array(Type.Number(), { description: '[x, y, width, height] in pixels' }),
  },
  { additionalProperties: true },
);

const ImageFailure = Type.Object({
  index: Type.Integer({ description: 'position of the image in the request' }),
  name: Type.String({ description: 'file name or server-side path' }),
  reason: Type.String({ description: 'e.g. not-an-image, too-large, too-many-pixels' }),
  message: Type.String(),
});

const IndexCounts = Type.Object({
  global: Type.Integer(),
  vehicles: Type.Integer(),
  people: Type.Integer(),
  faces: Type.Integer(),
  ocr: Type.Integer(),
});

const IngestResponse = Type.Object({
  status: Type.Literal('success'),
  total: Type.Integer(),
  processed: Type.Integer(),
  duplicates: Type.Integer({ description: 'exact duplicates (imohash) of indexed images' }),
  errors_count: Type.Integer(),
  indexed: IndexCounts,
  near_duplicates: Type.Integer(),
  total_time_ms: Type.Number(),
  errors: Type.Array(ImageFailure),
  images: Type.Optional(
    Type.Array(
      Type.Object(
        {
          index: Type.Integer(),
          name: Type.String(),
          id: Type.Union([Type.String(), Type.Null()]),
          status: Type.Union([Type.Literal('indexed'), Type.Literal('duplicate'), Type.Literal('error')]),
          duplicate_of: Type.Union([Type.String(), Type.Null()]),
          near_duplicate_of: Type.Union([Type.String(), Type.Null()]),
          detections: Type.Array(Detection),
          faces: Type.Integer(),
          ocr: Type.Integer(),
        },
        { additionalProperties: true },
      ),
      { description: 'with ?details=true: what happened to each image' },
    ),
  ),
});

const ImageSummary = Type.Object(
  { id: Type.String(), name: Type.String(), detections: Type.Array(Detection) },
  { additionalProperties: true },
);

const K = `an integer in 1..${MAX_K}`;
const SearchFields = {
  k: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1, maximum: MAX_K, title: K }), Type.String()], {
      title: K,
      default: 10,
      description: 'an integer, or its decimal text (as query strings and form fields carry it)',
    }),
  ),
  index: Type.Optional(
    Type.Union(
      INDEX_NAMES.map((n) => Type.Literal(n)),
      {
        title: `one of ${INDEX_NAMES.join(', ')}`,
        default: 'global',
        description: 'images (global), or vehicle or people boxes',
      },
    ),
  ),
  labels: Type.Optional(
    Type.Union([Type.Array(Type.String()), Type.String()], {
      title: 'a list of class names (or a comma-separated string)',
      description: 'only hits with these classes (a list, or comma-separated)',
    }),
  ),
};

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('loading')]),
  service: Type.Literal('pitlane-ingest'),
  version: Type.String(),
  api_version: Type.String(),
});

/** The ingest API's routes (`GET /images/:id` is validated from its entry). */
export const INGEST_ROUTES = {
  'GET /health': {
    summary: 'Whether the service is ready',
    tags: ['operations'],
    response: { 200: json('ready', Health), 503: json('loading its models', Health) },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    tags: ['operations'],
    response: { 200: text('Prometheus text exposition format') },
  },
  'POST /ingest/batch': {
    summary: 'Index a batch of images',
    description:
      'Multipart image files (any file field; options as fields or query parameters), or JSON ' +
      '`{"paths": [...]}` of server-side files under the `--root` folders. An image that fails is listed in ' +
      '`errors` and the rest of the batch is indexed; the request is refused (413) when it is over ' +
      '`--max-request-mb` or holds more than `--max-batch` images. Uploads are spooled to disk, not memory.',
    tags: ['ingest'],
    querystring: Type.Object({
      details: Flag('add `images`: what happened to each image'),
      ...BatchOptions,
    }),
    body: {
      content: {
        'multipart/form-data': {
          schema: Type.Object(
            {
              files: Type.Array(Type.String({ format: 'binary' }), {
                description: 'image files, under any field name',
              }),
              ...BatchOptions,
            },
            { additionalProperties: true },
          ),
        },
        'application/json': {
          schema: Type.Object({
            paths: Type.Array(Type.String({ minLength: 1 }), {
              title: 'a list of server-side file paths (non-empty strings)',
              description: 'server-side files',
            }),
            ...BatchOptions,
          }),
        },
      },
    },
    response: {
      200: json('the batch was read; see `errors` for the images that failed', IngestResponse),
      400: error('no images, a bad field, or a path outside the --root folders'),
      413: error('over --max-request-mb, --max-batch, or the JSON body limit'),
      503: error('the service is loading its models'),
    },
  },
  'POST /search': {
    summary: 'Nearest indexed images or boxes',
    description:
      "By `vector` (the index's dimension), by the `id` of an indexed image, or by an uploaded image (multipart; " +
      'the first file is the query).',
    tags: ['search'],
    querystring: Type.Object(SearchFields),
    body: {
      content: {
        'application/json': {
          schema: Type.Object({
            vector: Type.Optional(
              Type.Array(Type.Number(), {
                minItems: 1,
                title: 'a non-empty list of finite numbers',
                description: "the index's dimension (checked by the handler)",
              }),
            ),
            id: Type.Optional(Type.String()),
            ...SearchFields,
          }),
        },
        'multipart/form-data': {
          schema: Type.Object(
            { image: Type.String({ format: 'binary', description: 'the query image' }), ...SearchFields },
            { additionalProperties: true },
          ),
        },
      },
    },
    response: {
      200: json(
        'hits, best first',
        Type.Object({
          hits: Type.Array(
            Type.Object(
              {
                id: Type.String({ description: 'image id (global) or box id' }),
                score: Type.Number({ description: 'cosine similarity' }),
                image: ImageSummary,
                box: Type.Optional(Type.Object({}, { additionalProperties: true })),
              },
              { additionalProperties: true },
            ),
          ),
          took_ms: Type.Number(),
        }),
      ),
      400: error('no query, a vector of the wrong dimension, or a bad k, index or labels'),
      404: error('no indexed image has this id'),
      413: error('the query image is over --max-file-mb'),
      503: error('the service is loading its models'),
    },
  },
  'GET /images/:id': {
    summary: 'An indexed image',
    tags: ['search'],
    params: Type.Object({ id: Type.String() }),
    querystring: Type.Object({
      embedding: QueryFlag('include the image embedding'),
    }),
    response: {
      200: json('the image, its detections and counts', ImageSummary),
      400: error('a query parameter its schema does not allow (named)'),
      404: error('no indexed image has this id'),
      503: error('the service is loading its models'),
    },
  },
} satisfies RouteDocs;

/** The ingest service's OpenAPI description. */
export function ingestApiDoc(version: string): ApiDoc {
  return {
    title: 'pitlane ingest',
    description:
      'Photo ingest: exact and near duplicates, COCO detection, image embeddings, faces, OCR, a durable index ' +
      'and search. Errors are `{"status":"error","error":"..."}`. See docs/ingest.md.',
    version,
    tags: [
      { name: 'ingest', description: 'indexing images' },
      { name: 'search', description: 'searching the index' },
      { name: 'operations', description: 'health and metrics' },
    ],
    routes: INGEST_ROUTES,
  };
}
