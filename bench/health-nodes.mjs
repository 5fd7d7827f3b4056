// Micro-benchmark of the stream-health nodes (npm run build first): ns per 20 ms 16 kHz mono frame (320 samples)
// in each node's process, and through RemoteMedia's stream-health manifest (its 5 nodes side by side, every
// frame to each) and pitlane's example (analysers → HealthEmitter, plus timing) run by runPipeline from an
// async input stream, so executor costs included.
//   node bench/health-nodes.mjs
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudioFrame } from '../dist/core/audio.js';
import { BUILTIN_NODE_TYPES } from '../dist/nodes/registry.js';
import { runPipeline } from '../dist/pipeline/executor.js';
import { loadManifestFile } from '../dist/pipeline/manifest.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RATE = 16_000;
const N = 320;
const FRAME_US = 20_000;

// 50 different frames of a speech-like signal: a 200 Hz tone with an envelope, plus noise; some near silence.
const pool = Array.from({ length: 50 }, (_, f) => {
  const s = new Float32Array(N);
  const level = f % 10 === 0 ? 0.0005 : 0.05 + 0.3 * Math.abs(Math.sin(f / 3));
  for (let i = 0; i < N; i++) {
    s[i] = level * Math.sin((2 * Math.PI * 200 * (f * N + i)) / RATE) + 0.002 * (Math.random() - 0.5);
  }
  return s;
});
const frameAt = (i) =>
  new AudioFrame(pool[i % pool.length], {
    sampleRate: RATE,
    channels: 1,
    timestampUs: i * FRAME_US,
    arrivalTsUs: 1e6 + i * FRAME_US,
  });

function ctx(params) {
  return {
    id: 'n',
    params,
    baseDir: ROOT,
    signal: new AbortController().signal,
    runtimeHint: undefined,
    options: {},
  };
}

// Frames are made in the timed loop (as a reader makes them; timestamps must advance for HealthEmitterNode);
// the cost of making them alone is measured first and subtracted. Each figure is the best of ROUNDS rounds, which
// keeps out most of the noise of a shared machine.
const ROUNDS = 7;
function timeLoop(run, count) {
  let sink = 0;
  let best = Infinity;
  for (let i = 0; i < count / 5; i++) if (run(frameAt(i)) !== undefined) sink++;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) if (run(frameAt(i)) !== undefined) sink++;
    best = Math.min(best, Number(process.hrtime.bigint() - start) / count);
  }
  return [best, sink];
}

const COUNT = 50_000;
const [making] = timeLoop((f) => f, COUNT);
console.log(
  `${'(making a frame)'.padEnd(34)} ${making.toFixed(0).padStart(6)} ns per frame, subtracted below`,
);
let total = 0;
for (const [type, params] of [
  ['AudioLevelNode', { low_volume_threshold_db: -20, silence_threshold_db: -50 }],
  ['SilenceDetectorNode', {}],
  ['ClippingDetectorNode', {}],
  ['ChannelBalanceNode', {}],
  ['HealthEmitterNode', {}],
]) {
  const node = BUILTIN_NODE_TYPES.get(type).create(ctx(params));
  const [ns, sink] = timeLoop((f) => node.process(f), COUNT);
  total += ns - making;
  console.log(`${type.padEnd(34)} ${(ns - making).toFixed(0).padStart(6)} ns per frame (${sink > 0})`);
}
console.log(`${'sum of the five (node code only)'.padEnd(34)} ${total.toFixed(0).padStart(6)} ns per frame`);

for (const [name, file] of [
  ["RemoteMedia's stream-health.yaml", join(ROOT, 'test', 'fixtures', 'remotemedia', 'stream-health.yaml')],
  ['examples/pipelines/stream-health', join(ROOT, 'examples', 'pipelines', 'stream-health.yaml')],
]) {
  const manifest = await loadManifestFile(file, BUILTIN_NODE_TYPES);
  const frames = Array.from({ length: COUNT }, (_, i) => frameAt(i));
  async function* input() {
    yield* frames;
  }
  let outputs = 0;
  const onOutput = () => {
    outputs++;
    return null;
  };
  await runPipeline(manifest, { input: input(), onOutput }); // warm-up run
  let ns = Infinity;
  let r;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    r = await runPipeline(manifest, { input: input(), onOutput });
    ns = Math.min(ns, Number(process.hrtime.bigint() - start) / COUNT);
  }
  console.log(
    `${name.padEnd(34)} ${ns.toFixed(0).padStart(6)} ns per frame through runPipeline (${r.state}, ${outputs / (ROUNDS + 1)} outputs)`,
  );
}
