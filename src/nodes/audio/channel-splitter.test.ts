import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioFrame } from '../../core/audio.js';
import { AudioChannelSplitterNode } from './channel-splitter.js';
import { drive, framesIn, nodeOf } from './test-support.js';

/** 1 s of 16 kHz stereo, both channels at 0.5. */
const second = (): AudioFrame =>
  new AudioFrame(new Float32Array(32_000).fill(0.5), { sampleRate: 16_000, channels: 2, timestampUs: 0 });

const DIARIZATION = {
  segments: [
    { start: 0, end: 0.25, speaker: '0' },
    { start: 0.5, end: 1, speaker: '1' },
  ],
  num_speakers: 2,
  time_offset: 0,
};

describe('AudioChannelSplitterNode', () => {
  test('streams mode: a mono frame per speaker, zero outside their segments; JSON is consumed', async () => {
    const node = nodeOf(AudioChannelSplitterNode, {});
    const before = second();
    const out = await drive(node, [before, DIARIZATION, second(), 'text']);
    assert.equal(out[0], before, 'audio before any segments passes through');
    const split = framesIn(out.slice(1));
    assert.deepEqual(
      split.map((f) => [
        f.streamId,
        f.channels,
        f.samples[0],
        f.samples[3999],
        f.samples[4000],
        f.samples[8000],
      ]),
      [
        ['speaker_0', 1, 0.5, 0.5, 0, 0],
        ['speaker_1', 1, 0, 0, 0, 0.5],
      ],
    );
    assert.equal(out[3], 'text');
  });

  test('channels mode: one frame, speaker i in channel i; time_offset shifts the segments', async () => {
    const node = nodeOf(AudioChannelSplitterNode, { outputMode: 'channels', max_speakers: 4 });
    const [f] = framesIn(await drive(node, [{ ...DIARIZATION, time_offset: 0.25 }, second()]));
    assert.ok(f !== undefined);
    assert.equal(f.channels, 2);
    const s = f.samples;
    // With the frame at 0.25 s, speaker 0's segment [0, 0.25) lies before it; speaker 1's starts at 0.25 s in.
    assert.deepEqual([s[0], s[1], s[2 * 4000], s[2 * 4000 + 1]], [0, 0, 0, 0.5]);
  });

  test('audio at another rate than sample_rate is split, with one warning in the log', async () => {
    const logs: string[] = [];
    const node = AudioChannelSplitterNode.create({
      id: 'split',
      params: {},
      baseDir: '/tmp',
      signal: new AbortController().signal,
      runtimeHint: undefined,
      options: { log: (id, level, message) => logs.push(`${id} ${level} ${message}`) },
    }) as ReturnType<typeof nodeOf>;
    const f48 = new AudioFrame(new Float32Array(48_000).fill(0.5), { sampleRate: 48_000, channels: 1 });
    const out = framesIn(await drive(node, [DIARIZATION, f48, f48]));
    assert.equal(out.length, 4);
    assert.deepEqual(logs, [
      'split warning audio at 48000 Hz, the diarization at 16000 Hz (sample_rate): segment times may be off',
    ]);
  });
});
