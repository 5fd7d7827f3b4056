import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, errors, type API } from '@opensearch-project/opensearch';
import { IndexDimensionError, InvalidBatchError, OpenSearchIndexError } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import { bruteForceNearest, makeBatch, randomUnitVector } from './index-fixtures.js';
import { openOpenSearchIndex, type OpenSearchIndex } from './opensearch-index.js';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  backoffSchedule,
  buildBulkBodies,
  buildBulkOperations,
  bulkBody,
  classifyBulkResponse,
  splitBulk,
  type BulkOperation,
} from './opensearch-bulk.js';
import {
  buildImohashQuery,
  buildIndexTemplate,
  buildKnnQuery,
  buildStaleBoxesQuery,
  cosineFromScore,
  indexNames,
  mappingDimension,
} from './opensearch-requests.js';
import { validateNearest } from './validation.js';

const NAMES = indexNames('t-');

test('index names carry the prefix of the benchmark guide names; bad prefixes are refused', () => {
  assert.deepEqual(indexNames(), {
    global: 'visual_search_global',
    vehicles: 'visual_search_vehicles',
    people: 'visual_search_people',
  });
  assert.equal(indexNames('run-7.').people, 'run-7.visual_search_people');
  for (const bad of ['Upper', '_x', '-x', 'a b', 'a*']) assert.throws(() => indexNames(bad), RangeError);
});

test('the templates map embeddings as knn_vector with the dimension and cosinesimil, on Lucene HNSW', () => {
  for (const kind of ['global', 'vehicles', 'people'] as const) {
    const { name, body } = buildIndexTemplate(NAMES[kind], kind, { dimension: 512 });
    assert.equal(name, NAMES[kind]);
    assert.deepEqual(body.index_patterns, [NAMES[kind]]);
    const settings = body.template?.settings as { index: Record<string, unknown> };
    assert.equal(settings.index.knn, true);
    assert.equal(settings.index['translog.durability'], 'request');
    assert.equal(settings.index.number_of_shards, undefined);
    const mappings = body.template!.mappings!;
    assert.equal(mappings.dynamic, 'strict');
    assert.deepEqual(mappings.properties!.embedding, {
      type: 'knn_vector',
      dimension: 512,
      method: {
        name: 'hnsw',
        space_type: 'cosinesimil',
        engine: 'lucene',
        parameters: { m: 16, ef_construction: 128 },
      },
    });
    const filterField = kind === 'global' ? 'labels' : 'label';
    assert.deepEqual(mappings.properties![filterField], { type: 'keyword' });
  }
  const { body } = buildIndexTemplate('x', 'global', {
    dimension: 8,
    shards: 2,
    replicas: 0,
    m: 32,
    efConstruction: 256,
  });
  const index = (body.template?.settings as { index: Record<string, unknown> }).index;
  assert.equal(index.number_of_shards, 2);
  assert.equal(index.number_of_replicas, 0);
  const embedding = body.template?.mappings?.properties?.embedding as { method: { parameters: unknown } };
  assert.deepEqual(embedding.method.parameters, { m: 32, ef_construction: 256 });
  // The dimension of an existing index is read from its mapping.
  const mapping = { x: { mappings: body.template?.mappings } };
  assert.equal(mappingDimension(mapping, 'x'), 8);
  assert.equal(mappingDimension({ x: { mappings: { properties: {} } } }, 'x'), null);
  assert.equal(mappingDimension({}, 'x'), null);
});

test('bulk bodies upsert each document by id, images first, and split at the count and byte bounds', () => {
  const { images, boxes } = makeBatch(1, { dimension: 32, size: 30 });
  const ops = buildBulkOperations(images, boxes, NAMES);
  assert.equal(ops.length, images.length + boxes.length);
  ops.forEach((op, i) => {
    const [action, source, rest] = op.lines.split('\n');
    assert.equal(rest, '');
    assert.equal(op.bytes, Buffer.byteLength(op.lines));
    const doc = i < images.length ? images[i]! : boxes[i - images.length]!;
    const index = i < images.length ? NAMES.global : 'kind' in doc ? NAMES[doc.kind] : '';
    assert.deepEqual(JSON.parse(action!), { index: { _index: index, _id: doc.id } });
    const parsed = JSON.parse(source!) as Record<string, unknown>;
    assert.equal(parsed.id, doc.id);
    assert.equal((parsed.embedding as number[]).length, 32);
    assert.deepEqual(parsed.embedding, Array.from(doc.embedding));
  });
  const image = images.find((i) => i.detections.length >= 2)!;
  const source = JSON.parse(ops[images.indexOf(image)]!.lines.split('\n')[1]!) as Record<string, unknown>;
  assert.deepEqual(source.labels, [...new Set(image.detections.map((d) => d.label))]);
  assert.equal(source.faceCount, image.faces.length);
  assert.equal(source.ocrCount, image.ocr.length);

  const flat = (chunks: BulkOperation[][]): BulkOperation[] => chunks.flat();
  const byCount = splitBulk(ops, { maxDocs: 7, maxBytes: 1e9 });
  assert.deepEqual(
    byCount.map((c) => c.length),
    [...Array<number>(Math.floor(ops.length / 7)).fill(7), ...(ops.length % 7 > 0 ? [ops.length % 7] : [])],
  );
  assert.deepEqual(flat(byCount), ops);
  const maxBytes = 3 * Math.max(...ops.map((o) => o.bytes));
  const bySize = splitBulk(ops, { maxDocs: 1000, maxBytes });
  assert.ok(bySize.length > 1);
  for (const chunk of bySize) assert.ok(chunk.reduce((n, o) => n + o.bytes, 0) <= maxBytes);
  // Each chunk is as full as it may be: adding the next document would cross the bound.
  for (let i = 0; i + 1 < bySize.length; i++) {
    const size = bySize[i]!.reduce((n, o) => n + o.bytes, 0);
    assert.ok(size + bySize[i + 1]![0]!.bytes > maxBytes);
  }
  assert.deepEqual(flat(bySize), ops);
  // A document larger than the byte bound goes alone.
  assert.deepEqual(
    splitBulk(ops.slice(0, 3), { maxDocs: 10, maxBytes: 10 }).map((c) => c.length),
    [1, 1, 1],
  );
  assert.throws(() => splitBulk(ops, { maxDocs: 0, maxBytes: 10 }), RangeError);
  const bodies = buildBulkBodies(images, boxes, NAMES, { maxDocs: 10, maxBytes: 1e9 });
  assert.equal(bodies.length, Math.ceil(ops.length / 10));
  assert.equal(bodies.join(''), bulkBody(ops));
  assert.ok(
    bodies.every((b) => b.endsWith('\n') && b.split('\n').length === 2 * (b.split('\n').length >> 1) + 1),
  );
});

test('bulk responses: 429 items are retried, other failures reported, successes dropped', () => {
  const { images } = makeBatch(2, { dimension: 4, size: 4, boxes: false });
  const ops = buildBulkOperations(images, [], NAMES);
  const item = (
    status: number,
    error?: { type: string; reason: string },
  ): API.Bulk_ResponseBody['items'][number] => ({
    index: { _index: NAMES.global, status, ...(error === undefined ? {} : { error }) },
  });
  assert.deepEqual(classifyBulkResponse(ops, { errors: false, took: 1, items: ops.map(() => item(201)) }), {
    retry: [],
    failed: [],
    firstFailedStatus: null,
  });
  const outcome = classifyBulkResponse(ops, {
    errors: true,
    took: 1,
    items: [
      item(201),
      item(429, { type: 'es_rejected_execution_exception', reason: 'queue full' }),
      item(400, { type: 'mapper_parsing_exception', reason: 'bad field' }),
      item(200),
    ],
  });
  assert.deepEqual(outcome.retry, [ops[1]]);
  assert.deepEqual(outcome.failed, [
    `${NAMES.global}/${images[2]!.id}: 400 mapper_parsing_exception: bad field`,
  ]);
  assert.equal(outcome.firstFailedStatus, 400);
  assert.match(
    classifyBulkResponse(ops, { errors: true, took: 1, items: [item(201)] }).failed[0]!,
    /1 items for 4/,
  );
});

test('back-off doubles from the initial delay up to the cap, spread by the jitter', () => {
  assert.deepEqual(backoffSchedule(DEFAULT_RETRY_POLICY), [100, 200, 400, 800, 1600, 3200, 6400, 10000]);
  const policy = { retries: 5, initialDelayMs: 50, maxDelayMs: 300, jitter: 0.5 };
  assert.deepEqual(backoffSchedule(policy), [50, 100, 200, 300, 300]);
  assert.equal(
    backoffDelay(1, policy, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(1, policy, () => 0.999999),
    150,
  );
  assert.equal(
    backoffDelay(3, policy, () => 0.999999),
    300,
  ); // never above the cap
  const random = mulberry32(1);
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = Math.min(300, 50 * 2 ** attempt);
    const delay = backoffDelay(attempt, policy, random);
    assert.ok(delay >= base * 0.5 && delay <= Math.min(300, base * 1.5), `${attempt}: ${delay}`);
  }
  assert.deepEqual(backoffSchedule({ ...policy, retries: 0 }), []);
});

test('k-NN queries put the label filter and exclusions inside the knn clause', () => {
  const vector = randomUnitVector(mulberry32(4), 16);
  const plain = buildKnnQuery(vector, validateNearest(vector, { k: 10 }, 16), { candidates: 100 });
  assert.deepEqual(plain, {
    size: 10,
    _source: { excludes: ['embedding'] },
    query: { knn: { embedding: { vector: Array.from(vector), k: 100 } } },
  });
  const filtered = buildKnnQuery(
    vector,
    validateNearest(vector, { k: 200, labels: ['car', 'bus', 'car'], excludeIds: ['a', 'b'] }, 16),
    { candidates: 100 },
  );
  assert.equal(filtered.size, 200);
  assert.deepEqual(filtered.query, {
    knn: {
      embedding: {
        vector: Array.from(vector),
        k: 200,
        filter: {
          bool: {
            filter: [{ terms: { labels: ['car', 'bus'] } }],
            must_not: [{ ids: { values: ['a', 'b'] } }],
          },
        },
      },
    },
  });
  const boxes = buildKnnQuery(
    vector,
    validateNearest(vector, { k: 5, index: 'people', labels: ['person'] }, 16),
    {
      candidates: 10,
    },
  );
  assert.deepEqual(boxes.query, {
    knn: {
      embedding: {
        vector: Array.from(vector),
        k: 10,
        filter: { bool: { filter: [{ terms: { label: ['person'] } }], must_not: [] } },
      },
    },
  });
  assert.equal(cosineFromScore(1), 1);
  assert.equal(cosineFromScore(0.5), 0);
  assert.equal(cosineFromScore(0), -1);
});

test('the duplicate lookup collapses on imohash, earliest ingestion first; stale boxes query keeps new ones', () => {
  assert.deepEqual(buildImohashQuery(['a', 'b']), {
    size: 2,
    _source: ['id', 'imohash'],
    query: { bool: { filter: [{ terms: { imohash: ['a', 'b'] } }] } },
    collapse: { field: 'imohash' },
    sort: [{ ingestedAt: { order: 'asc' } }, { id: { order: 'asc' } }],
  });
  assert.deepEqual(buildStaleBoxesQuery(['i1'], ['i1:v0']), {
    bool: { filter: [{ terms: { imageId: ['i1'] } }], must_not: [{ ids: { values: ['i1:v0'] } }] },
  });
});

/** A stand-in for the client: answers what openOpenSearchIndex and indexBatch ask, and records the calls. */
function fakeClient(bulkAnswers: ((ops: number) => unknown)[]) {
  const calls: { method: string; params: Record<string, unknown> }[] = [];
  const ok = (body: unknown) => Promise.resolve({ body, statusCode: 200 });
  const record =
    (method: string, answer: (params: Record<string, unknown>) => unknown) =>
    (params: Record<string, unknown>) => {
      calls.push({ method, params });
      try {
        return ok(answer(params));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
  const dimension = 4;
  const client = {
    indices: {
      putIndexTemplate: record('putIndexTemplate', () => ({ acknowledged: true })),
      exists: record('exists', () => true),
      create: record('create', () => ({})),
      getMapping: record('getMapping', (p) => ({
        [String(p.index)]: { mappings: { properties: { embedding: { type: 'knn_vector', dimension } } } },
      })),
      getSettings: record('getSettings', () => ({
        [NAMES.global]: { settings: { 'index.refresh_interval': '30s' } },
        [NAMES.vehicles]: { settings: {} },
        [NAMES.people]: { settings: {} },
      })),
      putSettings: record('putSettings', () => ({ acknowledged: true })),
      refresh: record('refresh', () => ({})),
    },
    mget: record('mget', (p) => ({
      docs: (p.body as { ids: string[] }).ids.map((id) => ({ _id: id, found: false })),
    })),
    bulk: record('bulk', (p) => {
      const ops = String(p.body).split('\n').length >> 1;
      const answer = bulkAnswers.shift();
      if (answer === undefined)
        return {
          errors: false,
          took: 1,
          items: Array.from({ length: ops }, () => ({ index: { status: 201 } })),
        };
      return answer(ops);
    }),
    close: () => Promise.resolve(),
  };
  return { client: client as unknown as Client, calls, dimension };
}

const tooMany = (): never => {
  throw new errors.ResponseError({
    body: { error: { type: 'es_rejected_execution_exception', reason: 'queue full' }, status: 429 },
    statusCode: 429,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
};

test('indexBatch resends the items refused with 429, and the whole bulk after a 429 answer', async () => {
  const { client, calls, dimension } = fakeClient([
    tooMany,
    (ops) => ({
      errors: true,
      took: 1,
      items: Array.from({ length: ops }, (_, i) => ({ index: { _index: 'x', status: i === 1 ? 429 : 201 } })),
    }),
  ]);
  const index = await openOpenSearchIndex({
    url: 'http://unused',
    dimension,
    prefix: 't-',
    client,
    retry: { initialDelayMs: 1, maxDelayMs: 2 },
  });
  const { images, boxes } = makeBatch(3, { dimension, size: 3, boxes: false });
  assert.deepEqual(await index.indexBatch(images, boxes), {
    global: 3,
    vehicles: 0,
    people: 0,
    faces: images.reduce((n, i) => n + i.faces.length, 0),
    ocr: images.reduce((n, i) => n + i.ocr.length, 0),
  });
  const bulks = calls.filter((c) => c.method === 'bulk').map((c) => String(c.params.body));
  assert.equal(bulks.length, 3);
  assert.equal(bulks[0], bulks[1]); // the 429 answer: the same request again
  assert.equal(bulks[2], buildBulkOperations([images[1]!], [], NAMES)[0]!.lines); // just the refused item
  assert.deepEqual(
    calls.filter((c) => c.method === 'bulk').map((c) => c.params.refresh),
    [false, false, false],
  );
  await assert.rejects(
    index.indexBatch([{ ...images[0]!, embedding: new Float32Array(3) }], []),
    InvalidBatchError,
  );
  await index.close();
});

test('indexBatch reports items that fail for good, and gives up on 429 after the retries', async () => {
  const failing = (ops: number) => ({
    errors: true,
    took: 1,
    items: Array.from({ length: ops }, () => ({
      index: { _index: 'x', status: 400, error: { type: 'mapper_parsing_exception', reason: 'no' } },
    })),
  });
  const { client, dimension } = fakeClient([failing, tooMany, tooMany, tooMany]);
  const index = await openOpenSearchIndex({
    url: 'http://unused',
    dimension,
    prefix: 't-',
    client,
    retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 1 },
  });
  const { images } = makeBatch(4, { dimension, size: 2, boxes: false });
  await assert.rejects(index.indexBatch(images, []), (err: unknown) => {
    assert.ok(err instanceof OpenSearchIndexError);
    assert.equal(err.status, 400);
    assert.equal(err.failures.length, 2);
    assert.match(err.message, /2 of 2 documents failed/);
    return true;
  });
  await assert.rejects(index.indexBatch(images, []), (err: unknown) => {
    assert.ok(err instanceof OpenSearchIndexError);
    assert.equal(err.status, 429);
    return true;
  });
  await index.close();
});

test('beginLoad sets refresh_interval -1 and endLoad restores what was there', async () => {
  const { client, calls, dimension } = fakeClient([]);
  const index = await openOpenSearchIndex({
    url: 'http://unused',
    dimension,
    prefix: 't-',
    client,
    refresh: 'wait_for',
  });
  await index.beginLoad();
  await index.beginLoad(); // nested: counted, no second change
  const { images } = makeBatch(5, { dimension, size: 2, boxes: false });
  await index.indexBatch(images, []);
  await index.endLoad();
  assert.equal(calls.filter((c) => c.method === 'putSettings').length, 1);
  await index.endLoad();
  await index.indexBatch(images, []);
  const settings = calls
    .filter((c) => c.method === 'putSettings')
    .map((c) => [c.params.index, c.params.body]);
  assert.deepEqual(settings, [
    [[NAMES.global, NAMES.vehicles, NAMES.people], { index: { refresh_interval: '-1' } }],
    [NAMES.global, { index: { refresh_interval: '30s' } }],
    [NAMES.vehicles, { index: { refresh_interval: null } }],
    [NAMES.people, { index: { refresh_interval: null } }],
  ]);
  // During the load bulks do not wait for a refresh (there is none); afterwards they do, as asked.
  assert.deepEqual(
    calls.filter((c) => c.method === 'bulk').map((c) => c.params.refresh),
    [false, 'wait_for'],
  );
  await assert.rejects(index.endLoad(), /endLoad without beginLoad/);
  await index.close();
});

test('an existing index of another dimension is refused', async () => {
  const { client } = fakeClient([]);
  await assert.rejects(
    openOpenSearchIndex({ url: 'http://unused', dimension: 512, prefix: 't-', client }),
    (err: unknown) => {
      assert.ok(err instanceof IndexDimensionError);
      assert.equal(err.location, NAMES.global);
      assert.equal(err.indexDimension, 4);
      assert.equal(err.requestedDimension, 512);
      return true;
    },
  );
});

test('against a real cluster (OPENSEARCH_URL)', async (t) => {
  const url = process.env.OPENSEARCH_URL;
  if (url === undefined || url === '') {
    t.skip('OPENSEARCH_URL is not set: set it (e.g. http://localhost:9200) to run the cluster tests');
    return;
  }
  const prefix = `pitlane-test-${process.pid}-${Date.now()}-`;
  const dimension = 16;
  const names = indexNames(prefix);
  let index: OpenSearchIndex | undefined = await openOpenSearchIndex({
    url,
    dimension,
    prefix,
    replicas: 0,
    refresh: 'wait_for',
  });
  const admin = new Client({ node: url });
  try {
    const batch = makeBatch(9, { dimension, size: 300 });
    await index.indexBatch(batch.images, batch.boxes);
    const vehicles = batch.boxes.filter((b) => b.kind === 'vehicles').length;
    assert.deepEqual(await index.counts(), {
      global: 300,
      vehicles,
      people: batch.boxes.length - vehicles,
      faces: batch.images.reduce((n, i) => n + i.faces.length, 0),
      ocr: batch.images.reduce((n, i) => n + i.ocr.length, 0),
    });
    const first = batch.images[0]!;
    const read = await index.getImage(first.id);
    assert.deepEqual({ ...read, embedding: undefined }, { ...first, embedding: undefined });
    assert.ok(read !== null && bruteForceNearest(first.embedding, [read], 1)[0]!.score > 0.99999);
    assert.equal(await index.getImage('missing'), null);
    assert.deepEqual(
      await index.findImohashes([first.imohash, 'nope']),
      new Map([[first.imohash, first.id]]),
    );

    // HNSW is approximate; on 300 documents it should find the true neighbours nearly always.
    const random = mulberry32(2);
    let found = 0;
    let wanted = 0;
    for (let q = 0; q < 10; q++) {
      const query = randomUnitVector(random, dimension);
      const persons = batch.images.filter((i) => i.detections.some((d) => d.label === 'person'));
      const hits = await index.nearest(query, { k: 10, labels: ['person'] });
      assert.equal(hits.length, 10);
      for (const hit of hits) assert.ok(hit.image.detections.some((d) => d.label === 'person'));
      const truth = new Set(bruteForceNearest(query, persons, 10).map((h) => h.id));
      found += hits.filter((h) => truth.has(h.id)).length;
      wanted += 10;
      for (const hit of hits) {
        const image = batch.images.find((i) => i.id === hit.id)!;
        assert.ok(Math.abs(hit.score - bruteForceNearest(query, [image], 1)[0]!.score) < 1e-3);
      }
    }
    assert.ok(found / wanted >= 0.9, `recall ${found}/${wanted}`);
    const people = await index.nearest(randomUnitVector(random, dimension), { k: 5, index: 'people' });
    assert.equal(people.length, 5);
    for (const hit of people) assert.equal(hit.box?.kind, 'people');

    // A load: refresh is off, then restored; the batch is searchable after endLoad.
    await index.beginLoad();
    const more = makeBatch(10, { dimension, size: 50, first: 300 });
    await index.indexBatch(more.images, more.boxes);
    await index.endLoad();
    assert.equal((await index.counts()).global, 350);
    await index.close();
    index = undefined;
    await assert.rejects(openOpenSearchIndex({ url, dimension: 8, prefix }), IndexDimensionError);
  } finally {
    await index?.close();
    await admin.indices.delete({ index: Object.values(names) }).catch(() => undefined);
    for (const name of Object.values(names)) {
      await admin.indices.deleteIndexTemplate({ name }).catch(() => undefined);
    }
    await admin.close();
  }
});
