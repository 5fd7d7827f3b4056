import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileError } from '../../../dist/core/errors.js';
import { buildMiniLmArchInTemp, cosine, type BuiltModelDir } from '../../../dist/inference/test-support.js';
import { l2Normalize, meanPool } from '../../../dist/inference/text/pooling.js';
import {
  loadWordPieceTokenizer,
  type WordPieceTokenizer,
} from '../../../dist/inference/text/wordpiece-tokenizer.js';
import {
  loadOnnxModel,
  textModelFeeds,
  warmUpTextModel,
  type OnnxModel,
} from '../../../dist/inference/backends/onnx/session.js';

describe('loadOnnxModel', () => {
  let built: BuiltModelDir;
  let model: OnnxModel;
  let tok: WordPieceTokenizer;
  before(async () => {
    built = buildMiniLmArchInTemp();
    model = await loadOnnxModel(built.modelPath, { intraOpThreads: 2, interOpThreads: 1 });
    tok = loadWordPieceTokenizer(built.tokenizerPath);
  });
  after(async () => {
    await model.close();
    built.remove();
  });

  const embed = async (
    texts: string[],
  ): Promise<{ dims: readonly number[]; data: Float32Array; pooled: Float32Array[] }> => {
    const batch = tok.encodeBatch(texts);
    const out = await model.run(textModelFeeds(model, batch));
    const t = out.last_hidden_state!;
    assert.equal(t.type, 'float32');
    const data = t.data as Float32Array;
    return { dims: t.dims, data, pooled: meanPool(data, t.dims, batch.attentionMask).map(l2Normalize) };
  };

  test('names the inputs and outputs of the MiniLM stand-in', () => {
    assert.deepEqual(model.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
    assert.deepEqual(model.outputNames, ['last_hidden_state']);
  });

  test('a padded batch of 3 gives [3, seq, 384] finite values', async () => {
    const texts = [
      'hello world',
      'the quick brown fox jumps over the lazy dog',
      'a pipeline benchmark, run fast!',
    ];
    const seq = tok.encodeBatch(texts).seqLength;
    const r = await embed(texts);
    assert.deepEqual(r.dims, [3, seq, 384]);
    assert.ok(r.data.every(Number.isFinite));
    for (const v of r.pooled) assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
  });

  test('the attention mask is respected: alone or padded in a batch, the embedding is the same', async () => {
    const short = 'hello world';
    const alone = await embed([short]);
    const padded = await embed([
      'the quick brown fox jumps over the lazy dog and keeps running through the field',
      short,
      'a pipeline benchmark, run fast!',
    ]);
    assert.ok(padded.dims[1]! > alone.dims[1]!);
    const d = 1 - cosine(alone.pooled[0]!, padded.pooled[1]!);
    assert.ok(d < 1e-5, `cosine distance ${d}`);
  });

  test('warm-up runs one small batch', async () => {
    const ms = await warmUpTextModel(model, { batchSize: 2, seqLength: 4 });
    assert.ok(ms >= 0);
  });

  test('a missing file or a file that is not ONNX gives a clear error naming it', async () => {
    const missing = join(built.dir, 'nope.onnx');
    await assert.rejects(
      loadOnnxModel(missing),
      (err: unknown) =>
        err instanceof FileError && err.message.includes(missing) && /not found/.test(err.message),
    );
    const bogus = join(built.dir, 'bogus.onnx');
    writeFileSync(bogus, 'this is not a protobuf');
    await assert.rejects(
      loadOnnxModel(bogus),
      (err: unknown) =>
        err instanceof FileError && err.message.includes(bogus) && /is not an ONNX model/.test(err.message),
    );
    await assert.rejects(loadOnnxModel(built.dir), /is not a file/);
  });
});
