import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Environment } from '../environment.js';
import type {
  LabReport,
  ReportColdStart,
  ReportPercentile,
  ReportRatio,
  ReportRow,
  ReportScenario,
  ReportSeries,
} from './model.js';
import { loadFixture, scenarioOf } from './test-support.js';

// Every key of every type in the model. A Record over `keyof T` makes the compiler reject this file when a field
// is added to the model, and the test below then fails on fixtures that do not have it yet. Optional fields (a
// report's `timing`, a row's `skipped`: absent where a kind does not record them) are the exceptions named here.
const REPORT_KEYS: Record<Exclude<keyof LabReport, 'timing'>, true> = {
  title: true,
  suite: true,
  summary: true,
  method: true,
  not_measured: true,
  environment: true,
  generated_at: true,
  contestants: true,
  settings_differ: true,
  scenarios: true,
  cold_starts: true,
  headline: true,
  warnings: true,
  hypotheses: true,
};
const ENVIRONMENT_KEYS: Record<keyof Environment, true> = {
  cpu_model: true,
  cores: true,
  memory_gb: true,
  os: true,
  node_version: true,
  python_version: true,
  pitlane_version: true,
  git_commit: true,
  date: true,
};
const CONTESTANT_KEYS: Record<keyof LabReport['contestants'][number], true> = {
  name: true,
  baseline: true,
  how: true,
  settings: true,
  resources_sampled: true,
};
const DIFFER_KEYS: Record<keyof LabReport['settings_differ'][number], true> = { key: true, values: true };
const HEADLINE_KEYS: Record<keyof NonNullable<LabReport['headline']>, true> = {
  label: true,
  factor: true,
  ci95: true,
};
const SCENARIO_KEYS: Record<keyof ReportScenario, true> = {
  name: true,
  description: true,
  model: true,
  setting: true,
  repeats: true,
  rows: true,
  ratios: true,
  ceiling: true,
};
const ROW_KEYS: Record<Exclude<keyof ReportRow, 'skipped'>, true> = {
  contestant: true,
  correct: true,
  client_saturated: true,
  failure: true,
  throughput_per_s: true,
  median_ms: true,
  mad_ms: true,
  percentiles: true,
  response_percentiles: true,
  count: true,
  error_rate: true,
  errors: true,
  dropped: true,
  peak_rss_mb: true,
  mean_rss_mb: true,
  cpu_s_per_request: true,
  ns_per_item: true,
  series: true,
  thresholds: true,
};
const THRESHOLD_KEYS: Record<keyof ReportRow['thresholds'][number], true> = {
  expression: true,
  ok: true,
  actual: true,
};
const PERCENTILE_KEYS: Record<keyof ReportPercentile, true> = {
  p: true,
  ms: true,
  samples_beyond: true,
  thin: true,
};
const SERIES_KEYS: Record<keyof ReportSeries, true> = { t_s: true, rss_mb: true, cpu_percent: true };
const RATIO_KEYS: Record<keyof ReportRatio, true> = {
  contestant: true,
  baseline: true,
  metric: true,
  factor: true,
  ci95: true,
  repeats: true,
};
const COLD_START_KEYS: Record<keyof ReportColdStart, true> = {
  contestant: true,
  to_healthy_ms: true,
  to_first_correct_ms: true,
};

function assertKeys(value: unknown, keys: Record<string, true>, where: string): void {
  assert.ok(typeof value === 'object' && value !== null, `${where} is an object`);
  for (const key of Object.keys(keys)) {
    assert.ok(key in value, `${where} has ${key}`);
    assert.notEqual((value as Record<string, unknown>)[key], undefined, `${where}.${key} is not undefined`);
  }
}

function assertReportShape(report: LabReport, name: string): void {
  assertKeys(report, REPORT_KEYS, name);
  assertKeys(report.environment, ENVIRONMENT_KEYS, `${name}.environment`);
  report.contestants.forEach((c, i) => assertKeys(c, CONTESTANT_KEYS, `${name}.contestants[${i}]`));
  report.settings_differ.forEach((d, i) => assertKeys(d, DIFFER_KEYS, `${name}.settings_differ[${i}]`));
  if (report.headline !== null) assertKeys(report.headline, HEADLINE_KEYS, `${name}.headline`);
  report.cold_starts.forEach((c, i) => assertKeys(c, COLD_START_KEYS, `${name}.cold_starts[${i}]`));
  for (const s of report.scenarios) {
    const at = `${name}.scenarios.${s.name}`;
    assertKeys(s, SCENARIO_KEYS, at);
    assert.ok(
      ['closed', 'open', 'samples', 'cold_start', 'stream', 'media', 'live'].includes(s.model),
      `${at}.model`,
    );
    s.ratios.forEach((r, i) => assertKeys(r, RATIO_KEYS, `${at}.ratios[${i}]`));
    for (const row of s.rows) {
      const rowAt = `${at}.rows.${row.contestant}`;
      assertKeys(row, ROW_KEYS, rowAt);
      row.percentiles.forEach((p, i) => assertKeys(p, PERCENTILE_KEYS, `${rowAt}.percentiles[${i}]`));
      row.response_percentiles?.forEach((p, i) => assertKeys(p, PERCENTILE_KEYS, `${rowAt}.response[${i}]`));
      row.thresholds.forEach((t, i) => assertKeys(t, THRESHOLD_KEYS, `${rowAt}.thresholds[${i}]`));
      if (row.series !== null) {
        assertKeys(row.series, SERIES_KEYS, `${rowAt}.series`);
        assert.equal(row.series.rss_mb.length, row.series.t_s.length, `${rowAt}.series lengths`);
        assert.equal(row.series.cpu_percent.length, row.series.t_s.length, `${rowAt}.series lengths`);
      }
    }
  }
}

test('both fixtures have every key the report model requires', () => {
  assertReportShape(loadFixture('pipelines'), 'pipelines');
  assertReportShape(loadFixture('http'), 'http');
});

test('the HTTP fixture covers what the renderers must show', () => {
  const r = loadFixture('http');
  assert.deepEqual(
    r.contestants.map((c) => [c.name, c.baseline]),
    [
      ['node', false],
      ['python', true],
    ],
  );
  assert.deepEqual(
    r.scenarios.map((s) => [s.name, s.model]),
    [
      ['concurrency_1', 'closed'],
      ['concurrency_16', 'closed'],
      ['open_500', 'open'],
    ],
  );
  const rows = r.scenarios.flatMap((s) => s.rows);
  assert.equal(rows.filter((x) => x.client_saturated).length, 1);
  for (const row of rows) {
    assert.deepEqual(
      row.percentiles.map((p) => p.p),
      [50, 90, 95, 99, 99.9, 100],
    );
    assert.ok(row.series !== null && row.series.t_s.length >= 20 && row.series.t_s.length <= 60);
  }
  assert.ok(
    scenarioOf(r, 'open_500').rows.every((x) => x.response_percentiles !== null && x.dropped !== null),
  );
  assert.equal(r.settings_differ.length, 1);
  assert.equal(r.warnings.length, 1);
  assert.ok(r.cold_starts.every((c) => c.to_healthy_ms.length >= 3 && c.to_healthy_ms.length <= 5));
});
