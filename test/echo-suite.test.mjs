// The first real suite, end to end: examples/suites/echo.yaml runs the Node and the Python (FastAPI + uvicorn)
// contestants, writes results, comparison and reports, and its HTML report loads cleanly in a real browser.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, openInBrowser, pitlane } from './helpers.mjs';
import { assertRunFiles } from './helpers/lab-run.mjs';

test('examples/suites/echo.yaml: both contestants run, agree, and the HTML report renders in Chromium', async () => {
  const out = mkdtempSync(join(tmpdir(), 'pl-echo-'));
  const r = await pitlane([
    'bench',
    join(ROOT, 'examples', 'suites', 'echo.yaml'),
    '--out',
    out,
    '--repeats',
    '1',
    '--cold-starts',
    '1',
    '--only',
    'concurrency_1,concurrency_16',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const dir = join(out, 'echo');
  assertRunFiles(dir, ['results/echo/node.json', 'results/echo/python.json']);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  for (const s of report.scenarios) {
    const node = s.rows.find((row) => row.contestant === 'node');
    const python = s.rows.find((row) => row.contestant === 'python');
    assert.equal(node.correct, true, `${s.name}: node agrees with python`);
    assert.equal(python.failure, null, `${s.name}: python ran`);
    assert.ok(node.count > 0 && python.count > 0);
    assert.ok(python.peak_rss_mb > 0 && node.peak_rss_mb > 0, 'memory sampled for both');
  }
  assert.equal(report.cold_starts.length, 2);

  const page = await openInBrowser(join(dir, 'report.html'));
  try {
    assert.deepEqual(page.errors, [], 'no console or page errors');
    assert.deepEqual(page.externalRequests, [], 'the page is self-contained');
    for (const name of ['node', 'python', 'concurrency_1', 'concurrency_16'])
      assert.ok(page.text.includes(name), name);
    assert.ok(page.svgCount > 0, 'charts are drawn');
  } finally {
    await page.close();
  }
});
