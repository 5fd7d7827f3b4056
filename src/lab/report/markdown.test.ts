import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOT_MEASURED } from './format.js';
import type { LabReport } from './model.js';
import { escapeMarkdown, renderMarkdownReport } from './markdown.js';
import { FIXTURES, loadFixture, rowOf, type Mutable } from './test-support.js';

test('Markdown: every contestant and scenario, every section, the warnings', () => {
  for (const name of FIXTURES) {
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
  const report = structuredClone(loadFixture('http'));
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
  const report = structuredClone(loadFixture('http'));
  rowOf(report, 'concurrency_1', 'node').correct = false;
  rowOf(report, 'open_500', 'node').failure = 'contestant exited with code 137 after 12 s';
  const md = renderMarkdownReport(report);
  const line = md.split('\n').find((l) => l.includes('concurrency_1 | node |'));
  assert.ok(line !== undefined);
  assert.ok(line.includes('**incorrect — not counted**'), line);
  assert.ok(!line.includes('2.81×'), 'no ratio for an incorrect row');
  assert.ok(md.includes('**failed: contestant exited with code 137 after 12 s**'));
});

test('Markdown escapes names: no raw HTML, no broken tables', () => {
  const report = structuredClone(loadFixture('http'));
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

test('Markdown: a skipped row says why and is not counted; the run time is one line and a table', () => {
  const report: Mutable<LabReport> = structuredClone(loadFixture('http'));
  rowOf(report, 'open_500', 'node').skipped = 'offered 500/s, closed-loop capacity 120/s on concurrency_16';
  const md0 = renderMarkdownReport(report);
  assert.ok(!md0.includes('## Run time'), 'no run time when the run did not record it');
  report.timing = {
    total_s: 702,
    phases: [
      {
        name: 'cold starts',
        kind: 'cold_starts',
        seconds: 42,
        share: 42 / 702,
        by_contestant: { node: 12, python: 30 },
      },
      {
        name: 'concurrency_16',
        kind: 'scenario',
        seconds: 600,
        share: 600 / 702,
        by_contestant: { node: 200, python: 400 },
      },
      { name: 'raw-loop', kind: 'ceiling', seconds: 60, share: 60 / 702, by_contestant: {} },
    ],
  };
  const md = renderMarkdownReport(report);
  const line = md.split('\n').find((l) => l.startsWith('| open_500 | node |'));
  assert.ok(line !== undefined);
  assert.ok(line.includes('*skipped: offered 500/s, closed-loop capacity 120/s on concurrency_16*'), line);
  assert.ok(line.includes('not counted') && !line.includes('×'), 'no ratio for a skipped row');
  assert.ok(md.includes('## Run time'));
  assert.ok(md.includes('The run took 11 min 42 s: scenarios 85.5%, ceilings 8.5%, cold starts 6.0%.'), md);
  assert.ok(
    md.includes('| scenario concurrency_16 | 10 min 00 s | 85.5% | python 6 min 40 s, node 3 min 20 s |'),
  );
  assert.ok(md.includes('| ceiling raw-loop | 1 min 00 s | 8.5% |  |'));
});
