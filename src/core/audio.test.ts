import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioFrame, arrivalOf, audioFrameJson, f32leBytes, fromFrame } from './audio.js';

describe('AudioFrame', () => {
  test('knows its length in frames and seconds, and refuses impossible shapes', () => {
    const f = new AudioFrame(new Float32Array(960), {
      sampleRate: 48_000,
      channels: 2,
      timestampUs: 500_000,
    });
    assert.equal(f.frames, 480);
    assert.equal(f.durationSeconds, 0.01);
    assert.equal(f.startSeconds, 0.5);
    assert.throws(
      () => new AudioFrame(new Float32Array(3), { sampleRate: 16_000, channels: 2 }),
      /interleaved/,
    );
    assert.throws(() => new AudioFrame(new Float32Array(2), { sampleRate: 0, channels: 1 }), /sample rate/);
    assert.throws(() => new AudioFrame(new Float32Array(2), { sampleRate: 16_000, channels: 0 }), /channel/);
  });

  test('derive keeps the stream, timestamps and metadata unless replaced', () => {
    const f = new AudioFrame(new Float32Array(4), {
      sampleRate: 16_000,
      channels: 1,
      streamId: 'mic',
      timestampUs: 10,
      arrivalTsUs: 99,
      metadata: { speaker: 1 },
    });
    const d = f.derive(new Float32Array(2), { sampleRate: 8_000 });
    assert.deepEqual(
      [d.sampleRate, d.channels, d.streamId, d.timestampUs, d.arrivalTsUs, d.metadata],
      [8_000, 1, 'mic', 10, 99, { speaker: 1 }],
    );
  });

  test('JSON has the metadata and no samples unless asked; samples are little-endian f32 in base64', () => {
    const f = new AudioFrame(new Float32Array([0.5, -1]), { sampleRate: 16_000, channels: 1 });
    assert.deepEqual(JSON.parse(JSON.stringify(f)), {
      type: 'audio',
      sample_rate: 16_000,
      channels: 1,
      frames: 2,
      duration: 2 / 16_000,
    });
    const b64 = audioFrameJson(f, true).samples_f32le_base64 ?? '';
    const bytes = Buffer.from(b64, 'base64');
    assert.deepEqual([bytes.readFloatLE(0), bytes.readFloatLE(4)], [0.5, -1]);
    assert.equal(f32leBytes(f.samples).byteLength, 8);
  });
});

describe('arrival marks', () => {
  test('an item made from a frame carries its arrival time, invisible to JSON and Object.keys', () => {
    const f = new AudioFrame(new Float32Array(1), { sampleRate: 8000, channels: 1, arrivalTsUs: 1234.5 });
    const event = fromFrame({ type: 'vad', is_speech: true }, f);
    assert.equal(arrivalOf(event), 1234.5);
    assert.equal(arrivalOf(f), 1234.5);
    assert.equal(JSON.stringify(event), '{"type":"vad","is_speech":true}');
    assert.deepEqual(Object.keys(event), ['type', 'is_speech']);
    assert.equal(arrivalOf({ plain: 1 }), undefined);
    assert.equal(arrivalOf(7), undefined);
  });
});
