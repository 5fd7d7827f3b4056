// Micro-benchmark of the audio processing nodes (npm run build first): ns per 20 ms frame through each node's
// process(), called directly (no executor), after a warm-up. Frames are a 440 Hz sine; every node keeps its
// per-stream state across frames, as in a stream.
//   node bench/audio-nodes.mjs [--seconds 20]   (best of 5 runs per node; the table says what each row is)
//   resample  FastResampleNode 48 kHz stereo → 16 kHz mono at each quality (libsamplerate in WebAssembly)
//   transform AudioTransform 44.1 kHz stereo → 16 kHz mono, gain_db -6 (Medium)
//   chunker   AudioChunkerNode 16 kHz mono 20 ms frames → 512-sample chunks
//   buffer    AudioBuffer 16 kHz mono 20 ms frames → 1 s frames
//   accum     AudioBufferAccumulatorNode 16 kHz mono 20 ms frames, VAD JSON events every 2 s (1.5 s speech)
import { parseArgs } from 'node:util';
import { AudioFrame } from '../dist/core/audio.js';
import { AudioBuffer } from '../dist/nodes/audio/audio-buffer.js';
import { AudioChunkerNode } from '../dist/nodes/audio/chunker.js';
import { FastResampleNode } from '../dist/nodes/audio/resample.js';
import { nodeOf } from '../dist/nodes/audio/test-support.js';
import { AudioTransform } from '../dist/nodes/audio/transform.js';
import { AudioBufferAccumulatorNode } from '../dist/nodes/audio/utterance-accumulator.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' } } });
const seconds = Number(values.seconds);

/** `count` 20 ms frames of a sine at `rate` with `channels`, timestamped. */
function frames(rate, channels, count) {
  const n = rate / 50;
  const out = [];
  for (let k = 0; k < count; k++) {
    const s = new Float32Array(n * channels);
    for (let i = 0; i < n; i++) {
      const v = 0.5 * Math.sin((2 * Math.PI * 440 * (k * n + i)) / rate);
      for (let c = 0; c < channels; c++) s[i * channels + c] = v;
    }
    out.push(new AudioFrame(s, { sampleRate: rate, channels, timestampUs: k * 20_000 }));
  }
  return out;
}

/** Drains a process() result the way the executor does, counting outputs. */
async function consume(r) {
  if (r && typeof r.then === 'function') r = await r;
  if (r === undefined) return 0;
  if (r && typeof r.next === 'function') return [...r].length;
  return 1;
}

/**
 * Best of `reps` runs (a fresh node each) of the items after a warm-up. The machine is shared: the minimum is the
 * cost, and the CPU time this process spent (user + system) is quoted beside the wall time, since a busy machine
 * stretches wall time by preemption but not the CPU time of the work.
 */
async function measure(name, def, params, items, audioFrames, reps = 5) {
  let best = Infinity;
  let bestCpu = Infinity;
  let outputs = 0;
  for (let rep = 0; rep < reps; rep++) {
    const node = nodeOf(def, params);
    const warm = Math.min(items.length, 100);
    for (let i = 0; i < warm; i++) await consume(node.process(items[i]));
    outputs = 0;
    const cpu = process.cpuUsage();
    const t = process.hrtime.bigint();
    for (let i = warm; i < items.length; i++) outputs += await consume(node.process(items[i]));
    const wall = Number(process.hrtime.bigint() - t);
    const used = process.cpuUsage(cpu);
    best = Math.min(best, wall / (audioFrames - warm));
    bestCpu = Math.min(bestCpu, ((used.user + used.system) * 1000) / (audioFrames - warm));
    await node.cleanup?.();
  }
  return { name, ns: best, cpuNs: bestCpu, outputs };
}

const count = seconds * 50;
const st48 = frames(48_000, 2, count);
const st44 = frames(44_100, 2, count);
const mono16 = frames(16_000, 1, count);
const vadItems = [];
for (let k = 0; k < count; k++) {
  const phase = k % 100; // 2 s cycle: speech from 0.5 s to 2 s
  if (phase === 25) vadItems.push({ is_speech_start: true, is_speech_end: false });
  if (phase === 0 && k > 0) vadItems.push({ is_speech_start: false, is_speech_end: true });
  vadItems.push(mono16[k]);
}

const rows = [];
for (const quality of ['Low', 'Medium', 'High']) {
  rows.push(
    await measure(
      `FastResampleNode 48k stereo→16k mono ${quality}`,
      FastResampleNode,
      { source_rate: 48_000, target_rate: 16_000, channels: 1, quality },
      st48,
      count,
    ),
  );
}
rows.push(
  await measure(
    'AudioTransform 44.1k stereo→16k mono -6 dB',
    AudioTransform,
    { output_sample_rate: 16_000, output_channels: 1, gain_db: -6 },
    st44,
    count,
  ),
);
rows.push(
  await measure('AudioChunkerNode 16k mono → 512', AudioChunkerNode, { chunk_size: 512 }, mono16, count),
);
rows.push(
  await measure('AudioBuffer 16k mono → 16000', AudioBuffer, { buffer_size_samples: 16_000 }, mono16, count),
);
// The accumulator's items include the VAD events; the cost is quoted per audio frame.
const acc = await measure(
  'AudioBufferAccumulatorNode 16k mono',
  AudioBufferAccumulatorNode,
  {},
  vadItems,
  count,
);
rows.push(acc);

console.log(`audio nodes, ${seconds} s of 20 ms frames each (${count} frames); per 20 ms frame, best of 5`);
console.log(
  `${'node'.padEnd(46)} ${'wall ns'.padStart(10)} ${'cpu ns'.padStart(10)} ${'x real time (cpu)'.padStart(18)} ${'outputs'.padStart(8)}`,
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(46)} ${r.ns.toFixed(0).padStart(10)} ${r.cpuNs.toFixed(0).padStart(10)} ${(20e6 / r.cpuNs).toFixed(0).padStart(18)} ${String(r.outputs).padStart(8)}`,
  );
}
