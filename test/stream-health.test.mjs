// RemoteMedia's own stream-health manifest (test/fixtures/remotemedia/stream-health.yaml, unchanged) and
// pitlane's example run on a real recording: a LibriVox clip from Debian's pocketsphinx-testdata (16 kHz mono),
// decoded with wavefile and fed as 20 ms AudioFrames (stamped as if arriving in real time) through runPipeline.
// The same through the CLI: `pitlane run <manifest> -i <clip>`.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import wavefile from 'wavefile';
import { AudioFrame } from '../dist/core/audio.js';
import { BUILTIN_NODE_TYPES } from '../dist/nodes/registry.js';
import { runPipeline } from '../dist/pipeline/executor.js';
import { loadManifestFile } from '../dist/pipeline/manifest.js';
import { ROOT, pitlane } from './helpers.mjs';

const CLIP = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';
const FIXTURE = join(ROOT, 'test', 'fixtures', 'remotemedia', 'stream-health.yaml');
const EXAMPLE = join(ROOT, 'examples', 'pipelines', 'stream-health.yaml');

/** The clip as 20 ms frames whose arrival time equals their media time (a live source on time). */
function clipFrames() {
  assert.ok(existsSync(CLIP), `needs Debian's pocketsphinx-testdata (${CLIP})`);
  const wav = new wavefile.WaveFile(readFileSync(CLIP));
  wav.toBitDepth('32f');
  const samples = wav.getSamples(true, Float32Array);
  const { sampleRate, numChannels: channels } = wav.fmt;
  const step = (sampleRate / 50) * channels;
  const frames = [];
  for (let i = 0; i + step <= samples.length; i += step) {
    const t = Math.round((i / channels / sampleRate) * 1e6);
    frames.push(
      new AudioFrame(samples.slice(i, i + step), {
        sampleRate,
        channels,
        timestampUs: t,
        arrivalTsUs: 1e6 + t,
      }),
    );
  }
  return frames;
}

async function run(file, frames) {
  const manifest = await loadManifestFile(file, BUILTIN_NODE_TYPES);
  const outputs = [];
  async function* input() {
    yield* frames;
  }
  const r = await runPipeline(manifest, {
    input: input(),
    onOutput: (value, node) => {
      outputs.push([node, value]);
      return null;
    },
  });
  assert.equal(r.state, 'completed', r.error?.message);
  return outputs;
}

describe("RemoteMedia's stream-health manifest on a WAV", () => {
  test('runs unchanged: every node gets every frame; the analysers emit one event each per frame', async () => {
    const frames = clipFrames();
    const out = await run(FIXTURE, frames);
    const count = (node, schema) => out.filter(([n, v]) => n === node && v._schema === schema).length;
    assert.equal(count('audio_level', 'audio_level_event'), frames.length);
    assert.equal(count('silence_detector', 'silence_event'), frames.length);
    assert.equal(count('clipping_detector', 'clipping_event'), frames.length);
    assert.equal(count('channel_balance', 'channel_balance_event'), frames.length);
    // Speech has sound: some frames are neither silent nor low volume; mono reads as balanced.
    assert.ok(out.some(([n, v]) => n === 'audio_level' && !v.is_silence && !v.is_low_volume));
    assert.ok(out.filter(([n]) => n === 'channel_balance').every(([, v]) => v.health === 1));
    // Frames on time: the timing emitter's one health event, score 1, no alerts.
    const timing = out.filter(([n]) => n === 'health_timing').map(([, v]) => v);
    assert.deepEqual(
      timing.map((e) => [e.type, e.score, e.alerts]),
      [['health', 1, []]],
    );
  });

  test("pitlane's example aggregates the analysers' events into health events on change", async () => {
    const out = await run(EXAMPLE, clipFrames());
    assert.ok(out.length > 1);
    assert.ok(out.every(([, v]) => v.type === 'health'));
    const issues = new Set(out.filter(([n]) => n === 'health').flatMap(([, v]) => v.alerts));
    // The clip starts quiet and has pauses between phrases.
    assert.ok(issues.has('SILENCE') || issues.has('LOW_VOLUME'), [...issues].join());
  });
});

describe('pitlane run -i <WAV> with the stream-health manifests', () => {
  const lines = (stdout) =>
    stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

  test("RemoteMedia's manifest, unchanged: four analyser events per 20 ms frame, and timing health", async () => {
    const r = await pitlane(['run', FIXTURE, '-i', CLIP]);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    const frames = Math.ceil(113_600 / 320); // the clip's samples in 20 ms frames
    for (const schema of ['audio_level_event', 'silence_event', 'clipping_event', 'channel_balance_event']) {
      assert.equal(out.filter((e) => e._schema === schema).length, frames, schema);
    }
    assert.ok(out.some((e) => e.type === 'health'));
  });

  test("pitlane's example: health events, and timing events (a file read faster than real time drifts)", async () => {
    const r = await pitlane(['run', EXAMPLE, '-i', CLIP]);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.ok(out.filter((e) => e.type === 'health').length > 1);
    assert.deepEqual(
      [...new Set(out.map((e) => e.type))].filter((t) => !['health', 'drift', 'cadence'].includes(t)),
      [],
    );
  });
});
