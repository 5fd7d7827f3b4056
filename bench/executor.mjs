// Micro-benchmark of the executor's own cost (run `npm run build` first): fixed cost of a run (no items) and
// per-item cost of a synchronous chain, in-process and warmed up. Prints medians; asserts nothing.
//   node bench/executor.mjs [iterations]
import { runPipeline } from '../dist/pipeline/executor.js';
import { validateManifest } from '../dist/pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../dist/nodes/registry.js';

const iterations = Number(process.argv[2] ?? 20000);

function chain(items, stages) {
  const nodes = [{ id: 'src', node_type: 'DataSource', params: { range: { stop: items } } }];
  stages.forEach((s, i) => nodes.push({ id: `n${i}`, ...s }));
  nodes.push({ id: 'sink', node_type: 'DataSink' });
  const doc = {
    version: 'v1',
    metadata: { name: 'bench' },
    nodes,
    connections: nodes.slice(1).map((n, i) => ({ from: nodes[i].id, to: n.id })),
  };
  const r = validateManifest(doc, BUILTIN_NODE_TYPES, { source: 'bench', baseDir: '.' });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.manifest;
}

async function measure(label, manifest, items, runs) {
  for (let i = 0; i < runs; i++) await runPipeline(manifest);
  const t = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    await runPipeline(manifest);
    t.push(Number(process.hrtime.bigint() - s));
  }
  t.sort((a, b) => a - b);
  const med = t[t.length >> 1];
  const perItem = items > 0 ? ` ${(med / items).toFixed(1)} ns/item` : '';
  console.log(`${label.padEnd(34)} median ${(med / 1000).toFixed(2)} µs${perItem}`);
}

const add = { node_type: 'Calculator', params: { operation: 'add', operand: 5 } };
await measure('3 nodes, 0 items (fixed cost)', chain(0, [add]), 0, iterations);
await measure('3 nodes, 100 items', chain(100, [add]), 100, iterations);
await measure('3 nodes, 1000 items', chain(1000, [add]), 1000, iterations / 10);
await measure('10 nodes, 100 items', chain(100, Array(8).fill(add)), 100, iterations);
await measure('3 nodes, 10^6 items', chain(1e6, [add]), 1e6, 10);
