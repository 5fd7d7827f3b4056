// Where a single request's time goes in `pitlane serve embed`, layer by layer, on the same texts. Each layer runs
// in a fresh child process of its own: ONNX Runtime's intra-op threads spin for a while after each run, so two
// sessions in one process slow each other down and would blur the comparison. Layers alternate over rounds.
//   raw      the ONNX embedder called in this thread (what the ceiling's single-request loop does)
//   thread   the same model on its inference thread (adds the post/transfer hop)
//   service  EmbeddingService.embed: tokenize + batcher + inference thread + normalise
//   inject   the same through fastify's inject (routing, JSON in and out; no network)
//   http     POST /v1/embeddings over loopback with fetch from this process (adds HTTP and the client)
// Usage: node bench/embed-overhead.mjs [--requests 300] [--threads 2] [--tokenizer-threads 1]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EmbeddingService } from '../dist/inference/text/embedding-service.js';
import { loadModelRepository } from '../dist/inference/tensor/model-repository.js';
import { loadOnnxEmbedder } from '../dist/inference/backends/onnx/embedder.js';
import { loadEmbedderOnThread } from '../dist/inference/text/thread-embedder.js';
import { createTokenizer } from '../dist/inference/text/tokenizers.js';
import { buildEmbedApp } from '../dist/services/embed/app.js';
import { EmbedMetrics } from '../dist/services/embed/metrics.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    threads: { type: 'string', default: '2' },
    'tokenizer-threads': { type: 'string', default: '1' },
    layer: { type: 'string' },
    rounds: { type: 'string', default: '3' },
  },
});
const LAYERS = ['raw', 'thread', 'service', 'inject', 'http'];
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];

if (values.layer === undefined) {
  // The parent: run each layer in a child, alternating, and print p50/p90 with the ratio to raw.
  const { execFileSync } = await import('node:child_process');
  const all = Object.fromEntries(LAYERS.map((l) => [l, []]));
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const layer of r % 2 === 0 ? LAYERS : [...LAYERS].reverse()) {
      const args = [new URL(import.meta.url).pathname, '--layer', layer, '--requests', values.requests];
      args.push('--threads', values.threads, '--tokenizer-threads', values['tokenizer-threads']);
      all[layer].push(...JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })));
    }
  }
  const rawP50 = q(all.raw, 0.5);
  for (const [name, xs] of Object.entries(all)) {
    const p50 = q(xs, 0.5);
    console.log(
      `${name.padEnd(8)} p50 ${p50.toFixed(2).padStart(7)} ms  p90 ${q(xs, 0.9).toFixed(2).padStart(7)} ms  ${(p50 / rawP50).toFixed(2)}x raw  (${xs.length} requests)`,
    );
  }
  process.exit(0);
}
const root = new URL('..', import.meta.url).pathname;
const [base] = await loadModelRepository(`${root}models.yaml`);
const spec = { ...base, threads: { ...base.threads, intraOp: Number(values.threads), interOp: 1 } };
const texts = readFileSync(`${root}examples/suites/embeddings/texts.jsonl`, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).input);

const layer = values.layer;
const tokenizer = await createTokenizer({ kind: 'wordpiece', path: spec.tokenizerPath });
const raw = layer === 'raw' ? await loadOnnxEmbedder(spec) : null;
const threaded = layer === 'thread' ? await loadEmbedderOnThread(spec) : null;
const service =
  layer === 'service' || layer === 'http' || layer === 'inject'
    ? await EmbeddingService.load(spec, { tokenizerThreads: Number(values['tokenizer-threads']) })
    : null;
let app = null;
let url = '';
if (layer === 'http' || layer === 'inject') {
  app = buildEmbedApp(
    { services: new Map([[spec.id, service]]), ready: true },
    { defaultModel: spec.id, bodyLimitBytes: 1 << 24, version: 'bench', metrics: new EmbedMetrics() },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${app.server.address().port}/v1/embeddings`;
}

const run = {
  raw: (t) => raw.embed([tokenizer.encode(t, 512).ids]),
  thread: (t) => threaded.embed([tokenizer.encode(t, 512).ids]),
  service: (t) => service.embed([t]),
  // fastify without the network: routing, JSON in and out, the handler.
  inject: (t) => app.inject({ method: 'POST', url: '/v1/embeddings', payload: { input: t } }),
  http: async (t) => {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: t }),
    });
    await r.arrayBuffer();
  },
};
const times = [];
const n = Number(values.requests);
for (let i = 0; i < n + 30; i++) {
  const text = texts[i % texts.length];
  const t0 = performance.now();
  await run[layer](text);
  if (i >= 30) times.push(performance.now() - t0);
}
process.stdout.write(JSON.stringify(times));
await app?.close();
await service?.close();
await threaded?.close();
await raw?.close();
