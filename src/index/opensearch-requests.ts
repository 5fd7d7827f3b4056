/**
 * The requests the OpenSearch adapter sends, built by pure functions so that tests can check them without a
 * cluster: index templates with the k-NN mapping, the documents' sources, k-NN queries with label filters, and
 * the duplicate and counts queries (bulk writes: opensearch-bulk.ts).
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
  BoxSummary,
  ImageDocument,
  ImageSummary,
  IndexName,
  PixelBox,
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
  const fields: Record<string, Property> =
    index === 'global'
      ? {
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
        }
      : {
          id: keyword,
          imageId: keyword,
          kind: keyword,
          label: keyword,
          score: { type: 'float' },
          box: storedBox,
        };
  return {
    dynamic: 'strict',
    _meta: { pitlane_search_index: OPENSEARCH_SCHEMA_VERSION, kind: index },
    properties: { ...fields, embedding: embeddingProperty(options) },
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

/**
 * An image as it is stored in `visual_search_global`: the document's fields, the embedding as a JSON array, and
 * three fields derived for filtering and counting.
 */
export interface ImageSource extends ImageSummary {
  /** The distinct detection labels, for the label filter. */
  readonly labels: readonly string[];
  readonly faceCount: number;
  readonly ocrCount: number;
  readonly embedding: readonly number[];
}

/** A box as stored in `visual_search_vehicles` or `visual_search_people`: box and embedding as JSON arrays. */
export interface BoxSource extends Omit<BoxSummary, 'box'> {
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
