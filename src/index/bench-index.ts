/**
 * Measures the SQLite index on this machine: the time to index a batch of 64 images (with their boxes) and
 * commit it (one fsync), and a k=10 search, unfiltered and filtered, over N images. Not a test (nothing is
 * asserted); run by hand after a build:
 *
 *   node dist/index/bench-index.js [N,N...] [dimension]      (default 10000,100000 and 512)
 *
 * Each index is built in a temporary directory that is removed at the end (100k x 512-d is ~0.6 GB).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../core/random.js';
import { makeBatch, randomUnitVector } from './index-fixtures.js';
import type { NearestOptions } from './index-port.js';
import { openSqliteIndex } from './sqlite-index.js';

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return `median ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms (n=${ms.length})`;
}

async function bench(n: number, dimension: number, dir: string): Promise<void> {
  const file = join(dir, `bench-${n}.db`);
  const index = await openSqliteIndex(file, { dimension });
  let loaded = 0;
  const loadStart = performance.now();
  for (let seed = 0; loaded < n; seed++) {
    const size = Math.min(1000, n - loaded);
    const batch = makeBatch(seed, { dimension, size, first: loaded, boxes: false });
    await index.indexBatch(batch.images, []);
    loaded += size;
  }
  const loadMs = performance.now() - loadStart;
  console.log(`\n${n} images of ${dimension}-d: loaded in ${(loadMs / 1000).toFixed(1)} s (batches of 1000)`);

  const batchMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const batch = makeBatch(1_000_000 + i, { dimension, size: 64, first: n + i * 64 });
    const start = performance.now();
    await index.indexBatch(batch.images, batch.boxes);
    batchMs.push(performance.now() - start);
  }
  console.log(`  index 64 images (+ their boxes) and commit: ${stats(batchMs)}`);

  const random = mulberry32(42);
  const queries = Array.from({ length: 20 }, () => randomUnitVector(random, dimension));
  const cases: [string, Omit<NearestOptions, 'k'>][] = [
    ['unfiltered', {}],
    ['labels [dog] (~8 % of images)', { labels: ['dog'] }],
    ['labels [car, bus, truck] (~23 %)', { labels: ['car', 'bus', 'truck'] }],
    ['labels [person] (~40 %)', { labels: ['person'] }],
    ['vehicles index (~400 boxes), unfiltered', { index: 'vehicles' }],
  ];
  for (const [name, options] of cases) {
    await index.nearest(randomUnitVector(random, dimension), { k: 10, ...options }); // warm the page cache
    const ms: number[] = [];
    for (const query of queries) {
      const start = performance.now();
      await index.nearest(query, { k: 10, ...options });
      ms.push(performance.now() - start);
    }
    console.log(`  k=10 ${name}: ${stats(ms)}`);
  }
  const counts = await index.counts();
  await index.close();
  console.log(`  counts ${JSON.stringify(counts)}, file ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB`);
}

const sizes = (process.argv[2] ?? '10000,100000').split(',').map(Number);
const dimension = Number(process.argv[3] ?? 512);
const dir = mkdtempSync(join(tmpdir(), 'pitlane-bench-index-'));
try {
  for (const n of sizes) await bench(n, dimension, dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
