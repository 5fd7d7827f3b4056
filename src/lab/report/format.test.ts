import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  NOT_MEASURED,
  formatCpu,
  formatMiB,
  formatMs,
  formatPercent,
  formatRate,
  formatRatio,
} from './format.js';

test('formatting: units, and "—" for what was not measured, never 0', () => {
  assert.equal(formatMs(0.006061), '6.06 µs');
  assert.equal(formatMs(181.372), '181 ms');
  assert.equal(formatMs(3771.1), '3.77 s');
  assert.equal(formatMs(0.0000606), '60.6 ns');
  assert.equal(formatRate(6120), '6,120/s');
  assert.equal(formatMiB(67.847), '67.8 MiB');
  assert.equal(formatCpu(0.000118), '118 µs');
  assert.equal(formatPercent(0.000167), '0.017%');
  assert.equal(formatRatio({ factor: 50.08, ci95: [49.39, 55.96] }), '50.1× [49.4, 56.0]');
  for (const f of [formatMs, formatRate, formatMiB, formatCpu, formatPercent])
    assert.equal(f(null), NOT_MEASURED);
  assert.equal(NOT_MEASURED, '—');
});
