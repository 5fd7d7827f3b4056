// Micro-benchmark of the Pyodide runtime of python nodes (run `npx tsc -p .` first), against dist:
//  - load time in a fresh process (median of 3): without the memory snapshot (Python bootstraps from scratch),
//    the first run with it (bootstrap + snapshot taken), and restores from the snapshot;
//  - per-item overhead of a trivial `return x` node for batches of 1, 10, 100, 1000, in-process, after a warm-up
//    long enough for V8 to tier the interpreter up (Liftoff → TurboFan).
// Prints medians; asserts nothing.
//   node bench/python-pyodide.mjs [rounds]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPyodideNode, pyodideLoadInfo } from '../dist/python/pyodide/node.js';

const rounds = Number(process.argv[2] ?? 3);
const RUNTIME = new URL('../dist/python/pyodide/node.js', import.meta.url).href;
const IDENTITY = 'class Identity:\n    def process(self, x):\n        return x\n';

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** One fresh process: start a node, run one item. Returns the runtime's load time and the process's wall time. */
function freshLoad(env) {
  const script = [
    `import { createPyodideNode, pyodideLoadInfo } from ${JSON.stringify(RUNTIME)};`,
    `const node = createPyodideNode({ nodeId: 'b', code: ${JSON.stringify(IDENTITY)}, fileName: '<node b>', className: null, init: {} }, {});`,
    'await node.start();',
    'await node.processBatch([1]);',
    'const info = await pyodideLoadInfo();',
    'console.log(JSON.stringify({ ...info, untilResultMs: performance.now() }));',
  ].join('\n');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`exit ${code}`));
      resolve({ ...JSON.parse(out), wallMs: performance.now() - started });
    });
  });
}

function show(label, runs) {
  const load = median(runs.map((r) => r.loadMs));
  const first = median(runs.map((r) => r.untilResultMs));
  const wall = median(runs.map((r) => r.wallMs));
  const source = [...new Set(runs.map((r) => r.source))].join('/');
  console.log(
    `${label.padEnd(34)} load ${load.toFixed(0).padStart(5)} ms  first result ${first.toFixed(0).padStart(5)} ms  ` +
      `process ${wall.toFixed(0).padStart(5)} ms  (${source}, median of ${runs.length})`,
  );
}

const cache = mkdtempSync(join(tmpdir(), 'pitlane-bench-pyodide-'));
try {
  const cold = [];
  for (let i = 0; i < rounds; i++) cold.push(await freshLoad({ PITLANE_PYODIDE_SNAPSHOT: '0' }));
  show('cold (no snapshot)', cold);
  const making = [await freshLoad({ PITLANE_CACHE_DIR: cache, PITLANE_PYODIDE_SNAPSHOT: '1' })];
  show('cold + making the snapshot', making);
  const restored = [];
  for (let i = 0; i < rounds; i++) {
    restored.push(await freshLoad({ PITLANE_CACHE_DIR: cache, PITLANE_PYODIDE_SNAPSHOT: '1' }));
  }
  show('restored from the snapshot', restored);
} finally {
  rmSync(cache, { recursive: true, force: true });
}

// Per-item overhead, in this process.
const node = createPyodideNode(
  { nodeId: 'id', code: IDENTITY, fileName: '<node id>', className: null, init: {} },
  {},
);
await node.start();
console.log(`in-process load: ${JSON.stringify(await pyodideLoadInfo())}`);
const warmUntil = performance.now() + 3000;
while (performance.now() < warmUntil) {
  await node.processBatch(Array.from({ length: 100 }, (_, i) => i));
  await new Promise((r) => setImmediate(r)); // lets V8's background compiler finish the tier-up
}
for (const size of [1, 10, 100, 1000]) {
  const items = Array.from({ length: size }, (_, i) => i);
  const runs = Math.max(200, Math.floor(50_000 / size));
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t = process.hrtime.bigint();
    await node.processBatch(items);
    times.push(Number(process.hrtime.bigint() - t));
  }
  const m = median(times);
  console.log(
    `return x, batch ${String(size).padStart(4)}: ${(m / 1000).toFixed(1).padStart(7)} µs/batch  ` +
      `${(m / size / 1000).toFixed(2).padStart(6)} µs/item  (median of ${runs})`,
  );
}
await node.close();
