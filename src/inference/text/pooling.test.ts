import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { l2Normalize, meanPool } from './pooling.js';

describe('meanPool and l2Normalize', () => {
  test('mean over unmasked tokens only', () => {
    // [2 rows, 3 tokens, 2 dims]; row 0 keeps tokens 0 and 1, row 1 keeps token 0.
    const hidden = new Float32Array([1, 2, 3, 4, 100, 100, 5, 6, 100, 100, 100, 100]);
    const pooled = meanPool(hidden, [2, 3, 2], new BigInt64Array([1n, 1n, 0n, 1n, 0n, 0n]));
    assert.deepEqual(
      pooled.map((v) => [...v]),
      [
        [2, 3],
        [5, 6],
      ],
    );
    assert.deepEqual([...meanPool(new Float32Array(2), [1, 1, 2], [0])[0]!], [0, 0]);
    assert.throws(() => meanPool(hidden, [2, 3, 3], [1, 1, 1, 1, 1, 1]), RangeError);
  });

  test('unit length', () => {
    assert.deepEqual([...l2Normalize(new Float32Array([3, 4]))], [0.6000000238418579, 0.800000011920929]);
    assert.deepEqual([...l2Normalize(new Float32Array([0, 0]))], [0, 0]);
  });
});
