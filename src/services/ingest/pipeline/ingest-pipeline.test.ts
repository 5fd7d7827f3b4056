// The pipeline against fakes of its ports (no models, no index file): what the ports make possible. The images
// are real (small PNGs and JPEGs made with sharp), decoded by the real image preparation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import type { ImageDocument, SearchHit } from '../../../index/index-port.js';
import type { Detector, ImageEmbedder, IngestIndex } from '../ports.js';
import { dot } from './commit.js';
import { IngestPipeline } from './ingest-pipeline.js';
import { DEFAULT_INGEST_CONFIG } from './ingest-types.js';

/** The embedding of a crop: its mean colour, normalised (so one colour is one direction). */
const embedder: ImageEmbedder = {
  model: 'mean-colour',
  layout: 'hwc-uint8',
  inputSize: 8,
  dimension: 3,
  embed: (image) => {
    const sum = [0, 0, 0];
    image.crop.data.forEach((v, i) => (sum[i % 3]! += v));
    const norm = Math.hypot(...sum) || 1;
    return Promise.resolve(Float32Array.from(sum.map((v) => v / norm)));
  },
};

const detector: Detector = {
  model: 'one-box',
  kind: 'ssd',
  layout: 'hwc-uint8',
  inputSize: 32,
  detect: (image) =>
    Promise.resolve([{ label: 'car', classId: 2, score: 0.9, box: [0, 0, image.width, image.height] }]),
};

/** An index in memory, with exact cosine search. */
function memoryIndex(): IngestIndex & { images: ImageDocument[] } {
  const images: ImageDocument[] = [];
  return {
    images,
    findImohashes: (hashes) =>
      Promise.resolve(
        new Map(images.filter((i) => hashes.includes(i.imohash)).map((i) => [i.imohash, i.id])),
      ),
    nearest: (vector) => {
      const hits: SearchHit[] = images
        .map((i) => ({ id: i.id, score: dot(i.embedding, vector), image: i }))
        .sort((a, b) => b.score - a.score);
      return Promise.resolve(hits.slice(0, 1));
    },
    indexBatch: (batch, boxes) => {
      images.push(...batch);
      return Promise.resolve({ global: batch.length, vehicles: boxes.length, people: 0, faces: 0, ocr: 0 });
    },
  };
}

const png = (r: number, g: number, b: number, width = 40): Promise<Buffer> =>
  sharp({ create: { width, height: 30, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();

test('copies, near copies and bad images in one batch, through fake models and a fake index', async () => {
  const index = memoryIndex();
  const pipeline = new IngestPipeline(
    { detector, embedder, faces: null, ocr: null },
    index,
    DEFAULT_INGEST_CONFIG,
  );
  const red = await png(200, 10, 10);
  const redWider = await png(200, 10, 10, 44); // other bytes, same colour: a near duplicate
  const blue = await png(10, 10, 200);
  const { response, outcomes } = await pipeline.ingest(
    [
      { name: 'red.png', bytes: red },
      { name: 'red-again.png', bytes: red },
      { name: 'red-wider.png', bytes: redWider },
      { name: 'blue.png', bytes: blue },
      { name: 'text.png', bytes: Buffer.from('not an image') },
      { name: 'refused.png', refused: { reason: 'too-large', message: 'over the limit' } },
    ],
    { enableFaces: false, enableOcr: false, boxEmbeddings: true },
  );
  assert.deepEqual(
    { ...response, total_time_ms: 0, errors: response.errors.map((e) => [e.index, e.reason]) },
    {
      status: 'success',
      total: 6,
      processed: 4,
      duplicates: 1,
      errors_count: 2,
      indexed: { global: 3, vehicles: 3, people: 0, faces: 0, ocr: 0 },
      near_duplicates: 1,
      total_time_ms: 0,
      errors: [
        [4, 'not-an-image'],
        [5, 'too-large'],
      ],
    },
  );
  const [first, copy, wider] = outcomes.sort((a, b) => a.index - b.index);
  assert.equal(copy?.duplicate_of, first?.id);
  assert.equal(wider?.near_duplicate_of, first?.id);
  assert.equal(index.images.length, 3);

  const again = await pipeline.ingest([{ name: 'blue.png', bytes: blue }], {
    enableFaces: false,
    enableOcr: false,
    boxEmbeddings: false,
  });
  assert.equal(again.response.duplicates, 1, 'a later batch finds it in the index');
  await assert.rejects(
    pipeline.ingest([{ name: 'x', bytes: blue }], {
      enableFaces: true,
      enableOcr: false,
      boxEmbeddings: false,
    }),
    { code: 'PL_ERR_FEATURE_UNAVAILABLE' },
  );
});
