import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { loadOnnxModel, type OnnxModel } from '../backends/onnx/session.js';
import type { Tensor } from '../tensor/tensor.js';
import { rawRgb, tensorRunner } from '../test-support.js';
import {
  DEFAULT_FACE_MODEL_PATHS,
  DEFAULT_FACE_SCORE_THRESHOLDS,
  decodeFaces,
  detectFaces,
  prepareFaceInput,
  weightedNonMaxSuppression,
  type Face,
  type FaceModelSize,
} from './faces.js';
import { resizeRgb, type RgbImage } from './rgb-image.js';

const DATA = '/usr/share/darknet/data';
/**
 * scikit-image's astronaut portrait (Eileen Collins, 512 × 512), unpacked from Debian's python3-skimage into
 * test-data/ by scripts/setup-test-deps.sh (npm test's pretest).
 */
const ASTRONAUT = fileURLToPath(new URL('../../../test-data/astronaut.png', import.meta.url));

// Keep ONNX Runtime's load-time warnings (unused initializers in the OCR detector) out of the test output.
ort.env.logLevel = 'error';

/** An image file as sRGB. */
function readRgb(path: string): Promise<RgbImage> {
  return rawRgb(sharp(path).toColourspace('srgb'));
}

const ANCHORS_1 = 512; // 16 × 16 cells × 2
const ANCHORS_2 = 384; // 8 × 8 cells × 6

/** The four outputs of the ONNX models, every anchor at a logit of -10 unless set. */
function outputs(set: readonly { anchor: number; logit: number; regressor: readonly number[] }[]): Tensor[] {
  const scores = new Float32Array(ANCHORS_1 + ANCHORS_2).fill(-10);
  const boxes = new Float32Array((ANCHORS_1 + ANCHORS_2) * 16);
  for (const { anchor, logit, regressor } of set) {
    scores[anchor] = logit;
    boxes.set(regressor, anchor * 16);
  }
  return [
    { name: 'Identity:0', datatype: 'FP32', shape: [1, ANCHORS_1, 1], data: scores.slice(0, ANCHORS_1) },
    { name: 'Identity_1:0', datatype: 'FP32', shape: [1, ANCHORS_2, 1], data: scores.slice(ANCHORS_1) },
    {
      name: 'Identity_2:0',
      datatype: 'FP32',
      shape: [1, ANCHORS_1, 16],
      data: boxes.slice(0, ANCHORS_1 * 16),
    },
    { name: 'Identity_3:0', datatype: 'FP32', shape: [1, ANCHORS_2, 16], data: boxes.slice(ANCHORS_1 * 16) },
  ];
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const round = (v: number) => Math.round(v * 1000) / 1000;
const rounded = (faces: readonly Face[]) =>
  faces.map((f) => ({
    box: f.box.map(round),
    score: round(f.score),
    keypoints: f.keypoints.map((k) => k.map(round)),
  }));

/** A 256 × 128 image: in a 128 input it is scaled by 0.5 and sits between 32-row black bars. */
const WIDE = { data: new Uint8Array(256 * 128 * 3), width: 256, height: 128 };

test('prepareFaceInput letterboxes into black bars and scales RGB to [-1, 1], NHWC', () => {
  const red: RgbImage = {
    data: new Uint8Array([255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0]),
    width: 2,
    height: 2,
  };
  const wide: RgbImage = { data: new Uint8Array(4 * 2 * 3), width: 4, height: 2 };
  for (let i = 0; i < 8; i++) wide.data.set([255, 0, 0], 3 * i);
  const { tensor, geometry } = prepareFaceInput(wide, 128);
  assert.equal(tensor.name, 'input:0');
  assert.equal(tensor.datatype, 'FP32');
  assert.deepEqual(tensor.shape, [1, 128, 128, 3]);
  assert.deepEqual(geometry, {
    size: 128,
    srcWidth: 4,
    srcHeight: 2,
    left: 0,
    top: 32,
    width: 128,
    height: 64,
  });
  const data = tensor.data as Float32Array;
  const px = (x: number, y: number) => Array.from(data.slice((y * 128 + x) * 3, (y * 128 + x + 1) * 3));
  assert.deepEqual(px(0, 0), [-1, -1, -1], 'top bar is black');
  assert.deepEqual(px(127, 31), [-1, -1, -1]);
  assert.deepEqual(px(0, 32), [1, -1, -1], 'the image is red');
  assert.deepEqual(px(127, 95), [1, -1, -1]);
  assert.deepEqual(px(64, 96), [-1, -1, -1], 'bottom bar is black');
  assert.deepEqual(prepareFaceInput(red, 256).geometry, {
    size: 256,
    srcWidth: 2,
    srcHeight: 2,
    left: 0,
    top: 0,
    width: 256,
    height: 256,
  });
  assert.throws(() => prepareFaceInput({ ...red, width: 3 }, 128), {
    name: 'RangeError',
    message: /3×2 RGB image needs 18 bytes, but its data has 12/,
  });
  assert.throws(() => prepareFaceInput(red, 192 as FaceModelSize), /size must be 128 or 256/);
});

test('resizeRgb: bilinear when enlarging, antialiased when shrinking, cut to the rectangle', () => {
  const ramp: RgbImage = { data: new Uint8Array([0, 0, 0, 255, 255, 255]), width: 2, height: 1 };
  assert.deepEqual(
    Array.from(resizeRgb(ramp, 0, 0, 2, 1, 4, 1).filter((_, i) => i % 3 === 0)),
    [0, 63.75, 191.25, 255],
  );
  assert.deepEqual(Array.from(resizeRgb(ramp, 1, 0, 1, 1, 3, 2)), new Array<number>(18).fill(255));
  const stripes: RgbImage = { data: new Uint8Array(8 * 8 * 3), width: 8, height: 8 };
  for (let i = 0; i < 64; i++) if (i % 2 === 0) stripes.data.fill(200, 3 * i, 3 * i + 3);
  // Every other column lit: shrunk 4 times, each output pixel sees both kinds of column (nearest-pixel
  // sampling would give all 0 or all 200).
  for (const v of resizeRgb(stripes, 0, 0, 8, 8, 2, 2)) assert.ok(v > 80 && v < 120, String(v));
  assert.throws(() => resizeRgb(ramp, 1, 0, 2, 1, 4, 1), {
    name: 'RangeError',
    message: /rectangle 2×1 at \(1, 0\) leaves the 2×1 image/,
  });
  assert.throws(() => resizeRgb(ramp, 0, 0, 2, 1, 0, 1), /dstW must be a positive integer/);
});

test('one anchor decodes to its box and keypoints in source pixels', () => {
  const { geometry } = prepareFaceInput(WIDE, 128);
  // Second layer (8 × 8 cells, 6 anchors): row 3, column 5, first anchor; its centre is (88, 56) input
  // pixels.
  const anchor = ANCHORS_1 + (3 * 8 + 5) * 6;
  const regressor = [4, -8, 32, 24, 0, 0, 8, 0, 0, 8, -4, 4, 0, 0, 0, 0];
  const faces = decodeFaces(outputs([{ anchor, logit: 2, regressor }]), geometry);
  // Centre (92, 48), 32 × 24 in input pixels: [76, 36, 108, 60]; source x = 2 × x, y = 2 × (y − 32).
  assert.deepEqual(rounded(faces), [
    {
      box: [152, 8, 216, 56],
      score: round(sigmoid(2)),
      keypoints: [
        [176, 48],
        [192, 48],
        [176, 64],
        [168, 56],
        [176, 48],
        [176, 48],
      ],
    },
  ]);

  // First layer (16 × 16 cells, 2 anchors): row 15, column 0, second anchor; centre (4, 124) in input pixels,
  // in the bottom bar. The box, [-4, 84, 12, 100] in input pixels, is clipped to the image.
  const low = decodeFaces(
    outputs([
      {
        anchor: (15 * 16 + 0) * 2 + 1,
        logit: 3,
        regressor: [0, -32, 16, 16, ...new Array<number>(12).fill(0)],
      },
    ]),
    geometry,
  );
  assert.deepEqual(
    low.map((f) => f.box.map(round)),
    [[0, 104, 24, 128]],
  );

  // The outputs may come in any order, or as one score and one regressor tensor for all 896 anchors.
  const four = outputs([{ anchor, logit: 2, regressor }]);
  assert.deepEqual(decodeFaces([...four].reverse(), geometry), faces);
  const joined = (a: Tensor, b: Tensor, w: number): Tensor => {
    const data = new Float32Array(a.data.length + b.data.length);
    data.set(a.data as Float32Array);
    data.set(b.data as Float32Array, a.data.length);
    return { name: 'joined', datatype: 'FP32', shape: [1, 896, w], data };
  };
  const [s1, s2, b1, b2] = four as [Tensor, Tensor, Tensor, Tensor];
  assert.deepEqual(decodeFaces([joined(b1, b2, 16), joined(s1, s2, 1)], geometry), faces);
});

test('score thresholds: per model by default, strict below, inclusive at the threshold', () => {
  const { geometry } = prepareFaceInput(WIDE, 128);
  const g256 = prepareFaceInput(WIDE, 256).geometry;
  const regressor = [0, 0, 16, 16, ...new Array<number>(12).fill(0)];
  const logit = Math.log(0.6 / 0.4); // score 0.6: above 128's 0.5, below 256's 0.65
  const one = outputs([{ anchor: (8 * 16 + 8) * 2, logit, regressor }]); // mid-image at both sizes
  assert.deepEqual(DEFAULT_FACE_SCORE_THRESHOLDS, { 128: 0.5, 256: 0.65 });
  assert.equal(decodeFaces(one, geometry).length, 1);
  assert.equal(decodeFaces(one, g256).length, 0);
  assert.equal(decodeFaces(one, g256, { scoreThreshold: 0.6 - 1e-6 }).length, 1);
  assert.equal(decodeFaces(one, geometry, { scoreThreshold: 0.61 }).length, 0);
  assert.equal(decodeFaces(outputs([]), geometry).length, 0);
});

test('weighted NMS: overlapping detections blend by score and keep the best score', () => {
  const merged = weightedNonMaxSuppression(
    [
      { score: 0.6, coords: [1, 1, 11, 11, 5, 5] }, // IoU 0.68 with the best: absorbed
      { score: 0.7, coords: [20, 20, 30, 30, 25, 25] }, // apart
      { score: 0.9, coords: [0, 0, 10, 10, 2, 2] },
      { score: 0.8, coords: [7, 0, 17, 10, 12, 5] }, // IoU 0.18 with the best: kept
    ],
    0.3,
    10,
  );
  assert.deepEqual(
    merged.map((m) => ({ score: m.score, coords: Array.from(m.coords, round) })),
    [
      // (0.9 × best + 0.6 × absorbed) / 1.5
      { score: 0.9, coords: [0.4, 0.4, 10.4, 10.4, 3.2, 3.2] },
      { score: 0.8, coords: [7, 0, 17, 10, 12, 5] },
      { score: 0.7, coords: [20, 20, 30, 30, 25, 25] },
    ],
  );
  assert.equal(weightedNonMaxSuppression([{ score: 0.5, coords: [0, 0, 1, 1] }], 0.3, 0).length, 0);

  // Through decodeFaces: two anchors of one cell see the same face, 4 input pixels apart.
  const { geometry } = prepareFaceInput(WIDE, 128);
  const anchor = ANCHORS_1 + (3 * 8 + 5) * 6;
  const faces = decodeFaces(
    outputs([
      { anchor, logit: 2, regressor: [0, 0, 32, 32, 0, 0, ...new Array<number>(10).fill(0)] },
      { anchor: anchor + 1, logit: 1, regressor: [4, 0, 32, 32, 4, 0, ...new Array<number>(10).fill(0)] },
    ]),
    geometry,
  );
  const shift = (4 * sigmoid(1)) / (sigmoid(2) + sigmoid(1)); // input pixels
  assert.equal(faces.length, 1);
  assert.equal(round(faces[0]!.score), round(sigmoid(2)));
  assert.deepEqual(faces[0]!.box.map(round), [(72 + shift) * 2, 16, (104 + shift) * 2, 80].map(round));
  assert.deepEqual(faces[0]!.keypoints[0]!.map(round), [(88 + shift) * 2, 48].map(round));
});

test('decodeFaces names the outputs it cannot use', () => {
  const { geometry } = prepareFaceInput(WIDE, 128);
  const [s1, , b1, b2] = outputs([]) as [Tensor, Tensor, Tensor, Tensor];
  assert.throws(() => decodeFaces([s1, b1, b2], geometry), {
    name: 'RangeError',
    message: /expected scores for 896 anchors .* got \[1, 512, 1\] among outputs Identity:0/,
  });
  assert.throws(() => decodeFaces([], geometry), /expected scores for 896 anchors .* got none/);
});

describe('BlazeFace on real photos (ONNX Runtime)', () => {
  const models = new Map<FaceModelSize, OnnxModel>();
  const run = (size: FaceModelSize) => tensorRunner(models.get(size)!);

  before(async () => {
    for (const size of [128, 256] as const)
      models.set(size, await loadOnnxModel(DEFAULT_FACE_MODEL_PATHS[size]));
  });
  after(async () => {
    for (const m of models.values()) await m.close();
  });

  test('the models have the input and outputs the decoder expects', () => {
    for (const m of models.values()) {
      assert.deepEqual(m.inputNames, ['input:0']);
      assert.deepEqual(m.outputNames, ['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0']);
    }
  });

  test('person.jpg: the person faces away: no face; at 0.3 the 256 model points at the head', async () => {
    // The photo shows a person in a blue jacket and beanie from behind, a dog and a white horse: no human
    // face is visible. Both models agree at their default thresholds.
    const image = await readRgb(`${DATA}/person.jpg`);
    for (const size of [128, 256] as const)
      assert.deepEqual(await detectFaces(run(size), image, { size }), []);
    // At 0.3 the back model's one candidate (score ≈ 0.39) is the back of the head, x ≈ 223–244, y ≈ 115–136.
    const faces = await detectFaces(run(256), image, { size: 256, scoreThreshold: 0.3 });
    assert.equal(faces.length, 1);
    const [x1, y1, x2, y2] = faces[0]!.box;
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2;
    assert.ok(cx > 210 && cx < 255 && cy > 100 && cy < 145, `head box ${faces[0]!.box.join(', ')}`);
    assert.ok(x2 - x1 < 60 && y2 - y1 < 60);
    assert.ok(faces[0]!.score < DEFAULT_FACE_SCORE_THRESHOLDS[256]);
  });

  test('dog.jpg and giraffe.jpg: no face with either model', async () => {
    for (const name of ['dog.jpg', 'giraffe.jpg']) {
      const image = await readRgb(`${DATA}/${name}`);
      for (const size of [128, 256] as const)
        assert.deepEqual(await detectFaces(run(size), image, { size }), [], `${name} at ${size}`);
    }
  });

  test('astronaut.png: one face, eyes above nose above mouth, at both sizes', async () => {
    assert.ok(
      existsSync(ASTRONAUT),
      `${ASTRONAUT} is missing: run scripts/setup-test-deps.sh (npm test does)`,
    );
    const image = await readRgb(ASTRONAUT);
    for (const size of [128, 256] as const) {
      const faces = await detectFaces(run(size), image, { size });
      assert.equal(faces.length, 1, `${size}: ${JSON.stringify(rounded(faces))}`);
      const { box, score, keypoints } = faces[0]!;
      assert.ok(score > 0.8);
      // Her face spans about x 175–275, y 75–180 of the 512 × 512 photo.
      assert.ok(box[0] > 160 && box[0] < 190 && box[2] > 260 && box[2] < 290, box.join(', '));
      assert.ok(box[1] > 60 && box[1] < 95 && box[3] > 165 && box[3] < 190, box.join(', '));
      const [rightEye, leftEye, nose, mouth] = keypoints as [number, number][];
      assert.ok(rightEye![0] < leftEye![0], "the subject's right eye is on the left of the photo");
      assert.ok(Math.max(rightEye![1], leftEye![1]) < nose![1] && nose![1] < mouth![1]);
    }
  });
});
