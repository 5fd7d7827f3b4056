// Micro-benchmark of the CPython runtime of Python nodes (run `npm run build` first): per-item cost of a trivial
// `return x` node for batches of 1, 10, 100 and 1000 items (round trip through a warm worker, amortised over the
// batch), and cold start (spawn + __init__ + first result of a one-item batch) over fresh workers. Prints medians;
// asserts nothing. The interpreter is $PITLANE_PYTHON, else python3 on the PATH (a pyenv shim adds ~50 ms to
// cold start: point PITLANE_PYTHON at the real binary to leave it out).
//   node bench/python-cpython.mjs [items per batch size (default 100000)] [cold starts (default 5)]
import { execFileSync } from 'node:child_process';
import { createCPythonNode } from '../dist/python/cpython/node.js';

const itemsPerSize = Number(process.argv[2] ?? 100_000);
const coldStarts = Number(process.argv[3] ?? 5);
const python = process.env.PITLANE_PYTHON ?? 'python3';
const source = {
  nodeId: 'bench',
  code: 'class Identity:\n    def process(self, x):\n        return x\n',
  fileName: '<node bench>',
  className: null,
  init: {},
};
const quiet = { onLog: () => undefined, onWarning: () => undefined, onStderr: () => undefined };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

const version = execFileSync(python, ['-c', 'import sys; print(sys.version.split()[0])'], {
  encoding: 'utf8',
}).trim();
console.log(`python: ${python} (${version}); node ${process.version}`);

const node = createCPythonNode(source, quiet);
await node.start();
for (const size of [1, 10, 100, 1000]) {
  const batch = Array.from({ length: size }, (_, i) => i);
  const rounds = Math.max(20, Math.round(itemsPerSize / size));
  for (let i = 0; i < Math.min(rounds, 200); i++) await node.processBatch(batch); // warm-up
  const perItemUs = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    const results = await node.processBatch(batch);
    perItemUs.push(Number(process.hrtime.bigint() - start) / 1000 / size);
    if (results.length !== size) throw new Error('lost results');
  }
  console.log(
    `batch of ${String(size).padStart(4)}: median ${median(perItemUs).toFixed(2).padStart(7)} µs/item ` +
      `(${(median(perItemUs) * size).toFixed(1)} µs/batch, ${rounds} rounds)`,
  );
}
await node.close();

const coldMs = [];
for (let i = 0; i < coldStarts; i++) {
  const start = process.hrtime.bigint();
  const fresh = createCPythonNode(source, quiet);
  await fresh.start();
  await fresh.processBatch([1]);
  coldMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  await fresh.close();
}
console.log(
  `cold start (create + start() + first result): median ${median(coldMs).toFixed(1)} ms over ${coldStarts} ` +
    `(${coldMs.map((ms) => ms.toFixed(0)).join(', ')})`,
);
