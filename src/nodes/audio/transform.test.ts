import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioFrame } from '../../core/audio.js';
import { AudioTransform } from './transform.js';
import { concatSamples, drive, framesIn, framesOf, nodeOf, sine } from './test-support.js';

const peak = (x: Float32Array): number => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('AudioTransform', () => {
  test('resamples to output_sample_rate, mixes to output_channels and applies gain_db', async () => {
    const node = nodeOf(AudioTransform, { output_sample_rate: 16_000, output_channels: 1, gain_db: -6.0206 });
    const out = framesIn(await drive(node, framesOf(sine(440, 44_100, 0.5, 2, 0.8), 44_100, 2, 882)));
    await node.cleanup?.();
    const y = concatSamples(out);
    assert.deepEqual([out[0]?.sampleRate, out[0]?.channels], [16_000, 1]);
    assert.equal(y.length, 8000);
    assert.ok(Math.abs(peak(y.subarray(400)) - 0.4) < 0.01, `peak ${String(peak(y))}`);
  });

  test("defaults are the SDK's (44100 Hz, 2 channels): mono is copied to both channels", async () => {
    const f = new AudioFrame(Float32Array.from([0.1, 0.2, 0.3]), { sampleRate: 44_100, channels: 1 });
    const node = nodeOf(AudioTransform, { gain: 2 });
    const [out] = framesIn(await drive(node, [f]));
    assert.deepEqual([out?.channels, out?.sampleRate], [2, 44_100]);
    assert.deepEqual(Array.from(out?.samples ?? []), [0.2, 0.2, 0.4, 0.4, 0.6, 0.6].map(Math.fround));
  });

  test('non-audio passes through; a conversion it cannot make is an item error', async () => {
    const node = nodeOf(AudioTransform, { output_sample_rate: 16_000, output_channels: 4 });
    assert.deepEqual(await drive(node, ['text']), ['text']);
    const f = new AudioFrame(new Float32Array(6), { sampleRate: 16_000, channels: 3 });
    assert.throws(() => node.process(f), /AudioTransform cannot mix 3 channels into 4/);
  });
});
