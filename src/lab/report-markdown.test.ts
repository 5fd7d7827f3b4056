import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Environment } from './environment.js';
import type {
  LabReport,
  ReportColdStart,
  ReportPercentile,
  ReportRatio,
  ReportRow,
  ReportScenario,
  ReportSeries,
} from './report-model.js';
import {
  NOT_MEASURED,
  escapeMarkdown,
  formatCpu,
  formatMiB,
  formatMs,
  formatPercent,
  formatRate,
  formatRatio,
  renderMarkdownReport,
} from './report-markdown.js';
import { renderTerminalTable } from './report/terminal.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function loadFixture(name: 'pipelines' | 'http'): LabReport {
  const url = new URL(`../../test/fixtures/lab-report-${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as LabReport;
}

/** A deep copy of a fixture to modify. */
function copy(report: LabReport): LabReport {
  return structuredClone(report);
}

function scenarioOf(report: LabReport, name: string): Mutable<ReportScenario> {
  const s = report.scenarios.find((x) => x.name === name);
  assert.ok(s, `scenario ${name}`);
  return s;
}

function rowOf(report: LabReport, scenario: string, contestant: string): Mutable<ReportRow> {
  const row = scenarioOf(report, scenario).rows.find((r) => r.contestant === contestant);
  assert.ok(row, `row ${scenario}/${contestant}`);
  return row;
}

// Every key of every type in the model. A Record over `keyof T` makes the compiler reject this file when a field
// is added to the model, and the test below then fails on fixtures that do not have it yet.
const REPORT_KEYS: Record<keyof LabReport, true> = {
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
const ROW_KEYS: Record<keyof ReportRow, true> = {
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
    assert.ok(['closed', 'open', 'samples', 'cold_start', 'stream'].includes(s.model), `${at}.model`);
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

test('Markdown: every contestant and scenario, every section, the warnings', () => {
  for (const name of ['pipelines', 'http'] as const) {
    const report = loadFixture(name);
    const md = renderMarkdownReport(report);
    for (const c of report.contestants) assert.ok(md.includes(c.name), `${name}: contestant ${c.name}`);
    for (const s of report.scenarios) assert.ok(md.includes(`### ${s.name}`), `${name}: scenario ${s.name}`);
    for (const section of ['## Verdict', '## Contestants', '## How', '## On what', '## Not measured here']) {
      assert.ok(md.includes(section), `${name}: ${section}`);
    }
    for (const w of report.warnings) assert.ok(md.includes(`> **Warning:** ${escapeMarkdown(w)}`));
    assert.ok(md.includes(report.environment.cpu_model));
    assert.ok(!/NaN|Infinity|undefined/.test(md), `${name}: no NaN/undefined`);
  }
  const md = renderMarkdownReport(loadFixture('http'));
  assert.ok(md.includes('## Cold starts'));
  assert.ok(md.includes('**keep_alive_timeout_s**: node = 72, python = 5'), 'settings_differ listed');
  assert.ok(md.includes('**client saturated — excluded**'));
  assert.ok(md.includes('*1 beyond, thin*'), 'thin percentiles marked');
  assert.ok(renderMarkdownReport(loadFixture('pipelines')).includes('60.6 ns'), 'ns per item shown');
  // A ceiling: its figures, "a limit, not a contestant", and each row's share; "—" where it gave none.
  assert.match(
    md,
    /Ceiling: raw-loop \(the engine in a raw in-process loop; a limit, not a contestant\): p50 50\.0 µs\./,
  );
  assert.ok(md.includes('- node: p50 2.50× its p50'));
  assert.ok(!renderMarkdownReport(loadFixture('pipelines')).includes('Ceiling:'));
});

test('Markdown: null figures read "—", not 0', () => {
  const report = copy(loadFixture('http'));
  const row = rowOf(report, 'concurrency_1', 'node');
  row.peak_rss_mb = null;
  row.throughput_per_s = null;
  const line = renderMarkdownReport(report)
    .split('\n')
    .find((l) => l.startsWith('| concurrency_1 | node |'));
  assert.ok(line, 'verdict line of concurrency_1/node');
  const cells = line.split(' | ');
  assert.ok(cells[2]?.startsWith(NOT_MEASURED), `throughput cell: ${cells[2] ?? ''}`);
  assert.ok(!line.includes('0.0 MiB') && !line.includes(' 0/s'), line);
  // The pipelines' cold_start scenario has no peak RSS.
  const pipelines = renderMarkdownReport(loadFixture('pipelines'));
  const cold = pipelines.split('\n').find((l) => l.startsWith('| cold_start | pitlane |'));
  assert.ok(cold?.includes(`| ${NOT_MEASURED}`), cold);
});

test('Markdown: incorrect and failed rows are marked and their ratios are not shown as wins', () => {
  const report = copy(loadFixture('http'));
  rowOf(report, 'concurrency_1', 'node').correct = false;
  rowOf(report, 'open_500', 'node').failure = 'contestant exited with code 137 after 12 s';
  const md = renderMarkdownReport(report);
  const line = md.split('\n').find((l) => l.includes('concurrency_1 | node |'));
  assert.ok(line !== undefined);
  assert.ok(line.includes('**incorrect — not counted**'), line);
  assert.ok(!line.includes('2.81×'), 'no ratio for an incorrect row');
  assert.ok(md.includes('**failed: contestant exited with code 137 after 12 s**'));
  const table = renderTerminalTable(report);
  assert.ok(table.includes('INCORRECT (not counted)'));
  assert.ok(table.includes('FAILED: contestant exited with code 137 after 12 s'));
});

test('Markdown escapes names: no raw HTML, no broken tables', () => {
  const report = copy(loadFixture('http'));
  const evil = '<script>alert(1)</script> | *x*';
  (report.contestants[0] as Mutable<LabReport['contestants'][number]>).name = evil;
  rowOf(report, 'concurrency_1', 'node').contestant = evil;
  const md = renderMarkdownReport(report);
  assert.ok(!md.includes('<script>'));
  assert.ok(md.includes('&lt;script&gt;alert(1)&lt;/script&gt; \\| \\*x\\*'));
  const verdict = md.split('\n').filter((l) => l.startsWith('| concurrency_1 |'));
  const pipes = (l: string): number => (l.match(/(?<!\\)\|/g) ?? []).length;
  assert.equal(new Set(verdict.map(pipes)).size, 1, 'every verdict row has the same number of cells');
});

test('terminal table: aligned columns, every row, the marks', () => {
  for (const name of ['pipelines', 'http'] as const) {
    const report = loadFixture(name);
    const text = renderTerminalTable(report);
    const lines = text.split('\n');
    const rule = lines[1] ?? '';
    assert.match(rule, /^-+( {2}-+)+$/);
    const starts = [...rule.matchAll(/-+/g)].map((m) => m.index);
    const body = lines.slice(2, lines.indexOf(''));
    assert.equal(
      body.length,
      report.scenarios.reduce((n, s) => n + s.rows.length, 0),
    );
    for (const line of [lines[0] ?? '', ...body]) {
      for (const start of starts.slice(1)) {
        if (line.length > start) assert.equal(line[start - 1], ' ', `column boundary at ${start}: ${line}`);
      }
    }
    for (const c of report.contestants) assert.ok(text.includes(c.name));
    for (const s of report.scenarios) assert.ok(text.includes(s.name));
  }
  const http = renderTerminalTable(loadFixture('http'));
  assert.ok(http.includes('SATURATED (excluded)'));
  assert.ok(http.includes('2.81× [2.74, 2.87] throughput'));
  assert.ok(http.includes('warning: concurrency_16'));
});
