// Expected values follow RemoteMedia's drift_metrics.rs: alerts need 5 consecutive frames to raise (none in the
// first 50), a jump in lead over the threshold between two frames is a lead jump, cadence variation is the
// coefficient of variation of the media intervals, and a step back in media time clears every alert.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CADENCE_UNSTABLE, DriftMetrics, LEAD_JUMP } from './drift-metrics.js';

const thresholds = { leadJumpUs: 50_000, cadenceCvThreshold: 0.3, healthThreshold: 0.7 };

describe('DriftMetrics', () => {
  test('intervals alternating 10 and 30 ms: cadence cv about 0.5, CADENCE_UNSTABLE, score 1 - 0.2', () => {
    const d = new DriftMetrics(thresholds);
    let media = 0;
    for (let i = 0; i < 100; i++) {
      d.record(media, media);
      media += i % 2 === 0 ? 10_000 : 30_000;
    }
    assert.ok(Math.abs(d.cadenceCv() - 0.5) < 0.01, String(d.cadenceCv()));
    assert.equal(d.alerts(), CADENCE_UNSTABLE);
    assert.ok(Math.abs(d.healthScore() - 0.8) < 1e-9);
    // A step back in media time is a discontinuity: the alerts clear.
    d.record(0, 1e9);
    assert.equal(d.alerts(), 0);
  });

  test('one late frame is no lead jump; five jumps in a row are', () => {
    const d = new DriftMetrics(thresholds);
    let i = 0;
    const frame = (lateUs: number): boolean => {
      const media = i++ * 20_000;
      return d.record(media, media + lateUs);
    };
    for (let k = 0; k < 60; k++) frame(0);
    frame(200_000);
    frame(0);
    for (let k = 0; k < 20; k++) frame(0);
    assert.equal(d.alerts() & LEAD_JUMP, 0);
    const changed = [0, 1, 2, 3, 4].map((k) => frame(k % 2 === 0 ? 200_000 : 0));
    assert.deepEqual(changed.slice(0, 4), [false, false, false, false]);
    assert.notEqual(d.alerts() & LEAD_JUMP, 0);
  });
});
