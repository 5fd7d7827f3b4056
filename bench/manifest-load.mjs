// Micro-benchmark of manifest loading: read + parse + validate of a 10-node JSON manifest (npm run build first).
//   node bench/manifest-load.mjs
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifestFile } from '../dist/pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../dist/nodes/registry.js';
import { chainManifest } from '../dist/lab/kinds/pipelines/scenarios.js';

const calc = (operation, operand) => ({ node_type: 'Calculator', params: { operation, operand } });
const file = join(mkdtempSync(join(tmpdir(), 'pl-bench-')), 'm.json');
writeFileSync(
  file,
  JSON.stringify(
    chainManifest('m', null, [
      calc('add', 1),
      calc('multiply', 2),
      { node_type: 'PassThrough' },
      calc('subtract', 3),
      calc('divide', 4),
      calc('add', 1),
      { node_type: 'Buffer', params: { buffer_size: 8 } },
      { node_type: 'PassThrough' },
      calc('add', 1),
    ]),
  ),
);
for (let i = 0; i < 2000; i++) await loadManifestFile(file, BUILTIN_NODE_TYPES);
const t = [];
for (let i = 0; i < 5000; i++) {
  const s = process.hrtime.bigint();
  await loadManifestFile(file, BUILTIN_NODE_TYPES);
  t.push(Number(process.hrtime.bigint() - s));
}
t.sort((a, b) => a - b);
console.log(`load 10-node manifest: median ${(t[t.length >> 1] / 1000).toFixed(1)} µs`);
