// The ceiling of the embeddings suite: ONNX Runtime itself, no server, no HTTP, no JSON. It loads the model
// with onnxruntime-node (the package and version pitlane uses), tokenises every text with pitlane's WordPiece
// tokenizer before any timing (and reports that time on its own), then measures
//   (a) single-request latency: each text alone (batch 1), in a shuffled order, for --seconds;
//   (b) throughput at batch sizes 1, 4, 8, 16, 32, 64 up to --max-batch, with batches formed in arrival order
//       (the file's order, chunked), over whole passes through all texts for at least --seconds each.
//       With --all-batches: every size (up to 64, whatever --max-batch says) in arrival order and sorted by token
//       length (then chunked), as a length-bucketing server would form them.
// ONNX Runtime inference, mean pooling over the attention mask and L2 normalisation are inside the timed part;
// tokenisation and building the padded int64 arrays are not. One warm-up run precedes every measurement.
// Each measurement also reports the cores this process used: ONNX Runtime's threads spin while they wait, so
// on an idle machine that is the thread count, and a row below 90% of it is marked `contended` (another
// process took the CPU; rerun). --quick divides the time by 10 and runs the throughput passes over every 4th
// text by length (the same mix of lengths). With --seconds 4 and --max-batch 16 a run is 5 measurements (about
// half a minute on 2 cores); with --all-batches it is 13.
// Output: one JSON object on stdout; progress on stderr.
//   node ort-ceiling.mjs [--threads 2] [--bodies texts.jsonl] [--seconds 10] [--quick] [--max-length 512]
//                        [--model-dir DIR] [--vectors-out FILE] [--max-batch N] [--all-batches]
// --max-batch: `best` is the best measured batch of at most N texts (a load of N clients, one text each, never
// puts more texts in a server at once), in either measured order; `best_arrival` the best of those in arrival
// order (what such a server can form). Without --all-batches only arrival order is measured, so `best` is
// `best_arrival`. `best_any_batch`, the best of every size in both orders, is written only with --all-batches
// (the key is absent otherwise).
// --max-length is where texts are truncated (tokens, [CLS]/[SEP] included); it must equal the contestants'
// (transformers-server.mjs truncates at its --max-length, 512 by default). --vectors-out writes the embeddings
// of the first 32 texts (each computed alone) as a JSON array of arrays, for correctness checks.
// Needs the build: npx tsc -p tsconfig.json && node scripts/build-models.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { seededRandom } from '../../../dist/lab/stats.js';
import { loadWordPieceTokenizer } from '../../../dist/inference/text/wordpiece-tokenizer.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BATCH_SIZES = [1, 4, 8, 16, 32, 64];
const VECTORS = 32;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const quick = process.argv.includes('--quick');
const threads = Number(arg('threads', 2));
const seconds = Number(arg('seconds', 10)) / (quick ? 10 : 1);
const bodiesFile = resolve(arg('bodies', join(HERE, 'texts.jsonl')));
const modelDir = resolve(arg('model-dir', join(HERE, '../../../models/minilm-l6-arch')));
const maxLength = Number(arg('max-length', 512));
const vectorsOut = arg('vectors-out', null);
const maxBatch = Number(arg('max-batch', BATCH_SIZES.at(-1)));
const allBatches = process.argv.includes('--all-batches');
if (!Number.isInteger(maxBatch) || maxBatch < 1) {
  process.stderr.write(
    `ort-ceiling: --max-batch must be a whole number of at least 1, not ${arg('max-batch')}\n`,
  );
  process.exit(2);
}

const log = (line) => process.stderr.write(`${line}\n`);
const ortVersion = createRequire(import.meta.url)('onnxruntime-node/package.json').version;

// ---------------------------------------------------------------------------------------------------------------
// Texts and tokens (not timed as inference)

const texts = readFileSync(bodiesFile, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .flatMap((l) => {
    const input = JSON.parse(l).input;
    return Array.isArray(input) ? input : [input];
  });
const tokenizer = loadWordPieceTokenizer(join(modelDir, 'tokenizer.json'));

function tokenizeAll() {
  const t0 = performance.now();
  const encoded = texts.map((t) => tokenizer.encodeBatch([t], { maxLength }));
  return { encoded, ms: performance.now() - t0 };
}
const cold = tokenizeAll(); // the word cache starts empty
const warm = tokenizeAll(); // as a long-running server would see it
const singles = cold.encoded;
const lengths = singles.map((b) => b.seqLength);
const untruncated = texts.map((t) => tokenizer.encode(t, { maxLength: 1 << 30 }).ids.length);
log(
  `${texts.length} texts from ${bodiesFile}; tokenised in ${cold.ms.toFixed(1)} ms (cold), ` +
    `${warm.ms.toFixed(1)} ms (warm); ${lengths.reduce((a, b) => a + b, 0)} tokens at max length ${maxLength}`,
);

/** A padded batch of the texts at `indices`, with its feeds built once. */
function batchOf(indices) {
  const enc = tokenizer.encodeBatch(
    indices.map((i) => texts[i]),
    { maxLength },
  );
  const dims = [enc.batchSize, enc.seqLength];
  const feeds = {
    input_ids: new ort.Tensor('int64', enc.inputIds, dims),
    attention_mask: new ort.Tensor('int64', enc.attentionMask, dims),
  };
  if (session.inputNames.includes('token_type_ids')) {
    feeds.token_type_ids = new ort.Tensor('int64', enc.tokenTypeIds, dims);
  }
  let real = 0;
  for (const l of enc.lengths) real += l;
  return { feeds, mask: enc.attentionMask, size: enc.batchSize, real, padded: enc.batchSize * enc.seqLength };
}

// ---------------------------------------------------------------------------------------------------------------
// The engine

const sessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: true,
};
const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), sessionOptions);

/** Masked mean over tokens, then L2 normalisation: one Float32Array per row. */
function poolAndNormalize(hidden, mask) {
  const [batch, seq, width] = hidden.dims;
  const data = hidden.data;
  const out = [];
  const acc = new Float64Array(width);
  for (let b = 0; b < batch; b++) {
    acc.fill(0);
    let count = 0;
    for (let t = 0; t < seq; t++) {
      if (mask[b * seq + t] === 0n) continue;
      count++;
      const base = (b * seq + t) * width;
      for (let h = 0; h < width; h++) acc[h] += data[base + h];
    }
    let norm = 0;
    for (let h = 0; h < width; h++) {
      acc[h] /= count || 1;
      norm += acc[h] * acc[h];
    }
    norm = Math.sqrt(norm) || 1;
    const v = new Float32Array(width);
    for (let h = 0; h < width; h++) v[h] = acc[h] / norm;
    out.push(v);
  }
  return out;
}

async function embed(batch) {
  const out = await session.run(batch.feeds);
  return poolAndNormalize(out.last_hidden_state, batch.mask);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const round = (x, digits = 3) => Number(x.toFixed(digits));

// ---------------------------------------------------------------------------------------------------------------
// (a) Single-request latency

const singleBatches = texts.map((_, i) => batchOf([i]));
if (vectorsOut) {
  const vectors = [];
  for (let i = 0; i < Math.min(VECTORS, texts.length); i++)
    vectors.push(Array.from((await embed(singleBatches[i]))[0]));
  writeFileSync(vectorsOut, `${JSON.stringify(vectors)}\n`);
  log(`wrote ${vectors.length} vectors to ${vectorsOut}`);
}

log(`single: batch 1, ${seconds} s`);
for (let i = 0; i < Math.min(20, texts.length); i++) await embed(singleBatches[i]); // warm-up
const rand = seededRandom(7);
const samples = [];
const singleCpu0 = process.cpuUsage();
const singleStart = performance.now();
{
  const order = texts.map((_, i) => i);
  const start = singleStart;
  let passes = 0;
  outer: for (;;) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order) {
      const t0 = performance.now();
      await embed(singleBatches[i]);
      samples.push(performance.now() - t0);
      if (performance.now() - start >= seconds * 1000) break outer;
    }
    passes++;
  }
  log(`single: ${samples.length} samples (${passes} full passes)`);
}
const singleCpu = process.cpuUsage(singleCpu0);
const singleSeconds = (performance.now() - singleStart) / 1000;
const sortedSamples = samples.slice().sort((a, b) => a - b);
const single = {
  p50_ms: round(percentile(sortedSamples, 50)),
  p90_ms: round(percentile(sortedSamples, 90)),
  p99_ms: round(percentile(sortedSamples, 99)),
  mean_ms: round(samples.reduce((a, b) => a + b, 0) / samples.length),
  max_ms: round(sortedSamples.at(-1)),
  samples: samples.length,
  cpu_cores_used: round((singleCpu.user + singleCpu.system) / 1e6 / singleSeconds, 2),
};

// ---------------------------------------------------------------------------------------------------------------
// (b) Throughput by batch size and batch order

function chunk(indices, size) {
  const out = [];
  for (let i = 0; i < indices.length; i += size) out.push(indices.slice(i, i + size));
  return out;
}
// --quick measures throughput on every 4th text by length (the same length mix, a quarter of the work per pass).
const all = texts.map((_, i) => i);
const allByLength = all.slice().sort((a, b) => lengths[a] - lengths[b] || a - b);
const byLength = quick ? allByLength.filter((_, k) => k % 4 === 0) : allByLength;
const measured = new Set(byLength);
const arrival = all.filter((i) => measured.has(i));

// Lean by default: arrival order up to --max-batch, what the suite reads. --all-batches: every size, both orders.
const plans = allBatches
  ? ['sorted', 'arrival'].flatMap((order) => BATCH_SIZES.map((size) => ({ order, size })))
  : BATCH_SIZES.filter((size) => size <= maxBatch).map((size) => ({ order: 'arrival', size }));
const batches = [];
for (const { order, size } of plans) {
  const plan = chunk(order === 'sorted' ? byLength : arrival, size).map(batchOf);
  const real = plan.reduce((s, b) => s + b.real, 0);
  const padded = plan.reduce((s, b) => s + b.padded, 0);
  // Warm-up on the largest batch of the plan, so that ONNX Runtime's arena has grown before the clock runs.
  await embed(plan.reduce((a, b) => (b.padded > a.padded ? b : a)));
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let sequences = 0;
  let passes = 0;
  // Whole passes only: a part of a sorted pass would be all short or all long texts.
  do {
    for (const b of plan) {
      await embed(b);
      sequences += b.size;
    }
    passes++;
  } while (performance.now() - start < seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const row = {
    batch_size: size,
    order,
    sequences_per_s: round(sequences / elapsed, 2),
    tokens_per_s: round((real * passes) / elapsed, 0),
    padding_efficiency: round(real / padded, 3),
    passes,
    seconds: round(elapsed, 2),
    // ONNX Runtime's threads spin while they wait, so on an idle machine this is close to the thread count;
    // clearly less means other processes took the cores and the row is not a clean figure.
    cpu_cores_used: round((cpu.user + cpu.system) / 1e6 / elapsed, 2),
  };
  log(
    `batch ${String(size).padStart(2)} ${order.padEnd(7)}: ${row.sequences_per_s} seq/s ` +
      `(${passes} passes, ${row.seconds} s, ${Math.round(row.padding_efficiency * 100)}% real tokens, ` +
      `${row.cpu_cores_used} cores used)`,
  );
  batches.push(row);
}
const expectedCores = Math.min(threads, cpus().length);
for (const row of batches) row.contended = row.cpu_cores_used < 0.9 * expectedCores;
single.contended = single.cpu_cores_used < 0.9 * expectedCores;
const contended = [single, ...batches].filter((r) => r.contended).length;
if (contended > 0) {
  log(
    `warning: ${contended} measurement(s) used < 90% of ${expectedCores} cores: other processes took CPU; rerun`,
  );
}
const fastest = (rows) => rows.reduce((a, b) => (b.sequences_per_s > a.sequences_per_s ? b : a));
// `best` is the best of the measured batch sizes up to --max-batch, in either measured order; `best_arrival` the
// best of them in arrival order, which is what a server facing --max-batch closed-loop clients of one text each
// can form (it never holds more texts than that, nor chooses among more by length); `best_any_batch` (with
// --all-batches only) is the best of every size in both orders.
const within = batches.filter((b) => b.batch_size <= maxBatch);
const best = fastest(within);
const bestArrival = fastest(within.filter((b) => b.order === 'arrival'));
const figure = (row) => ({
  batch_size: row.batch_size,
  order: row.order,
  sequences_per_s: row.sequences_per_s,
});

await session.release();

const sortedLengths = lengths.slice().sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    name: 'ort-ceiling',
    runtime: `onnxruntime-node ${ortVersion}`,
    threads: { intra_op: threads, inter_op: 1, graph_optimization: 'all', execution_mode: 'sequential' },
    bodies: bodiesFile,
    texts: texts.length,
    texts_in_throughput_passes: arrival.length,
    max_length: maxLength,
    tokens: {
      total: lengths.reduce((a, b) => a + b, 0),
      p50: percentile(sortedLengths, 50),
      max: sortedLengths.at(-1),
      truncated_texts: untruncated.filter((n) => n > maxLength).length,
    },
    tokenize_ms_total: round(cold.ms, 2),
    tokenize_ms_total_warm_cache: round(warm.ms, 2),
    quick,
    seconds_per_measurement: seconds,
    single,
    batches,
    max_batch: maxBatch,
    all_batches: allBatches,
    best: figure(best),
    best_arrival: figure(bestArrival),
    ...(allBatches ? { best_any_batch: figure(fastest(batches)) } : {}),
    contended_measurements: contended,
    machine: { cpus: cpus().length, node: process.version },
  })}\n`,
);
