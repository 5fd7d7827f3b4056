import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeQueue } from './edge-queue.js';

test('block: FIFO through wrap-around and growth; reports itself as blocker when full; wakes when room', async () => {
  const q = new EdgeQueue(3, 'block');
  assert.equal(q.push(1), null);
  assert.equal(q.push(2), null);
  assert.equal(q.push(3), q);
  assert.equal(q.push(4), q, 'accepts beyond capacity but keeps blocking');
  let woke = false;
  const ready = q.whenReady().then(() => (woke = true));
  assert.equal(q.shift(), 1);
  await Promise.resolve();
  assert.equal(woke, false, 'still at capacity');
  assert.equal(q.shift(), 2);
  await ready;
  assert.equal(woke, true);
  for (let i = 5; i < 200; i++) q.push(i);
  const out: unknown[] = [];
  while (q.length > 0) out.push(q.shift());
  assert.deepEqual(out, [3, 4, ...Array.from({ length: 195 }, (_, i) => i + 5)]);
});

test('drop policies never block and count drops; clear counts discarded items', () => {
  const newest = new EdgeQueue(2, 'drop_newest');
  const oldest = new EdgeQueue(2, 'drop_oldest');
  for (const i of [1, 2, 3, 4]) {
    assert.equal(newest.push(i), null);
    assert.equal(oldest.push(i), null);
  }
  assert.deepEqual([newest.shift(), newest.shift(), newest.dropped], [1, 2, 2]);
  assert.deepEqual([oldest.shift(), oldest.shift(), oldest.dropped], [3, 4, 2]);
  const q = new EdgeQueue(5, 'block');
  q.push('a');
  q.push('b');
  q.clear();
  assert.deepEqual([q.length, q.dropped, q.shift()], [0, 2, undefined]);
});
