import { QueueFullError } from '../../core/errors.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamicBatcher, type BatchSequence } from './dynamic-batcher.js';

const seqs = (tokens: number[], tag = ''): BatchSequence<string>[] =>
  tokens.map((t, i) => ({ tokens: t, payload: `${tag}${i}:${t}` }));

/** A batcher whose runner records batches and echoes payloads. */
function recording(options: Partial<ConstructorParameters<typeof DynamicBatcher>[0]> = {}, delayMs = 5) {
  const batches: string[][] = [];
  const batcher = new DynamicBatcher<string, string>(
    { maxBatchTokens: 256, maxBatchSize: 8, maxQueueDelayMs: 5, queueCapacity: 100, ...options },
    async (batch) => {
      batches.push(batch.map((s) => s.payload));
      await sleep(delayMs);
      if (batch.some((s) => s.payload.startsWith('poison'))) throw new Error('inference failed');
      return batch.map((s) => `out(${s.payload})`);
    },
  );
  return { batcher, batches };
}

test('batches respect the padded token budget and the batch size', async () => {
  const { batcher, batches } = recording({ maxBatchTokens: 256, maxBatchSize: 8 });
  const results = await batcher.submit(seqs(Array.from({ length: 10 }, () => 100)));
  assert.equal(results.length, 10);
  assert.ok(
    batches.every((b) => b.length * 100 <= 256),
    JSON.stringify(batches),
  );
  assert.deepEqual(
    batches.map((b) => b.length),
    [2, 2, 2, 2, 2],
  );
  const small = recording({ maxBatchTokens: 100_000, maxBatchSize: 3 });
  await small.batcher.submit(seqs([5, 5, 5, 5, 5, 5, 5]));
  assert.deepEqual(
    small.batches.map((b) => b.length),
    [3, 3, 1],
  );
});

test('sequences batch with others of similar length (length buckets), in arrival order', async () => {
  const { batcher, batches } = recording({ maxBatchTokens: 10_000, maxBatchSize: 8, bucketTokens: 16 });
  const [a, b] = await Promise.all([
    batcher.submit(seqs([10, 120, 12, 118, 9], 'a')),
    batcher.submit(seqs([11, 121], 'b')),
  ]);
  assert.deepEqual(
    a,
    ['out(a0:10)', 'out(a1:120)', 'out(a2:12)', 'out(a3:118)', 'out(a4:9)'],
    'results in the request’s own order',
  );
  assert.deepEqual(b, ['out(b0:11)', 'out(b1:121)']);
  for (const batch of batches) {
    const lengths = batch.map((p) => Number(p.split(':')[1]));
    assert.ok(
      Math.max(...lengths) - Math.min(...lengths) < 16,
      `one bucket per batch: ${JSON.stringify(batch)}`,
    );
  }
});

test('a full batch runs at once, without waiting for the queue delay', async () => {
  const { batcher } = recording({ maxBatchSize: 4, maxQueueDelayMs: 60_000 });
  // With a one-minute delay, this only finishes because a full batch does not wait.
  const r = await batcher.submit(seqs([4, 4, 4, 4]));
  assert.equal(r.length, 4);
});

test('a full queue refuses the request at once with a retry estimate', async () => {
  const { batcher } = recording({ queueCapacity: 5, maxBatchSize: 1 }, 20);
  const first = batcher.submit(seqs([4, 4, 4, 4]));
  // One sequence went to inference at once; 3 wait. 3 more do not fit a capacity of 5.
  assert.equal(batcher.stats.queued, 3);
  await assert.rejects(batcher.submit(seqs([4, 4, 4])), (e: unknown) => {
    assert.ok(e instanceof QueueFullError);
    assert.ok(e.retryAfterMs >= 1000);
    return true;
  });
  assert.equal((await first).length, 4);
});

test('a request whose client went away is dropped before inference', async () => {
  const { batcher, batches } = recording({ maxBatchSize: 1 }, 20);
  const busy = batcher.submit(seqs([4], 'busy'));
  const controller = new AbortController();
  const gone = batcher.submit(seqs([4, 4], 'gone'), controller.signal);
  controller.abort(new Error('client disconnected'));
  await assert.rejects(gone, /client disconnected/);
  await busy;
  await sleep(30);
  assert.ok(!batches.flat().some((p) => p.startsWith('gone')), JSON.stringify(batches));
  assert.equal(batcher.stats.abandoned, 1);
});

test('a request whose client left before it was queued is refused and counted', async () => {
  const { batcher, batches } = recording({ maxBatchSize: 4 });
  const controller = new AbortController();
  controller.abort(new Error('gone while tokenizing'));
  await assert.rejects(batcher.submit(seqs([4], 'late'), controller.signal), /gone while tokenizing/);
  await sleep(10);
  assert.deepEqual(batches, []);
  assert.equal(batcher.stats.abandoned, 1);
});

test('a failing batch fails only its own requests; the loop goes on', async () => {
  const { batcher } = recording({ maxBatchTokens: 10_000, maxBatchSize: 1 });
  const results = await Promise.allSettled([
    batcher.submit(seqs([4], 'ok-a')),
    batcher.submit([{ tokens: 4, payload: 'poison' }]),
    batcher.submit(seqs([4], 'ok-b')),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.equal(batcher.stats.failedBatches, 1);
  assert.deepEqual(await batcher.submit(seqs([4], 'after')), ['out(after0:4)']);
});

test('requests that come in the same turn of the event loop go in one batch; a full batch starts at once', async () => {
  const { batcher, batches } = recording({ maxQueueDelayMs: 0, maxBatchSize: 4 });
  // Three requests read in one turn (the poll phase reads every connection with data): one batch, not 1 + 2.
  const three = [
    batcher.submit(seqs([5], 'a')),
    batcher.submit(seqs([6], 'b')),
    batcher.submit(seqs([7], 'c')),
  ];
  assert.equal(batches.length, 0, 'picked on the check phase, after the turn');
  await Promise.all(three);
  assert.deepEqual(batches, [['a0:5', 'b0:6', 'c0:7']]);
  // A full batch has nothing to wait for: it starts within submit.
  const full = batcher.submit(seqs([5, 5, 5, 5], 'd'));
  assert.equal(batches.length, 2);
  await full;
  // A lone request still runs on its own, without waiting for company.
  assert.deepEqual(await batcher.submit(seqs([9], 'e')), ['out(e0:9)']);
  assert.deepEqual(batches.at(-1), ['e0:9']);
  await batcher.close();
});
