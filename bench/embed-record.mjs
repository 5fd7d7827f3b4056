// The record comparison of issue 17: pitlane's embed server on the architecture of BAAI/bge-small-en-v1.5
// (bge-small-en-v1.5-arch: 12 layers, hidden 384, synthetic weights), FP32 and int8, under a workload shaped like
// Infinity's published CPU benchmark (docs/docs/benchmarking.md of michaelfeil/infinity: requests of 256 sentences,
// 115,000 tokens per request, i.e. about 450 tokens a sentence; several clients). Sentences are passages of the
// embeddings suite's texts joined until they reach --tokens tokens (the server truncates at 512). Each model is
// served by `pitlane serve embed` in a process of its own; requests go to POST /v1/embeddings at --concurrency,
// after one warm-up request of 32 sentences. Reported: tokens per second (the servers' own usage.total_tokens over wall time),
// per core of this machine, and tokens per CPU-second of the server process (its utime + stime from /proc), beside
// Infinity's figures, which are another machine's (a GCP g2-standard-16: 16 vCPUs of Cascade Lake): a reference,
// not a verdict.
// Usage: node bench/embed-record.mjs [--models bge-small-en-v1.5-arch,bge-small-en-v1.5-arch-int8]
//          [--sentences 256] [--tokens 450] [--requests 3] [--concurrency 2] [--threads 2] [--json]
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadWordPieceTokenizer } from '../dist/inference/text/wordpiece-tokenizer.js';
import { clockTicksPerSecond } from '../dist/lab/proc/proc-files.js';
import { readProcStat } from '../dist/process/proc-stat.js';
import { startServed } from './served-process.mjs';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'bge-small-en-v1.5-arch,bge-small-en-v1.5-arch-int8' },
    sentences: { type: 'string', default: '256' },
    tokens: { type: 'string', default: '450' },
    requests: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const sentences = Number(values.sentences);
const wantTokens = Number(values.tokens);
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const say = (line) => {
  if (!values.json) console.log(line);
};

/**
 * Infinity's CPU table (BAAI/bge-small-en-v1.5, 10 requests of 115,000 tokens, on a GCP g2-standard-16): tokens/s
 * is 1,150,000 tokens over its time column, per vCPU over 16.
 */
const INFINITY = [
  { backend: 'infinity-optimum-int8', seconds: 100.49 },
  { backend: 'infinity-optimum (onnx)', seconds: 125.342 },
  { backend: 'fastembed (onnx)', seconds: 125.77 },
  { backend: 'sentence-transformers (torch)', seconds: 256.884 },
  { backend: 'huggingface/TEI (candle)', seconds: 1104.357 },
].map((r) => ({
  ...r,
  tokens_per_s: 1_150_000 / r.seconds,
  tokens_per_s_per_vcpu: 1_150_000 / r.seconds / 16,
}));

// -- The sentences: the suite's texts, joined into passages of about --tokens tokens.
const root = new URL('..', import.meta.url).pathname;
const texts = readFileSync(join(root, 'examples/suites/embeddings/texts.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l).input);
const tokenizer = loadWordPieceTokenizer(join(root, 'models/bge-small-en-v1.5-arch/tokenizer.json'));
const passages = [];
for (let i = 0; passages.length < sentences;) {
  let passage = '';
  while (tokenizer.encode(passage).ids.length < wantTokens) passage += `${texts[i++ % texts.length]} `;
  passages.push(passage.trim());
}
const body = JSON.stringify({ input: passages, model: 'x' });
const warmUp = JSON.stringify({ input: passages.slice(0, 32), model: 'x' });

const results = [];
for (const model of values.models.split(',')) {
  const { child, pid, url } = await startServed('embed', [
    '--model',
    model,
    '--intra-op-threads',
    values.threads,
    '--auto-truncate',
    '--max-client-batch-size',
    String(sentences),
    '--max-request-tokens',
    String(sentences * 512),
  ]);
  const post = async (text = body) => {
    const res = await fetch(`${url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: text.replace('"model":"x"', `"model":"${model}"`),
    });
    if (res.status !== 200) throw new Error(`${model}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    return (await res.json()).usage.total_tokens;
  };
  // Warm-up: a request of 32 sentences (one full batch of the model's batcher), not timed.
  await post(warmUp);
  const cpu0 = readProcStat(pid);
  const t0 = performance.now();
  let sent = 0;
  let tokens = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < requests) {
        sent++;
        const n = await post(); // (not `tokens += await post()`: that reads `tokens` before the wait)
        tokens += n;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = readProcStat(pid);
  const cpuSeconds =
    cpu0 !== null && cpu1 !== null ? (cpu1.ticks - cpu0.ticks) / (await clockTicksPerSecond()) : null;
  child.kill('SIGTERM');
  const row = {
    model,
    requests,
    sentences_per_request: sentences,
    tokens_per_request: tokens / requests,
    seconds,
    tokens_per_s: tokens / seconds,
    tokens_per_s_per_core: tokens / seconds / cpus().length,
    tokens_per_cpu_second: cpuSeconds !== null ? tokens / cpuSeconds : null,
  };
  results.push(row);
  say(
    `${model}: ${requests} requests of ${sentences} sentences (${Math.round(row.tokens_per_request)} tokens each) in ${seconds.toFixed(1)} s: ` +
      `${row.tokens_per_s.toFixed(0)} tokens/s, ${row.tokens_per_s_per_core.toFixed(0)} per core of ${cpus().length}` +
      (row.tokens_per_cpu_second !== null ? `, ${row.tokens_per_cpu_second.toFixed(0)} per CPU-second` : ''),
  );
}
say(
  "Infinity's published CPU figures for BAAI/bge-small-en-v1.5 (another machine: GCP g2-standard-16, 16 vCPUs; a reference, not a verdict):",
);
for (const r of INFINITY)
  say(
    `  ${r.backend.padEnd(32)} ${r.tokens_per_s.toFixed(0).padStart(6)} tokens/s, ${r.tokens_per_s_per_vcpu.toFixed(0)} per vCPU`,
  );
if (values.json)
  console.log(JSON.stringify({ machine: { cpus: cpus().length }, results, infinity: INFINITY }));
