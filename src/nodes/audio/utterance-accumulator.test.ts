import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioFrame } from '../../core/audio.js';
import { AudioBufferAccumulatorNode, vadTransition } from './utterance-accumulator.js';
import { drive, framesIn, nodeOf } from './test-support.js';

const RATE = 16_000;
const N = 512; // 32 ms frames, as Silero VAD analyses them

/** Frame k of a stream: silence (0.001) or "speech" (0.5), timestamped at k × 32 ms. */
function frame(
  k: number,
  speech: boolean,
  extra: Partial<{ streamId: string; vad: object }> = {},
): AudioFrame {
  return new AudioFrame(new Float32Array(N).fill(speech ? 0.5 : 0.001), {
    sampleRate: RATE,
    channels: 1,
    streamId: extra.streamId,
    timestampUs: (k * N * 1e6) / RATE,
    metadata: extra.vad === undefined ? { source: 'mic' } : { source: 'mic', vad: extra.vad },
  });
}

const START = { has_speech: true, is_speech_start: true, is_speech_end: false, speech_probability: 0.9 };
const END = { has_speech: false, is_speech_start: false, is_speech_end: true, speech_probability: 0.1 };
const MID = { has_speech: true, is_speech_start: false, is_speech_end: false };

/** RemoteMedia's SileroVADNode order: the VAD JSON, then the frame it analysed. */
function remoteMediaStream(speechFrom: number, speechTo: number, total: number): unknown[] {
  const items: unknown[] = [];
  for (let k = 0; k < total; k++) {
    const speech = k >= speechFrom && k < speechTo;
    items.push(k === speechFrom ? START : k === speechTo ? END : MID, frame(k, speech));
  }
  return items;
}

describe('AudioBufferAccumulatorNode', () => {
  test("RemoteMedia's VAD JSON: one utterance from speech start (with pre-roll) to speech end", async () => {
    const out = await drive(
      nodeOf(AudioBufferAccumulatorNode, { pre_roll_ms: 64 }),
      remoteMediaStream(20, 40, 50),
    );
    assert.equal(out.length, 1);
    const u = out[0] as AudioFrame;
    // Two frames of pre-roll (64 ms) before frame 20, then frames 20..39.
    assert.equal(u.frames, 22 * N);
    assert.equal(u.timestampUs, (18 * N * 1e6) / RATE);
    assert.deepEqual(u.metadata, {
      source: 'mic',
      utterance: { start: (18 * N) / RATE, end: (40 * N) / RATE },
    });
    assert.equal(u.samples[2 * N], 0.5);
    assert.equal(u.samples[22 * N - 1], 0.5);
  });

  test('events in metadata.vad, and pitlane events with stream ids, work the same per stream', async () => {
    const items: unknown[] = [];
    for (let k = 0; k < 30; k++) {
      const speech = k >= 5 && k < 25;
      const vad =
        k === 5 ? { is_speech_start: true } : k === 25 ? { is_speech_end: true } : { is_speech: speech };
      items.push(frame(k, speech, { streamId: 'a', vad }));
      if (k === 10) items.push({ type: 'vad', event: 'speech_start', timestamp_us: 0, stream_id: 'b' });
      if (k >= 10 && k < 25) items.push(frame(k, true, { streamId: 'b' }));
      if (k === 24) items.push({ type: 'vad', event: 'speech_end', timestamp_us: 0, stream_id: 'b' });
    }
    const out = framesIn(await drive(nodeOf(AudioBufferAccumulatorNode, { pre_roll_ms: 0 }), items));
    assert.deepEqual(
      out.map((u) => [u.streamId, u.frames / N, u.metadata?.utterance]),
      [
        ['b', 15, { start: (10 * N) / RATE, end: (25 * N) / RATE }],
        ['a', 20, { start: (5 * N) / RATE, end: (25 * N) / RATE }],
      ],
    );
    assert.equal(out[1]?.metadata?.vad, undefined);
  });

  test('per-frame verdicts (metadata.vad.is_speech) open and close utterances with the silence hangover', async () => {
    const items: unknown[] = [];
    for (let k = 0; k < 40; k++) {
      const speech = k >= 5 && k < 20 && k !== 12; // a 32 ms dip at frame 12 does not end the utterance
      items.push(frame(k, speech, { vad: { is_speech: speech, probability: speech ? 0.9 : 0.1 } }));
    }
    const out = framesIn(await drive(nodeOf(AudioBufferAccumulatorNode, { pre_roll_ms: 0 }), items));
    // Frames 20, 21, 22 are 96 ms of non-speech (< 100 ms): kept; frame 23 completes 128 ms and is not.
    assert.deepEqual(
      out.map((u) => [u.frames / N, u.metadata?.utterance]),
      [[18, { start: (5 * N) / RATE, end: (23 * N) / RATE }]],
    );
  });

  test('verdicts are ignored on a stream that has VAD events: the events decide', async () => {
    const items: unknown[] = [];
    for (let k = 0; k < 30; k++) {
      const speech = k >= 5 && k < 20 && k !== 12;
      // The frame carries the verdict; the events come after it and end speech later than 100 ms would.
      items.push(frame(k, speech, { vad: { is_speech: speech } }));
      if (k === 5) items.push({ type: 'vad', event: 'speech_start' });
      if (k === 26) items.push({ type: 'vad', event: 'speech_end' });
    }
    const out = framesIn(await drive(nodeOf(AudioBufferAccumulatorNode, { pre_roll_ms: 0 }), items));
    // Frame 5 opened the utterance by its verdict (the event after it was then a repeat); frames 5..26 are in it.
    assert.deepEqual(
      out.map((u) => u.frames / N),
      [22],
    );
  });

  test('an event without stream_id belongs to the stream of the last frame', async () => {
    const items: unknown[] = [];
    for (let k = 0; k < 20; k++) {
      items.push(k === 2 ? START : k === 15 ? END : MID, frame(k, k >= 2 && k < 15, { streamId: 'mic' }));
    }
    const out = framesIn(await drive(nodeOf(AudioBufferAccumulatorNode, { pre_roll_ms: 0 }), items));
    assert.deepEqual(
      out.map((u) => [u.streamId, u.frames / N]),
      [['mic', 13]],
    );
  });

  test('too short or silent utterances are dropped; the max duration cuts a long one', async () => {
    const short = await drive(
      nodeOf(AudioBufferAccumulatorNode, { pre_roll_ms: 0 }),
      remoteMediaStream(5, 8, 10),
    );
    assert.deepEqual(short, [], '3 frames = 96 ms < 250 ms');
    const quiet = remoteMediaStream(5, 20, 25).map((i) =>
      i instanceof AudioFrame ? i.derive(new Float32Array(N).fill(0.01)) : i,
    );
    assert.deepEqual(await drive(nodeOf(AudioBufferAccumulatorNode, { pre_roll_ms: 0 }), quiet), []);
    const long = framesIn(
      await drive(
        nodeOf(AudioBufferAccumulatorNode, { maxUtteranceDurationMs: 320, pre_roll_ms: 0 }),
        remoteMediaStream(0, 28, 30),
      ),
    );
    // 10 + 10 frames cut at 320 ms, then 8 frames (256 ms, above the 250 ms minimum) at speech end.
    assert.deepEqual(
      long.map((u) => u.frames / N),
      [10, 10, 8],
    );
    assert.deepEqual(
      long.map((u) => u.timestampUs),
      [0, 10, 20].map((k) => (k * N * 1e6) / RATE),
    );
  });

  test('an utterance open at end of stream is emitted; other items are dropped', async () => {
    const items = [...remoteMediaStream(2, 100, 12), 'text', 42];
    const out = await drive(nodeOf(AudioBufferAccumulatorNode, { pre_roll_ms: 0 }), items);
    assert.deepEqual(
      framesIn(out).map((u) => u.frames / N),
      [10],
    );
    assert.equal(out.length, 1);
  });

  test('an utterance that changes format is an item error naming both', () => {
    const node = nodeOf(AudioBufferAccumulatorNode);
    node.process(START);
    node.process(frame(0, true));
    const f48 = new AudioFrame(new Float32Array(960), { sampleRate: 48_000, channels: 1 });
    assert.throws(() => node.process(f48), /began as 16000 Hz, 1 channel\), got 48000 Hz, 1 channel/);
  });

  test('vadTransition reads both event forms', () => {
    assert.equal(vadTransition(START), 'start');
    assert.equal(vadTransition(END), 'end');
    assert.equal(vadTransition({ type: 'vad', event: 'speech_end' }), 'end');
    assert.equal(vadTransition(MID), undefined);
    assert.equal(vadTransition([1]), undefined);
  });
});
