import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioFrame } from '../../core/audio.js';
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { AudioResampleNode, FastResampleNode } from './resample.js';
import { CONVERTER_FOR_QUALITY } from './stream-resampler.js';
import { concatSamples, drive, framesIn, framesOf, nodeOf, sine } from './test-support.js';

/** Largest |a[i] - b[i]| over the common length. */
function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

async function resampled(params: Record<string, unknown>, frames: AudioFrame[]): Promise<AudioFrame[]> {
  const node = nodeOf(FastResampleNode, params);
  try {
    return framesIn(await drive(node, frames));
  } finally {
    await node.cleanup?.();
  }
}

describe('FastResampleNode', () => {
  test("quality levels map to libsamplerate's sinc converters of the same rank", () => {
    const t = libsamplerate.ConverterType;
    assert.deepEqual(CONVERTER_FOR_QUALITY, {
      Low: t.SRC_SINC_FASTEST,
      Medium: t.SRC_SINC_MEDIUM_QUALITY,
      High: t.SRC_SINC_BEST_QUALITY,
    });
  });

  test('a 1 s sine in 20 ms frames gives the samples of one piece, and exactly the ratio in length', async () => {
    const x = sine(440, 48_000, 1, 2);
    const whole = await resampled({ target_rate: 16_000 }, framesOf(x, 48_000, 2, 48_000));
    const parts = await resampled({ target_rate: 16_000 }, framesOf(x, 48_000, 2, 960));
    const a = concatSamples(whole);
    const b = concatSamples(parts);
    assert.equal(b.length, 16_000 * 2, 'stereo kept, 16000 frames: round(48000 × 16000/48000)');
    assert.equal(a.length, b.length);
    // libsamplerate's state carries across calls: chunking changes nothing (measured: identical samples).
    assert.ok(maxDiff(a, b) < 1e-4, `chunked vs whole differ by ${String(maxDiff(a, b))}`);
    // No click, gap or shift: away from the first and last 25 ms, the output is the 440 Hz sine at 16 kHz
    // (measured within 5e-6 at each quality).
    const ideal = sine(440, 16_000, 1, 2);
    let err = 0;
    for (let i = 400; i < b.length - 400; i++) err = Math.max(err, Math.abs((b[i] ?? 0) - (ideal[i] ?? 0)));
    assert.ok(err < 1e-4, `streamed output departs from the ideal sine by ${String(err)}`);
    for (const f of parts) assert.deepEqual([f.sampleRate, f.channels], [16_000, 2]);
  });

  test('output timestamps follow the stream position, so frames are contiguous', async () => {
    const out = await resampled(
      { sourceRate: 48_000, targetRate: 16_000, quality: 'Low' },
      framesOf(sine(300, 48_000, 0.2), 48_000, 1, 960),
    );
    let next = 0;
    for (const f of out) {
      assert.ok(Math.abs((f.timestampUs ?? -1) - next) < 1e-6);
      next += f.durationSeconds * 1e6;
    }
    assert.equal(Math.round(next), 200_000);
  });

  test('channels: 1 mixes stereo to mono (the mean), at the target rate', async () => {
    const left = sine(440, 48_000, 0.1);
    const st = new Float32Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      st[2 * i] = left[i] ?? 0;
      st[2 * i + 1] = 0;
    }
    const mono = await resampled({ target_rate: 16_000, channels: 1 }, framesOf(st, 48_000, 2, 960));
    const ref = await resampled({ target_rate: 16_000 }, framesOf(left, 48_000, 1, 960));
    assert.equal(mono[0]?.channels, 1);
    const a = concatSamples(mono);
    const b = concatSamples(ref).map((v) => v / 2);
    assert.equal(a.length, b.length);
    assert.ok(maxDiff(a, b) < 1e-5);
  });

  test('the same rate passes frames through untouched; non-audio items pass through', async () => {
    const f = framesOf(sine(440, 16_000, 0.02), 16_000, 1, 320)[0] as AudioFrame;
    const node = nodeOf(FastResampleNode, { target_rate: 16_000 });
    assert.deepEqual(await drive(node, [f, { text: 'hi' }, 'x']), [f, { text: 'hi' }, 'x']);
  });

  test('audio at another rate than source_rate, or a stream changing rate, is an item error naming both', async () => {
    const node = nodeOf(FastResampleNode, { source_rate: 48_000, target_rate: 16_000 });
    const f44 = new AudioFrame(new Float32Array(441), { sampleRate: 44_100, channels: 1 });
    assert.throws(
      () => node.process(f44),
      /FastResampleNode expects audio at 48000 Hz \(its source_rate\), got 44100 Hz, 1 channel/,
    );
    const auto = nodeOf(FastResampleNode, { target_rate: 16_000 });
    await drive(auto, [new AudioFrame(new Float32Array(960), { sampleRate: 48_000, channels: 1 })], false);
    assert.throws(() => auto.process(f44), /first frame \(48000 Hz, 1 channel\), got 44100 Hz, 1 channel/);
    await auto.cleanup?.();
  });

  test('streams keep their own converters: interleaved streams resample as each alone', async () => {
    const a = framesOf(sine(440, 48_000, 0.2), 48_000, 1, 960, 'a');
    const b = framesOf(sine(1000, 44_100, 0.2), 44_100, 1, 882, 'b');
    const mixed: AudioFrame[] = [];
    for (let i = 0; i < a.length; i++) mixed.push(a[i] as AudioFrame, b[i] as AudioFrame);
    const out = await resampled({ target_rate: 16_000 }, mixed);
    const alone = concatSamples(await resampled({ target_rate: 16_000 }, a));
    const fromA = concatSamples(out.filter((f) => f.streamId === 'a'));
    assert.equal(fromA.length, alone.length);
    assert.ok(maxDiff(fromA, alone) < 1e-6);
    assert.equal(concatSamples(out.filter((f) => f.streamId === 'b')).length, 3200);
  });

  test("AudioResampleNode has the Python SDK's defaults: 16 kHz, channels kept", async () => {
    const node = nodeOf(AudioResampleNode, {});
    const out = framesIn(await drive(node, framesOf(sine(440, 48_000, 0.1, 2), 48_000, 2, 960)));
    await node.cleanup?.();
    assert.deepEqual([out[0]?.sampleRate, out[0]?.channels], [16_000, 2]);
    assert.equal(concatSamples(out).length, 1600 * 2);
  });
});
