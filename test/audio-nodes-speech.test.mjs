// The audio processing nodes on real recorded speech (Debian's pocketsphinx-testdata, a LibriVox clip at 16 kHz),
// through the executor: 16 kHz mono → 48 kHz stereo → 16 kHz mono gives the clip back, and an utterance
// accumulator fed by a simple energy VAD cuts utterances inside the clip. Skipped when the package is missing.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import wavefile from 'wavefile';
import { AudioFrame } from '../dist/core/audio.js';
import { runPipeline } from '../dist/pipeline/executor.js';
import { createNodeTypeRegistry, defineNodeType } from '../dist/pipeline/node.js';
import { BUILTIN_NODE_TYPES } from '../dist/nodes/registry.js';
import { chain, manifestOf } from '../dist/nodes/test-support.js';

const CLIP = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';
const skip = existsSync(CLIP) ? false : `${CLIP} missing (apt-get install pocketsphinx-testdata)`;

/** The clip as f32 mono samples at its rate. */
function readClip() {
  const wav = new wavefile.WaveFile(readFileSync(CLIP));
  wav.toBitDepth('32f');
  const fmt = wav.fmt;
  assert.equal(fmt.numChannels, 1);
  return { rate: fmt.sampleRate, samples: Float32Array.from(wav.getSamples(false)) };
}

/** A registry with a `Clip` source emitting the samples in 20 ms frames, and (optionally) energy VAD events. */
function registryFor(samples, rate, withVad) {
  const frames = [];
  const n = rate / 50;
  let speaking = false;
  let quiet = 0;
  for (let at = 0; at + n <= samples.length; at += n) {
    const s = samples.slice(at, at + n);
    const f = new AudioFrame(s, { sampleRate: rate, channels: 1, timestampUs: (at / rate) * 1e6 });
    if (withVad) {
      // RMS above -35 dBFS is speech; 300 ms below ends it (the test's stand-in for a VAD).
      const rms = Math.sqrt(s.reduce((a, v) => a + v * v, 0) / s.length);
      if (rms > 0.018) {
        quiet = 0;
        if (!speaking) frames.push({ is_speech_start: true, is_speech_end: false });
        speaking = true;
      } else if (speaking && ++quiet >= 15) {
        frames.push({ is_speech_start: false, is_speech_end: true });
        speaking = false;
      }
    }
    frames.push(f);
  }
  const Clip = defineNodeType({
    name: 'Clip',
    aliases: [],
    role: 'source',
    description: 'test source',
    params: Type.Object({}),
    create: () => ({ readsInput: false, items: () => frames }),
  });
  return createNodeTypeRegistry([...BUILTIN_NODE_TYPES.types, Clip]);
}

describe('audio nodes on recorded speech', { skip }, () => {
  test('16 kHz mono → 48 kHz stereo → 16 kHz mono gives the clip back', async () => {
    const { rate, samples } = readClip();
    assert.equal(rate, 16_000);
    const registry = registryFor(samples, rate, false);
    const m = manifestOf(
      chain([
        ['clip', 'Clip'],
        ['up', 'AudioTransform', { output_sample_rate: 48_000, output_channels: 2, quality: 'High' }],
        ['down', 'FastResampleNode', { target_rate: 16_000, channels: 1, quality: 'High' }],
      ]),
      registry,
    );
    const r = await runPipeline(m);
    assert.equal(r.state, 'completed');
    const frames = r.outputs.filter((o) => o instanceof AudioFrame);
    const y = new Float32Array(frames.reduce((a, f) => a + f.samples.length, 0));
    let at = 0;
    for (const f of frames) {
      y.set(f.samples, at);
      at += f.samples.length;
    }
    const x = samples.subarray(0, Math.floor(samples.length / 320) * 320);
    assert.equal(y.length, x.length, 'exactly the input length after two conversions');
    // Speech is band-limited below 8 kHz, so the round trip loses almost nothing: error energy under 1 %
    // (-20 dB) of the signal's.
    let err = 0;
    let sig = 0;
    for (let i = 0; i < x.length; i++) {
      err += (x[i] - y[i]) ** 2;
      sig += x[i] ** 2;
    }
    assert.ok(err / sig < 0.01, `round-trip error energy ${(err / sig).toExponential(2)} of the signal`);
  });

  test('resample → chunk → accumulate between VAD events gives utterances inside the clip', async () => {
    const { rate, samples } = readClip();
    const registry = registryFor(samples, rate, true);
    const m = manifestOf(
      chain([
        ['clip', 'Clip'],
        ['acc', 'AudioBufferAccumulatorNode', { min_utterance_duration_ms: 300 }],
        ['resample', 'AutoResampleNode', { target_rate: 8_000 }],
        ['chunk', 'AudioChunkerNode', { chunk_size_ms: 100 }],
      ]),
      registry,
    );
    const r = await runPipeline(m);
    assert.equal(r.state, 'completed');
    const chunks = r.outputs.filter((o) => o instanceof AudioFrame);
    assert.ok(chunks.length > 0);
    for (const c of chunks) assert.deepEqual([c.sampleRate, c.frames], [8_000, 800]);
    const clipSeconds = samples.length / rate;
    const utterances = chunks.map((c) => c.metadata.utterance);
    assert.ok(new Set(utterances.map((u) => u.start)).size >= 1);
    let lastEnd = 0;
    for (const u of utterances) {
      assert.ok(
        u.start >= lastEnd - 1e-9 && u.end > u.start && u.end <= clipSeconds + 1e-9,
        JSON.stringify(u),
      );
      lastEnd = u.start;
    }
  });
});
