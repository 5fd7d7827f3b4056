// pitlane bench pipelines, run for real on a few scenarios: both runtimes, the comparison in the plans' format,
// identical outputs, and the shared HTML report loading cleanly in Chromium.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openInBrowser, pitlane } from './helpers.mjs';
import { assertRunFiles } from './helpers/lab-run.mjs';

test('bench pipelines: results, comparison (plans format), reports; outputs identical in both runtimes', async () => {
  const out = mkdtempSync(join(tmpdir(), 'pl-pipelines-'));
  const r = await pitlane([
    'bench',
    'pipelines',
    '--quick',
    '--repeats',
    '2',
    '--only',
    'simple,text,cold_start',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const dir = join(out, 'pipelines');
  assertRunFiles(dir, ['results/pipelines/pitlane.json', 'results/pipelines/cpython.json']);
  const c = JSON.parse(readFileSync(join(dir, 'comparison.json'), 'utf8'));
  for (const s of ['simple', 'text', 'cold_start']) {
    const e = c.comparison[s];
    for (const k of ['python_ms', 'ts_ms', 'speedup', 'memory_python_mb', 'memory_ts_mb'])
      assert.ok(k in e, `${s}.${k}`);
    assert.equal(e.correct, true, `${s}: identical outputs`);
    assert.equal(e.speedup_ci95.length, 2);
  }
  assert.deepEqual(c.summary.average_of, ['simple', 'text']);
  assert.equal(typeof c.summary.average_speedup, 'number');
  assert.match(r.stdout, /Geometric-mean speed-up/);

  // pitlane compare reads pipelines results files: the reference as the baseline, a time ratio per scenario; a
  // file from before results files named their kind (no format, version or kind field) reads the same.
  const results = join(dir, 'results', 'pipelines');
  const written = JSON.parse(readFileSync(join(results, 'pitlane.json'), 'utf8'));
  assert.equal(written.kind, 'pipelines');
  const { format, version, kind, ...legacy } = written;
  assert.deepEqual([format, version, kind], ['pitlane-results', 2, 'pipelines']);
  writeFileSync(join(out, 'legacy-pitlane.json'), JSON.stringify(legacy));
  for (const contestant of [join(results, 'pitlane.json'), join(out, 'legacy-pitlane.json')]) {
    const cmp = await pitlane(['compare', join(results, 'cpython.json'), contestant, '--json']);
    assert.equal(cmp.code, 0, cmp.stderr);
    const cj = JSON.parse(cmp.stdout);
    assert.equal(cj.baseline, 'cpython-ref');
    for (const s of ['simple', 'text', 'cold_start']) {
      assert.equal(typeof cj.comparison[s]['cpython-ref_ms'], 'number', s);
      assert.equal(typeof cj.comparison[s].time_ratio, 'number', `${s}: ${JSON.stringify(cj.comparison[s])}`);
    }
  }

  // pitlane report re-renders any kind's report from its folder.
  const md = await pitlane(['report', dir, '-o', join(out, 'again.md')]);
  assert.equal(md.code, 0, md.stderr);
  assert.match(readFileSync(join(out, 'again.md'), 'utf8'), /cpython-ref/);

  const page = await openInBrowser(join(dir, 'report.html'));
  try {
    assert.deepEqual(page.errors, []);
    assert.deepEqual(page.externalRequests, []);
    for (const name of ['pitlane', 'cpython-ref', 'simple', 'text', 'cold_start'])
      assert.ok(page.text.includes(name), name);
  } finally {
    await page.close();
  }
});

test('bench: an unknown suite or scenario is a clear error', async () => {
  const suite = await pitlane(['bench', 'nonsense']);
  assert.equal(suite.code, 2);
  assert.match(suite.stderr, /neither a suite file .* nor a built-in suite \('pipelines', 'default'\)/);
  const scenario = await pitlane([
    'bench',
    'pipelines',
    '--only',
    'nope',
    '--out',
    mkdtempSync(join(tmpdir(), 'pl-')),
  ]);
  assert.equal(scenario.code, 3);
  assert.match(scenario.stderr, /unknown scenario nope; scenarios: simple, complex/);
});
