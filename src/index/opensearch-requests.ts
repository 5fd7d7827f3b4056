/**
 * The requests the OpenSearch adapter sends, built by pure functions so that tests can check them without a
 * cluster: index templates with the k-NN mapping, bulk bodies split at a bounded count and size, k-NN queries
 * with label filters, the duplicate and counts queries, the classification of bulk responses, and the back-off
 * schedule of retries.
 *
 * Index layout (names from the visual-search benchmark guide, with an optional prefix): `visual_search_global`
 * holds images, `visual_search_vehicles` and `visual_search_people` hold crops. Every document's `_id` is its
 * port id, so indexing is an upsert and a retried bulk is harmless. Embeddings are `knn_vector` fields with
 * `space_type: cosinesimil` and an HNSW graph from the Lucene engine: Lucene's k-NN filtering runs the filter
 * during the graph search and switches to an exact search when few documents match, so a filtered search still
 * returns k hits when k match. Its score for cosinesimil is `(2 - d) / 2` with `d = 1 - cos`, i.e.
 * `(1 + cos) / 2`; `cosineFromScore` turns it back into the port's cosine similarity.
 */
import type { API } from '@opensearch-project/opensearch';
import type {
  BoxDocument,
  BoxKind,
  BoxSummary,
  Detection,
  Face,
  ImageDocument,
  ImageSummary,
  IndexName,
  PixelBox,
  TextLine,
} from './index-port.js';
import type { NearestQuery } from './validation.js';

/** Version of the mappings below, recorded in each index's `_meta`. */
export const OPENSEARCH_SCHEMA_VERSION = 1;

/** The three OpenSearch index names of one search index. */
export type IndexNames = Readonly<Record<IndexName, string>>;

/** Index prefixes must keep the names valid: lowercase letters, digits, `.`, `_` and `-`, not first. */
const PREFIX = /^(?:[a-z0-9][a-z0-9._-]*)?$/;

/** The index names for a prefix: `${prefix}visual_search_global` and so on. */
export function indexNames(prefix = ''): IndexNames {
  if (!PREFIX.test(prefix)) {
    throw new RangeError(
      `index prefix '${prefix}' is not valid: use lowercase letters, digits, '.', '_' and '-', not first`,
    );
  }
  return {
    global: `${prefix}visual_search_global`,
    vehicles: `${prefix}visual_search_vehicles`,
    people: `${prefix}visual_search_people`,
  };
}

/** Options of the index templates. */
export interface TemplateOptions {
  /** Length of the embeddings. */
  readonly dimension: number;
  /** Primary shards per index; the cluster default (1) when omitted. */
  readonly shards?: number;
  /** Replicas per shard; the cluster default (1) when omitted. A one-node cluster needs 0 to be green. */
  readonly replicas?: number;
  /** HNSW graph degree `m`; default 16. */
  readonly m?: number;
  /** HNSW `ef_construction`; default 128. */
  readonly efConstruction?: number;
}

type TemplateBody = API.Indices_PutIndexTemplate_RequestBody;
type Mapping = NonNullable<NonNullable<TemplateBody['template']>['mappings']>;
type Property = NonNullable<Mapping['properties']>[string];

const keyword: Property = { type: 'keyword' };
/** Kept in `_source` for reading back, never searched: not indexed. */
const stored: Property = { type: 'object', enabled: false };
const storedBox: Property = { type: 'float', index: false, doc_values: false };

function embeddingProperty(options: TemplateOptions): Property {
  return {
    type: 'knn_vector',
    dimension: options.dimension,
    method: {
      name: 'hnsw',
      space_type: 'cosinesimil',
      engine: 'lucene',
      parameters: { m: options.m ?? 16, ef_construction: options.efConstruction ?? 128 },
    },
  };
}

/** The mapping of one index; `dynamic: strict`, so a document with a stray field is refused. */
export function buildMapping(index: IndexName, options: TemplateOptions): Mapping {
  const _meta = { pitlane_search_index: OPENSEARCH_SCHEMA_VERSION, kind: index };
  if (index === 'global') {
    return {
      dynamic: 'strict',
      _meta,
      properties: {
        id: keyword,
        imohash: keyword,
        name: keyword,
        width: { type: 'integer' },
        height: { type: 'integer' },
        format: keyword,
        bytes: { type: 'long' },
        ingestedAt: { type: 'date', format: 'strict_date_optional_time' },
        detections: stored,
        faces: stored,
        ocr: stored,
        labels: keyword,
        faceCount: { type: 'integer' },
        ocrCount: { type: 'integer' },
        nearDuplicateOf: keyword,
        embedding: embeddingProperty(options),
      },
    };
  }
  return {
    dynamic: 'strict',
    _meta,
    properties: {
      id: keyword,
      imageId: keyword,
      kind: keyword,
      label: keyword,
      score: { type: 'float' },
      box: storedBox,
      embedding: embeddingProperty(options),
    },
  };
}

/**
 * The composable index template of one index (matching exactly that name). Settings: k-NN on, and
 * `translog.durability: request`, OpenSearch's default written out because the adapter's durability rests on
 * it: each bulk is fsynced to the translog of every in-sync copy before it is acknowledged.
 */
export function buildIndexTemplate(
  name: string,
  index: IndexName,
  options: TemplateOptions,
): { name: string; body: TemplateBody } {
  const settings: Record<string, unknown> = { knn: true, 'translog.durability': 'request' };
  if (options.shards !== undefined) settings.number_of_shards = options.shards;
  if (options.replicas !== undefined) settings.number_of_replicas = options.replicas;
  return {
    name,
    body: {
      index_patterns: [name],
      priority: 500,
      _meta: { pitlane_search_index: OPENSEARCH_SCHEMA_VERSION },
      template: { settings: { index: settings }, mappings: buildMapping(index, options) },
    },
  };
}

/**
 * The dimension of the `embedding` field in a `GET /<index>/_mapping` answer, or null when the index has no
 * such field (not one of ours).
 */
export function mappingDimension(response: unknown, index: string): number | null {
  const root = response as Record<
    string,
    { mappings?: { properties?: Record<string, unknown> } } | undefined
  >;
  const embedding = root[index]?.mappings?.properties?.embedding as
    { type?: unknown; dimension?: unknown } | undefined;
  if (embedding?.type !== 'knn_vector' || typeof embedding.dimension !== 'number') return null;
  return embedding.dimension;
}

/** An image as it is stored in `visual_search_global`. */
export interface ImageSource {
  readonly id: string;
  readonly imohash: string;
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly bytes: number;
  readonly ingestedAt: string;
  readonly detections: readonly Detection[];
  readonly faces: readonly Face[];
  readonly ocr: readonly TextLine[];
  /** The distinct detection labels, for the label filter. */
  readonly labels: readonly string[];
  readonly faceCount: number;
  readonly ocrCount: number;
  readonly nearDuplicateOf: string | null;
  readonly embedding: readonly number[];
}

/** A box as it is stored in `visual_search_vehicles` or `visual_search_people`. */
export interface BoxSource {
  readonly id: string;
  readonly imageId: string;
  readonly kind: BoxKind;
  readonly label: string;
  readonly score: number;
  readonly box: readonly number[];
  readonly embedding: readonly number[];
}

const plainBox = (b: PixelBox): PixelBox => [b[0], b[1], b[2], b[3]];

/** The stored form of an image (only the port's fields, plus the derived label list and counts). */
export function imageSource(image: ImageDocument): ImageSource {
  return {
    id: image.id,
    imohash: image.imohash,
    name: image.name,
    width: image.width,
    height: image.height,
    format: image.format,
    bytes: image.bytes,
    ingestedAt: image.ingestedAt,
    detections: image.detections.map((d) => ({
      label: d.label,
      classId: d.classId,
      score: d.score,
      box: plainBox(d.box),
    })),
    faces: image.faces.map((f) => ({ score: f.score, box: plainBox(f.box) })),
    ocr: image.ocr.map((t) => ({ text: t.text, score: t.score, box: plainBox(t.box) })),
    labels: [...new Set(image.detections.map((d) => d.label))],
    faceCount: image.faces.length,
    ocrCount: image.ocr.length,
    nearDuplicateOf: image.nearDuplicateOf,
    embedding: Array.from(image.embedding),
  };
}

/** The stored form of a box. */
export function boxSource(box: BoxDocument): BoxSource {
  return {
    id: box.id,
    imageId: box.imageId,
    kind: box.kind,
    label: box.label,
    score: box.score,
    box: plainBox(box.box),
    embedding: Array.from(box.embedding),
  };
}

/** An image summary from a stored image (any embedding in it is dropped). */
export function imageSummaryFromSource(source: ImageSource): ImageSummary {
  return {
    id: source.id,
    imohash: source.imohash,
    name: source.name,
    width: source.width,
    height: source.height,
    format: source.format,
    bytes: source.bytes,
    ingestedAt: source.ingestedAt,
    detections: source.detections,
    faces: source.faces,
    ocr: source.ocr,
    nearDuplicateOf: source.nearDuplicateOf,
  };
}

/** A box summary from a stored box. */
export function boxSummaryFromSource(source: BoxSource): BoxSummary {
  const b = source.box;
  return {
    id: source.id,
    imageId: source.imageId,
    kind: source.kind,
    label: source.label,
    score: source.score,
    box: [b[0] ?? 0, b[1] ?? 0, b[2] ?? 0, b[3] ?? 0],
  };
}

/** One document of a bulk request: its action and source lines, and their size. */
export interface BulkOperation {
  /** Target index. */
  readonly index: string;
  /** Document id. */
  readonly id: string;
  /** The two NDJSON lines (action, source), each ending in a newline. */
  readonly lines: string;
  /** UTF-8 size of `lines`. */
  readonly bytes: number;
}

/** Bounds of one bulk request. */
export interface BulkLimits {
  /** Most documents per request. */
  readonly maxDocs: number;
  /** Most bytes per request; a document larger than this on its own is sent alone. */
  readonly maxBytes: number;
}

/** Defaults of `BulkLimits`: OpenSearch's advice is 5–15 MiB per bulk; 512-d vectors make ~10 KiB documents. */
export const DEFAULT_BULK_LIMITS: BulkLimits = { maxDocs: 500, maxBytes: 5 * 1024 * 1024 };

function operation(index: string, id: string, source: object): BulkOperation {
  const lines = `${JSON.stringify({ index: { _index: index, _id: id } })}\n${JSON.stringify(source)}\n`;
  return { index, id, lines, bytes: Buffer.byteLength(lines) };
}

/** The `index` operations (upserts by `_id`) of a batch: images first, then boxes. */
export function buildBulkOperations(
  images: readonly ImageDocument[],
  boxes: readonly BoxDocument[],
  names: IndexNames,
): BulkOperation[] {
  return [
    ...images.map((image) => operation(names.global, image.id, imageSource(image))),
    ...boxes.map((box) => operation(names[box.kind], box.id, boxSource(box))),
  ];
}

/** Splits operations, in order, into requests of at most `maxDocs` documents and `maxBytes` bytes. */
export function splitBulk(operations: readonly BulkOperation[], limits: BulkLimits): BulkOperation[][] {
  if (!(limits.maxDocs >= 1) || !(limits.maxBytes >= 1)) {
    throw new RangeError('bulk limits must be at least 1 document and 1 byte');
  }
  const chunks: BulkOperation[][] = [];
  let chunk: BulkOperation[] = [];
  let bytes = 0;
  for (const op of operations) {
    if (chunk.length > 0 && (chunk.length >= limits.maxDocs || bytes + op.bytes > limits.maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(op);
    bytes += op.bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** The NDJSON body of one bulk request. */
export function bulkBody(operations: readonly BulkOperation[]): string {
  return operations.map((op) => op.lines).join('');
}

/** The NDJSON bodies of a whole batch, split at the limits. */
export function buildBulkBodies(
  images: readonly ImageDocument[],
  boxes: readonly BoxDocument[],
  names: IndexNames,
  limits: BulkLimits = DEFAULT_BULK_LIMITS,
): string[] {
  return splitBulk(buildBulkOperations(images, boxes, names), limits).map(bulkBody);
}

/** HTTP statuses after which a request or a bulk item is retried with back-off: too many requests. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429]);

/** What to do after a bulk response. */
export interface BulkOutcome {
  /** Operations refused with a retryable status (429), to send again after a back-off. */
  readonly retry: BulkOperation[];
  /** Operations that failed for good, one line each: `index/id: status type: reason`. */
  readonly failed: string[];
  /** HTTP status of the first failure, if any. */
  readonly firstFailedStatus: number | null;
}

type BulkResponseBody = API.Bulk_ResponseBody;

/** Sorts the items of a bulk response (in the order of `operations`) into done, to retry, and failed. */
export function classifyBulkResponse(
  operations: readonly BulkOperation[],
  body: BulkResponseBody,
): BulkOutcome {
  const retry: BulkOperation[] = [];
  const failed: string[] = [];
  let firstFailedStatus: number | null = null;
  if (body.items.length !== operations.length) {
    return {
      retry,
      failed: [`the bulk answer has ${body.items.length} items for ${operations.length} operations`],
      firstFailedStatus,
    };
  }
  if (!body.errors) return { retry, failed, firstFailedStatus };
  body.items.forEach((item, i) => {
    const op = operations[i];
    const result = item.index ?? item.create ?? item.update ?? item.delete;
    if (op === undefined || result === undefined) return;
    if (result.status >= 200 && result.status < 300) return;
    if (RETRY_STATUSES.has(result.status)) {
      retry.push(op);
      return;
    }
    firstFailedStatus ??= result.status;
    const error = result.error;
    failed.push(
      `${op.index}/${op.id}: ${result.status} ${error?.type ?? 'error'}: ${error?.reason ?? 'no reason'}`,
    );
  });
  return { retry, failed, firstFailedStatus };
}

/** Retries with exponential back-off. */
export interface RetryPolicy {
  /** Retries after the first attempt (0: no retry). */
  readonly retries: number;
  /** Delay before the first retry. */
  readonly initialDelayMs: number;
  /** Cap on any one delay. */
  readonly maxDelayMs: number;
  /** Each delay is spread uniformly by ± this fraction (0..1), so that clients do not retry in step. */
  readonly jitter: number;
}

/** 8 retries from 100 ms doubling to at most 10 s (~23 s of waiting in all), ±20 %. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 8,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  jitter: 0.2,
};

/**
 * The delay before retry number `attempt` (0 = the first retry): `min(maxDelayMs, initialDelayMs * 2^attempt)`,
 * spread by ±jitter and never above `maxDelayMs`. `random` (uniform in [0, 1)) is injectable for tests; 0.5
 * gives the un-jittered schedule.
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
  const spread = 1 + policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(policy.maxDelayMs, Math.round(base * spread)));
}

/** The whole un-jittered schedule of a policy, one delay per retry. */
export function backoffSchedule(policy: RetryPolicy): number[] {
  return Array.from({ length: policy.retries }, (_, attempt) => backoffDelay(attempt, policy, () => 0.5));
}

/**
 * The k-NN search of one index. The label filter and the excluded ids go into the `knn` clause's own `filter`,
 * so they are applied during the graph search (never after it). `k` inside the clause is the number of
 * candidates each shard gathers (at least `candidates`, for recall), `size` the number of hits returned.
 */
export function buildKnnQuery(
  vector: Float32Array,
  query: NearestQuery,
  options: { readonly candidates: number },
): API.Search_RequestBody {
  const filter: NonNullable<API.Search_RequestBody['query']>[] = [];
  if (query.labels !== null) {
    filter.push({ terms: { [query.index === 'global' ? 'labels' : 'label']: [...query.labels] } });
  }
  const mustNot = query.excludeIds.length > 0 ? [{ ids: { values: [...query.excludeIds] } }] : [];
  const knn: Record<string, unknown> = {
    vector: Array.from(vector),
    k: Math.max(query.k, options.candidates),
  };
  if (filter.length > 0 || mustNot.length > 0) {
    knn.filter = { bool: { filter, must_not: mustNot } };
  }
  return {
    size: query.k,
    _source: { excludes: ['embedding'] },
    query: { knn: { embedding: knn as { vector: number[] } } },
  };
}

/** The port's cosine similarity from a Lucene cosinesimil score `(1 + cos) / 2`. */
export function cosineFromScore(score: number): number {
  return 2 * score - 1;
}

/**
 * Exact-duplicate lookup: images whose imohash is one of `hashes`, one per hash (collapsed on `imohash`), the
 * earliest `ingestedAt` and then the smallest id first, as the port asks.
 */
export function buildImohashQuery(hashes: readonly string[]): API.Search_RequestBody {
  return {
    size: hashes.length,
    _source: ['id', 'imohash'],
    query: { bool: { filter: [{ terms: { imohash: [...hashes] } }] } },
    collapse: { field: 'imohash' },
    sort: [{ ingestedAt: { order: 'asc' } }, { id: { order: 'asc' } }],
  };
}

/** Totals of the global index: the hit count is the number of images, the sums count faces and OCR lines. */
export function buildCountsQuery(): API.Search_RequestBody {
  return {
    size: 0,
    track_total_hits: true,
    aggs: { faces: { sum: { field: 'faceCount' } }, ocr: { sum: { field: 'ocrCount' } } },
  };
}

/** Boxes of the given images other than `keep`: what is left of replaced images once the batch is written. */
export function buildStaleBoxesQuery(
  imageIds: readonly string[],
  keep: readonly string[],
): NonNullable<API.Search_RequestBody['query']> {
  return {
    bool: {
      filter: [{ terms: { imageId: [...imageIds] } }],
      must_not: keep.length > 0 ? [{ ids: { values: [...keep] } }] : [],
    },
  };
}
