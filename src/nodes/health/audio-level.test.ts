// Expected values follow from the formulas: a sine of amplitude A over whole periods has RMS A/√2, so
// rms_db = 20·log10(A) - 3.0103; with a sample on each peak, peak_db = 20·log10(A). Health interpolates
// rms_db between the silence and low-volume thresholds, as RemoteMedia's audio_level.rs does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPipeline } from '../../pipeline/executor.js';
import { asyncFrom, chain, manifestOf } from '../test-support.js';
import { audioLevelEvent } from './audio-level.js';
import { silenceFrame, sineFrame } from './test-signals.js';

const HALF_POWER_DB = 20 * Math.log10(Math.SQRT1_2); // -3.0103

describe('AudioLevelNode', () => {
  test('silence reads -120 dB, is_silence, health 0', () => {
    const e = audioLevelEvent(silenceFrame(), -20, -60);
    assert.deepEqual(e, {
      _schema: 'audio_level_event',
      health: 0,
      is_low_volume: false,
      is_silence: true,
      peak_db: -120,
      rms_db: -120,
      stream_id: null,
      timestamp_us: null,
    });
  });

  test('a sine at 0.1 is low volume, health between the thresholds', () => {
    const e = audioLevelEvent(sineFrame(0.1, { streamId: 'a', timestampUs: 40_000 }), -20, -60);
    const rms = -20 + HALF_POWER_DB; // -23.0103
    assert.ok(Math.abs(e.rms_db - rms) < 1e-4, String(e.rms_db));
    assert.ok(Math.abs(e.peak_db + 20) < 1e-4, String(e.peak_db));
    assert.equal(e.is_low_volume, true);
    assert.equal(e.is_silence, false);
    assert.ok(Math.abs(e.health - (rms + 60) / 40) < 1e-5, String(e.health)); // 0.9247
    assert.equal(e.stream_id, 'a');
    assert.equal(e.timestamp_us, 40_000);
  });

  test('a sine at 0.5 is healthy', () => {
    const e = audioLevelEvent(sineFrame(0.5), -20, -60);
    assert.ok(Math.abs(e.rms_db - (20 * Math.log10(0.5) + HALF_POWER_DB)) < 1e-4);
    assert.equal(e.is_low_volume, false);
    assert.equal(e.health, 1);
  });

  test('in a pipeline: one event per frame with RemoteMedia key order; other items pass through', async () => {
    const m = manifestOf(chain([['level', 'AudioLevelNode', { silence_threshold_db: -50 }]]));
    const r = await runPipeline(m, { input: asyncFrom([sineFrame(0.5), 'not audio', silenceFrame()]) });
    assert.equal(r.state, 'completed');
    assert.equal(r.outputs.length, 3);
    assert.deepEqual(Object.keys(r.outputs[0] as object), [
      '_schema',
      'health',
      'is_low_volume',
      'is_silence',
      'peak_db',
      'rms_db',
      'stream_id',
      'timestamp_us',
    ]);
    assert.equal(r.outputs[1], 'not audio');
    assert.equal((r.outputs[2] as { is_silence: boolean }).is_silence, true);
  });

  test('RemoteMedia params it ignores are accepted; unknown ones are refused', () => {
    manifestOf(chain([['level', 'AudioLevelNode', { window_size_ms: 100, low_volume_threshold_db: -40 }]]));
    assert.throws(() => manifestOf(chain([['level', 'AudioLevelNode', { threshold: 1 }]])), /threshold/);
  });
});
