import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildMiniLmArchInTemp, type BuiltModelDir } from '../../../dist/inference/test-support.js';
import { TokenizerPool } from '../../../dist/inference/text/tokenizer-pool.js';
import { createTokenizer } from '../../../dist/inference/text/tokenizers.js';

const WORDS = 'the quick brown fox jumps over lazy dogs while engineers measure latency and throughput'.split(
  ' ',
);
const text = (i: number, words: number): string =>
  Array.from({ length: words }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]).join(' ');

describe('TokenizerPool', () => {
  let built: BuiltModelDir;
  before(() => {
    built = buildMiniLmArchInTemp();
  });
  after(() => built.remove());

  test('threads give exactly what the tokenizer gives on this thread, truncation included', async () => {
    const spec = { kind: 'wordpiece' as const, path: built.tokenizerPath };
    const local = await createTokenizer(spec);
    const pool = await TokenizerPool.create(spec, { threads: 2, inlineBelowChars: 0 });
    try {
      const texts = Array.from({ length: 50 }, (_, i) => text(i, 1 + ((i * 13) % 300)));
      const got = await Promise.all([pool.encode(texts, 64), pool.encode(texts.slice(10), 512)]);
      assert.equal(pool.counts.threaded, 90);
      got[0].forEach((t, i) => {
        const want = local.encode(texts[i]!, 64);
        assert.deepEqual([...t.ids], [...want.ids]);
        assert.equal(t.fullLength, want.fullLength);
        assert.ok(t.ids.length <= 64);
      });
      assert.deepEqual(
        got[1].map((t) => [...t.ids]),
        texts.slice(10).map((x) => [...local.encode(x, 512).ids]),
      );
    } finally {
      await pool.close();
    }
  });

  test('threads start with the first large request, not before; small ones stay on this thread', async () => {
    const pool = await TokenizerPool.create(
      { kind: 'wordpiece', path: built.tokenizerPath },
      { threads: 1, inlineBelowChars: 200 },
    );
    try {
      await pool.encode(['a short query'], 512);
      assert.equal(pool.started, 0);
      assert.deepEqual(pool.counts, { inline: 1, threaded: 0 });
      const big = await pool.encode([text(1, 100), text(2, 100)], 512);
      assert.equal(big.length, 2);
      assert.equal(pool.started, 1);
      assert.deepEqual(pool.counts, { inline: 1, threaded: 2 });
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.encode(['after close'], 512), /closed/);
  });

  test('a tokenizer file that cannot be read is refused with its name', async () => {
    await assert.rejects(
      TokenizerPool.create({ kind: 'wordpiece', path: '/nonexistent/tokenizer.json' }, { threads: 1 }),
      /\/nonexistent\/tokenizer\.json/,
    );
  });
});
