import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { buildMiniLmArchInTemp, type BuiltModelDir } from '../../../dist/inference/test-support.js';
import {
  loadWordPieceTokenizer,
  WordPieceTokenizer,
} from '../../../dist/inference/text/wordpiece-tokenizer.js';

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
