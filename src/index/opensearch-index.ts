/**
 * The search index on an OpenSearch cluster (the official client), for when one SQLite file is not enough.
 * Search is approximate (Lucene HNSW); the request bodies are built in `opensearch-requests.ts` and
 * `opensearch-bulk.ts`.
 *
 * Durability: OpenSearch acknowledges a bulk request only after each operation is written to the translog of
 * the primary and of every in-sync replica, and with `index.translog.durability: request` (the default, set
 * explicitly by the template) that translog is fsynced before the acknowledgement. So when `indexBatch`
 * resolves the batch survives a crash of any node; this holds with or without a refresh. A refresh is what
 * makes documents *searchable*: by default within `refresh_interval` (1 s), at once with the option
 * `refresh: 'wait_for'` (each bulk then waits for a refresh), and during a load (`beginLoad`) only at `endLoad`.
 * Until then `findImohashes`, `nearest` and `counts` do not see the batch, while `getImage` (a real-time get)
 * does. The ingest service must therefore also dedupe within its in-flight batches.
 *
 * Retries: a request answered 429 (too many requests) is retried with exponential back-off (`RetryPolicy`);
 * a bulk whose items are refused with 429 is resent with just those items. Connection errors and 502/503/504
 * are retried by the client itself (`maxRetries`, immediately). Items that fail otherwise (mapping errors...)
 * make `indexBatch` reject with an `OpenSearchIndexError` listing them; the other items are written (a bulk is
 * not a transaction), and resending the whole batch is safe since every operation is an upsert by id.
 *
 * Duplicates: ids are upserted (`index` operations with `_id`). When a batch re-indexes an image that already
 * exists (found by a real-time multi-get), the boxes of that image that the batch does not carry are deleted
 * first (refresh of the box indexes, then delete-by-query), so an image and its boxes are replaced as a unit,
 * as in the SQLite adapter, though not atomically.
 */
import { Client, errors, type API, type ClientOptions } from '@opensearch-project/opensearch';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  IndexClosedError,
  IndexDimensionError,
  IndexSchemaError,
  InvalidQueryError,
  OpenSearchIndexError,
} from '../core/errors.js';
import {
  INDEX_NAMES,
  type BoxDocument,
  type ImageDocument,
  type IndexCounts,
  type IndexName,
  type NearestOptions,
  type SearchHit,
  type SearchIndex,
} from './index-port.js';
import {
  DEFAULT_BULK_LIMITS,
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  buildBulkOperations,
  bulkBody,
  classifyBulkResponse,
  splitBulk,
  type BulkLimits,
  type BulkOperation,
  type RetryPolicy,
} from './opensearch-bulk.js';
import {
  boxSummaryFromSource,
  buildCountsQuery,
  buildImohashQuery,
  buildIndexTemplate,
  buildKnnQuery,
  buildStaleBoxesQuery,
  cosineFromScore,
  imageSummaryFromSource,
  indexNames,
  mappingDimension,
  type BoxSource,
  type ImageSource,
  type IndexNames,
  type TemplateOptions,
} from './opensearch-requests.js';
import { compareHits, validateBatch, validateHashes, validateNearest } from './validation.js';

/** Options of `openOpenSearchIndex`. */
export interface OpenSearchIndexOptions {
  /** Cluster URL, e.g. `http://localhost:9200`. Ignored when `client` is given. */
  readonly url: string;
  /** Length of every embedding; existing indexes must have been created with it. */
  readonly dimension: number;
  /** Prefix of the three index names (`${prefix}visual_search_global`...); default none. */
  readonly prefix?: string;
  /** Most documents per bulk request; default 500. */
  readonly bulkMaxDocs?: number;
  /** Most bytes per bulk request; default 5 MiB. */
  readonly bulkMaxBytes?: number;
  /** Retries of 429 answers; default `DEFAULT_RETRY_POLICY`. */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * `false` (default): a batch is durable when `indexBatch` resolves and searchable after the next refresh.
   * `'wait_for'`: `indexBatch` also waits until the batch is searchable (ignored during a load).
   */
  readonly refresh?: false | 'wait_for';
  /** Primary shards, replicas and HNSW parameters of newly created indexes (see `TemplateOptions`). */
  readonly shards?: number;
  readonly replicas?: number;
  readonly m?: number;
  readonly efConstruction?: number;
  /** Candidates each shard gathers in a k-NN search (the `k` of the knn clause), at least k; default 100. */
  readonly candidates?: number;
  /** Extra client options (auth, TLS, timeouts...), used when `client` is not given. */
  readonly clientOptions?: ClientOptions;
  /** An existing client to use instead of one built from `url`; `close()` leaves it open. */
  readonly client?: Client;
}

/** What the cluster answers to an error, as far as this adapter needs it. */
function statusOf(err: unknown): number | null {
  return err instanceof errors.ResponseError ? err.statusCode : null;
}

function describe(err: unknown): string {
  if (err instanceof errors.ResponseError) {
    const body = err.body as { error?: { type?: string; reason?: string } } | undefined;
    const reason = body?.error === undefined ? '' : `: ${body.error.type ?? ''} ${body.error.reason ?? ''}`;
    return `HTTP ${err.statusCode}${reason}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A search index on OpenSearch. Create with `openOpenSearchIndex`. */
export class OpenSearchIndex implements SearchIndex {
  readonly kind = 'opensearch';
  readonly dimension: number;
  /** The three index names. */
  readonly names: IndexNames;
  readonly #client: Client;
  readonly #ownsClient: boolean;
  readonly #limits: BulkLimits;
  readonly #retry: RetryPolicy;
  readonly #refresh: false | 'wait_for';
  readonly #candidates: number;
  #closed = false;
  #loadDepth = 0;
  /** `refresh_interval` of each index before `beginLoad`; null when it was not set (the default). */
  #previousRefresh = new Map<string, string | null>();

  /** @internal use `openOpenSearchIndex`, which creates or checks the indexes first. */
  constructor(client: Client, ownsClient: boolean, names: IndexNames, options: OpenSearchIndexOptions) {
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.names = names;
    this.dimension = options.dimension;
    this.#limits = {
      maxDocs: options.bulkMaxDocs ?? DEFAULT_BULK_LIMITS.maxDocs,
      maxBytes: options.bulkMaxBytes ?? DEFAULT_BULK_LIMITS.maxBytes,
    };
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#refresh = options.refresh ?? false;
    this.#candidates = options.candidates ?? 100;
  }

  #open(): Client {
    if (this.#closed) throw new IndexClosedError(this.names.global);
    return this.#client;
  }

  /** Runs one request, retrying 429 answers with back-off; other failures become OpenSearchIndexError. */
  async #request<T>(what: string, send: (client: Client) => Promise<T>): Promise<T> {
    const client = this.#open();
    for (let attempt = 0; ; attempt++) {
      try {
        return await send(client);
      } catch (err) {
        const status = statusOf(err);
        if (status === 429 && attempt < this.#retry.retries) {
          await sleep(backoffDelay(attempt, this.#retry));
          continue;
        }
        throw new OpenSearchIndexError(`${what} failed: ${describe(err)}`, { status, cause: err });
      }
    }
  }

  async findImohashes(hashes: readonly string[]): Promise<Map<string, string>> {
    validateHashes(hashes);
    const unique = [...new Set(hashes)];
    const found = new Map<string, string>();
    // Terms queries are bounded (index.max_terms_count, 65536 by default); ask in slices.
    for (let i = 0; i < unique.length; i += 1000) {
      const slice = unique.slice(i, i + 1000);
      const response = await this.#request('imohash lookup', (c) =>
        c.search({ index: this.names.global, body: buildImohashQuery(slice) }),
      );
      for (const hit of response.body.hits.hits) {
        const source = hit._source as Pick<ImageSource, 'id' | 'imohash'> | undefined;
        if (source !== undefined && !found.has(source.imohash)) found.set(source.imohash, source.id);
      }
    }
    return found;
  }

  async nearest(vector: Float32Array, options: NearestOptions): Promise<SearchHit[]> {
    const query = validateNearest(vector, options, this.dimension);
    if (query.labels?.length === 0) return [];
    const index = this.names[query.index];
    const body = buildKnnQuery(vector, query, { candidates: this.#candidates });
    const response = await this.#request(`k-NN search of ${index}`, (c) => c.search({ index, body }));
    const raw = response.body.hits.hits.map((hit) => ({
      score: cosineFromScore(hit._score ?? 0),
      source: hit._source as unknown,
    }));
    if (query.index === 'global') {
      return raw
        .map(({ score, source }) => {
          const image = imageSummaryFromSource(source as ImageSource);
          return { id: image.id, score, image };
        })
        .sort(compareHits);
    }
    const boxes = raw.map(({ score, source }) => ({ score, box: boxSummaryFromSource(source as BoxSource) }));
    const images = await this.#images([...new Set(boxes.map((b) => b.box.imageId))]);
    return boxes
      .map(({ score, box }) => {
        const image = images.get(box.imageId);
        if (image === undefined) {
          throw new OpenSearchIndexError(
            `${index}: box ${box.id} refers to image ${box.imageId}, which is missing`,
          );
        }
        return { id: box.id, score, image: imageSummaryFromSource(image), box };
      })
      .sort(compareHits);
  }

  /** Images by id (real-time multi-get, without embeddings). */
  async #images(ids: readonly string[]): Promise<Map<string, ImageSource>> {
    const found = new Map<string, ImageSource>();
    if (ids.length === 0) return found;
    const response = await this.#request('multi-get of images', (c) =>
      c.mget({ index: this.names.global, body: { ids: [...ids] }, _source_excludes: ['embedding'] }),
    );
    for (const doc of response.body.docs) {
      const source = (doc as { found?: boolean; _source?: ImageSource })._source;
      if (source !== undefined) found.set(source.id, source);
    }
    return found;
  }

  async indexBatch(images: readonly ImageDocument[], boxes: readonly BoxDocument[]): Promise<IndexCounts> {
    const counts = validateBatch(images, boxes, this.dimension);
    if (images.length === 0) return counts;
    await this.#deleteStaleBoxes(
      images.map((i) => i.id),
      boxes.map((b) => b.id),
    );
    const refresh = this.#loadDepth > 0 ? false : this.#refresh;
    for (const chunk of splitBulk(buildBulkOperations(images, boxes, this.names), this.#limits)) {
      await this.#bulk(chunk, refresh);
    }
    return counts;
  }

  /** Deletes the boxes of already indexed images among `imageIds` that are not in `keep`. */
  async #deleteStaleBoxes(imageIds: readonly string[], keep: readonly string[]): Promise<void> {
    const existing = await this.#request('multi-get of replaced images', (c) =>
      c.mget({ index: this.names.global, body: { ids: [...imageIds] }, _source: false }),
    );
    const replaced = existing.body.docs
      .filter((d) => (d as { found?: boolean }).found === true)
      .map((d) => String((d as { _id?: unknown })._id));
    if (replaced.length === 0) return;
    const boxIndexes = [this.names.vehicles, this.names.people];
    // Delete-by-query sees only refreshed documents: refresh first so that recently written boxes are found.
    await this.#request('refresh of box indexes', (c) => c.indices.refresh({ index: boxIndexes }));
    await this.#request('delete of replaced boxes', (c) =>
      c.deleteByQuery({
        index: boxIndexes,
        conflicts: 'proceed',
        refresh: true,
        body: { query: buildStaleBoxesQuery(replaced, keep) },
      }),
    );
  }

  /** Sends one bulk request, resending items refused with 429 after a back-off. */
  async #bulk(operations: readonly BulkOperation[], refresh: false | 'wait_for'): Promise<void> {
    let pending = operations;
    for (let attempt = 0; ; attempt++) {
      const response = await this.#request(`bulk of ${pending.length} documents`, (c) =>
        // The body is already NDJSON (built and sized once); the client sends a string as it is.
        c.bulk({ body: bulkBody(pending) as unknown as Record<string, unknown>[], refresh }),
      );
      const outcome = classifyBulkResponse(pending, response.body);
      if (outcome.failed.length > 0) {
        throw new OpenSearchIndexError(
          `bulk: ${outcome.failed.length} of ${pending.length} documents failed:\n  ${outcome.failed.slice(0, 10).join('\n  ')}`,
          { status: outcome.firstFailedStatus, failures: outcome.failed },
        );
      }
      if (outcome.retry.length === 0) return;
      if (attempt >= this.#retry.retries) {
        throw new OpenSearchIndexError(
          `bulk: ${outcome.retry.length} documents still refused with 429 after ${attempt + 1} attempts`,
          { status: 429, failures: outcome.retry.map((op) => `${op.index}/${op.id}: 429`) },
        );
      }
      await sleep(backoffDelay(attempt, this.#retry));
      pending = outcome.retry;
    }
  }

  async getImage(id: string): Promise<ImageDocument | null> {
    if (typeof id !== 'string') throw new InvalidQueryError('getImage: id must be a string');
    const response = await this.#request(`get of image ${id}`, (c) =>
      c.get({ index: this.names.global, id }, { ignore: [404] }),
    );
    const body = response.body as { found?: boolean; _source?: ImageSource };
    if (body.found !== true || body._source === undefined) return null;
    return { ...imageSummaryFromSource(body._source), embedding: Float32Array.from(body._source.embedding) };
  }

  async counts(): Promise<IndexCounts> {
    const [images, vehicles, people] = await Promise.all([
      this.#request('counts', (c) => c.search({ index: this.names.global, body: buildCountsQuery() })),
      this.#request('count of vehicles', (c) => c.count({ index: this.names.vehicles })),
      this.#request('count of people', (c) => c.count({ index: this.names.people })),
    ]);
    const total = images.body.hits.total;
    const aggs = images.body.aggregations as Record<string, { value?: number | null }> | undefined;
    return {
      global: typeof total === 'number' ? total : (total?.value ?? 0),
      vehicles: vehicles.body.count,
      people: people.body.count,
      faces: aggs?.faces?.value ?? 0,
      ocr: aggs?.ocr?.value ?? 0,
    };
  }

  /**
   * Starts a bulk load: sets `refresh_interval: -1` on the three indexes (remembering what was set), so that
   * OpenSearch does not build segments every second while documents stream in. Pair with `endLoad`; nested
   * pairs are counted and only the outermost one changes settings. Batches stay durable during a load; they
   * are not searchable until `endLoad`. A process killed during a load leaves `-1` in place: reset it with
   * `PUT <index>/_settings {"index": {"refresh_interval": null}}`.
   */
  async beginLoad(): Promise<void> {
    if (this.#loadDepth++ > 0) return;
    try {
      const all = INDEX_NAMES.map((n) => this.names[n]);
      const settings = await this.#request('get of refresh_interval', (c) =>
        c.indices.getSettings({ index: all, name: 'index.refresh_interval', flat_settings: true }),
      );
      const body = settings.body as Record<string, { settings?: Record<string, unknown> } | undefined>;
      this.#previousRefresh = new Map(
        all.map((index) => {
          const value = body[index]?.settings?.['index.refresh_interval'];
          return [index, typeof value === 'string' ? value : null];
        }),
      );
      await this.#request('set of refresh_interval -1', (c) =>
        c.indices.putSettings({ index: all, body: { index: { refresh_interval: '-1' } } }),
      );
    } catch (err) {
      this.#loadDepth--;
      throw err;
    }
  }

  /** Ends a bulk load: restores each index's `refresh_interval` (unset ones to the default) and refreshes. */
  async endLoad(): Promise<void> {
    if (this.#loadDepth === 0) throw new InvalidQueryError('endLoad without beginLoad');
    if (--this.#loadDepth > 0) return;
    for (const [index, previous] of this.#previousRefresh) {
      await this.#request(`restore of refresh_interval on ${index}`, (c) =>
        // null resets the setting to the default; the client's types do not allow null, the API does.
        c.indices.putSettings({
          index,
          body: {
            index: { refresh_interval: previous },
          } as unknown as API.Indices_PutSettings_Request['body'],
        }),
      );
    }
    await this.#request('refresh', (c) => c.indices.refresh({ index: [...this.#previousRefresh.keys()] }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) await this.#client.close();
  }
}

/**
 * Connects to the cluster, puts the three index templates (idempotent), creates the indexes that are missing,
 * and checks that existing ones hold embeddings of `dimension`.
 *
 * @throws IndexDimensionError when an existing index has another dimension (names the index and both).
 * @throws IndexSchemaError when an existing index has no k-NN `embedding` field.
 * @throws OpenSearchIndexError when the cluster cannot be reached or refuses a request.
 */
export async function openOpenSearchIndex(options: OpenSearchIndexOptions): Promise<OpenSearchIndex> {
  const { dimension } = options;
  if (!Number.isSafeInteger(dimension) || dimension < 1) {
    throw new InvalidQueryError('openOpenSearchIndex: dimension must be a positive integer');
  }
  const names = indexNames(options.prefix);
  const ownsClient = options.client === undefined;
  const client = options.client ?? new Client({ ...options.clientOptions, node: options.url });
  const index = new OpenSearchIndex(client, ownsClient, names, options);
  try {
    const template: TemplateOptions = {
      dimension,
      ...(options.shards === undefined ? {} : { shards: options.shards }),
      ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
      ...(options.m === undefined ? {} : { m: options.m }),
      ...(options.efConstruction === undefined ? {} : { efConstruction: options.efConstruction }),
    };
    for (const kind of INDEX_NAMES) await ensureIndex(client, names[kind], kind, template);
    return index;
  } catch (err) {
    await index.close();
    throw err;
  }
}

async function ensureIndex(
  client: Client,
  name: string,
  kind: IndexName,
  options: TemplateOptions,
): Promise<void> {
  const call = async <T>(what: string, send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (err) {
      throw new OpenSearchIndexError(`${name}: ${what} failed: ${describe(err)}`, {
        status: statusOf(err),
        cause: err,
      });
    }
  };
  const template = buildIndexTemplate(name, kind, options);
  await call('put of the index template', () => client.indices.putIndexTemplate(template));
  const exists = await call('existence check', () => client.indices.exists({ index: name }));
  if (!exists.body) {
    try {
      await client.indices.create({ index: name });
    } catch (err) {
      // Another process may have created it meanwhile; that is fine, it came from the same template.
      const type = (err as { body?: { error?: { type?: string } } }).body?.error?.type;
      if (type !== 'resource_already_exists_exception') {
        throw new OpenSearchIndexError(`${name}: creation failed: ${describe(err)}`, {
          status: statusOf(err),
          cause: err,
        });
      }
    }
  }
  const mapping = await call('get of the mapping', () => client.indices.getMapping({ index: name }));
  const found = mappingDimension(mapping.body, name);
  if (found === null)
    throw new IndexSchemaError(name, 'has no knn_vector field `embedding`: not a pitlane search index');
  if (found !== options.dimension) throw new IndexDimensionError(name, found, options.dimension);
}
