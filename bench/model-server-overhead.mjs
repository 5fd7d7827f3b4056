// What `pitlane serve models` adds over in-process inference, per request at batch 1: the same model, the same
// inputs, called (a) in this process through LocalInference (dynamic batcher + inference thread) and (b) over
// loopback HTTP through the KServe client against `pitlane serve models` in a child process, with binary tensors
// (and JSON, for comparison). Sequential requests, paths alternating in blocks, after a warm-up. Reports medians
// of each path and the median of the per-block differences (server − in-process).
// Usage: node bench/model-server-overhead.mjs [--model blazeface-256] [--blocks 20] [--per-block 50]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KServeClient } from '../dist/inference/kserve/client.js';
import { createLocalInference } from '../dist/inference/tensor/local-inference.js';
import { loadModelRepository } from '../dist/inference/tensor/model-repository.js';
import { shapeSize, allocTensorData } from '../dist/inference/tensor/tensor.js';
import { writeDoublerModel } from '../dist/inference/test-support.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'blazeface-256' },
    blocks: { type: 'string', default: '20' },
    'per-block': { type: 'string', default: '50' },
  },
});
const blocks = Number(values.blocks);
const perBlock = Number(values['per-block']);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

const temp = mkdtempSync(join(tmpdir(), 'pitlane-ms-overhead-'));
let modelsFile = join(process.cwd(), 'models.yaml');
if (values.model === 'doubler') {
  await writeDoublerModel(join(temp, 'doubler.onnx'));
  modelsFile = join(temp, 'models.yaml');
  writeFileSync(
    modelsFile,
    'models:\n  doubler: { name: tiny test model, paths: { onnx: doubler.onnx }, threads: { intra_op: 1 } }\n',
  );
}
const spec = (await loadModelRepository(modelsFile)).find((s) => s.id === values.model);
if (spec === undefined) throw new Error(`no model ${values.model} in ${modelsFile}`);

const child = spawn(
  process.execPath,
  // --log-level warn: no request line per request (bench/request-logs.mjs measures what one costs).
  [
    'bin/pitlane.js',
    'serve',
    'models',
    '--models',
    modelsFile,
    '--model',
    spec.id,
    '--port',
    '0',
    '--json',
    '--log-level',
    'warn',
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const url = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (b) => {
    out += b;
    if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))).url);
  });
  child.on('exit', (code) => reject(new Error(`serve models exited (${code})`)));
});

const local = await createLocalInference([spec]);
const binary = new KServeClient({ url, binary: true });
const json = new KServeClient({ url, binary: false });
const meta = await local.modelMetadata(spec.id);
const inputs = () =>
  meta.inputs.map((m) => {
    const shape = m.shape.map((d) => (d < 0 ? 1 : d));
    const data = allocTensorData(m.datatype, shapeSize(shape));
    for (let i = 0; i < data.length; i++)
      data[i] = typeof data[i] === 'bigint' ? BigInt(i % 7) : (i % 255) / 255;
    return { name: m.name, datatype: m.datatype, shape, data };
  });
const bytes = inputs().reduce((n, t) => n + t.data.byteLength, 0);

const paths = { 'in-process': local, 'kserve-binary': binary, 'kserve-json': json };
const times = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
const blockMedians = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
for (const [, engine] of Object.entries(paths))
  for (let i = 0; i < 30; i++) await engine.infer(spec.id, { inputs: inputs() });
for (let b = 0; b < blocks; b++) {
  const order = b % 2 === 0 ? Object.keys(paths) : Object.keys(paths).reverse();
  for (const name of order) {
    const block = [];
    for (let i = 0; i < perBlock; i++) {
      const ins = inputs();
      const t0 = performance.now();
      await paths[name].infer(spec.id, { inputs: ins });
      block.push(performance.now() - t0);
    }
    times[name].push(...block);
    blockMedians[name].push(median(block));
  }
}
const base = median(times['in-process']);
console.log(
  `model ${spec.id} (${spec.backend}), batch 1, ${bytes} input bytes; ${blocks} blocks x ${perBlock} sequential requests per path`,
);
for (const name of Object.keys(paths)) {
  const diffs = blockMedians[name].map((m, i) => m - blockMedians['in-process'][i]);
  console.log(
    `${name.padEnd(14)} p50 ${median(times[name]).toFixed(3)} ms` +
      (name === 'in-process'
        ? ''
        : `   added over in-process: ${(median(times[name]) - base).toFixed(3)} ms (median of block differences ${median(diffs).toFixed(3)} ms)`),
  );
}
await Promise.all([local.close(), binary.close(), json.close()]);
child.kill('SIGTERM');
rmSync(temp, { recursive: true, force: true });
