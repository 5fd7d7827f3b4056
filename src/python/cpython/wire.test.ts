// The audio part of the CPython wire (wire.ts): the frames pitlane writes and the worker's frames it reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudioFrame } from '../../core/audio.js';
import { decodeValueBlock, K_BATCH, valueFrame } from './wire.js';

const HEADER = 5;

test('an AudioFrame goes out as an audio marker with its samples as aligned little-endian f32 bytes', () => {
  const frame = new AudioFrame(new Float32Array([0.5, -0.25, 1, 0]), {
    sampleRate: 16_000,
    channels: 2,
    streamId: 's',
    timestampUs: 20_000,
    metadata: { raw: Buffer.from('ab') },
  });
  const out = valueFrame(K_BATCH, ['x', frame]);
  const payload = out.subarray(HEADER);
  const jsonBytes = payload.readUInt32BE(0);
  assert.equal((4 + jsonBytes) % 8, 0, 'the JSON text is padded so that the samples start 8-byte aligned');
  const json = JSON.parse(payload.toString('utf8', 4, 4 + jsonBytes)) as unknown[];
  assert.deepEqual(json, [
    'x',
    { '\u0000a': [0, 16, 16_000, 2, 's', 20_000, { raw: { '\u0000b': [16, 2] } }] },
  ]);
  const area = payload.subarray(4 + jsonBytes);
  assert.deepEqual(
    [...new Float32Array(area.buffer.slice(area.byteOffset, area.byteOffset + 16))],
    [0.5, -0.25, 1, 0],
  );
  assert.equal(area.toString('latin1', 16, 18), 'ab');
  // pitlane reads its own encoding back (the worker's frames have the same value block).
  const [, back] = decodeValueBlock(payload) as [string, AudioFrame];
  assert.ok(back instanceof AudioFrame);
  assert.deepEqual(
    [[...back.samples], back.sampleRate, back.channels, back.streamId, back.timestampUs, back.metadata],
    [[0.5, -0.25, 1, 0], 16_000, 2, 's', 20_000, { raw: Buffer.from('ab') }],
  );
});

test('samples read back view the frame when aligned and are copied when not; a marker-like key is escaped', () => {
  const frame = new AudioFrame(new Float32Array([0.125, 0.25]), { sampleRate: 8000, channels: 1 });
  const payload = valueFrame(K_BATCH, [frame, { '\u0000a': 1 }]).subarray(HEADER);
  const aligned = Buffer.alloc(payload.length + 8);
  payload.copy(aligned, 0);
  const [viewed, data] = decodeValueBlock(aligned.subarray(0, payload.length)) as [AudioFrame, unknown];
  assert.equal(viewed.samples.buffer, aligned.buffer, 'a view of the received bytes');
  assert.deepEqual(data, { '\u0000a': 1 });
  payload.copy(aligned, 1);
  const [copied] = decodeValueBlock(aligned.subarray(1, 1 + payload.length)) as [AudioFrame];
  assert.notEqual(copied.samples.buffer, aligned.buffer);
  assert.deepEqual([...copied.samples], [0.125, 0.25]);
});
