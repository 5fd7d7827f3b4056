// `pitlane quantize` on the real models: minilm-l6-arch quantised to int8 must agree with FP32 text by text on
// the embeddings suite's corpus (the threshold: cosine ≥ 0.99 for every text, median ≥ 0.995), and
// PaddleOCR's recogniser (real weights) quantised must still read the rendered test strings.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { buildMiniLmArch } from '../scripts/build-models.mjs';
import { pitlane, ROOT, tempDir } from './helpers.mjs';
import { loadModelRepository } from '../dist/inference/tensor/model-repository.js';
import { loadOnnxEmbedder } from '../dist/inference/backends/onnx/embedder.js';
import { loadOnnxModel } from '../dist/inference/backends/onnx/session.js';
import { embeddingAgreement } from '../dist/inference/text/embedding-agreement.js';
import { createTokenizer } from '../dist/inference/text/tokenizers.js';
import { DEFAULT_OCR_MODEL_PATHS, recognizeText } from '../dist/inference/vision/ocr.js';
import { OCR_TWO_LINES_SVG, rawRgb, tensorRunner } from '../dist/inference/test-support.js';

// ONNX Runtime's load-time warnings (unused initializers in the OCR detector) stay out of the output.
ort.env.logLevel = 'error';

const dir = tempDir('pl-quantize-');

/** Runs `pitlane quantize IN OUT --json`; returns the parsed summary. */
async function quantize(input, output, ...flags) {
  const r = await pitlane(['quantize', input, output, '--json', ...flags]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('quantize minilm-l6-arch: every MatMul with a weight is int8, the --json summary, cosine to FP32 per text', async () => {
  const fp32 = join(dir, 'minilm-l6-arch');
  buildMiniLmArch(fp32);
  const int8 = join(dir, 'model-int8.onnx');
  const summary = await quantize(join(fp32, 'model.onnx'), int8);
  // 6 layers × (Q, K, V, attention output, FFN in, FFN out); the 12 attention products (Q·Kᵀ, P·V) stay FP32.
  assert.equal(summary.nodesQuantized, 36);
  assert.equal(summary.nodesKept, 12);
  assert.deepEqual(Object.keys(summary).sort(), [
    'bytesAfter',
    'bytesBefore',
    'input',
    'kept',
    'nodesKept',
    'nodesQuantized',
    'output',
    'quantized',
    'warnings',
    'weightBytesAfter',
    'weightBytesBefore',
  ]);
  assert.equal(summary.output, int8);
  assert.deepEqual(summary.quantized[0], {
    name: summary.quantized[0].name,
    opType: 'MatMul',
    weight: 'encoder.layer.0.attention.self.query.weight',
    shape: [384, 384],
    bias: 'encoder.layer.0.attention.self.query.bias',
  });
  assert.ok(
    summary.quantized.every((q) => q.bias !== null),
    'every Linear bias is folded',
  );
  assert.deepEqual(
    new Set(summary.kept.map((k) => k.reason)),
    new Set(['B is computed in the graph, not a constant']),
  );
  assert.equal(summary.bytesBefore, readFileSync(join(fp32, 'model.onnx')).length);
  assert.equal(summary.bytesAfter, readFileSync(int8).length);
  // The word embeddings (Gather, 45 MiB) stay FP32; the 42 MiB of Linear weights become about a quarter.
  assert.equal(summary.weightBytesBefore, 6 * (4 * 384 * 384 + 2 * 384 * 1536) * 4);
  assert.ok(summary.weightBytesAfter < summary.weightBytesBefore / 3.9);
  assert.deepEqual(summary.warnings, []);

  const entry = (id, onnx) => [
    `  ${id}:`,
    `    name: minilm-l6-arch ${id}`,
    `    paths: { onnx: ${onnx}, tokenizer: minilm-l6-arch/tokenizer.json }`,
    '    pooling: mean',
    '    max_sequence_length: 512',
    '    dimension: 384',
    '    threads: { intra_op: 2, inter_op: 1 }',
  ];
  writeFileSync(
    join(dir, 'models.yaml'),
    ['models:', ...entry('fp32', 'minilm-l6-arch/model.onnx'), ...entry('int8', 'model-int8.onnx'), ''].join(
      '\n',
    ),
  );
  const [fp32Spec, int8Spec] = await loadModelRepository(join(dir, 'models.yaml'));
  const reference = await loadOnnxEmbedder(fp32Spec);
  const candidate = await loadOnnxEmbedder(int8Spec);
  try {
    const tokenizer = await createTokenizer({ kind: 'wordpiece', path: fp32Spec.tokenizerPath });
    const texts = readFileSync(join(ROOT, 'examples/suites/embeddings/texts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).input);
    assert.equal(texts.length, 400);
    const agreement = await embeddingAgreement(
      reference,
      candidate,
      texts.map((t) => tokenizer.encode(t, 512).ids),
    );
    const worst = agreement.cosines.indexOf(agreement.min);
    assert.ok(agreement.min >= 0.99, `min cosine ${agreement.min} on text ${worst}: ${texts[worst]}`);
    assert.ok(agreement.median >= 0.995, `median cosine ${agreement.median}`);
    assert.ok(agreement.min < 1, 'the int8 model is not the FP32 one');
  } finally {
    await reference.close();
    await candidate.close();
  }
});

test('quantize ppocr-rec (real weights): the int8 recogniser reads the rendered test strings', async () => {
  const [spec] = (await loadModelRepository(join(ROOT, 'models.yaml'))).filter((s) => s.id === 'ppocr-rec');
  const int8 = join(dir, 'ppocr-rec-int8.onnx');
  const summary = await quantize(spec.modelPath, int8);
  // SVTR's mixing blocks and the CTC head are MatMuls with constant weights (Paddle2ONNX's Constant nodes); the
  // two 120×120 attention projections are below the default --min-elements, the attention products are dynamic.
  assert.equal(summary.nodesQuantized, 7);
  assert.deepEqual(
    summary.kept.map((k) => k.reason.replace(/\d+ elements/, 'N elements')).sort(),
    [
      ...Array(4).fill('B is computed in the graph, not a constant'),
      ...Array(2).fill('B has N elements, fewer than the minimum 16384'),
    ].sort(),
  );
  const det = await loadOnnxModel(DEFAULT_OCR_MODEL_PATHS.detector);
  const rec = await loadOnnxModel(int8);
  try {
    const image = await rawRgb(sharp(Buffer.from(OCR_TWO_LINES_SVG)));
    const lines = await recognizeText(tensorRunner(det), tensorRunner(rec), image);
    assert.deepEqual(
      lines.map((l) => l.text.trim().toLowerCase()),
      ['pitlane 2026', 'hello world'],
    );
    for (const l of lines) assert.ok(l.score > 0.9, `${l.text}: ${l.score}`);
  } finally {
    await det.close();
    await rec.close();
  }
});

test('quantize: a file that is not a model, an unknown --exclude, a bad --min-elements are input errors naming them', async () => {
  const notes = join(dir, 'notes.onnx');
  writeFileSync(notes, 'these are notes, not a model\n');
  const bad = await pitlane(['quantize', notes, join(dir, 'out.onnx')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error PL_ERR_FILE: .*notes\.onnx: is not an ONNX model/);
  const typo = await pitlane([
    'quantize',
    DEFAULT_OCR_MODEL_PATHS.recognizer,
    join(dir, 'out.onnx'),
    '--exclude',
    'p2o.MatMul.99',
  ]);
  assert.equal(typo.code, 2);
  assert.match(
    typo.stderr,
    /--exclude 'p2o\.MatMul\.99': .*ch_PP-OCRv4_rec_infer\.onnx has no node of that name/,
  );
  const negative = await pitlane(['quantize', notes, join(dir, 'out.onnx'), '--min-elements', '-1']);
  assert.equal(negative.code, 2);
  assert.match(negative.stderr, /--min-elements must be a whole number ≥ 0/);
  const help = await pitlane(['quantize', '--help']);
  assert.equal(help.code, 0);
  for (const flag of ['--min-elements <n>', '--exclude <node>', '--json'])
    assert.ok(help.stdout.includes(flag), flag);
});
