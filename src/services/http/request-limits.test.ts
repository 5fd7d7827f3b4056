import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countJsonValues, InFlightBudget, type RequestLimit } from './request-limits.js';

describe('countJsonValues', () => {
  test('an upper bound of the values, whatever the strings hold', () => {
    assert.equal(countJsonValues('"a"'), 1);
    assert.equal(countJsonValues('{"inputs":["a","b","c"]}'), 5);
    // Commas, brackets and escaped quotes inside strings are not structure.
    assert.equal(countJsonValues('{"inputs":["a,[{", "b\\",{c"]}'), 4);
    assert.equal(countJsonValues('["\\\\",1]'), 3);
    for (const value of [[], {}, [1, [2, {}]], { a: [1, 2], b: { c: 'x,y' } }, 'a'.repeat(50)]) {
      const text = JSON.stringify(value);
      const values = (function count(v: unknown): number {
        if (Array.isArray(v)) return 1 + v.reduce((n: number, x) => n + count(x), 0);
        if (typeof v === 'object' && v !== null)
          return 1 + Object.values(v).reduce((n: number, x) => n + count(x), 0);
        return 1;
      })(value);
      assert.ok(countJsonValues(text) >= values, text);
    }
  });

  test('malformed text is counted as far as it goes', () => {
    assert.equal(countJsonValues('[1,2'), 3);
    assert.equal(countJsonValues('"unterminated, [ {'), 1);
  });
});

describe('InFlightBudget', () => {
  const limit: RequestLimit = {
    name: 'bytes in flight',
    flag: '--max-x',
    value: 100,
    unit: 'bytes',
    status: 429,
  };

  test('takes what fits, refuses what does not, and takes again once given back', () => {
    const budget = new InFlightBudget(limit);
    assert.ok(budget.tryTake(60));
    assert.ok(!budget.tryTake(41));
    assert.equal(budget.inFlight, 60);
    assert.ok(budget.tryTake(40));
    budget.give(60);
    assert.ok(budget.tryTake(50));
    assert.equal(budget.inFlight, 90);
    budget.give(1000);
    assert.equal(budget.inFlight, 0);
  });

  test('the refusal is a 429 with Retry-After naming the limit and its flag', () => {
    const budget = new InFlightBudget(limit);
    budget.tryTake(90);
    const problem = budget.refusal(2);
    assert.equal(problem.status, 429);
    assert.deepEqual(problem.headers, { 'retry-after': '2' });
    assert.equal(
      problem.message,
      'overloaded: 90 bytes in flight; the limit is 100 bytes (--max-x); retry in 2 s',
    );
  });
});
