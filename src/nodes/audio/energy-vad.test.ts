import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioFrame } from '../../core/audio.js';
import { manifestOf } from '../test-support.js';
import { energyVadNode, energyVadSettings, energyWindowSize, isVoiced } from './energy-vad.js';
import { framesOf, runNode, toneAndSilence, transitions } from './vad-test-support.js';
import type { VadEvent } from './vad-stream.js';

const defaults = () => energyVadNode(energyVadSettings({}));
/** 0.5 s silence, 0.5 s tone at 0.5, 0.5 s silence, at 16 kHz. */
const burst = () =>
  toneAndSilence(16000, [
    { seconds: 0.5, amplitude: 0 },
    { seconds: 0.5, amplitude: 0.5 },
    { seconds: 0.5, amplitude: 0 },
  ]);

describe('FastVAD (energy VAD)', () => {
  test('a window is voiced when its mean square is strictly above the threshold', () => {
    const t = energyVadSettings({}).meanSquareThreshold;
    assert.equal(t, 0.0001); // 0.01 linear RMS, −40 dBFS
    assert.equal(isVoiced(new Float64Array(480).fill(0.0101), t), true);
    assert.equal(isVoiced(new Float64Array(480).fill(0.0099), t), false);
    assert.equal(isVoiced(new Float64Array(480), t), false);
    // Exactly at the threshold (0.5² = 0.25 is exact in binary) is not above it.
    const half = energyVadSettings({ energy_threshold: 0.5 }).meanSquareThreshold;
    assert.equal(isVoiced(new Float64Array(480).fill(0.5), half), false);
    assert.equal(isVoiced(new Float64Array(480).fill(0.5000001), half), true);
    const db = energyVadSettings({ energy_threshold_db: -20 }).meanSquareThreshold;
    assert.ok(Math.abs(db - 0.01) < 1e-15);
    assert.equal(energyWindowSize(16000, 30), 480);
    assert.equal(energyWindowSize(44100, 30), 1323);
  });

  test('speech starts at the first voiced window and ends at the first sample of the hangover silence', async () => {
    const out = await runNode(defaults(), framesOf(burst(), 320));
    // Tone from sample 8000: the 480-sample window at 7680 (0.48 s) holds 320 tone samples, so it is voiced.
    // It ends at sample 16000: the window at 15840 is voiced, the four from 16320 (1.02 s) are not: 4 × 30 ms ≥ 100.
    assert.deepEqual(transitions(out), ['speech_start@480000', 'speech_end@1020000']);
    const start = out.find((o) => (o as VadEvent).event === 'speech_start') as VadEvent;
    assert.equal(start.is_speech_start, true);
    assert.equal(start.is_speech_end, false);
    assert.equal(start.has_speech, true);
    assert.equal(start.speech_probability, 1);
    assert.equal(start.time, 0.48);
    assert.equal(start.timestamp_ms, 510); // 17 windows of 480 samples analysed
    assert.equal(start.sample_rate, 16000);
    assert.equal(start.samples, 320);
    assert.equal(start.stream_id, undefined);
  });

  test('each frame gives its events (or one frame event), then the frame itself unchanged', async () => {
    const frames = framesOf(burst(), 320);
    const out = await runNode(defaults(), frames);
    const passed = out.filter((o) => o instanceof AudioFrame);
    assert.equal(passed.length, frames.length);
    passed.forEach((f, i) => assert.equal(f, frames[i]));
    const events = out.filter((o) => !(o instanceof AudioFrame)) as VadEvent[];
    assert.equal(events.length, frames.length); // no frame holds two transitions here
    assert.ok(out[0] !== undefined && (out[0] as VadEvent).event === 'frame');
    assert.equal(out[1], frames[0]);
    const quiet = events[0];
    assert.ok(quiet !== undefined);
    assert.equal(quiet.has_speech, false);
    assert.equal(quiet.rms, 0);
  });

  test('the same segments whatever the framing, and interleaved streams as each alone', async () => {
    const signal = burst();
    const whole = transitions(await runNode(defaults(), framesOf(signal, signal.length)));
    for (const n of [160, 320, 1600, 4999]) {
      assert.deepEqual(transitions(await runNode(defaults(), framesOf(signal, n))), whole, `frames of ${n}`);
    }
    const a = framesOf(signal, 320, { streamId: 'a' });
    const b = framesOf(signal.subarray(4000), 480, { streamId: 'b' });
    const mixed: AudioFrame[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++)
      mixed.push(...[a[i], b[i]].filter((f) => f !== undefined));
    const together = transitions(await runNode(defaults(), mixed));
    const alone = [
      ...transitions(await runNode(defaults(), a)),
      ...transitions(await runNode(defaults(), b)),
    ];
    assert.deepEqual([...together].sort(), [...alone].sort());
    assert.ok(together.some((t) => t.startsWith('b:speech_start')));
  });

  test('times follow the frames’ timestamps; speech open at the end is closed by flush', async () => {
    const speech = toneAndSilence(16000, [
      { seconds: 0.3, amplitude: 0 },
      { seconds: 0.3, amplitude: 0.5 },
    ]);
    const out = await runNode(defaults(), framesOf(speech, 320, { startUs: 5_000_000 }));
    assert.deepEqual(transitions(out), ['speech_start@5300000', 'speech_end@5600000']);
    const end = out.at(-1) as VadEvent;
    assert.equal(end.is_speech_end, true);
    assert.equal(end.samples, 0);
  });

  test('silence, low noise and anti-phase stereo (silent once mixed to mono) detect nothing', async () => {
    let seed = 1;
    const noise = Float32Array.from({ length: 16000 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed / 2 ** 31 - 0.5) * 0.01; // ~−55 dBFS
    });
    assert.deepEqual(transitions(await runNode(defaults(), framesOf(noise, 320))), []);
    assert.deepEqual(transitions(await runNode(defaults(), framesOf(new Float32Array(8000), 320))), []);
    const tone = toneAndSilence(16000, [{ seconds: 0.5, amplitude: 0.5 }]);
    const stereo = new Float32Array(tone.length * 2);
    tone.forEach((x, i) => {
      stereo[2 * i] = x;
      stereo[2 * i + 1] = -x;
    });
    const frame = new AudioFrame(stereo, { sampleRate: 16000, channels: 2 });
    assert.deepEqual(transitions(await runNode(defaults(), [frame])), []);
    const same = new AudioFrame(
      Float32Array.from(stereo, (x, i) => (i % 2 === 0 ? x : -x)),
      {
        sampleRate: 16000,
        channels: 2,
      },
    );
    assert.deepEqual(transitions(await runNode(defaults(), [same])), ['speech_start@0', 'speech_end@500000']);
  });

  test('items that are not audio pass through; a stream that changes rate is an item error', async () => {
    assert.deepEqual(await runNode(defaults(), [{ text: 'hi' }, 3]), [{ text: 'hi' }, 3]);
    const node = defaults();
    node.process(new AudioFrame(new Float32Array(320), { sampleRate: 16000, channels: 1 }));
    assert.throws(
      () => node.process(new AudioFrame(new Float32Array(320), { sampleRate: 8000, channels: 1 })),
      /FastVAD: stream \(default\) changed sample rate from 16000 Hz to 8000 Hz/,
    );
  });

  test('manifests: RemoteMedia’s names load; a threshold given twice is refused with its path', () => {
    for (const type of ['FastVAD', 'FastVADNode', 'RustVADNode', 'VADNode']) {
      manifestOf({
        version: 'v1',
        metadata: { name: 't' },
        nodes: [{ id: 'vad', node_type: type, params: { frame_duration_ms: 30, energy_threshold: 0.02 } }],
        connections: [],
      });
    }
    assert.throws(
      () =>
        manifestOf({
          version: 'v1',
          metadata: { name: 't' },
          nodes: [
            { id: 'vad', node_type: 'FastVAD', params: { energy_threshold: 0.02, energy_threshold_db: -30 } },
          ],
          connections: [],
        }),
      /nodes\[0\]\.params\.energy_threshold_db: give energy_threshold \(linear\) or energy_threshold_db, not both/,
    );
  });
});
