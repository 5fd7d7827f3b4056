import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  COCO_CATEGORY_IDS,
  COCO_CLASSES,
  COCO_SSD_LABELS,
  classIndexToCocoCategoryId,
  cocoCategoryIdToClassIndex,
} from './coco.js';
import { letterboxGeometry } from './letterbox.js';
import {
  decodeYolo,
  decodeYoloEndToEnd,
  decodeYoloRaw,
  unletterboxDetections,
  yoloOutputFormat,
  type Detection,
} from './yolo.js';

const DOG = COCO_CLASSES.indexOf('dog');
const CAR = COCO_CLASSES.indexOf('car');
const CAT = COCO_CLASSES.indexOf('cat');
const PERSON = COCO_CLASSES.indexOf('person');

interface Candidate {
  readonly anchor: number;
  /** cx, cy, w, h in input pixels. */
  readonly xywh: readonly [number, number, number, number];
  readonly scores: Readonly<Record<number, number>>;
}

const RAW_DIMS = [1, 84, 8400] as const;

/** A raw [1, 4 + classes, anchors] output, channel-major, zero except for the given candidates. */
function rawOutput(candidates: readonly Candidate[], classes = 80, anchors = 8400): Float32Array {
  const data = new Float32Array((4 + classes) * anchors);
  for (const { anchor, xywh, scores } of candidates) {
    xywh.forEach((v, row) => (data[row * anchors + anchor] = v));
    for (const [cls, s] of Object.entries(scores)) data[(4 + Number(cls)) * anchors + anchor] = s;
  }
  return data;
}

/** Low-score noise on every seventh anchor: boxes everywhere, scores below the default threshold. */
function noise(): Candidate[] {
  const out: Candidate[] = [];
  for (let a = 0; a < 8400; a += 7)
    out.push({
      anchor: a,
      xywh: [(a * 13) % 640, (a * 29) % 640, 30, 40],
      scores: { [a % 80]: 0.05 + (a % 19) / 100 },
    });
  return out;
}

/** One dog seen by three overlapping anchors (one also fancies a cat), one car, and noise. */
const SCENE: readonly Candidate[] = [
  ...noise(),
  { anchor: 6000, xywh: [200, 300, 100, 80], scores: { [DOG]: 0.9, [CAT]: 0.3 } },
  { anchor: 6001, xywh: [204, 302, 100, 80], scores: { [DOG]: 0.8 } },
  { anchor: 8200, xywh: [198, 296, 96, 84], scores: { [DOG]: 0.7, [CAT]: 0.4 } },
  { anchor: 400, xywh: [500, 400, 120, 60], scores: { [CAR]: 0.85 } },
];

const rounded = (ds: readonly Detection[]) =>
  ds.map((d) => ({
    box: d.box.map((v) => Math.round(v * 1000) / 1000),
    score: Math.round(d.score * 1000) / 1000,
    classId: d.classId,
  }));

test('raw output: overlapping candidates become one detection per object, noise is dropped', () => {
  const detections = decodeYoloRaw(rawOutput(SCENE), RAW_DIMS);
  assert.deepEqual(rounded(detections), [
    { box: [150, 260, 250, 340], score: 0.9, classId: DOG },
    { box: [440, 370, 560, 430], score: 0.85, classId: CAR },
  ]);
  assert.equal(COCO_CLASSES[detections[0]!.classId], 'dog');
  assert.deepEqual(decodeYolo(rawOutput(SCENE), RAW_DIMS), detections, 'decodeYolo picks the raw layout');
});

test('raw output: thresholds and the detection cap', () => {
  const data = rawOutput(SCENE);
  // Below the default, the noise (scores up to 0.23) comes through too.
  assert.ok(decodeYoloRaw(data, RAW_DIMS, { confThreshold: 0.01 }).length > 100);
  // A loose IoU threshold keeps the shifted dog boxes (IoU ≈ 0.85 and 0.77 with the best one).
  assert.deepEqual(
    decodeYoloRaw(data, RAW_DIMS, { iouThreshold: 0.95 }).map((d) => d.classId),
    [DOG, CAR, DOG, DOG],
  );
  assert.deepEqual(
    decodeYoloRaw(data, RAW_DIMS, { maxDetections: 1 }).map((d) => d.classId),
    [DOG],
  );
  // A score equal to the threshold is dropped (Ultralytics keeps score > conf).
  const edge = rawOutput([{ anchor: 0, xywh: [50, 50, 10, 10], scores: { 3: 0.25 } }]);
  assert.deepEqual(decodeYoloRaw(edge, RAW_DIMS), []);
  assert.equal(decodeYoloRaw(edge, RAW_DIMS, { confThreshold: 0.2 }).length, 1);
});

test('raw output: class-aware NMS keeps overlapping objects of different classes, class-agnostic does not', () => {
  const scene = [...SCENE, { anchor: 7000, xywh: [202, 300, 100, 80], scores: { [PERSON]: 0.6 } } as const];
  const data = rawOutput(scene);
  assert.deepEqual(
    decodeYoloRaw(data, RAW_DIMS).map((d) => [d.classId, Math.round(d.score * 100)]),
    [
      [DOG, 90],
      [CAR, 85],
      [PERSON, 60],
    ],
  );
  assert.deepEqual(
    decodeYoloRaw(data, RAW_DIMS, { classAgnostic: true }).map((d) => d.classId),
    [DOG, CAR],
  );
});

test('raw output with a custom class count and input size', () => {
  // Two classes, a 320 px input (2100 anchors).
  const data = rawOutput([{ anchor: 2099, xywh: [100, 100, 20, 40], scores: { 1: 0.7 } }], 2, 2100);
  assert.deepEqual(rounded(decodeYolo(data, [1, 6, 2100])), [
    { box: [90, 80, 110, 120], score: 0.7, classId: 1 },
  ]);
});

test('end-to-end output: rows above the threshold, by score, padding dropped', () => {
  const rows = 300;
  const data = new Float32Array(rows * 6);
  data.set([10, 20, 110, 220, 0.5, 2], 0);
  data.set([300, 300, 400, 380, 0.92, 16], 6);
  data.set([0, 0, 5, 5, 0.1, 7], 12);
  data.set([50, 60, 70, 80, 0.5, 0], 18);
  const expected = [
    { box: [300, 300, 400, 380], score: 0.92, classId: DOG },
    { box: [10, 20, 110, 220], score: 0.5, classId: CAR },
    { box: [50, 60, 70, 80], score: 0.5, classId: PERSON },
  ];
  assert.deepEqual(rounded(decodeYoloEndToEnd(data, [1, rows, 6])), expected);
  assert.deepEqual(
    rounded(decodeYolo(data, [1, rows, 6])),
    expected,
    'decodeYolo picks the end-to-end layout',
  );
  assert.equal(decodeYoloEndToEnd(data, [1, rows, 6], { confThreshold: 0.05 }).length, 4);
  assert.equal(decodeYoloEndToEnd(data, [1, rows, 6], { maxDetections: 1 }).length, 1);
});

test('the layout is chosen from the dims; dims that fit neither throw a RangeError naming them', () => {
  assert.equal(yoloOutputFormat([1, 84, 8400]), 'raw');
  assert.equal(yoloOutputFormat([1, 6, 8400]), 'raw');
  assert.equal(yoloOutputFormat([1, 300, 6]), 'end-to-end');
  assert.equal(yoloOutputFormat([1, 6, 6]), 'end-to-end');
  for (const dims of [
    [1, 8400, 84],
    [2, 84, 8400],
    [84, 8400],
    [1, 4, 8400],
    [1, 84, 8400, 1],
    [1, 300, 38],
    [],
  ])
    assert.throws(() => decodeYolo(new Float32Array(0), dims), {
      name: 'RangeError',
      message: new RegExp(`dims \\[${dims.join(', ')}\\] fit neither layout`),
    });
  assert.throws(() => decodeYolo(new Float32Array(10), [1, 84, 8400]), {
    name: 'RangeError',
    message: /need 705600 values, but the data has 10/,
  });
  assert.throws(() => decodeYoloEndToEnd(new Float32Array(6), [1, 6, 1]), RangeError);
  assert.throws(() => decodeYoloRaw(new Float32Array(6), [1, 1, 6]), RangeError);
});

test('detections map back to the source image through the letterbox', () => {
  const g = letterboxGeometry(1280, 720); // scale 0.5, 140 px bars top and bottom
  const inInput: Detection[] = [
    { box: [150, 260, 250, 340], score: 0.9, classId: DOG },
    { box: [600, 100, 700, 200], score: 0.5, classId: CAR },
  ];
  assert.deepEqual(unletterboxDetections(inInput, g, 1280, 720), [
    { box: [300, 240, 500, 400], score: 0.9, classId: DOG },
    { box: [1200, 0, 1280, 120], score: 0.5, classId: CAR },
  ]);
});

test('COCO names and the COCO-SSD id map agree', () => {
  assert.equal(COCO_CLASSES.length, 80);
  assert.equal(new Set(COCO_CLASSES).size, 80);
  assert.deepEqual(
    [COCO_CLASSES[0], COCO_CLASSES[2], COCO_CLASSES[16], COCO_CLASSES[62], COCO_CLASSES[79]],
    ['person', 'car', 'dog', 'tv', 'toothbrush'],
  );
  assert.equal(COCO_CATEGORY_IDS.length, 80);
  assert.equal(COCO_SSD_LABELS.size, 80);
  assert.deepEqual(
    Array.from({ length: 90 }, (_, i) => i + 1).filter((id) => !COCO_SSD_LABELS.has(id)),
    [12, 26, 29, 30, 45, 66, 68, 69, 71, 83],
  );
  assert.equal(COCO_SSD_LABELS.get(18), 'dog');
  assert.equal(COCO_SSD_LABELS.get(90), 'toothbrush');
  assert.equal(cocoCategoryIdToClassIndex(18), DOG);
  assert.equal(cocoCategoryIdToClassIndex(12), undefined);
  assert.equal(cocoCategoryIdToClassIndex(91), undefined);
  assert.equal(classIndexToCocoCategoryId(DOG), 18);
  assert.equal(classIndexToCocoCategoryId(80), undefined);
  for (const [id, name] of COCO_SSD_LABELS) assert.equal(COCO_CLASSES[cocoCategoryIdToClassIndex(id)!], name);
});
