import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FileError } from '../../core/errors.js';
import { loadWordPieceTokenizer, WordPieceTokenizer } from './wordpiece-tokenizer.js';

/** A handmade tokenizer.json small enough to compute every expectation by hand. */
const TINY_VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'un',
  '##aff',
  '##able',
  'cafe',
  ',',
  '!',
  'hello',
  'world',
  'a',
  '##a',
  '的',
  '是',
  '.',
  '$',
  '##s',
  'run',
];
const tinyJson = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content) => ({
    id: TINY_VOCAB.indexOf(content),
    content,
    special: true,
    normalized: false,
  })),
  normalizer: {
    type: 'BertNormalizer',
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: null,
    lowercase: true,
  },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 9,
    vocab: Object.fromEntries(TINY_VOCAB.map((t, i) => [t, i])),
  },
  ...overrides,
});

describe('WordPieceTokenizer on a handmade tokenizer.json', () => {
  const tok = WordPieceTokenizer.fromJson(tinyJson(), 'tiny/tokenizer.json');
  const ids = (text: string, maxLength?: number): number[] =>
    tok.encode(text, maxLength === undefined ? {} : { maxLength }).ids;

  test('greedy longest-match-first with ## continuation', () => {
    assert.deepEqual(ids('Unaffable!'), [2, 5, 6, 7, 10, 3]); // [CLS] un ##aff ##able ! [SEP]
    assert.deepEqual(ids('runs'), [2, 20, 19, 3]); // run ##s
  });

  test('lowercase, strip accents, punctuation split', () => {
    assert.deepEqual(ids('Café, HELLO world.'), [2, 8, 9, 11, 12, 17, 3]);
    assert.deepEqual(ids('$5'), [2, 18, 1, 3]); // ASCII symbols are punctuation for BERT; "5" is unknown
  });

  test('clean text: control characters dropped, unicode whitespace splits', () => {
    assert.deepEqual(ids('\u0007hello\u00a0world\tworld\u200b'), [2, 11, 12, 12, 3]);
  });

  test('CJK characters are split one by one', () => {
    assert.deepEqual(ids('的是'), [2, 15, 16, 3]);
    assert.deepEqual(ids('hello的world'), [2, 11, 15, 12, 3]);
  });

  test('unknown words and words longer than max_input_chars_per_word become [UNK]', () => {
    assert.deepEqual(ids('xyz hello'), [2, 1, 11, 3]);
    assert.deepEqual(ids('a'.repeat(9)), [2, 13, 14, 14, 14, 14, 14, 14, 14, 14, 3]); // 9 chars: allowed
    assert.deepEqual(ids('a'.repeat(10)), [2, 1, 3]); // 10 chars > 9
    assert.deepEqual(ids('unaffx'), [2, 1, 3]); // one failing piece makes the whole word [UNK]
  });

  test('added tokens in the text keep their id', () => {
    assert.deepEqual(ids('hello [MASK] world'), [2, 11, 4, 12, 3]);
  });

  test('truncation keeps [CLS] and [SEP]', () => {
    assert.deepEqual(ids('hello world hello world', 4), [2, 11, 12, 3]);
    assert.deepEqual(ids('hello world', 2), [2, 3]);
  });

  test('truncation on the left keeps the end of the text, and [CLS] first and [SEP] last', () => {
    const left = (text: string, maxLength: number): number[] =>
      tok.encode(text, { maxLength, direction: 'left' }).ids;
    assert.deepEqual(left('hello world run', 4), [2, 12, 20, 3]); // [CLS] world run [SEP]
    assert.deepEqual(left('unaffable', 3), [2, 7, 3]); // the last piece (##able) of the word
    assert.deepEqual(left('hello world', 2), [2, 3]);
    assert.deepEqual(left('hello', 16), ids('hello')); // short texts are not cut
  });

  test('addSpecialTokens: false leaves out [CLS] and [SEP]', () => {
    assert.deepEqual(tok.encode('hello world', { addSpecialTokens: false }).ids, [11, 12]);
    assert.deepEqual(tok.encode('hello world run', { addSpecialTokens: false, maxLength: 2 }).ids, [11, 12]);
  });

  test('tokens with their spans: the ids of encode, spans in the original text', () => {
    const text = 'Café, Unaffable [MASK]!';
    const spans = tok.tokenizeWithSpans(text);
    assert.deepEqual(
      spans.map((t) => t.id),
      ids(text),
    );
    assert.deepEqual(
      spans.map((t) => (t.special ? null : text.slice(t.start, t.end))),
      [null, 'Café', ',', 'Un', 'aff', 'able', '[MASK]', '!', null],
    );
    assert.deepEqual(
      spans.filter((t) => t.special).map((t) => [t.id, t.start, t.end]),
      [
        [2, -1, -1],
        [3, -1, -1],
      ],
    );
    // Characters outside the BMP, CJK and an unknown word.
    const wide = '😀 的hello xyz';
    const wideSpans = tok.tokenizeWithSpans(wide, false);
    assert.deepEqual(
      wideSpans.map((t) => [t.id, wide.slice(t.start, t.end)]),
      [
        [1, '😀'],
        [15, '的'],
        [11, 'hello'],
        [1, 'xyz'],
      ],
    );
  });

  test('decode: specials skipped or kept, continuation pieces glued, punctuation cleaned up', () => {
    const withDecoder = WordPieceTokenizer.fromJson(
      tinyJson({ decoder: { type: 'WordPiece', prefix: '##', cleanup: true } }),
      'tiny/tokenizer.json',
    );
    const encoded = ids('Unaffable, hello world!');
    assert.equal(withDecoder.decode(encoded), 'unaffable, hello world!');
    assert.equal(withDecoder.decode(encoded, false), '[CLS] unaffable, hello world! [SEP]');
    // Without a decoder in the file, tokens are joined with spaces (as tokenizers does).
    assert.equal(tok.decode([11, 12, 19]), 'hello world ##s');
    assert.throws(() => withDecoder.decode([11, 999]), /ids\[1\]: token id 999 is not in the vocabulary/);
  });

  test('encodeBatch pads to the longest row with masks and type ids', () => {
    const b = tok.encodeBatch(['hello', 'hello world !'], { maxLength: 16 });
    assert.equal(b.batchSize, 2);
    assert.equal(b.seqLength, 5);
    assert.deepEqual([...b.inputIds].map(Number), [2, 11, 3, 0, 0, 2, 11, 12, 10, 3]);
    assert.deepEqual([...b.attentionMask].map(Number), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    assert.deepEqual([...b.tokenTypeIds].map(Number), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...b.lengths], [3, 5]);
    const single = tok.encode('hello world !');
    assert.deepEqual([...b.inputIds.slice(5)].map(Number), single.ids);
  });

  test('a model that is not WordPiece is rejected naming the file and the kind', () => {
    const json = tinyJson({ model: { type: 'BPE', vocab: {}, merges: [] } });
    assert.throws(
      () => WordPieceTokenizer.fromJson(json, '/models/x/tokenizer.json'),
      (err: unknown) =>
        err instanceof FileError &&
        err.code === 'PL_ERR_FILE' &&
        err.message.includes('/models/x/tokenizer.json') &&
        err.message.includes('"BPE"'),
    );
  });

  test('unsupported normalizer and missing file are clear errors', () => {
    assert.throws(
      () => WordPieceTokenizer.fromJson(tinyJson({ normalizer: { type: 'NFKC' } }), 't.json'),
      /t\.json: normalizer of kind "NFKC"/,
    );
    assert.throws(
      () => loadWordPieceTokenizer('/nonexistent/tokenizer.json'),
      /\/nonexistent\/tokenizer\.json/,
    );
  });

  test('loads from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pitlane-tok-'));
    try {
      const file = join(dir, 'tokenizer.json');
      writeFileSync(file, JSON.stringify(tinyJson()));
      assert.deepEqual(loadWordPieceTokenizer(file).encode('hello').ids, [2, 11, 3]);
      writeFileSync(file, '{ not json');
      assert.throws(
        () => loadWordPieceTokenizer(file),
        (err: unknown) => err instanceof FileError,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
