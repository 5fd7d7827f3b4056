// Where a single request's time goes in `pitlane serve embed`, layer by layer, on the same texts, interleaved
// (so machine noise hits every layer alike):
//   raw      the ONNX embedder called in this thread (what the ceiling's single-request loop does)
//   thread   the same model on its inference thread (adds the post/transfer hop)
//   service  EmbeddingService.embed: tokenize + batcher + inference thread + normalise
//   http     POST /v1/embeddings through fastify over loopback (adds HTTP, JSON in and out)
// Usage: node bench/embed-overhead.mjs [--requests 300] [--threads 2] [--tokenizer-threads 1]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EmbeddingService } from '../dist/inference/embedding-service.js';
import { loadModelRepository } from '../dist/inference/model-repository.js';
import { loadOnnxEmbedder } from '../dist/inference/onnx-embedder.js';
import { loadEmbedderOnThread } from '../dist/inference/thread-embedder.js';
import { createTokenizer } from '../dist/inference/tokenizers.js';
import { buildEmbedApp } from '../dist/services/embed/app.js';
import { EmbedMetrics } from '../dist/services/embed/metrics.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    threads: { type: 'string', default: '2' },
    'tokenizer-threads': { type: 'string', default: '1' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const [base] = await loadModelRepository(`${root}models.yaml`);
const spec = { ...base, threads: { intraOp: Number(values.threads), interOp: 1 } };
const texts = readFileSync(`${root}examples/suites/embeddings/texts.jsonl`, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).input);

const raw = await loadOnnxEmbedder(spec);
const threaded = await loadEmbedderOnThread(spec);
const tokenizer = await createTokenizer(raw.tokenizer);
const service = await EmbeddingService.load(spec, { tokenizerThreads: Number(values['tokenizer-threads']) });
const state = { services: new Map([[spec.id, service]]), ready: true };
const app = buildEmbedApp(state, {
  defaultModel: spec.id,
  bodyLimitBytes: 1 << 24,
  version: 'bench',
  metrics: new EmbedMetrics(),
});
await app.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${app.server.address().port}/v1/embeddings`;

const layers = {
  raw: (t) => raw.embed([tokenizer.encode(t, 512).ids]),
  thread: (t) => threaded.embed([tokenizer.encode(t, 512).ids]),
  service: (t) => service.embed([t]),
  http: async (t) => {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: t }),
    });
    await r.arrayBuffer();
  },
};
const times = Object.fromEntries(Object.keys(layers).map((k) => [k, []]));
const n = Number(values.requests);
for (let i = 0; i < n + 30; i++) {
  const text = texts[i % texts.length];
  for (const [name, fn] of Object.entries(layers)) {
    const t0 = performance.now();
    await fn(text);
    if (i >= 30) times[name].push(performance.now() - t0);
  }
}
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
const rawP50 = q(times.raw, 0.5);
for (const [name, xs] of Object.entries(times)) {
  const p50 = q(xs, 0.5);
  console.log(
    `${name.padEnd(8)} p50 ${p50.toFixed(2).padStart(7)} ms  p90 ${q(xs, 0.9).toFixed(2).padStart(7)} ms  ${(p50 / rawP50).toFixed(2)}x raw`,
  );
}
await app.close();
await service.close();
await threaded.close();
await raw.close();
