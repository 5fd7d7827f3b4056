// Expected outputs follow RemoteMedia's Rust TextCollectorNode (text_collector.rs): sentences end at a run of
// boundary characters and lose their leading whitespace; shorter than min_sentence_length bytes, they are dropped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPipeline } from '../../pipeline/executor.js';
import { asyncFrom, chain, manifestOf } from '../test-support.js';
import { boundaryChars, extractSentences } from './text-collector.js';

async function collect(items: unknown[], params: Record<string, unknown> = {}): Promise<unknown[]> {
  const m = manifestOf(chain([['collect', 'TextCollectorNode', params]]));
  const r = await runPipeline(m, { input: asyncFrom(items) });
  assert.equal(r.state, 'completed');
  return r.outputs;
}

describe('TextCollectorNode', () => {
  test("RemoteMedia's example: tokens become sentences, <|text_end|> ends the utterance", async () => {
    const tokens = [
      'Hello',
      ' world',
      '!',
      ' How',
      ' are',
      ' you',
      ' doing',
      ' today',
      '?',
      " I'm",
      ' doing',
      ' great',
      '.',
      '<|text_end|>',
    ];
    assert.deepEqual(await collect(tokens), [
      'Hello world!',
      'How are you doing today?',
      "I'm doing great.",
      '<|text_end|>',
    ]);
  });

  test('runs of boundaries stay together; short sentences are dropped', () => {
    assert.deepEqual(extractSentences('Wait?! A. Yes. rest', boundaryChars(undefined), 3), {
      sentences: ['Wait?!', 'Yes.'],
      rest: ' rest',
    });
  });

  test('the rest is emitted at <|audio_end|> and at end of stream, unless yield_partial_on_end is false', async () => {
    assert.deepEqual(await collect(['no end', '<|audio_end|>', 'tail words']), [
      'no end',
      '<|audio_end|>',
      'tail words',
    ]);
    assert.deepEqual(await collect(['no end<|text_end|>', 'tail'], { yield_partial_on_end: false }), [
      '<|text_end|>',
    ]);
  });

  test("split_pattern is read as RemoteMedia's Rust node reads it", async () => {
    assert.deepEqual(boundaryChars('[.!?]+'), ['.', '!', '?']);
    assert.deepEqual(await collect(['a; b. c'], { split_pattern: '[.!?]+', yield_partial_on_end: false }), [
      'a; b.',
    ]);
  });

  test('other channels and other items pass through', async () => {
    const ui = '\u0000\u0002ui# heading';
    assert.deepEqual(await collect([ui, 42, 'Done.']), [ui, 42, 'Done.']);
  });
});
