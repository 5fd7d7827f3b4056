import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { FileError } from '../../core/errors.js';
import { loadOnnxModel, type OnnxModel } from '../backends/onnx/session.js';
import { OCR_TWO_LINES_SVG, rawRgb, tensorRunner } from '../test-support.js';
import type { RgbImage } from './rgb-image.js';
import { DEFAULT_OCR_MODEL_PATHS, loadOcrDictionary, prepareOcrDetInput, recognizeText } from './ocr.js';
import { ctcGreedyDecode, dbTextBoxes, readingOrder, type OcrCharset } from './ocr-decode.js';

// Keep ONNX Runtime's load-time warnings (unused initializers in the OCR detector) out of the test output.
ort.env.logLevel = 'error';

/** An SVG rendered by sharp (librsvg, DejaVu Sans) to raw RGB. */
function render(svg: string): Promise<RgbImage> {
  return rawRgb(sharp(Buffer.from(svg)));
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** A `w × h` map, zero but for the given rectangles (inclusive pixel ranges) at the given probability. */
function probabilityMap(
  w: number,
  h: number,
  blobs: readonly { x: [number, number]; y: [number, number]; p: number }[],
): Float32Array {
  const map = new Float32Array(w * h);
  for (const { x, y, p } of blobs)
    for (let yy = y[0]; yy <= y[1]; yy++) for (let xx = x[0]; xx <= x[1]; xx++) map[yy * w + xx] = p;
  return map;
}

test('dbTextBoxes: two blobs become two unclipped boxes; weak and tiny regions are dropped', () => {
  const map = probabilityMap(48, 24, [
    { x: [2, 13], y: [4, 7], p: 0.9 }, // 12 × 4
    { x: [20, 35], y: [12, 15], p: 0.8 }, // 16 × 4
    { x: [40, 46], y: [2, 8], p: 0.5 }, // above the 0.3 threshold, below the 0.6 box score
    { x: [4, 5], y: [18, 19], p: 0.95 }, // 2 × 2: below the minimum size of 3
  ]);
  const boxes = dbTextBoxes(map, 48, 24);
  // Grown by area × 2 / perimeter on each side: 12 × 4 → 3, 16 × 4 → 3.2.
  assert.deepEqual(
    boxes.map((b) => ({ box: b.box.map(round), score: round(b.score) })),
    [
      { box: [-1, 1, 17, 11], score: 0.9 },
      { box: [16.8, 8.8, 39.2, 19.2], score: 0.8 },
    ],
  );
  // PaddleOCR 2's ratio of 1.5 grows 12 × 4 by 2.25; a box threshold of 0.5 keeps the weak region.
  assert.deepEqual(dbTextBoxes(map, 48, 24, { unclipRatio: 1.5 })[0]!.box, [-0.25, 1.75, 16.25, 10.25]);
  assert.equal(dbTextBoxes(map, 48, 24, { boxThreshold: 0.5 }).length, 3);
  // Diagonal neighbours join one region (8-connectivity); the score is the mean over the region's pixels.
  const diagonal = probabilityMap(10, 10, [
    { x: [0, 3], y: [0, 3], p: 1 },
    { x: [4, 7], y: [4, 7], p: 0.5 },
  ]);
  assert.deepEqual(
    dbTextBoxes(diagonal, 10, 10).map((b) => ({ box: b.box.map(round), score: round(b.score) })),
    [{ box: [-4, -4, 12, 12], score: 0.75 }],
  );
  assert.deepEqual(dbTextBoxes(new Float32Array(48 * 24), 48, 24), []);
  assert.throws(() => dbTextBoxes(map, 40, 24), {
    name: 'RangeError',
    message: /40×24 map needs 960 values/,
  });
});

test('ctcGreedyDecode: repeats collapse, blanks drop and separate real repeats, score is the mean', () => {
  const charset: OcrCharset = ['', 'a', 'b', ' '];
  // Best classes per step: a a _ a b b _ ' ' ' ' a  →  "aab a".
  const best = [1, 1, 0, 1, 2, 2, 0, 3, 3, 1];
  const probs = new Float32Array(best.length * 4);
  best.forEach((c, t) => {
    probs.fill(0.1 / 3, t * 4, t * 4 + 4);
    probs[t * 4 + c] = 0.9 - t * 0.05;
  });
  const { text, score } = ctcGreedyDecode(probs, best.length, charset);
  assert.equal(text, 'aab a');
  // The kept steps are the first of each run: 0, 3, 4, 7, 9.
  assert.equal(round(score), round([0, 3, 4, 7, 9].reduce((s, t) => s + 0.9 - t * 0.05, 0) / 5));
  assert.deepEqual(ctcGreedyDecode(new Float32Array([0.9, 0.1, 0, 0, 0.8, 0, 0.2, 0]), 2, charset), {
    text: '',
    score: 0,
  });
  assert.throws(() => ctcGreedyDecode(new Float32Array(7), 2, charset), {
    name: 'RangeError',
    message: /2 steps of 4 classes need 8 values, got 7/,
  });
});

test('loadOcrDictionary: blank first, space last, line endings and a final newline ignored', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pitlane-ocr-'));
  try {
    await writeFile(join(dir, 'crlf.txt'), 'a\r\nb\r\n');
    assert.deepEqual(await loadOcrDictionary(join(dir, 'crlf.txt')), ['', 'a', 'b', ' ']);
    await writeFile(join(dir, 'empty.txt'), '');
    await assert.rejects(loadOcrDictionary(join(dir, 'empty.txt')), FileError);
    await assert.rejects(loadOcrDictionary(join(dir, 'missing.txt')), {
      name: 'FileError',
      message: /missing\.txt: cannot read the OCR dictionary/,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // PaddleOCR's Chinese dictionary: 6623 lines, 6625 classes with the blank and the space.
  const keys = await loadOcrDictionary(DEFAULT_OCR_MODEL_PATHS.dictionary);
  assert.equal(keys.length, 6625);
  assert.equal(keys[0], '');
  assert.equal(keys[keys.length - 1], ' ');
  for (const ch of ['A', 'z', '0', '9']) assert.ok(keys.includes(ch), ch);
});

test('readingOrder: top to bottom, and left to right within 10 pixels of height', () => {
  const item = (x: number, y: number) => ({ box: [x, y, x + 10, y + 10] as const });
  assert.deepEqual(
    readingOrder([item(300, 105), item(0, 100), item(150, 108), item(0, 200), item(0, 130)]).map(
      (i) => i.box[0],
    ),
    [0, 150, 300, 0, 0],
  );
});

test('prepareOcrDetInput: sides in multiples of 32 under the max side, BGR, ImageNet-normalised', () => {
  const white = (w: number, h: number): RgbImage => ({
    data: new Uint8Array(w * h * 3).fill(255),
    width: w,
    height: h,
  });
  const shape = (w: number, h: number, maxSide?: number) =>
    prepareOcrDetInput(white(w, h), maxSide).tensor.shape;
  assert.deepEqual(shape(640, 240), [1, 3, 256, 640]);
  assert.deepEqual(shape(2000, 1000), [1, 3, 480, 960]);
  assert.deepEqual(shape(20, 10), [1, 3, 32, 32]);
  assert.deepEqual(shape(1000, 100, 320), [1, 3, 32, 320]);
  const { tensor } = prepareOcrDetInput({ data: new Uint8Array([255, 0, 0]), width: 1, height: 1 });
  const data = tensor.data as Float32Array;
  // A red pixel: blue plane first.
  assert.equal(tensor.name, 'x');
  assert.equal(round(data[0]!), round((0 - 0.485) / 0.229));
  assert.equal(round(data[32 * 32]!), round((0 - 0.456) / 0.224));
  assert.equal(round(data[2 * 32 * 32]!), round((1 - 0.406) / 0.225));
});

describe('PP-OCRv4 on rendered text (ONNX Runtime)', () => {
  let det: OnnxModel;
  let rec: OnnxModel;
  before(async () => {
    det = await loadOnnxModel(DEFAULT_OCR_MODEL_PATHS.detector);
    rec = await loadOnnxModel(DEFAULT_OCR_MODEL_PATHS.recognizer);
  });
  after(async () => {
    await det.close();
    await rec.close();
  });

  const SVG = OCR_TWO_LINES_SVG;

  test('reads both lines, in order, with boxes around them', async () => {
    const lines = await recognizeText(tensorRunner(det), tensorRunner(rec), await render(SVG));
    assert.deepEqual(
      lines.map((l) => l.text.trim().toLowerCase()),
      ['pitlane 2026', 'hello world'],
    );
    for (const l of lines) assert.ok(l.score > 0.9, `${l.text}: ${l.score}`);
    // The first line's glyphs span about x 40–376, y 55–91; the second's x 60–283, y 150–181.
    const first = lines[0]!.box;
    const second = lines[1]!.box;
    assert.ok(
      first[0] <= 44 && first[2] >= 372 && first[1] <= 56 && first[3] >= 90 && first[3] < 120,
      first.join(', '),
    );
    assert.ok(
      second[0] <= 62 && second[2] >= 280 && second[1] > first[3] && second[3] >= 180,
      second.join(', '),
    );
  });

  test('a line at least 1.5 times taller than wide is turned upright (text running downwards)', async () => {
    const vertical = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="400">
      <rect width="100%" height="100%" fill="white"/>
      <text transform="translate(80, 40) rotate(90)" font-family="DejaVu Sans" font-size="40">PITLANE</text>
    </svg>`;
    const lines = await recognizeText(tensorRunner(det), tensorRunner(rec), await render(vertical));
    assert.deepEqual(
      lines.map((l) => l.text.trim()),
      ['PITLANE'],
    );
    const [x1, y1, x2, y2] = lines[0]!.box;
    assert.ok(y2 - y1 > 2 * (x2 - x1), lines[0]!.box.join(', '));
  });

  test('a blank image has no lines', async () => {
    const blank: RgbImage = { data: new Uint8Array(640 * 240 * 3).fill(255), width: 640, height: 240 };
    assert.deepEqual(await recognizeText(tensorRunner(det), tensorRunner(rec), blank), []);
  });

  test('a dictionary that does not fit the recogniser is refused', async () => {
    await assert.rejects(
      recognizeText(tensorRunner(det), tensorRunner(rec), await render(SVG), { dictionary: ['', 'a', ' '] }),
      { name: 'RangeError', message: /recogniser has 6625 classes but the dictionary gives 3/ },
    );
  });
});
