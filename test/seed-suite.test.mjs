// The seed's benchmark.yaml as it is (`scenarios:` as a list of {name, concurrency, num_requests}) as the scenarios
// of an HTTP suite: named by the suite (`scenarios: {file}`), inline, or given with `pitlane bench --scenarios`;
// bad entries reported in the file they are in, with JSON path and line.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, pitlane, tempDir } from './helpers.mjs';
import { assertRunFiles, echoRawContestant, writeSuiteFile } from './helpers/lab-run.mjs';

const { loadSuite } = await import('../dist/lab/kinds/http/suite.js');
const dir = tempDir('pl-seed-suite-');

function echoSuite(name, scenarios) {
  return writeSuiteFile(dir, {
    name,
    contestants: [echoRawContestant('left'), echoRawContestant('right')],
    workloads: { echo: { path: '/echo', bodies: { items: [{ a: 1 }, { b: 'x' }] } } },
    scenarios,
  });
}

describe('the seed benchmark.yaml as the scenarios of a suite', () => {
  test('examples/suites/embeddings-seed.yaml reads examples/suites/benchmark.yaml as it is', async () => {
    const suite = await loadSuite(join(ROOT, 'examples', 'suites', 'embeddings-seed.yaml'));
    assert.deepEqual(
      suite.scenarios.map((s) => [s.name, s.workload, s.plan]),
      [
        ['concurrency_1', 'minilm-l6-arch', { model: 'closed', concurrency: 1, numRequests: 1000 }],
        ['concurrency_16', 'minilm-l6-arch', { model: 'closed', concurrency: 16, numRequests: 12000 }],
      ],
    );
  });

  test('the list inline in a suite, and --scenarios replacing a suite map', async () => {
    const inline = await loadSuite(
      echoSuite('inline', [
        { name: 'concurrency_1', concurrency: 1, num_requests: 10 },
        { name: 'soak', concurrency: 2, duration: '1s' },
      ]),
    );
    assert.deepEqual(
      inline.scenarios.map((s) => s.name),
      ['concurrency_1', 'soak'],
    );
    const seed = join(dir, 'benchmark.yaml');
    writeFileSync(
      seed,
      'clients: [python, typescript]\nscenarios:\n  - {name: c2, concurrency: 2, num_requests: 8}\n',
    );
    const replaced = await loadSuite(echoSuite('map', { mine: { concurrency: 1, num_requests: 5 } }), {
      scenariosFile: seed,
    });
    assert.deepEqual(
      replaced.scenarios.map((s) => [s.name, s.plan.concurrency, s.plan.numRequests]),
      [['c2', 2, 8]],
    );
    // With --scenarios, a suite needs none of its own.
    const bare = await loadSuite(echoSuite('bare', undefined), { scenariosFile: seed });
    assert.deepEqual(
      bare.scenarios.map((s) => s.name),
      ['c2'],
    );
  });

  test("with --scenarios, a ceiling's mapping of a scenario the file lacks is dropped, not an error", async () => {
    const ceilingSuite = writeSuiteFile(dir, {
      name: 'ceiling',
      contestants: [echoRawContestant('left')],
      workloads: { echo: { path: '/echo', body: { a: 1 } } },
      scenarios: {
        concurrency_1: { concurrency: 1, num_requests: 5 },
        concurrency_16: { concurrency: 16, num_requests: 32 },
      },
      ceilings: [
        {
          name: 'raw',
          description: 'a limit',
          command: ['node', '-e', '0'],
          scenarios: { concurrency_16: { throughput: '$.x' } },
        },
      ],
    });
    const only1 = join(dir, 'only-1.yaml');
    writeFileSync(only1, 'scenarios:\n  - {name: concurrency_1, concurrency: 1, num_requests: 5}\n');
    const suite = await loadSuite(ceilingSuite, { scenariosFile: only1 });
    assert.deepEqual(
      suite.scenarios.map((x) => x.name),
      ['concurrency_1'],
    );
    assert.equal(suite.ceilings[0].scenarios.size, 0);
    // Named by the suite itself, the same mapping is an error: the suite contradicts itself.
    const named = writeSuiteFile(dir, {
      ...JSON.parse(readFileSync(ceilingSuite, 'utf8')),
      name: 'ceiling-named',
      scenarios: { file: 'only-1.yaml' },
    });
    await assert.rejects(loadSuite(named), (e) =>
      e.problems.some(
        (p) =>
          p.path === '$.ceilings[0].scenarios.concurrency_16' &&
          p.message === "no scenario 'concurrency_16' (scenarios: concurrency_1)",
      ),
    );
  });

  test('bad entries are reported in benchmark.yaml with JSON path and line, exit 2, nothing started', async () => {
    const seed = join(dir, 'bad-benchmark.yaml');
    writeFileSync(
      seed,
      [
        'scenarios:', // 1
        '  - name: concurrency_1', // 2
        '    concurrency: 1', // 3
        '    num_requests: 1000', // 4
        '  - name: concurrency_16', // 5
        '    concurrency: sixteen', // 6
        '    num_requests: 12000', // 7
        '  - concurrency: 4', // 8
        '    num_requests: 10', // 9
        '    colour: red', // 10
        '',
      ].join('\n'),
    );
    const suite = echoSuite('bad', { file: 'bad-benchmark.yaml' });
    const r = await pitlane(['bench', suite, '--out', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /PL_ERR_SUITE_INVALID: .*bad-benchmark\.yaml: 3 problems/);
    for (const line of [
      `${seed}:6:5  $.scenarios[1].concurrency  expected integer`,
      `${seed}:8:5  $.scenarios[2].name  required`,
      `${seed}:10:5  $.scenarios[2].colour  unknown field`,
    ]) {
      assert.ok(r.stderr.includes(line), `missing:\n${line}\nin:\n${r.stderr}`);
    }

    // Once the entries are well-formed, the scenario rules apply, still in the file that has the scenario.
    writeFileSync(
      seed,
      'scenarios:\n  - {name: a, concurrency: 1}\n  - {name: b, rate: 10}\n  - {name: a, concurrency: 1, num_requests: 3}\n',
    );
    const again = await pitlane(['bench', suite, '--out', dir]);
    assert.equal(again.code, 2, again.stderr);
    for (const line of [
      `${seed}:2:5  $.scenarios[0]  a closed-loop scenario takes num_requests or duration (one of them)`,
      `${seed}:3:5  $.scenarios[1].duration  required for an open-loop scenario (rate)`,
      `${seed}:4:6  $.scenarios[2].name  scenario 'a' is listed twice (also $.scenarios[0])`,
    ]) {
      assert.ok(again.stderr.includes(line), `missing:\n${line}\nin:\n${again.stderr}`);
    }
  });

  test('--help explains --scenarios; validate says it reads models.yaml', async () => {
    const bench = await pitlane(['bench', '--help']);
    assert.equal(bench.code, 0);
    assert.match(
      bench.stdout.replace(/\s+/g, ' '),
      /--scenarios <file> +http suite files: take the scenarios from this benchmark\.yaml/,
    );
    const validate = await pitlane(['validate', '--help']);
    assert.match(validate.stdout.replace(/\s+/g, ' '), /model repository \(models\.yaml\)/);
  });

  test('a missing file, a file without scenarios, and --scenarios on a kind that has none are clear errors', async () => {
    const missing = await pitlane(['bench', echoSuite('missing', { file: 'nope.yaml' }), '--out', dir]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /\$\.scenarios\.file +.*nope\.yaml: no such file/);

    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, 'clients: [python]\n');
    const none = await pitlane(['bench', echoSuite('none', { file: 'empty.yaml' }), '--out', dir]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(
      none.stderr,
      /empty\.yaml.*\n.*\$\.scenarios +required: a benchmark\.yaml lists its scenarios/,
    );

    const pipelines = await pitlane(['bench', 'pipelines', '--scenarios', empty, '--out', dir]);
    assert.equal(pipelines.code, 2, pipelines.stderr);
    assert.match(pipelines.stderr, /--scenarios applies to http suites, not to a pipelines suite/);
  });
});

test("an embeddings suite runs with a seed-shaped benchmark.yaml and writes the seed's results/<model>/<runtime>.json", async () => {
  const tiny = join(dir, 'tiny-benchmark.yaml');
  writeFileSync(
    tiny,
    [
      'scenarios:',
      '  - name: concurrency_1',
      '    concurrency: 1',
      '    num_requests: 20',
      '  - name: concurrency_4',
      '    concurrency: 4',
      '    num_requests: 40',
      '',
    ].join('\n'),
  );
  const out = join(dir, 'out');
  const r = await pitlane([
    'bench',
    join(ROOT, 'examples', 'suites', 'embeddings-seed.yaml'),
    '--scenarios',
    tiny,
    '--repeats',
    '1',
    '--cold-starts',
    '0',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const run = join(out, 'embeddings-seed');
  // pitlane's own files are still written.
  assertRunFiles(run, ['results/minilm-l6-arch/pitlane.json', 'results/minilm-l6-arch/transformers-js.json']);
  const read = (p) => JSON.parse(readFileSync(join(run, 'seed', 'results', 'minilm-l6-arch', p), 'utf8'));
  const pl = read('pitlane.json');
  const tjs = read('transformers-js.json');
  for (const [f, runtime] of [
    [pl, 'pitlane'],
    [tjs, 'transformers-js'],
  ]) {
    assert.equal(f.model, 'minilm-l6-arch');
    assert.equal(f.runtime, runtime);
    assert.deepEqual(
      f.scenarios.map((s) => [s.name, s.concurrency, s.num_requests, s.requests]),
      [
        ['concurrency_1', 1, 20, 20],
        ['concurrency_4', 4, 40, 40],
      ],
    );
    for (const s of f.scenarios) {
      assert.ok(s.throughput > 0, `${runtime} ${s.name} throughput`);
      const l = s.latency_ms;
      assert.ok(l.mean > 0 && l.p50 > 0 && l.p50 <= l.p95 && l.p95 <= l.p99, JSON.stringify(l));
      assert.ok(s.memory_mb > 0, 'peak RSS sampled');
      assert.equal(s.error_rate, 0);
      assert.equal(s.correct, true);
    }
  }
  // pitlane's intervals: each ratio against the baseline with its 95% interval; the baseline has none.
  // (A row the lab excludes from comparisons, a client that could not keep up on a busy machine, has none.)
  const comparable = (x) => !x.client_saturated && x.failure === null && x.correct !== false;
  pl.scenarios.forEach((s, i) => {
    if (!comparable(s) || !comparable(tjs.scenarios[i])) return assert.equal(s.intervals, null);
    assert.equal(s.intervals.baseline, 'transformers-js');
    for (const m of ['throughput', 'p50', 'p99', 'peak_rss']) {
      const x = s.intervals[m];
      assert.ok(x.factor > 0 && x.ci95.length === 2 && x.ci95[0] <= x.factor && x.factor <= x.ci95[1], m);
    }
  });
  assert.ok(tjs.scenarios.every((s) => s.intervals === null));
});
