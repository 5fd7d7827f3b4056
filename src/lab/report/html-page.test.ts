import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml } from './html-parts.js';
import { renderHtmlReport } from './html-page.js';
import type { LabReport, ReportRow, ReportScenario } from './model.js';
import { FIXTURES, loadFixture, rowOf, scenarioOf, type Mutable } from './test-support.js';

/** The verdict table's row of one contestant in one scenario (the <tr> that holds its name). */
function verdictRow(html: string, scenario: string, contestant: string): string {
  const table = html.slice(
    html.indexOf('<table class="verdict">'),
    html.indexOf('</table>', html.indexOf('<table class="verdict">')),
  );
  const rows = table.split('<tr').slice(1);
  const start = rows.findIndex((r) => r.includes(`>${escapeHtml(scenario)}</a>`));
  assert.ok(start >= 0, `verdict rows of ${scenario}`);
  const row = rows.slice(start).find((r) => r.includes(escapeHtml(contestant)));
  assert.ok(row, `verdict row ${scenario}/${contestant}`);
  return row;
}

/** Asserts that the page includes each of `texts`. */
function assertIncludes(html: string, texts: readonly string[]): void {
  for (const text of texts) assert.ok(html.includes(text), text);
}

test('every contestant and scenario is on the page, with every section', () => {
  for (const name of FIXTURES) {
    const report = loadFixture(name);
    const html = renderHtmlReport(report);
    assert.ok(html.startsWith('<!doctype html>'));
    for (const c of report.contestants) assert.ok(html.includes(escapeHtml(c.name)), `${name}: ${c.name}`);
    for (const s of report.scenarios)
      assert.ok(html.includes(`<h3>${escapeHtml(s.name)}</h3>`), `${name}: ${s.name}`);
    for (const id of ['verdict', 'contestants', 'how', 'on-what', 'not-measured']) {
      assert.ok(html.includes(`<section id="${id}">`), `${name}: section ${id}`);
    }
    for (const m of report.method) assert.ok(html.includes(escapeHtml(m)), `${name}: method`);
    for (const m of report.not_measured) assert.ok(html.includes(escapeHtml(m)), `${name}: not measured`);
    const env = report.environment;
    for (const fact of [env.cpu_model, env.os, env.node_version, env.pitlane_version, env.git_commit ?? '']) {
      assert.ok(html.includes(escapeHtml(fact)), `${name}: environment ${fact}`);
    }
    assert.ok(!/NaN|Infinity|undefined|\[object /.test(html), `${name}: no NaN, undefined or [object]`);
  }
});

test('a scenario with a ceiling shows it as a limit, with each contestant’s share', () => {
  const html = renderHtmlReport(loadFixture('http'));
  assert.match(
    html,
    /<div class="callout ceiling"><p>Ceiling: raw-loop \(the engine in a raw in-process loop; a limit, not a contestant\)/,
  );
  assert.ok(html.includes('<li>node: p50 2.50× its p50</li>'));
});

test('the headline states its factor with the interval', () => {
  const html = renderHtmlReport(loadFixture('pipelines'));
  assert.ok(html.includes('<span class="factor">31.7×</span><span class="ci">95% CI [31.1, 32.7]</span>'));
  const none = structuredClone(loadFixture('pipelines')) as Mutable<LabReport>;
  none.headline = null;
  assert.ok(!renderHtmlReport(none).includes('class="headline"'));
});

test('the HTTP page has charts: percentiles (dashed response time in open loop), throughput, resources, cold starts', () => {
  const html = renderHtmlReport(loadFixture('http'));
  const charts = html.match(/<svg class="chart"/g) ?? [];
  // ratios + throughput + per scenario (percentiles + memory + CPU) × 3 + cold starts
  assert.equal(charts.length, 2 + 3 * 3 + 1);
  assertIncludes(html, [
    'aria-label="open_500: latency by percentile"',
    'stroke-dasharray="6 4"', // response time drawn dashed
    'percentile (log-scaled nines)',
    'RSS (MiB)',
    'CPU (% of one core)',
    'throughput (requests/s)',
    'time from spawn (ms)',
    // Thin percentiles are marked, samples beyond are counts.
    '9 beyond · thin',
    '4,500 beyond',
    // settings_differ is highlighted.
    'Settings that differ between contestants',
    '<li class="differs"',
  ]);
  // Every chart has a legend.
  const svgs = html.split('<svg class="chart"').slice(1);
  for (const svg of svgs) assert.ok(svg.slice(0, svg.indexOf('</svg>')).includes('class="legend"'));
});

test('the pipelines page leaves out charts it has no data for and shows the per-item cost', () => {
  const html = renderHtmlReport(loadFixture('pipelines'));
  // No percentile, throughput or series chart, and no cold-start section without cold starts.
  for (const absent of [
    'latency by percentile',
    'Throughput by scenario',
    'resident memory over time',
    'id="cold-starts"',
  ]) {
    assert.ok(!html.includes(absent), `no ${absent}`);
  }
  assertIncludes(html, [
    'Median time per run',
    'Ratios against the baseline',
    '<th class="num">Per item</th>',
    '60.6 ns',
    'not measured in any scenario: throughput, p99, CPU per request',
  ]);
});

test('null figures read "—" (not measured), never 0', () => {
  const report = structuredClone(loadFixture('http'));
  const row = rowOf(report, 'concurrency_1', 'node');
  row.peak_rss_mb = null;
  row.cpu_s_per_request = null;
  row.throughput_per_s = null;
  const html = renderHtmlReport(report);
  const tr = verdictRow(html, 'concurrency_1', 'node');
  const dashes = tr.match(/<span class="nm" title="not measured">—<\/span>/g) ?? [];
  assert.equal(dashes.length, 3, tr);
  assert.ok(!tr.includes('0.0 MiB') && !tr.includes('>0/s'));
  // The pipelines' cold_start row has no peak RSS.
  const cold = verdictRow(renderHtmlReport(loadFixture('pipelines')), 'cold_start', 'pitlane');
  assert.ok(cold.includes('title="not measured">—'));
});

test('warnings are shown prominently', () => {
  const report = loadFixture('http');
  const html = renderHtmlReport(report);
  assert.ok(html.includes('<section class="warnings" id="warnings" role="alert">'));
  assert.ok(html.indexOf('id="warnings"') < html.indexOf('id="verdict"'), 'warnings come before the verdict');
  for (const w of report.warnings) assert.ok(html.includes(`<li>${escapeHtml(w)}</li>`));
  assert.ok(!renderHtmlReport(loadFixture('pipelines')).includes('id="warnings"'), 'no empty warnings box');
});

test('incorrect, saturated and failed rows are marked and not counted', () => {
  const report = structuredClone(loadFixture('http'));
  rowOf(report, 'concurrency_1', 'node').correct = false;
  rowOf(report, 'open_500', 'node').failure = 'contestant exited with code 137 <after> 12 s';
  const html = renderHtmlReport(report);
  const incorrect = verdictRow(html, 'concurrency_1', 'node');
  assert.ok(incorrect.includes('incorrect — not counted'));
  assert.ok(incorrect.startsWith(' class="status-incorrect'));
  assert.ok(!incorrect.includes('2.81×'), 'the ratio of an incorrect row is not shown');
  const saturated = verdictRow(html, 'concurrency_16', 'node');
  assert.ok(saturated.includes('client saturated — excluded'));
  const failed = verdictRow(html, 'open_500', 'node');
  assert.ok(failed.includes('<span class="badge bad">failed</span>'));
  assert.ok(failed.includes('contestant exited with code 137 &lt;after&gt; 12 s'));
  assert.ok(html.includes('No ratio against the baseline counts:'), 'nothing counts, and the page says so');
  const one = structuredClone(loadFixture('http'));
  rowOf(one, 'open_500', 'python').correct = false;
  const page = renderHtmlReport(one);
  assert.ok(
    page.includes(
      'Not in this chart: <strong>concurrency_16</strong> (client saturated — excluded), <strong>open_500</strong> (incorrect — not counted).',
    ),
  );
});

test('all text is escaped: a contestant named <script> stays text', () => {
  const report = structuredClone(loadFixture('http')) as Mutable<LabReport>;
  const evil = '<script>alert(1)</script>';
  const quote = 'x" onmouseover="alert(2)';
  const contestants = report.contestants.map((c) => ({ ...c }));
  const first = contestants[0];
  assert.ok(first);
  first.name = evil;
  first.how = `node -e "${evil}" & echo 'done'`;
  first.settings = { [quote]: evil };
  report.contestants = contestants;
  for (const s of report.scenarios) {
    const row = s.rows.find((r) => r.contestant === 'node') as Mutable<ReportRow> | undefined;
    if (row) row.contestant = evil;
    (s as Mutable<ReportScenario>).ratios = s.ratios.map((r) => ({ ...r, contestant: evil }));
  }
  report.cold_starts = report.cold_starts.map((c) =>
    c.contestant === 'node' ? { ...c, contestant: evil } : c,
  );
  scenarioOf(report, 'open_500').name = quote;
  report.title = `${evil} & "friends"`;
  report.warnings = [evil];
  const html = renderHtmlReport(report);
  assert.ok(!html.includes('<script'), 'no script element at all');
  assert.ok(!html.includes('onmouseover="alert'), 'no injected attribute');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('<title>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;</title>'));
  assert.ok(html.includes('x&quot; onmouseover=&quot;alert(2)'));
});

test('the page loads nothing: no external references, a CSP that forbids fetching and scripts', () => {
  for (const name of FIXTURES) {
    const report = structuredClone(loadFixture(name)) as Mutable<LabReport>;
    // A contestant given as a URL is text, not a reference.
    report.contestants = report.contestants.map((c, i) =>
      i === 0 ? { ...c, how: 'http://127.0.0.1:8080/' } : c,
    );
    const html = renderHtmlReport(report);
    assert.ok(html.includes("default-src 'none'"), 'CSP');
    assert.doesNotMatch(html, /\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    assert.doesNotMatch(html, /url\(\s*["']?\s*(?:https?:)?\/\//i);
    assert.doesNotMatch(html, /@import|<link\b|<script\b|<img\b|<iframe\b/i);
    for (const m of html.matchAll(/\b(?:href|src)="([^"]*)"/g)) {
      assert.ok(m[1]?.startsWith('#'), `only in-page links: ${m[1] ?? ''}`);
    }
    assert.ok(html.includes('http://127.0.0.1:8080/'), 'the URL is shown as text');
  }
});

test('degenerate figures do not break the charts', () => {
  const report = structuredClone(loadFixture('http')) as Mutable<LabReport>;
  for (const s of report.scenarios) {
    for (const row of s.rows as Mutable<ReportRow>[]) {
      row.throughput_per_s = 0;
      row.percentiles = row.percentiles.map((p) => ({ ...p, ms: 0 }));
      row.series = { t_s: [0], rss_mb: [0], cpu_percent: [0] };
    }
    (s as Mutable<ReportScenario>).ratios = s.ratios.map((r) => ({ ...r, factor: 0, ci95: [0, 0] as const }));
  }
  report.cold_starts = [{ contestant: 'node', to_healthy_ms: [], to_first_correct_ms: [] }];
  const html = renderHtmlReport(report);
  assert.ok(!/NaN|Infinity/.test(html));
  const empty: LabReport = {
    ...report,
    scenarios: [],
    cold_starts: [],
    contestants: [],
    headline: null,
    warnings: [],
  };
  const page = renderHtmlReport(empty);
  assert.ok(page.includes('<section id="verdict">') && !/NaN|Infinity|undefined/.test(page));
});
