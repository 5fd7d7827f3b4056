import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTerminalTable } from './terminal.js';
import { FIXTURES, loadFixture, rowOf } from './test-support.js';

test('terminal table: aligned columns, every row, the marks', () => {
  for (const name of FIXTURES) {
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

test('terminal table: incorrect and failed rows are marked', () => {
  const report = structuredClone(loadFixture('http'));
  rowOf(report, 'concurrency_1', 'node').correct = false;
  rowOf(report, 'open_500', 'node').failure = 'contestant exited with code 137 after 12 s';
  const table = renderTerminalTable(report);
  assert.ok(table.includes('INCORRECT (not counted)'));
  assert.ok(table.includes('FAILED: contestant exited with code 137 after 12 s'));
});
