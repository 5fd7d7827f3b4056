import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileError } from '../../../dist/core/errors.js';
import { buildMiniLmArchInTemp, type BuiltModelDir } from '../../../dist/inference/test-support.js';
import {
  loadWordPieceTokenizer,
  WordPieceTokenizer,
} from '../../../dist/inference/text/wordpiece-tokenizer.js';

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

describe('WordPieceTokenizer on the generated minilm-l6-arch vocab', () => {
  let built: BuiltModelDir;
  let tok: WordPieceTokenizer;
  let lines: string[];
  before(() => {
    built = buildMiniLmArchInTemp();
    tok = loadWordPieceTokenizer(built.tokenizerPath);
    lines = readFileSync(built.vocabPath, 'utf8').trimEnd().split('\n');
  });
  after(() => built.remove());
  const idOf = (token: string): number => {
    const i = lines.indexOf(token);
    assert.ok(i >= 0, `${token} is in vocab.txt`);
    return i;
  };

  test('vocab.txt and tokenizer.json agree, with BERT ids for the specials', () => {
    assert.equal(lines.length, 30522);
    assert.equal(tok.vocab.size, 30522);
    assert.deepEqual(
      ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => tok.vocab.get(t)),
      [0, 100, 101, 102, 103],
    );
    lines.forEach((t, i) => {
      if (tok.vocab.get(t) !== i) assert.fail(`${t}: line ${i}, tokenizer.json ${tok.vocab.get(t)}`);
    });
  });

  test('sentence with accents, punctuation and a subword split', () => {
    const e = tok.encode('Héllo, World! Playing');
    assert.deepEqual(e.tokens, ['[CLS]', 'hello', ',', 'world', '!', 'play', '##ing', '[SEP]']);
    assert.deepEqual(e.ids, e.tokens.map(idOf));
    assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('unknown characters, long words, CJK and truncation', () => {
    assert.deepEqual(tok.encode('☃ café').tokens, ['[CLS]', '[UNK]', 'cafe', '[SEP]']);
    assert.deepEqual(tok.encode('a'.repeat(101)).ids, [101, 100, 102]);
    assert.notDeepEqual(tok.encode('a'.repeat(100)).ids, [101, 100, 102]);
    assert.deepEqual(tok.encode('你好').tokens, ['[CLS]', '你', '[UNK]', '[SEP]']);
    assert.deepEqual(tok.encode('hello world hello world', { maxLength: 5 }).tokens, [
      '[CLS]',
      'hello',
      'world',
      'hello',
      '[SEP]',
    ]);
    assert.equal(tok.maxLength, 128); // from tokenizer.json's truncation
  });
});
