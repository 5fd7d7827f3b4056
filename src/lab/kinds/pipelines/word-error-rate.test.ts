import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSphinxTranscription, scoringWords, wordErrorRate } from './word-error-rate.js';

describe('word error rate', () => {
  test('counts substitutions, deletions and insertions against the reference words', () => {
    assert.deepEqual(wordErrorRate('the cat sat on the mat', 'the cat sat on the mat'), {
      wer: 0,
      errors: 0,
      referenceWords: 6,
    });
    // "sat" → "sit" (substitution), "the" deleted, "down" inserted: 3 errors over 6 words.
    assert.deepEqual(wordErrorRate('the cat sat on the mat', 'the cat sit down on mat'), {
      wer: 0.5,
      errors: 3,
      referenceWords: 6,
    });
    assert.equal(wordErrorRate('', '').wer, 0);
    assert.equal(wordErrorRate('', 'noise').wer, 1);
    assert.equal(wordErrorRate('one two', '').errors, 2);
  });

  test('normalises case, punctuation and sentence markers, keeping apostrophes inside words', () => {
    assert.deepEqual(scoringWords("<s> Mister John's, HOUSE! </s>"), ['mister', "john's", 'house']);
    assert.equal(
      wordErrorRate('He was not an ill disposed young man.', 'he was not an ill-disposed young man').errors,
      0,
    );
  });

  test('reads a Sphinx transcription file', () => {
    const t = parseSphinxTranscription('<s> he was not </s> (clip-0880)\n<s> unless </s> (clip-0890)\n\n');
    assert.deepEqual(
      [...t],
      [
        ['clip-0880', 'he was not'],
        ['clip-0890', 'unless'],
      ],
    );
  });
});
