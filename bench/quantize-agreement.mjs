// How an int8 model (pitlane quantize) compares with its FP32 original on the embeddings suite's corpus:
// per-text cosine of the pooled vectors (min, p1, median: the bar is min ≥ 0.99, median ≥ 0.995) and the
// speed ratio over batches of 32 texts (FP32 ms / int8 ms; informative, quote it only from a quiet machine).
// Both models run in this process through pitlane's ONNX embedder (dist/), as `pitlane serve embed` runs them,
// in alternating order so that neither always runs second.
// Usage: node bench/quantize-agreement.mjs [--fp32 minilm-l6-arch] [--int8 minilm-l6-arch-int8]
//          [--rounds 3] [--threads 2]   (models by id from models.yaml, built by npm run build:models;
//          --rounds 0: agreement only)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadModelRepository } from '../dist/inference/tensor/model-repository.js';
import { loadOnnxEmbedder } from '../dist/inference/backends/onnx/embedder.js';
import { embeddingAgreement } from '../dist/inference/text/embedding-agreement.js';
import { createTokenizer } from '../dist/inference/text/tokenizers.js';

const { values } = parseArgs({
  options: {
    fp32: { type: 'string', default: 'minilm-l6-arch' },
    int8: { type: 'string', default: 'minilm-l6-arch-int8' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const specs = await loadModelRepository(`${root}models.yaml`);
const specOf = (id) => {
  const spec = specs.find((s) => s.id === id);
  if (spec === undefined)
    throw new Error(`models.yaml has no model '${id}' (its models: ${specs.map((s) => s.id).join(', ')})`);
  return { ...spec, threads: { intraOp: Number(values.threads), interOp: 1 } };
};
const [fp32Spec, int8Spec] = [specOf(values.fp32), specOf(values.int8)];
const texts = readFileSync(`${root}examples/suites/embeddings/texts.jsonl`, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).input);
const tokenizer = await createTokenizer({ kind: 'wordpiece', path: fp32Spec.tokenizerPath });
const sequences = texts.map((t) => tokenizer.encode(t, fp32Spec.maxSequenceLength).ids);

const fp32 = await loadOnnxEmbedder(fp32Spec);
const int8 = await loadOnnxEmbedder(int8Spec);
try {
  const a = await embeddingAgreement(fp32, int8, sequences);
  const f = (x) => x.toFixed(5);
  console.log(`${values.int8} vs ${values.fp32}: ${texts.length} texts, cosine per text`);
  console.log(
    `  min ${f(a.min)}  p1 ${f(a.p1)}  median ${f(a.median)}   (bar: min >= 0.99, median >= 0.995)`,
  );

  if (Number(values.rounds) === 0) process.exit(0); // agreement only
  // Speed: the whole corpus in batches of 32 texts of similar length (sorted by tokens, as embedding servers
  // batch them, so that padding does not dominate), each model in turn, alternating which goes first.
  const byLength = [...sequences].sort((x, y) => x.length - y.length);
  const batches = [];
  for (let at = 0; at < byLength.length; at += 32) batches.push(byLength.slice(at, at + 32));
  await fp32.warmUp();
  await int8.warmUp();
  const times = { fp32: [], int8: [] };
  const pass = async (name, model) => {
    const t0 = performance.now();
    for (const batch of batches) await model.embed(batch);
    times[name].push(performance.now() - t0);
  };
  for (let r = 0; r < Number(values.rounds); r++) {
    const order = r % 2 === 0 ? ['fp32', 'int8'] : ['int8', 'fp32'];
    for (const name of order) await pass(name, name === 'fp32' ? fp32 : int8);
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  const [mf, mi] = [median(times.fp32), median(times.int8)];
  const tokens = sequences.reduce((n, s) => n + s.length, 0);
  console.log(
    `${batches.length} batches of 32 (${tokens} tokens), median of ${times.fp32.length} passes: fp32 ${mf.toFixed(0)} ms, int8 ${mi.toFixed(0)} ms: int8 is ${(mf / mi).toFixed(2)}x fp32 (${values.threads} intra-op threads; informative)`,
  );
} finally {
  await fp32.close();
  await int8.close();
}
