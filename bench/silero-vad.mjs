// Silero VAD's cost on one intra-op thread, and what pitlane adds around it (issue 15, benchmark 7c).
//   model     session.run on one 32 ms window (512 samples at 16 kHz), back to back, state carried: the model's
//             cost, and its real-time factor (32 ms / that cost)
//   node      the SileroVAD node on 20 ms frames (or --frame-ms): per frame, the node's whole time (process until
//             its outputs are ready) and, within it, the time in session.run; their difference is pitlane's
//             overhead per frame (windowing, state, events, promise hops); frames that complete no window are
//             answered synchronously, taken without an await as the executor takes them, and count with zero
//             model time
//   pipeline  a one-node pipeline through the executor on the same audio: wall time and real-time factor
//   energy    FastVAD per frame, for scale
// Audio: the LibriVox clips of Debian's pocketsphinx-testdata, back to back, repeated to --seconds.
// Usage: node bench/silero-vad.mjs [--seconds 60] [--frame-ms 20] [--rounds 3]
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { AudioFrame } from '../dist/core/audio.js';
import { loadOnnxModel } from '../dist/inference/backends/onnx/session.js';
import {
  loadSileroVad,
  sileroVadModelPath,
  sileroVadOf,
} from '../dist/inference/backends/onnx/silero-vad.js';
import { energyVadNode, energyVadSettings } from '../dist/nodes/audio/energy-vad.js';
import { sileroVadNode, sileroVadSettings } from '../dist/nodes/audio/silero-vad.js';
import { manifestOf } from '../dist/nodes/test-support.js';
import { runPipeline } from '../dist/pipeline/executor.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'frame-ms': { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
  },
});
const SECONDS = Number(values.seconds);
const FRAME = Math.round((16000 * Number(values['frame-ms'])) / 1000);
const ROUNDS = Number(values.rounds);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

function speech() {
  const dir = '/usr/share/pocketsphinx/test/data/librivox';
  const parts = ['0870', '0880', '0890', '0920', '0930'].map((n) => {
    const buf = readFileSync(`${dir}/sense_and_sensibility_01_austen_64kb-${n}.wav`);
    const at = buf.indexOf('data') + 8; // these files have a plain 44-byte header
    const out = new Float32Array((buf.length - at) >> 1);
    for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(at + 2 * i) / 32768;
    return out;
  });
  const total = SECONDS * 16000;
  const out = new Float32Array(total);
  for (let at = 0, k = 0; at < total; k++) {
    const p = parts[k % parts.length].subarray(0, total - at);
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const audio = speech();
const frames = [];
for (let i = 0; i + FRAME <= audio.length; i += FRAME) {
  frames.push(
    new AudioFrame(audio.slice(i, i + FRAME), {
      sampleRate: 16000,
      channels: 1,
      timestampUs: (i * 1e6) / 16000,
    }),
  );
}
const opts = { intraOpThreads: 1, interOpThreads: 1, allowSpinning: false };

/** A session whose run is timed: `log` gets each run's milliseconds. */
async function timedSession(log) {
  const s = await loadOnnxModel(sileroVadModelPath(), opts);
  return {
    ...s,
    run: async (feeds) => {
      const t0 = performance.now();
      const r = await s.run(feeds);
      log.push(performance.now() - t0);
      return r;
    },
  };
}

async function modelOnly() {
  const runs = [];
  const model = sileroVadOf(await timedSession(runs));
  const stream = model.createStream(16000);
  for (let i = 0; i + 512 <= audio.length; i += 512) {
    stream.window.set(audio.subarray(i, i + 512));
    await stream.run();
  }
  await model.close();
  return runs.slice(50);
}

/** Takes a node's outputs as the executor does: a promise is awaited, an iterator or value is used at once. */
function take(v) {
  if (v !== undefined && typeof v[Symbol.iterator] === 'function') Array.from(v);
}
function drain(r) {
  return r instanceof Promise ? r.then(take) : take(r);
}

async function nodeRun() {
  const runs = [];
  const session = await timedSession(runs);
  const node = sileroVadNode(sileroVadSettings({}), async () => sileroVadOf(session));
  await node.initialize();
  const total = [];
  const model = [];
  for (const f of frames) {
    const before = runs.length;
    const t0 = performance.now();
    const pending = drain(node.process(f));
    if (pending !== undefined) await pending;
    const t = performance.now() - t0;
    let m = 0;
    for (let k = before; k < runs.length; k++) m += runs[k];
    total.push(t);
    model.push(m);
  }
  await drain(node.flush());
  await node.cleanup();
  const skip = 50;
  const overhead = total.slice(skip).map((t, i) => t - model[i + skip]);
  const withModel = overhead.filter((_, i) => model[i + skip] > 0);
  const withoutModel = overhead.filter((_, i) => model[i + skip] === 0);
  return { total: total.slice(skip), overhead, withModel, withoutModel };
}

async function pipelineRun() {
  const m = manifestOf({
    version: 'v1',
    metadata: { name: 'vad' },
    nodes: [{ id: 'vad', node_type: 'SileroVAD' }],
    connections: [],
  });
  async function* feed() {
    for (const f of frames) yield f;
  }
  const t0 = performance.now();
  const r = await runPipeline(m, { input: feed(), onOutput: () => null });
  if (r.state !== 'completed') throw r.error;
  return performance.now() - t0;
}

function energyRun() {
  const node = energyVadNode(energyVadSettings({}));
  const times = [];
  for (const f of frames) {
    const t0 = performance.now();
    Array.from(node.process(f));
    times.push(performance.now() - t0);
  }
  return times.slice(50);
}

const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;
const rows = {
  model: [],
  modelP90: [],
  modelMean: [],
  load: [],
  nodeTotal: [],
  overhead: [],
  overheadWithModel: [],
  overheadSync: [],
  pipeline: [],
  energy: [],
};
for (let r = 0; r < ROUNDS; r++) {
  const runs = await modelOnly();
  rows.model.push(median(runs));
  rows.modelP90.push(pct(runs, 0.9));
  rows.modelMean.push(mean(runs));
  const t0 = performance.now();
  await (await loadSileroVad()).close();
  rows.load.push(performance.now() - t0);
  const n = await nodeRun();
  rows.nodeTotal.push(median(n.total));
  rows.overhead.push(median(n.overhead));
  rows.overheadWithModel.push(median(n.withModel));
  rows.overheadSync.push(median(n.withoutModel));
  rows.pipeline.push(await pipelineRun());
  rows.energy.push(median(energyRun()));
}
const window = median(rows.model);
const line = (label, text) => console.log(`${label.padEnd(10)}${text}`);
line(
  '',
  `Silero VAD v4, onnxruntime-node, 1 intra-op thread; ${SECONDS} s of LibriVox speech; ${ROUNDS} rounds (medians of per-round figures)`,
);
line(
  'model',
  `session.run per 32 ms window: median ${us(window)}, real-time factor ${(32 / window).toFixed(0)}x`,
);
line(
  '',
  `p90 ${us(median(rows.modelP90))}, mean ${us(median(rows.modelMean))}; loading the model ${median(rows.load).toFixed(0)} ms`,
);
line('node', `per ${values['frame-ms']} ms frame, whole: median ${us(median(rows.nodeTotal))}`);
line(
  '',
  `pitlane's overhead (node time - session.run time) per frame: median ${us(median(rows.overhead))}; frames that ran the model ${us(median(rows.overheadWithModel))}, frames answered synchronously ${us(median(rows.overheadSync))}`,
);
const wall = median(rows.pipeline);
line(
  'pipeline',
  `${SECONDS} s of audio through the executor in ${wall.toFixed(0)} ms, model load included: real-time factor ${((SECONDS * 1000) / wall).toFixed(0)}x`,
);
line('energy', `FastVAD per frame: median ${us(median(rows.energy))}`);
line(
  '',
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on ${cpus().length} cores`,
);
