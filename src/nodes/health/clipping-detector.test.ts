// Expected values: a clean 1 kHz sine at 16 kHz has a sample on each peak and RMS A/√2 over whole periods, so
// its crest factor is 20·log10(√2) = 3.0103 dB (> 3: not clipping). The sine 2·sin clamped to ±1 has, per
// 16-sample period, 10 samples at ±1 (|sin| ≥ 0.495 at 45°, 67.5°, 90°, ...), 4 at ±2·sin(22.5°) and 2 at 0:
// saturation 10/16 = 62.5 %, RMS √((4·(2·sin 22.5°)² + 10)/16), crest 20·log10(1/RMS) ≈ 1.13 dB.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clippingEvent } from './clipping-detector.js';
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
