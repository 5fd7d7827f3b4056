import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioFrame } from '../../core/audio.js';
import { AudioBuffer } from './audio-buffer.js';
import { AudioChunkerNode } from './chunker.js';
import { concatSamples, drive, framesIn, framesOf, nodeOf } from './test-support.js';

const ramp = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i / n);

describe('AudioChunkerNode', () => {
  test('cuts frames of any size into chunk_size chunks, carrying the remainder; drops it at end of stream', async () => {
    const x = ramp(5000);
    const out = framesIn(
      await drive(nodeOf(AudioChunkerNode, { chunk_size: 512 }), framesOf(x, 16_000, 1, 300)),
    );
    assert.equal(out.length, Math.floor(5000 / 512));
    for (const c of out) assert.equal(c.frames, 512);
    assert.deepEqual(concatSamples(out), x.subarray(0, out.length * 512));
    // Timestamps come from the stream position: chunk k starts at k × 512 / 16000 s.
    assert.deepEqual(
      out.map((c) => c.timestampUs),
      out.map((_, k) => (k * 512 * 1e6) / 16_000),
    );
  });

  test('chunkSize and chunk_size_ms are accepted; sizes count samples per channel', async () => {
    const stereo = framesOf(ramp(2 * 1600), 16_000, 2, 1000);
    const a = framesIn(await drive(nodeOf(AudioChunkerNode, { chunkSize: 320 }), stereo));
    const b = framesIn(await drive(nodeOf(AudioChunkerNode, { chunk_size_ms: 20 }), stereo));
    assert.deepEqual(
      a.map((c) => [c.frames, c.channels]),
      Array.from({ length: 5 }, () => [320, 2]),
    );
    assert.deepEqual(concatSamples(a), concatSamples(b));
  });

  test('non-audio, and a format change while part of a chunk is held, are item errors', async () => {
    const node = nodeOf(AudioChunkerNode, { chunk_size: 512 });
    assert.throws(() => node.process({ a: 1 }), /AudioChunkerNode takes audio frames, got object/);
    await drive(node, [new AudioFrame(new Float32Array(100), { sampleRate: 16_000, channels: 1 })], false);
    const f48 = new AudioFrame(new Float32Array(960), { sampleRate: 48_000, channels: 2 });
    assert.throws(
      () => node.process(f48),
      /AudioChunkerNode expects the format of the 100 frames it holds \(16000 Hz, 1 channel\), got 48000 Hz, 2 channels/,
    );
  });

  test('streams are chunked apart', async () => {
    const a = framesOf(ramp(600), 16_000, 1, 300, 'a');
    const b = framesOf(
      ramp(600).map((v) => -v),
      16_000,
      1,
      300,
      'b',
    );
    const out = framesIn(
      await drive(nodeOf(AudioChunkerNode, { chunk_size: 512 }), [a[0], b[0], a[1], b[1]] as AudioFrame[]),
    );
    assert.deepEqual(
      out.map((c) => [c.streamId, c.samples[0]]),
      [
        ['a', 0],
        ['b', -0],
      ],
    );
  });
});

describe('AudioBuffer', () => {
  test('emits buffer_size_samples frames, the remainder at end of stream, drops non-audio', async () => {
    const x = ramp(1000);
    const items: unknown[] = framesOf(x, 16_000, 1, 300);
    items.splice(1, 0, 'not audio');
    const out = await drive(nodeOf(AudioBuffer, { buffer_size_samples: 400 }), items);
    assert.deepEqual(
      framesIn(out).map((f) => f.frames),
      [400, 400, 200],
    );
    assert.equal(out.length, 3);
    assert.deepEqual(concatSamples(framesIn(out)), x);
  });

  test('a format change emits what is held and starts over', async () => {
    const out = framesIn(
      await drive(nodeOf(AudioBuffer, { buffer_size_samples: 400 }), [
        new AudioFrame(new Float32Array(300), { sampleRate: 16_000, channels: 1 }),
        new AudioFrame(new Float32Array(800), { sampleRate: 8_000, channels: 1 }),
      ]),
    );
    assert.deepEqual(
      out.map((f) => [f.sampleRate, f.frames]),
      [
        [16_000, 300],
        [8_000, 400],
        [8_000, 400],
      ],
    );
  });
});
