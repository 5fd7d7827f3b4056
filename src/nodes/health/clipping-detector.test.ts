// Expected values: a clean 1 kHz sine at 16 kHz has a sample on each peak and RMS A/√2 over whole periods, so
// its crest factor is 20·log10(√2) = 3.0103 dB (> 3: not clipping). The sine 2·sin clamped to ±1 has, per
// 16-sample period, 10 samples at ±1 (|sin| ≥ 0.495 at 45°, 67.5°, 90°, ...), 4 at ±2·sin(22.5°) and 2 at 0:
// saturation 10/16 = 62.5 %, RMS √((4·(2·sin 22.5°)² + 10)/16), crest 20·log10(1/RMS) ≈ 1.13 dB.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioFrame } from '../../core/audio.js';
import { clippingEvent } from './clipping-detector.js';
import { countAtOrAbove, frameLevels, measureSamples } from './signal.js';
import { silenceFrame, sineFrame } from './test-signals.js';

describe('ClippingDetectorNode', () => {
  test('a clean sine does not clip', () => {
    const e = clippingEvent(sineFrame(0.5), 0.99, 1, 3);
    assert.equal(e.saturation_ratio, 0);
    assert.ok(Math.abs(e.crest_factor_db - 20 * Math.log10(Math.SQRT2)) < 1e-4, String(e.crest_factor_db));
    assert.equal(e.is_clipping, false);
    assert.equal(e.health, 1);
  });

  test('a clipped sine clips: saturation 62.5 %, crest factor about 1.13 dB, health 0', () => {
    const e = clippingEvent(sineFrame(2), 0.99, 1, 3);
    const low = 2 * Math.sin(Math.PI / 8);
    const rms = Math.sqrt((4 * low * low + 10) / 16);
    assert.ok(Math.abs(e.saturation_ratio - 62.5) < 1e-9, String(e.saturation_ratio));
    assert.ok(Math.abs(e.crest_factor_db - 20 * Math.log10(1 / rms)) < 1e-4, String(e.crest_factor_db));
    assert.equal(e.is_clipping, true);
    assert.equal(e.health, 0);
  });

  test('silence reads a crest factor of 20 dB and does not clip', () => {
    const e = clippingEvent(silenceFrame(), 0.99, 1, 3);
    assert.deepEqual([e.crest_factor_db, e.saturation_ratio, e.is_clipping, e.health], [20, 0, false, 1]);
    assert.deepEqual(Object.keys(e), [
      '_schema',
      'crest_factor_db',
      'health',
      'is_clipping',
      'saturation_ratio',
      'stream_id',
      'timestamp_us',
    ]);
  });

  test('health falls with the saturation ratio below its threshold', () => {
    // 62.5 % saturated against a 100 % threshold.
    const e = clippingEvent(sineFrame(2), 0.99, 100, 0);
    assert.ok(Math.abs(e.health - 0.375) < 1e-9);
    assert.equal(e.is_clipping, false);
  });
});

describe('frame levels shared by the analysers', () => {
  test('the saturation count is the one-pass count, at the threshold too; levels are measured once per frame', () => {
    const threshold = 0.99;
    const at = Math.fround(threshold);
    const cases = [
      Float32Array.from([0.1, -0.2, 0.3]),
      Float32Array.from([at, -at, 0.5, Math.fround(0.98999), 1, -1]),
      Float32Array.from({ length: 320 }, (_, i) => Math.sin(i / 7) * (i % 3 === 0 ? 1.2 : 0.99)),
      new Float32Array(320),
    ];
    for (const samples of cases) {
      const frame = new AudioFrame(samples, { sampleRate: 16000, channels: 1 });
      const once = measureSamples(samples, threshold, { sumSquares: 0, peak: 0, atOrAbove: 0 });
      const levels = frameLevels(frame);
      assert.equal(levels.sumSquares, once.sumSquares);
      assert.equal(levels.peak, once.peak);
      assert.equal(countAtOrAbove(samples, threshold, levels.peak), once.atOrAbove);
      assert.equal(frameLevels(frame), levels, 'kept on the frame');
    }
  });
});
