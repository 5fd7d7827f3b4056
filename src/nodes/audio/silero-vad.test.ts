// SileroVAD's own logic with a stand-in model (the real model runs in test/vad.test.mjs): windows of the model's
// size cut across frames, the trigger logic with its two thresholds, the audio it refuses, and its params.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioFrame } from '../../core/audio.js';
import { ItemError } from '../../core/errors.js';
import type { SileroSampleRate, SileroVadModel } from '../../inference/backends/onnx/silero-vad.js';
import { sileroWindowSize } from '../../inference/backends/onnx/silero-vad.js';
import { manifestOf } from '../test-support.js';
import { sileroVadNode, sileroVadSettings } from './silero-vad.js';
import { framesOf, runNode, transitions } from './vad-test-support.js';
import type { VadEvent } from './vad-stream.js';

/** A stand-in model whose "probability" is the window's mean sample value; it records each window's length. */
function fakeModel(windows: number[]): () => Promise<SileroVadModel> {
  return () =>
    Promise.resolve({
      path: 'fake',
      createStream: (sr: SileroSampleRate) => {
        const window = new Float32Array(sileroWindowSize(sr));
        return {
          window,
          run: () => {
            windows.push(window.length);
            return Promise.resolve(window.reduce((a, b) => a + b, 0) / window.length);
          },
        };
      },
      close: () => Promise.resolve(),
    });
}

/** A signal whose "probability" per 512-sample window is given (each window holds that constant value). */
const byWindow = (probs: readonly number[], n = 512) => {
  const out = new Float32Array(probs.length * n);
  probs.forEach((p, i) => out.fill(p, i * n, (i + 1) * n));
  return out;
};

describe('SileroVAD (stand-in model)', () => {
  test('windows of 512 samples at 16 kHz cut across 20 ms frames; the remainder waits for the next frame', async () => {
    const windows: number[] = [];
    const node = sileroVadNode(sileroVadSettings({}), fakeModel(windows));
    const frames = framesOf(new Float32Array(16000), 320);
    const out = await runNode(node, frames);
    assert.deepEqual(new Set(windows), new Set([512]));
    assert.equal(windows.length, Math.floor(16000 / 512));
    assert.equal(out.filter((o) => o instanceof AudioFrame).length, 50);
  });

  test('8 kHz runs 256-sample windows when sampling_rate is 8000', async () => {
    const windows: number[] = [];
    const node = sileroVadNode(sileroVadSettings({ sampling_rate: 8000 }), fakeModel(windows));
    await runNode(node, framesOf(new Float32Array(2560), 160, { sampleRate: 8000 }));
    assert.deepEqual(windows, Array<number>(10).fill(256));
  });

  test('threshold starts speech, neg_threshold keeps it, and min_silence_duration_ms of silence ends it', async () => {
    const settings = sileroVadSettings({}); // 0.5, neg 0.35, 100 ms
    assert.equal(settings.negThreshold, 0.35);
    // w0 0.1, w1 0.6 (start at 32 ms), w2 0.4 (kept: ≥ 0.35), w3..w5 0.1 (3 × 32 = 96 ms < 100), w6 0.6 (kept),
    // w7..w10 0.1: silence from w7 (224 ms), ends at the 4th window (128 ms ≥ 100).
    const probs = [0.1, 0.6, 0.4, 0.1, 0.1, 0.1, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1];
    const out = await runNode(sileroVadNode(settings, fakeModel([])), framesOf(byWindow(probs), 320));
    assert.deepEqual(transitions(out), ['speech_start@32000', 'speech_end@224000']);
    const start = out.find((o) => (o as VadEvent).is_speech_start) as VadEvent;
    assert.ok(Math.abs(start.speech_probability - 0.6) < 1e-6);
    assert.equal(start.has_speech, true);
    assert.equal(start.timestamp_ms, 64);
    const end = out.find((o) => (o as VadEvent).is_speech_end) as VadEvent;
    assert.equal(end.has_speech, false);
    assert.equal(end.timestamp_ms, 352);
  });

  test('neg_threshold above threshold is clamped to it; camelCase params are read', () => {
    const s = sileroVadSettings({
      threshold: 0.4,
      negThreshold: 0.9,
      samplingRate: 8000,
      minSilenceDurationMs: 300,
    });
    assert.deepEqual(s, { threshold: 0.4, negThreshold: 0.4, sampleRate: 8000, minSilenceMs: 300 });
    assert.equal(sileroVadSettings({ threshold: 0.1 }).negThreshold, 0);
  });

  test('audio that is not sampling_rate mono is an item error naming the node, what it got, and the fix', () => {
    const node = sileroVadNode(sileroVadSettings({}), fakeModel([]));
    const check = (sampleRate: number, channels: number, got: RegExp) =>
      assert.throws(
        () => node.process(new AudioFrame(new Float32Array(480 * channels), { sampleRate, channels })),
        (e: unknown) =>
          e instanceof ItemError &&
          /^SileroVAD takes 16000 Hz mono audio; got /.test(e.message) &&
          got.test(e.message) &&
          /FastResampleNode/.test(e.message),
      );
    check(48000, 1, /got 48000 Hz, 1 channel\./);
    check(16000, 2, /got 16000 Hz, 2 channels\./);
    check(8000, 1, /got 8000 Hz, 1 channel\./);
    assert.deepEqual(node.process('text'), 'text');
  });

  test('manifests: RemoteMedia’s spellings load, two spellings that disagree are refused', () => {
    const doc = (node_type: string, params: object) => ({
      version: 'v1',
      metadata: { name: 't' },
      nodes: [{ id: 'vad', node_type, params }],
      connections: [],
    });
    manifestOf(
      doc('SileroVADNode', {
        threshold: 0.5,
        samplingRate: 16000,
        minSpeechDurationMs: 250,
        minSilenceDurationMs: 500,
        speechPadMs: 30,
      }),
    );
    manifestOf(doc('SileroVAD', { min_silence_duration_ms: 500, minSilenceDurationMs: 500 }));
    manifestOf(
      doc('SileroVAD', {
        threshold: 0.5,
        min_speech_duration_ms: 250,
        min_silence_duration_ms: 500,
        pre_speech_pad_ms: 300,
      }),
    );
    // Params found in RemoteMedia's manifests that its node ignores load too.
    manifestOf(
      doc('SileroVADNode', {
        threshold: 0.5,
        speech_pad_ms: 30,
        passthrough_audio: true,
        max_speech_duration_s: 30,
        sample_rate: 16000,
        comment: 'Run VAD locally',
      }),
    );
    assert.throws(
      () => manifestOf(doc('SileroVAD', { sample_rate: 8000 })),
      /params\.sample_rate: sample_rate 8000 is not a setting of this node \(RemoteMedia ignores it\); it runs at sampling_rate, 16000/,
    );
    assert.throws(() => manifestOf(doc('SileroVAD', { treshold: 0.5 })), /treshold/);
    assert.throws(
      () => manifestOf(doc('SileroVAD', { sampling_rate: 16000, samplingRate: 8000 })),
      /nodes\[0\]\.params\.samplingRate: samplingRate and sampling_rate are two spellings of one param and disagree \(8000 vs 16000\)/,
    );
    assert.throws(() => manifestOf(doc('SileroVAD', { sampling_rate: 44100 })), /sampling_rate/);
  });
});
