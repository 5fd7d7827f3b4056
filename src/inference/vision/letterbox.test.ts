import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LETTERBOX_PAD_VALUE,
  centerCropGeometry,
  letterboxGeometry,
  unletterboxBox,
  type LetterboxGeometry,
} from './letterbox.js';
import type { Box } from './nms.js';

/** The forward mapping, source pixels to letterboxed input pixels. */
const letterboxBox = (b: Box, g: LetterboxGeometry): Box => [
  b[0] * g.scale + g.padX,
  b[1] * g.scale + g.padY,
  b[2] * g.scale + g.padX,
  b[3] * g.scale + g.padY,
];

test('letterbox geometry of landscape, portrait, square and tiny images', () => {
  assert.equal(LETTERBOX_PAD_VALUE, 114);
  assert.deepEqual(letterboxGeometry(1280, 720), {
    scale: 0.5,
    newW: 640,
    newH: 360,
    padX: 0,
    padY: 140,
    target: 640,
  });
  assert.deepEqual(letterboxGeometry(720, 1280), {
    scale: 0.5,
    newW: 360,
    newH: 640,
    padX: 140,
    padY: 0,
    target: 640,
  });
  assert.deepEqual(letterboxGeometry(1000, 1000), {
    scale: 0.64,
    newW: 640,
    newH: 640,
    padX: 0,
    padY: 0,
    target: 640,
  });
  // Small images are scaled up, as Ultralytics does by default.
  assert.deepEqual(letterboxGeometry(10, 5), {
    scale: 64,
    newW: 640,
    newH: 320,
    padX: 0,
    padY: 160,
    target: 640,
  });
  assert.deepEqual(letterboxGeometry(1, 1), {
    scale: 640,
    newW: 640,
    newH: 640,
    padX: 0,
    padY: 0,
    target: 640,
  });
  assert.deepEqual(letterboxGeometry(640, 480, 320), {
    scale: 0.5,
    newW: 320,
    newH: 240,
    padX: 0,
    padY: 40,
    target: 320,
  });
});

test('odd padding puts the extra pixel at the bottom or right; sizes round half to even', () => {
  const g = letterboxGeometry(640, 517);
  assert.deepEqual([g.newH, g.padY, g.target - g.newH - g.padY], [517, 61, 62]);
  const p = letterboxGeometry(517, 640);
  assert.deepEqual([p.newW, p.padX, p.target - p.newW - p.padX], [517, 61, 62]);
  // 5 × 0.5 = 2.5 rounds to 2 and 7 × 0.5 = 3.5 to 4, as Python's round does.
  assert.equal(letterboxGeometry(1280, 5).newH, 2);
  assert.equal(letterboxGeometry(1280, 7).newH, 4);
  // An extremely thin image still gets one pixel.
  assert.equal(letterboxGeometry(100_000, 1).newH, 1);
});

test('a box on a 1280×720 image survives the letterbox round trip within 1 px', () => {
  for (const [w, h] of [
    [1280, 720],
    [1920, 1080],
    [720, 1280],
    [333, 777],
  ] as const) {
    const g = letterboxGeometry(w, h);
    const box: Box = [0.1 * w, 0.2 * h, 0.55 * w, 0.9 * h];
    // The model sees input pixels; round them as a detector's output would be near-integer.
    const input = letterboxBox(box, g).map(Math.round) as unknown as Box;
    const back = unletterboxBox(input, g, w, h);
    for (let k = 0; k < 4; k++)
      assert.ok(Math.abs(back[k]! - box[k]!) <= 1, `${w}×${h}: ${back.join(',')} vs ${box.join(',')}`);
  }
});

test('unletterboxBox clips to the image', () => {
  const g = letterboxGeometry(1280, 720); // 640 × 360 at y = 140..500
  assert.deepEqual(unletterboxBox([-10, 100, 320, 520], g, 1280, 720), [0, 0, 640, 720]);
  assert.deepEqual(unletterboxBox([600, 0, 700, 130], g, 1280, 720), [1200, 0, 1280, 0], 'in the padding');
});

test('centre crop: the largest centred square and its resize factor', () => {
  assert.deepEqual(centerCropGeometry(1280, 720, 224), {
    left: 280,
    top: 0,
    side: 720,
    scale: 224 / 720,
    size: 224,
  });
  assert.deepEqual(centerCropGeometry(480, 640, 224), {
    left: 0,
    top: 80,
    side: 480,
    scale: 224 / 480,
    size: 224,
  });
  assert.deepEqual(centerCropGeometry(224, 224, 224), { left: 0, top: 0, side: 224, scale: 1, size: 224 });
  assert.deepEqual(centerCropGeometry(101, 100, 224).left, 0, 'odd leftover: extra pixel on the right');
  assert.deepEqual(centerCropGeometry(100, 50, 224), { left: 25, top: 0, side: 50, scale: 4.48, size: 224 });
});

test('bad sizes throw a RangeError naming the argument', () => {
  assert.throws(() => letterboxGeometry(0, 720), {
    name: 'RangeError',
    message: /srcW must be a positive integer, got 0/,
  });
  assert.throws(() => letterboxGeometry(1280, 720.5), /srcH/);
  assert.throws(() => letterboxGeometry(1280, 720, Number.NaN), /target/);
  assert.throws(() => centerCropGeometry(1280, 720, -224), /size must be a positive integer/);
});
