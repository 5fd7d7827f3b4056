import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  NOT_MEASURED,
  formatCpu,
  formatDuration,
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

test('wall times read as a person says them: seconds, minutes and seconds, hours and minutes', () => {
  assert.equal(formatDuration(4.26), '4.3 s');
  assert.equal(formatDuration(42.4), '42 s');
  assert.equal(formatDuration(702), '11 min 42 s');
  assert.equal(formatDuration(600), '10 min 00 s');
  assert.equal(formatDuration(3900), '1 h 05 min');
  assert.equal(formatDuration(null), NOT_MEASURED);
  assert.equal(formatDuration(-1), NOT_MEASURED);
});
