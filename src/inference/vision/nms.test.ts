import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iou, nonMaxSuppression, type Box } from './nms.js';

const pack = (boxes: readonly Box[]): Float32Array => Float32Array.from(boxes.flat());

test('iou of identical, disjoint, touching, partial and empty boxes', () => {
  assert.equal(iou([0, 0, 2, 2], [0, 0, 2, 2]), 1);
  assert.equal(iou([0, 0, 2, 2], [5, 5, 6, 6]), 0);
  assert.equal(iou([0, 0, 2, 2], [2, 0, 4, 2]), 0, 'boxes sharing an edge do not overlap');
  assert.equal(iou([0, 0, 2, 2], [1, 0, 3, 2]), 2 / 6);
  assert.equal(iou([0, 0, 2, 1], [0, 0, 1, 1]), 0.5, 'one box inside another');
  assert.equal(iou([1, 1, 1, 1], [1, 1, 1, 1]), 0, 'empty boxes');
  assert.equal(iou([2, 2, 0, 0], [0, 0, 2, 2]), 0, 'an inverted box counts as empty');
  assert.equal(iou([0, 0, 2, 2], [1, 0, 3, 2]), iou([1, 0, 3, 2], [0, 0, 2, 2]), 'symmetric');
});

test('greedy: the best box suppresses its overlaps, which then suppress nothing', () => {
  // A overlaps B (IoU 0.6) and B overlaps C (0.6), A and C are apart: B goes, C stays.
  const boxes = pack([
    [0, 0, 10, 10],
    [2.5, 0, 12.5, 10],
    [5, 0, 15, 10],
  ]);
  assert.ok(Math.abs(iou([0, 0, 10, 10], [2.5, 0, 12.5, 10]) - 0.6) < 1e-9);
  assert.deepEqual(nonMaxSuppression(boxes, [0.9, 0.8, 0.7], 0.5, 10), [0, 2]);
  // Above every overlap, nothing is suppressed; the result is by descending score.
  assert.deepEqual(nonMaxSuppression(boxes, [0.7, 0.8, 0.9], 0.7, 10), [2, 1, 0]);
});

test('a box is suppressed only by an IoU strictly above the threshold', () => {
  const boxes = pack([
    [0, 0, 2, 1],
    [0, 0, 1, 1],
  ]);
  assert.deepEqual(nonMaxSuppression(boxes, [0.9, 0.8], 0.5, 10), [0, 1]);
  assert.deepEqual(nonMaxSuppression(boxes, [0.9, 0.8], 0.49, 10), [0]);
});

test('class-aware: boxes of different classes never suppress each other', () => {
  const boxes = pack([
    [0, 0, 10, 10],
    [0, 0, 10, 10],
    [1, 1, 10, 10],
  ]);
  const scores = [0.9, 0.8, 0.7];
  assert.deepEqual(nonMaxSuppression(boxes, scores, 0.5, 10), [0], 'class-agnostic');
  assert.deepEqual(nonMaxSuppression(boxes, scores, 0.5, 10, [3, 7, 3]), [0, 1]);
  assert.deepEqual(nonMaxSuppression(boxes, scores, 0.5, 10, [3, 7, 5]), [0, 1, 2]);
});

test('equal scores keep index order, NaN scores are skipped, maxDetections caps the result', () => {
  const boxes = pack([
    [0, 0, 1, 1],
    [10, 0, 11, 1],
    [20, 0, 21, 1],
    [30, 0, 31, 1],
    [0, 0, 1, 1],
  ]);
  assert.deepEqual(nonMaxSuppression(boxes, [0.5, 0.5, 0.5, 0.5, 0.5], 0.5, 10), [0, 1, 2, 3]);
  assert.deepEqual(nonMaxSuppression(boxes, [0.5, NaN, 0.9, 0.5, 0.6], 0.5, 10), [2, 4, 3]);
  assert.deepEqual(nonMaxSuppression(boxes, [0.1, 0.2, 0.3, 0.4, 0.5], 0.5, 2), [4, 3]);
  assert.deepEqual(nonMaxSuppression(boxes, [0.1, 0.2, 0.3, 0.4, 0.5], 0.5, 0), []);
  assert.deepEqual(nonMaxSuppression(new Float32Array(0), [], 0.5, 10), []);
});

test('bad arguments throw a RangeError that names the problem', () => {
  assert.throws(() => nonMaxSuppression([0, 0, 1, 1], [0.5, 0.6], 0.5, 10), {
    name: 'RangeError',
    message: /4 box coordinates for 2 scores/,
  });
  assert.throws(() => nonMaxSuppression([0, 0, 1, 1], [0.5], 0.5, 10, [1, 2]), /2 classes for 1 scores/);
  assert.throws(() => nonMaxSuppression([0, 0, 1, 1], [0.5], 1.5, 10), /iouThreshold/);
  assert.throws(() => nonMaxSuppression([0, 0, 1, 1], [0.5], 0.5, -1), /maxDetections/);
});

/** Textbook NMS: suppression flags over the score-sorted list. */
function referenceNms(
  boxes: Box[],
  scores: number[],
  threshold: number,
  max: number,
  classes?: number[],
): number[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const suppressed = new Set<number>();
  const kept: number[] = [];
  for (const i of order) {
    if (suppressed.has(i)) continue;
    kept.push(i);
    for (const j of order)
      if (!suppressed.has(j) && j !== i && (classes === undefined || classes[i] === classes[j]))
        if (iou(boxes[i]!, boxes[j]!) > threshold) suppressed.add(j);
  }
  return kept.slice(0, max);
}

test('matches textbook NMS on thousands of random candidates', () => {
  let seed = 42;
  const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const n = 2000;
  const boxes: Box[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = random() * 600;
    const y = random() * 600;
    // Float32-exact coordinates and scores so the typed-array and plain-array versions see the same numbers.
    boxes.push([x, y, x + 10 + random() * 80, y + 10 + random() * 80].map(Math.fround) as unknown as Box);
    scores.push(Math.fround(random()));
    classes.push(Math.floor(random() * 3));
  }
  const packed = pack(boxes);
  assert.deepEqual(nonMaxSuppression(packed, scores, 0.45, 300), referenceNms(boxes, scores, 0.45, 300));
  assert.deepEqual(
    nonMaxSuppression(packed, Float32Array.from(scores), 0.45, 300, Int32Array.from(classes)),
    referenceNms(boxes, scores, 0.45, 300, classes),
  );
});
