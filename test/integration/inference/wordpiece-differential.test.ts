/**
 * Differential test of pitlane's WordPiece tokenizer against transformers.js's (@huggingface/transformers, a
 * devDependency) on the tokenizer.json the project's text model uses (minilm-l6-arch, built by
 * scripts/build-models.mjs), with its BertNormalizer settings varied: a few hundred tricky strings (accents and
 * combining marks, CJK, Hangul, Thai, Arabic, emoji sequences, control and format characters, Unicode
 * whitespace, ASCII symbols BERT counts as punctuation, added tokens, words past max_input_chars_per_word,
 * whitespace runs) must give the same ids.
 *
 * pitlane follows the Rust tokenizers crate (what Python's sentence-transformers runs). Where transformers.js
 * 4.3.1 departs from it, the test states the crate's answer instead of comparing:
 * - truncation: transformers.js cuts the encoded ids, [SEP] included; the crate (and pitlane) cuts the text's
 *   tokens and keeps [CLS] ... [SEP];
 * - CJK characters outside the BMP (U+20000 ...): transformers.js looks at UTF-16 code units and never spaces
 *   them out; the crate does;
 * - with clean_text off, U+0085 and U+FEFF: the crate splits words on Rust's `char::is_whitespace` (U+0085 yes,
 *   U+FEFF no), transformers.js on JavaScript's `\s` (the other way round).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { BertTokenizer } from '@huggingface/transformers';
import { buildMiniLmArchInTemp, type BuiltModelDir } from '../../../dist/inference/test-support.js';
import { wordPieceTextTokenizer } from '../../../dist/inference/text/tokenizers.js';
import { WordPieceTokenizer } from '../../../dist/inference/text/wordpiece-tokenizer.js';

/** Strings written to hit one rule each. */
const HANDMADE = [
  '',
  ' ',
  'Hello, world!',
  'HELLO World',
  'Café déjà vu, naïve résumé',
  'a\u0301 e\u0308 o\u0302\u0323',
  '\u0301leading combining mark',
  'İstanbul ı ß ẞ ﬁ ﬂ ǅ ǈ',
  'Ωmega µ Σίσυφος ΣΑΣ',
  '東京タワー 中文 日本語',
  '한국어 텍스트',
  'ภาษาไทย ก่อน',
  'العربية مرحبا',
  'עברית שלום',
  'Привет, мир Жж',
  '👍 👍🏽 👨‍👩‍👧 ❤️ 🇫🇷 ok',
  'a\u0000b\u0001c\u001fd\u007fe',
  'tab\there\nnewline\r\nwindows',
  'vertical\u000btab form\u000cfeed next\u0085line',
  'zero\u200bwidth joiner\u200dnon\u200cjoiner soft\u00adhyphen',
  'nbsp\u00a0em\u2003ideographic\u3000line\u2028para\u2029',
  'bom\ufeffinside and replacement\ufffdchar',
  '$5 + 3 = 8 ^ 2 | ~ ` < > @ # % & * _',
  '¿Qué? ¡Hola! «citation» — en – dash… ellipsis',
  '€ £ ¥ © ® ° ± × ÷ § ¶ · ‰ ′ ″',
  'Ⅻ ① ² ½ ｆｕｌｌ ｗｉｄｔｈ ｶﾀｶﾅ',
  '[MASK] the [CLS] and [SEP] [PAD] [UNK]',
  '[mask] [MASK [ MASK ] x[MASK]y',
  '##prefix ## #',
  'x'.repeat(99),
  'x'.repeat(100),
  'x'.repeat(101),
  'é'.repeat(101),
  `${'ab '.repeat(200)}end`,
  '     leading and trailing     ',
  'many\t\t\t\ttabs\n\n\nand\r\r\rreturns',
  'email@example.com https://example.com/path?q=1&r=2#frag',
  "don't won't y'all",
  '3.14159 1,000,000 -42 1e10',
  'snake_case camelCase kebab-case PascalCase',
  '\u0600\u0601 arabic number signs \u06dd',
  'private\ue000use',
];

/** Pieces the generated strings are made of (no lone surrogates: Rust strings cannot hold them). */
const PIECES = [
  // ASCII only: one code unit per character.
  ...Array.from('abcXYZ019 .,;:!?\'"-_()[]{}<>/\\@#$%^&*+=|~`'),
  'é',
  'É',
  'ü',
  'ñ',
  'ç',
  'ø',
  'Å',
  'ß',
  'İ',
  'ı',
  'ﬁ',
  'Ω',
  'µ',
  'a\u0301',
  'e\u0308',
  '\u0301',
  '東',
  '京',
  '語',
  '中',
  'タ',
  'ー',
  '한',
  '국',
  'ก',
  '\u0e48',
  'ع',
  'ر',
  'א',
  'Ж',
  'ж',
  '👍',
  '🏽',
  '👨‍👩‍👧',
  '❤️',
  '🇫🇷',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u000b',
  '\u00a0',
  '\u200b',
  '\u200d',
  '\u2028',
  '\u3000',
  '\u2003',
  '\ufeff',
  '\ufffd',
  '\t',
  '\n',
  '\r',
  '\u00ad',
  '¿',
  '«',
  '—',
  '…',
  '€',
  '©',
  '°',
  '×',
  '§',
  '′',
  '[MASK]',
  '[CLS]',
  '[SEP]',
  '[mask]',
  '##',
  'ǅ',
  'Ⅻ',
  '½',
  'ｆｕｌｌ',
  '\u094d',
  '\u0300',
];

/** 360 strings built deterministically from vocabulary words, spaces and PIECES. */
function generatedStrings(vocabWords: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < 360; i++) {
    const parts = 2 + (i % 11);
    let s = '';
    for (let k = 0; k < parts; k++) {
      const x = (i * 7919 + k * 104729 + i * k * 31) % 10;
      if (x < 4) s += vocabWords[(i * 131 + k * 977) % vocabWords.length] ?? '';
      else if (x < 5) s += ' '.repeat(1 + ((i + k) % 4));
      else s += PIECES[(i * 37 + k * 53) % PIECES.length] ?? '';
      if ((i + k) % 3 === 0) s += ' ';
    }
    out.push(s);
  }
  return out;
}

/** BertNormalizer settings to vary, applied over the file's own. */
const VARIANTS: readonly (readonly [string, Record<string, unknown>])[] = [
  ['as built (lowercase, accents stripped)', {}],
  ['cased', { lowercase: false, strip_accents: null }],
  ['lowercase, accents kept', { lowercase: true, strip_accents: false }],
  ['cased, accents stripped', { lowercase: false, strip_accents: true }],
  ['no CJK spacing, no cleaning', { handle_chinese_chars: false, clean_text: false }],
];

/** U+0085 and U+FEFF split words differently in the crate and in transformers.js when clean_text is off. */
const WHITESPACE_DISAGREEMENT = /[\u0085\ufeff]/u;

describe('WordPiece tokenizer agrees with transformers.js', () => {
  let built: BuiltModelDir;
  let file: Record<string, unknown>;
  let strings: string[];

  before(() => {
    built = buildMiniLmArchInTemp();
    file = JSON.parse(readFileSync(built.tokenizerPath, 'utf8')) as Record<string, unknown>;
    const vocab = (file.model as { vocab: Record<string, number> }).vocab;
    const words = Object.keys(vocab).filter((w) => !w.startsWith('['));
    strings = [...HANDMADE, ...generatedStrings(words)];
  });
  after(() => built.remove());

  const variantOf = (patch: Record<string, unknown>): Record<string, unknown> => {
    const json = structuredClone(file);
    json.normalizer = { ...(json.normalizer as Record<string, unknown>), ...patch };
    return json;
  };

  for (const [name, patch] of VARIANTS) {
    test(`same ids on every string: ${name}`, () => {
      const json = variantOf(patch);
      const ours = WordPieceTokenizer.fromJson(json, 'tokenizer.json');
      const theirs = new BertTokenizer(json, {});
      const texts =
        patch.clean_text === false ? strings.filter((s) => !WHITESPACE_DISAGREEMENT.test(s)) : strings;
      assert.ok(texts.length > 350, `${texts.length} strings`);
      for (const text of texts) {
        const expected = theirs.encode(text);
        const got = ours.encode(text, { maxLength: Number.MAX_SAFE_INTEGER }).ids;
        assert.deepEqual(got, expected, `text ${JSON.stringify(text)}`);
      }
    });
  }

  test('truncation keeps [CLS] ... [SEP] and the first tokens of the text, at every length', () => {
    const ours = WordPieceTokenizer.fromJson(file, 'tokenizer.json');
    const theirs = new BertTokenizer(file, {});
    const text = wordPieceTextTokenizer(ours);
    const [cls, sep] = [ours.vocab.get('[CLS]'), ours.vocab.get('[SEP]')];
    for (const s of strings) {
      const full = theirs.encode(s);
      for (const maxLength of [2, 3, 5, 8, 16, 128]) {
        // The crate's truncation (transformers.js would cut [SEP] off): the text's tokens cut to fit.
        const expected =
          full.length <= maxLength ? full : [...full.slice(0, maxLength - 1), full[full.length - 1]];
        assert.deepEqual(ours.encode(s, { maxLength }).ids, expected, `${JSON.stringify(s)} at ${maxLength}`);
        const encoded = text.encode(s, maxLength);
        assert.deepEqual(Array.from(encoded.ids), expected);
        assert.equal(encoded.fullLength, full.length);
        assert.equal(expected[0], cls);
        assert.equal(expected[expected.length - 1], sep);
      }
    }
  });

  test('CJK characters outside the BMP are spaced out like the others (the crate; transformers.js does not)', () => {
    const ours = WordPieceTokenizer.fromJson(file, 'tokenizer.json');
    const unk = ours.unkId;
    const run = ours.vocab.get('run');
    assert.ok(run !== undefined);
    // U+20000 is a CJK Extension B ideograph: its own word, so 'run' beside it stays a word of its own.
    assert.deepEqual(ours.tokenizeToIds('run\u{20000}run'), [run, unk, run]);
  });

  test('controls that are also whitespace (U+000B, U+000C, U+0085) are dropped by cleaning, not spaced', () => {
    const ours = WordPieceTokenizer.fromJson(file, 'tokenizer.json');
    const theirs = new BertTokenizer(file, {});
    for (const c of ['\u000b', '\u000c', '\u0085']) {
      const text = `run${c}run`;
      assert.deepEqual(ours.encode(text).ids, theirs.encode(text), JSON.stringify(text));
      assert.deepEqual(ours.tokenizeToIds(text), ours.tokenizeToIds('runrun'));
    }
  });
});
