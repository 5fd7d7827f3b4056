// The ingest suite kind end to end, as `pitlane bench` runs it: a small copy of examples/suites/ingest.yaml (a
// 12-photo corpus, one scenario, one repeat) with the real shared model server, the real Python baseline and
// pitlane's service, plus a contestant whose set-up is missing; then the report set page of `bench default` in a
// real browser. And the problems of a broken ingest suite file, each with its JSON path.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { ROOT, openInBrowser, pitlane, tempDir } from './helpers.mjs';

const SUITES = join(ROOT, 'examples', 'suites');

describe('pitlane bench on an ingest suite', () => {
  const temp = tempDir('pitlane-ingest-suite-');

  test('a small run: every metric, correctness, a skipped contestant, hypotheses, results', async () => {
    const suite = parse(readFileSync(join(SUITES, 'ingest.yaml'), 'utf8'));
    const file = join(temp, 'small-ingest.yaml');
    // Paths in the suite are relative to its folder: keep them pointing at the repo.
    const rebase = (argv) => argv.map((a) => (a.startsWith('../../') ? join(ROOT, a.slice(6)) : a));
    suite.name = 'small-ingest';
    suite.services.models.command = rebase(suite.services.models.command);
    for (const c of suite.contestants) {
      c.command = rebase(c.command);
      if (c.preprocess !== undefined) c.preprocess = rebase(c.preprocess);
    }
    suite.contestants.push({
      name: 'ghost',
      command: ['node', '-e', 'setInterval(() => {}, 1000)'],
      requires: { check: ['/bin/false'], install: 'sudo apt-get install -y ghost-ingest' },
    });
    suite.corpus = {
      dir: join(temp, 'corpus'),
      count: 12,
      sources: ['/usr/share/darknet/data'],
      exact_share: 0.2,
      near_share: 0.2,
    };
    suite.scenarios = { throughput: { workers: 2, batch: 4, queue: 8 } };
    suite.preprocess = { limit: 4 };
    suite.repeats = 1;
    suite.warmup = { images: 2 };
    suite.hypotheses = suite.hypotheses.filter((h) => h.scenario !== 'single_image');
    writeFileSync(file, stringify(suite));

    const out = join(temp, 'reports');
    const r = await pitlane(['bench', file, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr.split('\n').slice(-30).join('\n'));
    const report = JSON.parse(readFileSync(join(out, 'small-ingest', 'report.json'), 'utf8'));
    assert.deepEqual(
      report.scenarios.map((s) => s.name),
      ['throughput', 'preprocess', 'process_overhead', 'shared models server'],
    );
    const row = (scenario, contestant) =>
      report.scenarios.find((s) => s.name === scenario).rows.find((x) => x.contestant === contestant);
    for (const name of ['python', 'pitlane']) {
      const t = row('throughput', name);
      assert.equal(t.failure, null, `${name}: ${t.failure}`);
      assert.equal(t.correct, true, `${name} incorrect: ${report.warnings.join(' | ')}`);
      assert.equal(t.count, 12);
      assert.ok(t.throughput_per_s > 0 && t.peak_rss_mb > 0 && t.cpu_s_per_request > 0, JSON.stringify(t));
      assert.ok(row('preprocess', name).cpu_s_per_request > 0);
      assert.ok(row('process_overhead', name).median_ms > 0 && row('process_overhead', name).peak_rss_mb > 0);
      assert.ok(row('shared models server', name).cpu_s_per_request > 0);
    }
    // The same service with its inference over gRPC: the same photos found, correct against the same manifest.
    const overGrpc = row('throughput', 'pitlane-grpc');
    assert.equal(overGrpc.failure, null, `pitlane-grpc: ${overGrpc.failure}`);
    assert.equal(overGrpc.correct, true, `pitlane-grpc incorrect: ${report.warnings.join(' | ')}`);
    assert.equal(overGrpc.count, 12);
    // It names no preprocessing probe (the service is pitlane's): no row there, rather than a failed one.
    assert.equal(row('preprocess', 'pitlane-grpc'), undefined);
    assert.ok(!report.warnings.some((w) => /pitlane-grpc: no probe/.test(w)), report.warnings.join(' | '));
    const ghost = row('throughput', 'ghost');
    assert.match(ghost.failure, /skipped: set-up missing .*sudo apt-get install -y ghost-ingest/);
    assert.ok(report.warnings.some((w) => /ghost was skipped: .*ghost-ingest/.test(w)));
    const mine = report.hypotheses.filter((h) => h.contestant === 'pitlane');
    assert.equal(mine.length, 4);
    const ghosts = report.hypotheses.filter((h) => h.contestant === 'ghost');
    assert.ok(
      ghosts.length === 4 && ghosts.every((h) => h.verdict === 'not_measured' && h.measured === null),
    );
    for (const h of mine) {
      assert.ok(['supported', 'rejected'].includes(h.verdict), JSON.stringify(h));
      assert.match(h.note, /one repeat/);
    }
    assert.ok(
      report.scenarios[0].ratios.some((x) => x.metric === 'throughput' && x.contestant === 'pitlane'),
    );
    const results = JSON.parse(
      readFileSync(join(out, 'small-ingest', 'results', 'throughput', 'pitlane.json'), 'utf8'),
    );
    assert.equal(results.runs.length, 1);
    assert.equal(results.runs[0].bench.check.correct, true);
    assert.ok(results.runs[0].bench.outcomes.length >= 12);
    assert.deepEqual([results.format, results.version, results.kind], ['pitlane-results', 2, 'ingest']);
    // pitlane compare reads ingest results files: each file's rows rebuilt, the first as the baseline.
    const cmp = await pitlane([
      'compare',
      join(out, 'small-ingest', 'results', 'throughput', 'python.json'),
      join(out, 'small-ingest', 'results', 'throughput', 'pitlane.json'),
      '--json',
    ]);
    assert.equal(cmp.code, 0, cmp.stderr);
    const cj = JSON.parse(cmp.stdout);
    assert.equal(cj.baseline, 'python');
    assert.equal(typeof cj.comparison.throughput.pitlane_rps, 'number', JSON.stringify(cj.comparison));
    assert.equal(cj.comparison.throughput.pitlane_correct, true);
    assert.equal(typeof cj.comparison.throughput.throughput_ratio, 'number');
    assert.ok('process_overhead' in cj.comparison && 'preprocess' in cj.comparison);
    assert.ok(existsSync(join(out, 'small-ingest', 'report.html')));
    const md = readFileSync(join(out, 'small-ingest', 'report.md'), 'utf8');
    assert.match(md, /## Hypotheses/);
    const page = await openInBrowser(join(out, 'small-ingest', 'report.html'));
    try {
      assert.deepEqual(page.errors, []);
      assert.deepEqual(page.externalRequests, []);
      assert.ok(
        page.text.includes('Hypotheses') && page.text.includes('process_overhead'),
        page.text.slice(0, 300),
      );
    } finally {
      await page.close();
    }

    // The page of `bench default`: this report and a suite that failed, on one page, ids kept apart.
    const { renderHtmlReportSet } = await import('../dist/lab/report/html-page.js');
    const setFile = join(temp, 'set.html');
    writeFileSync(
      setFile,
      renderHtmlReportSet('pitlane: the default comparison suite', 'Two suites.', [
        { name: 'ingest', report, href: 'small-ingest/report.html', failure: null, minutes: 1.5 },
        { name: 'embeddings', report: null, href: null, failure: 'the suite file is broken', minutes: 0 },
      ]),
    );
    const html = readFileSync(setFile, 'utf8');
    assert.ok(html.includes('id="ingest-verdict"') && html.includes('href="#ingest-scenario-0"'));
    assert.ok(!/ id="verdict"/.test(html), 'ids are prefixed');
    const set = await openInBrowser(setFile);
    try {
      assert.deepEqual(set.errors, []);
      assert.deepEqual(set.externalRequests, []);
      assert.match(set.text, /embeddings[\s\S]*failed[\s\S]*the suite file is broken/);
      assert.ok(set.svgCount > 0);
    } finally {
      await set.close();
    }
  });

  test('a broken ingest suite lists every problem with its JSON path (exit 2)', async () => {
    const file = join(temp, 'broken.yaml');
    writeFileSync(
      file,
      stringify({
        kind: 'ingest',
        services: { models: { command: ['node', 'x.js', '{port}'], port: 'auto' } },
        contestants: [
          { name: 'a', command: ['a', '--inference', '{services.model.url}'] },
          { name: 'b', command: ['b', '{port}'] },
          { name: 'c', command: ['c', '--inference', '{services.models.grpc_url}'] },
        ],
        corpus: { dir: 'corpus', count: 10 },
        scenarios: { throughput: { workers: 2, batch: 4 } },
        hypotheses: [{ statement: 's', scenario: 'nope', metric: 'throughput', at_least: 1.5 }],
      }),
    );
    const r = await pitlane(['bench', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /\$\.contestants\[0\]\.command\s+\{services\.model\.url\}: no service 'model' \(services: models\)/,
    );
    assert.match(r.stderr, /\$\.contestants\[1\]\.port\s+\{port\} is used but no port is set/);
    assert.match(
      r.stderr,
      /\$\.contestants\[2\]\.command\s+\{services\.models\.grpc_url\}: service 'models' has no grpc_port/,
    );
    assert.match(r.stderr, /\$\.hypotheses\[0\]\.scenario\s+no scenario 'nope'/);
  });
});
