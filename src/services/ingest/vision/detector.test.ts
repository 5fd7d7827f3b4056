import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COCO_CLASSES } from '../../../inference/vision/coco.js';
import { decodeSsd, DEFAULT_DETECTOR_OPTIONS } from './detector.js';

/** SSD outputs for `anchors` anchors: boxes (y1, x1, y2, x2 in 0..1) and 90 score columns (column = id - 1). */
function ssd(anchors: { box: [number, number, number, number]; scores: Record<number, number> }[]) {
  const boxes = new Float32Array(anchors.length * 4);
  const scores = new Float32Array(anchors.length * 90);
  anchors.forEach((a, i) => {
    boxes.set(a.box, i * 4);
    for (const [id, s] of Object.entries(a.scores)) scores[i * 90 + Number(id) - 1] = s;
  });
  return { boxes, scores };
}

test('decodeSsd: best class per anchor, category ids to COCO classes, class-agnostic NMS, boxes as x1 y1 x2 y2', () => {
  const { boxes, scores } = ssd([
    { box: [0.1, 0.2, 0.5, 0.6], scores: { 18: 0.9, 17: 0.6 } }, // dog (id 18) beats cat (id 17)
    { box: [0.11, 0.21, 0.5, 0.6], scores: { 17: 0.7 } }, // the same object as a cat: suppressed
    { box: [0.6, 0.6, 0.9, 0.95], scores: { 3: 0.8 } }, // car (id 3)
    { box: [0.0, 0.0, 0.2, 0.2], scores: { 1: 0.4 } }, // below the threshold
    { box: [0.3, 0.0, 0.4, 0.1], scores: { 12: 0.99 } }, // id 12 is one of the ten unused COCO ids: ignored
  ]);
  const found = decodeSsd(boxes, scores, 90, DEFAULT_DETECTOR_OPTIONS);
  assert.deepEqual(
    found.map((d) => [
      COCO_CLASSES[d.classId],
      Number(d.score.toFixed(2)),
      d.box.map((v) => Number(v.toFixed(2))),
    ]),
    [
      ['dog', 0.9, [0.2, 0.1, 0.6, 0.5]],
      ['car', 0.8, [0.6, 0.6, 0.95, 0.9]],
    ],
  );
  assert.deepEqual(decodeSsd(boxes, scores, 90, { ...DEFAULT_DETECTOR_OPTIONS, maxDetections: 1 }).length, 1);
  assert.deepEqual(decodeSsd(boxes, scores, 90, { ...DEFAULT_DETECTOR_OPTIONS, scoreThreshold: 0.95 }), []);
});
