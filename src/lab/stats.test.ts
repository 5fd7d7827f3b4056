import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  geometricMean,
  geometricMeanOfRatios,
  mad,
  median,
  quantile,
  ratioOfMedians,
  summarize,
} from './stats.js';

test('median, quantiles and MAD', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
  assert.equal(mad([1, 1, 2, 2, 4, 6, 9]), 1);
  assert.deepEqual(summarize([5]), { n: 1, median: 5, mad: 0, p25: 5, p75: 5, min: 5, max: 5 });
  assert.ok(Number.isNaN(median([])));
});

test('geometric mean', () => {
  assert.ok(Math.abs(geometricMean([2, 8]) - 4) < 1e-12);
  assert.ok(Number.isNaN(geometricMean([1, 0])));
});

test('ratio of medians: point estimate, an interval that contains it, deterministic', () => {
  const slow = [
    [100, 101, 99],
    [102, 98, 100],
    [100, 100, 100],
    [104, 96, 100],
  ];
  const fast = [
    [10, 10, 11],
    [10, 9, 10],
    [10, 10, 10],
    [11, 10, 10],
  ];
  const r = ratioOfMedians(slow, fast);
  assert.equal(r.ratio, 10);
  assert.equal(r.repeats, 4);
  assert.ok(r.ci95[0] <= 10 && r.ci95[1] >= 10, JSON.stringify(r.ci95));
  assert.ok(r.ci95[0] > 8 && r.ci95[1] < 12);
  assert.deepEqual(ratioOfMedians(slow, fast), r);
  const noisy = ratioOfMedians([[50], [150], [100], [300]], [[10], [10], [10], [10]]);
  assert.ok(noisy.ci95[1] - noisy.ci95[0] > r.ci95[1] - r.ci95[0], 'noisier data, wider interval');
});

test('geometric mean of ratios with an interval', () => {
  const g = geometricMeanOfRatios([
    { numerator: [[20], [20]], denominator: [[10], [10]] },
    { numerator: [[80], [80]], denominator: [[10], [10]] },
  ]);
  assert.ok(Math.abs(g.ratio - 4) < 1e-12);
  assert.ok(Math.abs(g.ci95[0] - 4) < 1e-12 && Math.abs(g.ci95[1] - 4) < 1e-12);
});
