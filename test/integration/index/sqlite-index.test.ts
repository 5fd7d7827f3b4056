import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import {
  IndexClosedError,
  IndexDimensionError,
  IndexSchemaError,
  InvalidBatchError,
  InvalidQueryError,
} from '../../../dist/core/errors.js';
import { mulberry32 } from '../../../dist/core/random.js';
import {
  bruteForceNearest,
  makeBatch,
  randomUnitVector,
  type FixtureBatch,
} from '../../../dist/index/index-fixtures.js';
import type { BoxDocument, ImageDocument, IndexCounts, SearchHit } from '../../../dist/index/index-port.js';
import { openSqliteIndex, type SqliteIndex } from '../../../dist/index/sqlite-index.js';
import { fixtureBatch } from '../../../dist/index/writer-fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'pitlane-sqlite-index-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let files = 0;
const freshFile = (): string => join(tmp, `index-${files++}.db`);

const WRITER = fileURLToPath(new URL('../../../dist/index/writer-fixture.js', import.meta.url));

/** What a batch holds, as `indexBatch` reports it. */
function countsOf({ images, boxes }: FixtureBatch): IndexCounts {
  return {
    global: images.length,
    vehicles: boxes.filter((b) => b.kind === 'vehicles').length,
    people: boxes.filter((b) => b.kind === 'people').length,
    faces: images.reduce((n, i) => n + i.faces.length, 0),
    ocr: images.reduce((n, i) => n + i.ocr.length, 0),
  };
}

function sumCounts(...all: IndexCounts[]): IndexCounts {
  const sum = { global: 0, vehicles: 0, people: 0, faces: 0, ocr: 0 };
  for (const c of all) for (const key of Object.keys(sum) as (keyof IndexCounts)[]) sum[key] += c[key];
  return sum;
}

/** A document without its embedding, as search hits carry it. */
function withoutEmbedding<T extends { embedding: Float32Array }>(doc: T): Omit<T, 'embedding'> {
  const copy: Partial<T> = { ...doc };
  delete copy.embedding;
  return copy as Omit<T, 'embedding'>;
}

/** Asserts that `hits` are exactly `expected` (ids in order), with scores equal up to float32 rounding. */
function assertSameHits(
  hits: readonly SearchHit[],
  expected: readonly { id: string; score: number }[],
): void {
  assert.deepEqual(
    hits.map((h) => h.id),
    expected.map((e) => e.id),
  );
  hits.forEach((h, i) => {
    assert.ok(
      Math.abs(h.score - expected[i]!.score) < 1e-5,
      `score of ${h.id}: ${h.score} vs ${expected[i]!.score}`,
    );
  });
}

async function withIndex<T>(
  dimension: number,
  body: (index: SqliteIndex, file: string) => Promise<T>,
): Promise<T> {
  const file = freshFile();
  const index = await openSqliteIndex(file, { dimension });
  try {
    return await body(index, file);
  } finally {
    await index.close();
  }
}

test('a batch is indexed and read back field for field', async () => {
  await withIndex(16, async (index) => {
    assert.equal(index.kind, 'sqlite');
    assert.equal(index.dimension, 16);
    assert.deepEqual(await index.counts(), { global: 0, vehicles: 0, people: 0, faces: 0, ocr: 0 });
    const batch = makeBatch(1, { dimension: 16, size: 40 });
    assert.ok(batch.boxes.some((b) => b.kind === 'vehicles') && batch.boxes.some((b) => b.kind === 'people'));
    assert.deepEqual(await index.indexBatch(batch.images, batch.boxes), countsOf(batch));
    assert.deepEqual(await index.counts(), countsOf(batch));
    for (const image of batch.images) {
      const read = await index.getImage(image.id);
      assert.ok(read !== null);
      assert.deepEqual(read, image);
      assert.ok(read.embedding instanceof Float32Array);
    }
    assert.equal(await index.getImage('no-such-image'), null);
    // An empty batch is fine and writes nothing.
    assert.deepEqual(await index.indexBatch([], []), { global: 0, vehicles: 0, people: 0, faces: 0, ocr: 0 });
    assert.deepEqual(await index.counts(), countsOf(batch));
  });
});

test('exact duplicates are found by imohash; a repeated hash answers with the earliest image', async () => {
  await withIndex(8, async (index) => {
    const { images } = makeBatch(2, { dimension: 8, size: 10, boxes: false });
    await index.indexBatch(images, []);
    const wanted = [images[3]!.imohash, images[7]!.imohash, 'f'.repeat(32)];
    assert.deepEqual(
      await index.findImohashes(wanted),
      new Map([
        [images[3]!.imohash, images[3]!.id],
        [images[7]!.imohash, images[7]!.id],
      ]),
    );
    assert.deepEqual(await index.findImohashes([]), new Map());
    // Two more images with the hash of images[3]: one ingested earlier, one at the same instant with a smaller id.
    const earlier = { ...images[3]!, id: 'z-earlier', ingestedAt: '2024-06-01T00:00:00.000Z' };
    await index.indexBatch([earlier], []);
    assert.equal((await index.findImohashes([images[3]!.imohash])).get(images[3]!.imohash), 'z-earlier');
    const sameInstant = { ...earlier, id: 'a-same-instant' };
    await index.indexBatch([sameInstant], []);
    assert.equal((await index.findImohashes([images[3]!.imohash])).get(images[3]!.imohash), 'a-same-instant');
    await assert.rejects(index.findImohashes('abc' as unknown as string[]), InvalidQueryError);
  });
});

test('nearest images are exactly the brute-force k best, with and without label filters', async () => {
  const dimension = 48;
  await withIndex(dimension, async (index) => {
    const images: ImageDocument[] = [];
    for (let b = 0; b < 10; b++) {
      const batch = makeBatch(100 + b, { dimension, size: 300, first: b * 300, boxes: false });
      await index.indexBatch(batch.images, []);
      images.push(...batch.images);
    }
    const random = mulberry32(7);
    const filters: (readonly string[] | undefined)[] = [
      undefined,
      ['person'],
      ['dog'],
      ['car', 'bus', 'truck'],
      ['umbrella', 'no-such-label'],
    ];
    for (let q = 0; q < 8; q++) {
      const query = randomUnitVector(random, dimension);
      for (const labels of filters) {
        const matching =
          labels === undefined
            ? images
            : images.filter((i) => i.detections.some((d) => labels.includes(d.label)));
        for (const k of [1, 10, 50]) {
          const hits = await index.nearest(query, labels === undefined ? { k } : { k, labels });
          assertSameHits(hits, bruteForceNearest(query, matching, k));
          for (const hit of hits) {
            assert.equal(hit.box, undefined);
            assert.deepEqual(hit.image, withoutEmbedding(images.find((i) => i.id === hit.id)!));
          }
        }
      }
    }
    // A filter matching fewer images than k answers with all of them; no label and an empty list match nothing.
    const dogs = images.filter((i) => i.detections.some((d) => d.label === 'dog'));
    const query = randomUnitVector(random, dimension);
    assertSameHits(
      await index.nearest(query, { k: 1000, labels: ['dog'] }),
      bruteForceNearest(query, dogs, 1000),
    );
    assert.deepEqual(await index.nearest(query, { k: 10, labels: ['no-such-label'] }), []);
    assert.deepEqual(await index.nearest(query, { k: 10, labels: [] }), []);
    // Excluded ids are left out and the k best of the rest come back.
    const top = bruteForceNearest(query, images, 13);
    const excluded = top.slice(0, 3).map((h) => h.id);
    assertSameHits(await index.nearest(query, { k: 10, excludeIds: excluded }), top.slice(3));
    // The query vector of an indexed image finds that image first, with similarity 1.
    const [self] = await index.nearest(images[42]!.embedding, { k: 1 });
    assert.equal(self?.id, images[42]!.id);
    assert.ok(Math.abs(self.score - 1) < 1e-6);
  });
});

test('vehicles and people indexes: nearest boxes with their images, filtered by box label', async () => {
  const dimension = 24;
  await withIndex(dimension, async (index) => {
    const batch = makeBatch(3, { dimension, size: 1500 });
    await index.indexBatch(batch.images, batch.boxes);
    const byId = new Map(batch.images.map((i) => [i.id, i]));
    const random = mulberry32(11);
    for (const kind of ['vehicles', 'people'] as const) {
      const boxes = batch.boxes.filter((b) => b.kind === kind);
      assert.ok(boxes.length > 50, `${kind}: ${boxes.length} boxes`);
      for (const labels of [undefined, ['car'], ['bus', 'truck'], ['person']]) {
        const matching = labels === undefined ? boxes : boxes.filter((b) => labels.includes(b.label));
        const query = randomUnitVector(random, dimension);
        const hits = await index.nearest(
          query,
          labels === undefined ? { k: 10, index: kind } : { k: 10, index: kind, labels },
        );
        assertSameHits(hits, bruteForceNearest(query, matching, 10));
        for (const hit of hits) {
          const box = boxes.find((b) => b.id === hit.id)!;
          assert.deepEqual(hit.box, withoutEmbedding(box));
          assert.deepEqual(hit.image, withoutEmbedding(byId.get(box.imageId)!));
        }
      }
    }
  });
});

test('re-indexing an id replaces the image and its whole box set', async () => {
  const dimension = 8;
  await withIndex(dimension, async (index) => {
    const batch = makeBatch(4, { dimension, size: 200 });
    await index.indexBatch(batch.images, batch.boxes);
    const before = await index.counts();
    // The first image with two boxes comes back with new fields, one new box, and a new embedding.
    const old = batch.images.find((i) => batch.boxes.filter((b) => b.imageId === i.id).length === 2)!;
    const oldBoxes = batch.boxes.filter((b) => b.imageId === old.id);
    const random = mulberry32(5);
    const replacement: ImageDocument = {
      ...old,
      name: 'renamed.jpg',
      detections: [{ label: 'boat', classId: 8, score: 0.5, box: [1, 2, 3, 4] }],
      faces: [],
      ocr: [{ text: 'new', score: 1, box: [0, 0, 1, 1] }],
      embedding: randomUnitVector(random, dimension),
    };
    const newBox: BoxDocument = {
      id: `${old.id}:new`,
      imageId: old.id,
      kind: 'vehicles',
      label: 'boat',
      score: 0.5,
      box: [1, 2, 3, 4],
      embedding: randomUnitVector(random, dimension),
    };
    await index.indexBatch([replacement], [newBox]);
    assert.deepEqual(await index.getImage(old.id), replacement);
    const gone = (kind: 'vehicles' | 'people'): number => oldBoxes.filter((b) => b.kind === kind).length;
    assert.deepEqual(await index.counts(), {
      global: before.global,
      vehicles: before.vehicles - gone('vehicles') + 1,
      people: before.people - gone('people'),
      faces: before.faces - old.faces.length,
      ocr: before.ocr - old.ocr.length + 1,
    });
    for (const box of oldBoxes) {
      const hits = await index.nearest(box.embedding, { k: 1, index: box.kind });
      assert.notEqual(hits[0]?.id, box.id);
    }
    const [found] = await index.nearest(newBox.embedding, { k: 1, index: 'vehicles' });
    assert.equal(found?.id, newBox.id);
    assert.equal(found.image.name, 'renamed.jpg');
    // The old detections are gone from the label filter too.
    const hits = await index.nearest(replacement.embedding, { k: 1, labels: ['boat'] });
    assert.equal(hits[0]?.id, old.id);
    // Sending the same batch twice (a retry) changes nothing.
    await index.indexBatch([replacement], [newBox]);
    assert.deepEqual(await index.getImage(old.id), replacement);
  });
});

test('an invalid batch is refused whole, with every problem listed', async () => {
  const dimension = 8;
  await withIndex(dimension, async (index) => {
    const { images, boxes } = makeBatch(6, { dimension, size: 5 });
    const bad: ImageDocument[] = [
      ...images,
      { ...images[0]! }, // duplicate id
      { ...images[1]!, id: 'short', embedding: new Float32Array(3) },
      { ...images[2]!, id: 'when', ingestedAt: '2025-01-01' },
      { ...images[3]!, id: 'zero', embedding: new Float32Array(dimension) },
    ];
    const orphan: BoxDocument = { ...boxes[0]!, id: 'orphan', imageId: 'not-in-batch' };
    await assert.rejects(index.indexBatch(bad, [...boxes, orphan]), (err: unknown) => {
      assert.ok(err instanceof InvalidBatchError);
      assert.equal(err.problems.length, 5, err.problems.join('\n'));
      assert.match(err.message, /nothing was written/);
      assert.match(err.message, /id appears twice/);
      assert.match(err.message, /has 3 floats, the index needs 8/);
      assert.match(err.message, /ingestedAt/);
      assert.match(err.message, /all zeros/);
      assert.match(err.message, /imageId must be the id of an image in the same batch/);
      return true;
    });
    assert.deepEqual(await index.counts(), { global: 0, vehicles: 0, people: 0, faces: 0, ocr: 0 });
    await assert.rejects(index.nearest(new Float32Array(7), { k: 1 }), InvalidQueryError);
    await assert.rejects(index.nearest(images[0]!.embedding, { k: 0 }), InvalidQueryError);
    await assert.rejects(index.nearest(images[0]!.embedding, { k: 1001 }), InvalidQueryError);
    await assert.rejects(
      index.nearest(images[0]!.embedding, { k: 1, index: 'cats' as 'people' }),
      InvalidQueryError,
    );
  });
});

test('reopening keeps everything; a closed index refuses calls; another dimension is refused', async () => {
  const file = freshFile();
  const dimension = 32;
  const first = makeBatch(8, { dimension, size: 30 });
  const second = makeBatch(9, { dimension, size: 30, first: 30 });
  let index = await openSqliteIndex(file, { dimension });
  await index.indexBatch(first.images, first.boxes);
  await index.close();
  await index.close(); // harmless
  await assert.rejects(index.counts(), IndexClosedError);
  await assert.rejects(index.nearest(first.images[0]!.embedding, { k: 1 }), IndexClosedError);

  index = await openSqliteIndex(file, { dimension });
  await index.indexBatch(second.images, second.boxes);
  await index.close();

  index = await openSqliteIndex(file, { dimension });
  try {
    assert.deepEqual(await index.counts(), sumCounts(countsOf(first), countsOf(second)));
    for (const image of [...first.images, ...second.images])
      assert.deepEqual(await index.getImage(image.id), image);
    const all = [...first.images, ...second.images];
    const query = randomUnitVector(mulberry32(1), dimension);
    assertSameHits(await index.nearest(query, { k: 5 }), bruteForceNearest(query, all, 5));
  } finally {
    await index.close();
  }

  await assert.rejects(openSqliteIndex(file, { dimension: 512 }), (err: unknown) => {
    assert.ok(err instanceof IndexDimensionError);
    assert.equal(err.indexDimension, 32);
    assert.equal(err.requestedDimension, 512);
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    assert.match(err.message, /32-dimensional/);
    assert.match(err.message, /dimension 512/);
    return true;
  });
  await assert.rejects(openSqliteIndex(file, { dimension: 0 }), InvalidQueryError);
});

test('files that are not a search index are refused', async () => {
  const text = freshFile();
  writeFileSync(
    text,
    'this is not a database, just some text that is long enough to have a header '.repeat(20),
  );
  await assert.rejects(openSqliteIndex(text, { dimension: 4 }), (err: unknown) => {
    assert.ok(err instanceof IndexSchemaError);
    assert.match(err.message, /not a SQLite database/);
    return true;
  });
  const other = freshFile();
  const db = new Database(other);
  db.exec('CREATE TABLE notes (body TEXT)');
  db.close();
  await assert.rejects(openSqliteIndex(other, { dimension: 4 }), /not a pitlane search index/);
  const newer = freshFile();
  await (await openSqliteIndex(newer, { dimension: 4 })).close();
  const raw = new Database(newer);
  raw.pragma('user_version = 99');
  raw.close();
  await assert.rejects(
    openSqliteIndex(newer, { dimension: 4 }),
    /schema version 99, this program reads version 1/,
  );
});

/** Spawns the writer fixture; resolves lines of its stdout through `onLine`, and its exit. */
function spawnWriter(
  args: readonly (string | number)[],
  onLine: (line: string) => void,
): {
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill: () => void;
} {
  const child = spawn(process.execPath, [WRITER, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    },
  );
  return { exited, kill: () => child.kill('SIGKILL') };
}

test('a batch acknowledged before a SIGKILL is in the file; no batch is half there', async (t) => {
  const file = freshFile();
  const dimension = 64;
  const batchSize = 25;
  let acked = -1;
  const writer = spawnWriter([file, dimension, batchSize, -1], (line) => {
    const match = /^acked (\d+)$/.exec(line);
    if (match === null) return;
    acked = Number(match[1]);
    // Kill it while it is (most likely) in the middle of the next batch.
    if (acked === 3) writer.kill();
  });
  const { signal, stderr } = await writer.exited;
  assert.equal(signal, 'SIGKILL', stderr);
  assert.ok(acked >= 3);

  const index = await openSqliteIndex(file, { dimension });
  try {
    const { global } = await index.counts();
    assert.equal(global % batchSize, 0, `${global} images: a batch is partly there`);
    assert.ok(global >= (acked + 1) * batchSize, `${global} images, ${acked + 1} batches acknowledged`);
    t.diagnostic(`${acked + 1} batches acknowledged before the kill, ${global / batchSize} found after it`);
    let expected: IndexCounts = { global: 0, vehicles: 0, people: 0, faces: 0, ocr: 0 };
    for (let n = 0; n < global / batchSize; n++) {
      const batch = fixtureBatch(n, dimension, batchSize);
      for (const image of batch.images) assert.deepEqual(await index.getImage(image.id), image);
      expected = sumCounts(expected, countsOf(batch));
    }
    assert.deepEqual(await index.counts(), expected);
  } finally {
    await index.close();
  }
});

test('readers see whole batches while another process writes', async (t) => {
  const file = freshFile();
  const dimension = 32;
  const batchSize = 16;
  const batches = 30;
  const index = await openSqliteIndex(file, { dimension });
  const state = { done: false };
  const writer = spawnWriter([file, dimension, batchSize, batches], () => undefined);
  const finished = writer.exited.then((result) => {
    state.done = true;
    return result;
  });
  const probe = randomUnitVector(mulberry32(3), dimension);
  let previous = 0;
  let reads = 0;
  try {
    while (!state.done) {
      const counts = await index.counts();
      assert.equal(counts.global % batchSize, 0, `saw ${counts.global} images: a batch half written`);
      assert.ok(counts.global >= previous, 'counts went backwards');
      previous = counts.global;
      const hits = await index.nearest(probe, { k: 5, labels: ['person', 'car'] });
      assert.ok(hits.length <= 5);
      for (const hit of hits)
        assert.ok(hit.image.detections.some((d) => d.label === 'person' || d.label === 'car'));
      reads++;
      await yieldToLoop();
    }
    const { code, stderr } = await finished;
    assert.equal(code, 0, stderr);
    assert.ok(reads > 0);
    t.diagnostic(`${reads} consistent reads while ${batches} batches were written`);
    const expected = Array.from({ length: batches }, (_, n) =>
      countsOf(fixtureBatch(n, dimension, batchSize)),
    );
    assert.deepEqual(await index.counts(), sumCounts(...expected));
  } finally {
    writer.kill();
    await index.close();
  }
});
