import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPipeline } from '../../pipeline/executor.js';
import { asyncFrom, chain, manifestOf } from '../test-support.js';
import { sineFrame } from '../health/test-signals.js';

async function srt(items: unknown[], params: Record<string, unknown> = {}) {
  const m = manifestOf(chain([['srt', 'SrtOutput', params]]), undefined);
  return runPipeline(m, { input: asyncFrom(items), onError: 'skip' });
}

describe('SrtOutput', () => {
  test('transcript items become numbered cues; numbering runs on across items', async () => {
    const r = await srt([
      { text: 'Hello there.', start: 0.5, end: 2.25 },
      { text: 'Second segment.', start: 2.25, end: 61.234 },
    ]);
    assert.deepEqual(r.outputs, [
      '1\n00:00:00,500 --> 00:00:02,250\nHello there.\n\n',
      '2\n00:00:02,250 --> 00:01:01,234\nSecond segment.\n\n',
    ]);
  });

  test("Whisper segments, word updates and plain text, as RemoteMedia's node reads them", async () => {
    const r = await srt(
      [
        {
          text: 'a b',
          segments: [
            { start: 0, end: 2, text: 'Hello world.' },
            { start: 2, end: 3, text: ' ' },
            { start: 3, end: 4, text: 'How are you?' },
          ],
        },
        { word: 'word', start: 4, end: 4.5 },
        'plain',
        { other: 1 },
      ],
      { include_numbers: false, max_line_length: 6 },
    );
    assert.deepEqual(r.outputs, [
      '00:00:00,000 --> 00:00:02,000\nHello\nworld.\n\n00:00:03,000 --> 00:00:04,000\nHow\nare\nyou?\n\n',
      '00:00:04,000 --> 00:00:04,500\nword\n\n',
      '00:00:00,000 --> 00:00:10,000\nplain\n\n',
    ]);
  });

  test('audio is an item error naming what it takes', async () => {
    const r = await srt([sineFrame(0.5)]);
    const rec = r.outputs[0] as { error: { message: string } };
    assert.match(JSON.stringify(rec), /SrtOutput takes transcript objects .* got audio/);
  });
});
