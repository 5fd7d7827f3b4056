// SileroVAD with the real Silero VAD model on ONNX Runtime, through the executor, on recorded speech (Debian's
// pocketsphinx-testdata: raw 16 kHz 16-bit mono clips and LibriVox WAV clips) and on synthesised silence and noise.
// Speech is where the recording is loud; framing and interleaving streams must not change the segments.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { AudioFrame } from '../dist/core/audio.js';
import { manifestOf } from '../dist/nodes/test-support.js';
import { runPipeline } from '../dist/pipeline/executor.js';

const DATA = '/usr/share/pocketsphinx/test/data';
const RAW = ['goforward.raw', 'numbers.raw', 'something.raw'];
const LIBRIVOX = ['0870', '0880', '0890', '0920', '0930'].map(
  (n) => `librivox/sense_and_sensibility_01_austen_64kb-${n}.wav`,
);
const skip = existsSync(`${DATA}/goforward.raw`)
  ? false
  : 'Debian package pocketsphinx-testdata is not installed';

/** 16-bit little-endian PCM as f32 in [-1, 1]. */
function pcm16(buf) {
  const out = new Float32Array(buf.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(2 * i) / 32768;
  return out;
}

/** A clip's samples: raw files as they are, WAV files from their `data` chunk (16 kHz 16-bit mono here). */
function clip(name) {
  const buf = readFileSync(`${DATA}/${name}`);
  if (name.endsWith('.raw')) return pcm16(buf);
  assert.equal(buf.readUInt16LE(22), 1, `${name}: mono`);
  assert.equal(buf.readUInt32LE(24), 16000, `${name}: 16 kHz`);
  let at = 12;
  while (at + 8 <= buf.length) {
    const size = buf.readUInt32LE(at + 4);
    if (buf.toString('latin1', at, at + 4) === 'data') return pcm16(buf.subarray(at + 8, at + 8 + size));
    at += 8 + size + (size & 1);
  }
  throw new Error(`${name}: no data chunk`);
}

function frames(samples, frameSamples, streamId) {
  const out = [];
  for (let i = 0; i < samples.length; i += frameSamples) {
    const timestampUs = Math.round((i * 1e6) / 16000);
    out.push(
      new AudioFrame(samples.slice(i, i + frameSamples), {
        sampleRate: 16000,
        channels: 1,
        streamId,
        timestampUs,
      }),
    );
  }
  return out;
}

async function* feed(items) {
  for (const f of items) yield f;
}

/** Runs a one-node VAD pipeline on frames; returns its outputs. */
async function vad(items, nodeType = 'SileroVADNode', params = {}) {
  const m = manifestOf({
    version: 'v1',
    metadata: { name: 'vad' },
    nodes: [{ id: 'vad', node_type: nodeType, params }],
    connections: [],
  });
  const r = await runPipeline(m, { input: feed(items) });
  assert.equal(r.state, 'completed', r.error?.message);
  return r.outputs;
}

/** Speech segments per stream from the events: { [stream]: [[startSeconds, endSeconds], ...] }. */
function segments(outputs) {
  const by = {};
  for (const o of outputs) {
    if (o?.type !== 'vad' || o.event === 'frame') continue;
    const list = (by[o.stream_id ?? ''] ??= []);
    if (o.event === 'speech_start') list.push([o.time]);
    else list.at(-1).push(o.time);
  }
  return by;
}

/** Start times of the 32 ms windows whose RMS is at least a quarter of the clip's loudest window. */
function loudWindows(samples) {
  const rms = [];
  for (let i = 0; i + 512 <= samples.length; i += 512) {
    let s = 0;
    for (let j = i; j < i + 512; j++) s += samples[j] ** 2;
    rms.push(Math.sqrt(s / 512));
  }
  const max = Math.max(...rms);
  return rms.flatMap((r, k) => (r >= max / 4 ? [(k * 512) / 16000] : []));
}

describe('SileroVAD on ONNX Runtime', { skip }, () => {
  test('finds speech where the recordings are loud, and little beyond them', async () => {
    for (const name of [...RAW, ...LIBRIVOX]) {
      const samples = clip(name);
      const outputs = await vad(frames(samples, 320));
      const segs = segments(outputs)[''] ?? [];
      assert.ok(segs.length >= 1, `${name}: no speech found`);
      for (const s of segs) assert.ok(s.length === 2 && s[0] < s[1], `${name}: segment ${JSON.stringify(s)}`);
      const inside = (t) => segs.some(([a, b]) => t >= a - 0.032 && t < b);
      const loud = loudWindows(samples);
      const covered = loud.filter(inside).length / loud.length;
      assert.ok(covered >= 0.9, `${name}: only ${(covered * 100).toFixed(0)}% of loud windows are in speech`);
      const speech = segs.reduce((n, [a, b]) => n + b - a, 0);
      assert.ok(speech < samples.length / 16000, `${name}: speech longer than the clip`);
      // The raw clips open with about half a second of room noise before the first word.
      if (name.endsWith('.raw')) assert.ok(segs[0][0] >= 0.25, `${name}: speech from ${segs[0][0]} s`);
      // The audio passes through unchanged, each frame after its VAD event.
      const passed = outputs.filter((o) => o instanceof AudioFrame);
      assert.equal(passed.length, Math.ceil(samples.length / 320));
    }
  });

  test('finds no speech in silence or in low noise', async () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const silence = new Float32Array(3 * 16000);
    const noise = Float32Array.from({ length: 3 * 16000 }, () => rand() * 0.003); // about −55 dBFS
    const hum = Float32Array.from(
      { length: 3 * 16000 },
      (_, i) => 0.01 * Math.sin((2 * Math.PI * 50 * i) / 16000),
    );
    for (const [what, samples] of Object.entries({ silence, noise, hum })) {
      const outputs = await vad(frames(samples, 320));
      assert.deepEqual(segments(outputs), {}, what);
      const events = outputs.filter((o) => o?.type === 'vad');
      assert.ok(events.length > 0 && events.every((e) => e.speech_probability < 0.5), what);
    }
  });

  test('20 ms and 100 ms frames give the same segments', async () => {
    for (const name of ['numbers.raw', LIBRIVOX[2]]) {
      const samples = clip(name);
      const small = segments(await vad(frames(samples, 320)))[''];
      const large = segments(await vad(frames(samples, 1600)))[''];
      assert.equal(small.length, large.length, name);
      small.forEach(([a, b], i) => {
        assert.ok(Math.abs(a - large[i][0]) <= 0.032, `${name}: start ${a} vs ${large[i][0]}`);
        assert.ok(Math.abs(b - large[i][1]) <= 0.032, `${name}: end ${b} vs ${large[i][1]}`);
      });
    }
  });

  test('two interleaved streams give what each gives alone', async () => {
    const a = frames(clip('goforward.raw'), 320, 'a');
    const b = frames(clip(LIBRIVOX[1]), 480, 'b');
    const mixed = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) mixed.push(...[a[i], b[i]].filter(Boolean));
    const together = segments(await vad(mixed));
    assert.deepEqual(together.a, segments(await vad(a)).a);
    assert.deepEqual(together.b, segments(await vad(b)).b);
    assert.ok(together.a.length >= 1 && together.b.length >= 1);
  });

  test('FastVAD emits the same kind of events, so the two are interchangeable', async () => {
    const items = frames(clip('goforward.raw'), 320);
    const silero = (await vad(items)).find((o) => o?.event === 'speech_start');
    const energy = (await vad(items, 'FastVADNode')).find((o) => o?.event === 'speech_start');
    assert.deepEqual(Object.keys(energy), Object.keys(silero));
    assert.ok(Math.abs(energy.time - silero.time) < 0.2, `${energy.time} vs ${silero.time}`);
  });

  test('audio at another rate fails with an error naming the node, the rate and the fix', async () => {
    const m = manifestOf({
      version: 'v1',
      metadata: { name: 'vad' },
      nodes: [{ id: 'vad', node_type: 'SileroVAD' }],
      connections: [],
    });
    const frame = new AudioFrame(new Float32Array(960), { sampleRate: 48000, channels: 1 });
    const r = await runPipeline(m, { input: feed([frame]) });
    assert.equal(r.state, 'failed');
    assert.match(r.error.message, /vad/);
    assert.match(r.error.message, /SileroVAD takes 16000 Hz mono audio; got 48000 Hz, 1 channel/);
  });
});

describe('FastVAD against its recorded contract', { skip }, () => {
  test('gives exactly the events of test/fixtures/vad/fastvad-goforward.json', async () => {
    const fixture = JSON.parse(
      readFileSync(new URL('fixtures/vad/fastvad-goforward.json', import.meta.url), 'utf8'),
    );
    const samples = clip('goforward.raw');
    for (const c of fixture.cases) {
      const outputs = await vad(frames(samples, c.frame_samples), 'FastVAD', c.params);
      const events = outputs.filter((o) => o?.type === 'vad');
      assert.deepEqual(
        events.filter((e) => e.event !== 'frame'),
        c.transitions,
        JSON.stringify(c.params),
      );
      assert.equal(events.filter((e) => e.event === 'frame').length, c.frame_events);
    }
  });
});
