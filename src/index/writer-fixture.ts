/**
 * Test fixture, run as a child process by sqlite-index.test.ts: writes reproducible batches to a SQLite index
 * and prints `acked N` on stdout once `indexBatch` has resolved for batch N (a pipe write is synchronous on
 * Linux, so the line leaves the process before the next batch starts). The crash test kills it with SIGKILL;
 * the concurrency test reads the file while it writes.
 *
 *   node writer-fixture.js FILE DIMENSION BATCH_SIZE BATCHES   (BATCHES -1: until killed)
 *
 * Batch N is `makeBatch(1000 + N, { dimension, size: BATCH_SIZE, first: N * BATCH_SIZE })`.
 */
import { pathToFileURL } from 'node:url';
import { makeBatch } from './index-fixtures.js';
import { openSqliteIndex } from './sqlite-index.js';

/** The batch the fixture writes as number `n`. */
export function fixtureBatch(n: number, dimension: number, batchSize: number): ReturnType<typeof makeBatch> {
  return makeBatch(1000 + n, { dimension, size: batchSize, first: n * batchSize });
}

async function main(args: readonly string[]): Promise<void> {
  const [file, dimension, batchSize, batches] = args;
  if (file === undefined || batches === undefined) {
    throw new Error('usage: writer-fixture.js FILE DIMENSION BATCH_SIZE BATCHES');
  }
  const dim = Number(dimension);
  const size = Number(batchSize);
  const index = await openSqliteIndex(file, { dimension: dim });
  for (let n = 0; Number(batches) < 0 || n < Number(batches); n++) {
    const { images, boxes } = fixtureBatch(n, dim, size);
    await index.indexBatch(images, boxes);
    process.stdout.write(`acked ${n}\n`);
  }
  await index.close();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
