// The benchmark lab with real servers, real processes and real ports: the load engine's two loops and their
// error accounting, coordinated omission, suite validation, and whole suite runs through the CLI (results,
// comparison, reports; a contestant that dies; a contestant that answers wrongly; an open-loop rate above a
// contestant's closed-loop capacity, skipped; where a run's time went).
import assert from 'node:assert/strict';
import { isRunning } from '../dist/process/proc-stat.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HttpTarget } from '../dist/lab/load/http-target.js';
import { arrivalSchedule, runLoad } from '../dist/lab/load/load-engine.js';
import { ROOT, pitlane } from './helpers.mjs';
import { assertRunFiles, echoRawContestant, writeSuiteFile } from './helpers/lab-run.mjs';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'lab');
const get = (path = '/') => ({ method: 'GET', path, headers: {}, body: null });
const constant = (req) => ({ next: () => req });

/** Runs the load `plan` of GET `path` against `url` over `connections` connections, expecting 200s. */
async function loadGet(url, plan, { path = '/', connections, timeoutMs = 5000 }) {
  const target = new HttpTarget(url, { connections, timeoutMs });
  const result = await runLoad(target, constant(get(path)), plan, { expectStatus: 200 });
  await target.close();
  return result;
}

/** Starts a fixture server in its own process; resolves with its base URL and a stop function. */
function startServer(script, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(FIXTURES, script)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.once('data', (b) => {
      const port = /listening (\d+)/.exec(String(b))?.[1];
      if (port === undefined) reject(new Error(`unexpected output: ${b}`));
      else resolve({ url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') });
    });
    child.once('error', reject);
  });
}

describe('load engine', () => {
  let server;
  before(async () => {
    server = await startServer('stall-server.mjs', { STALL_AT: '1000000' });
  });
  after(() => server.stop());

  test('closed loop sends exactly num_requests and counts them', async () => {
    const r = await loadGet(
      server.url,
      { model: 'closed', concurrency: 4, numRequests: 500 },
      { connections: 4 },
    );
    assert.equal(r.sent, 500);
    assert.equal(r.ok, 500);
    assert.equal(r.failed, 0);
    assert.equal(r.service.count, 500);
    assert.equal(r.response, null, 'closed loop has no response time');
    assert.ok(r.throughputPerS > 0);
  });

  test('errors are counted by class and status, not thrown', async () => {
    const r = await loadGet(
      server.url,
      { model: 'closed', concurrency: 2, numRequests: 20 },
      { path: '/fail', connections: 2 },
    );
    assert.equal(r.failed, 20);
    assert.equal(r.errorsByClass.status, 20);
    assert.deepEqual(r.errorsByStatus, { 500: 20 });
    assert.match(r.errorExamples.status, /status 500/);

    const nobody = createServer();
    await new Promise((res) => nobody.listen(0, '127.0.0.1', res));
    const port = nobody.address().port;
    await new Promise((res) => nobody.close(res));
    const c = await loadGet(
      `http://127.0.0.1:${port}`,
      { model: 'closed', concurrency: 1, numRequests: 3 },
      { connections: 1, timeoutMs: 2000 },
    );
    assert.equal(c.errorsByClass.connect, 3);
  });

  test('open loop issues the whole schedule; Poisson arrivals are reproducible from the seed', async () => {
    const plan = {
      model: 'open',
      rate: 200,
      arrival: 'constant',
      durationMs: 1500,
      seed: 1,
      maxInFlight: 100,
    };
    const r = await loadGet(server.url, plan, { connections: 16 });
    assert.equal(r.scheduled, 300);
    assert.equal(r.ok + r.failed + r.dropped, 300);
    assert.ok(r.response !== null && r.slip !== null);
    assert.equal(r.response.count, r.ok);

    const poisson = { ...plan, arrival: 'poisson', durationMs: 60_000, seed: 7 };
    const a = arrivalSchedule(poisson);
    assert.deepEqual(Array.from(arrivalSchedule(poisson)), Array.from(a), 'same seed, same schedule');
    assert.notDeepEqual(
      Array.from(arrivalSchedule({ ...poisson, seed: 8 }).slice(0, 10)),
      Array.from(a.slice(0, 10)),
    );
    assert.ok(Math.abs(a.length - 12_000) < 12_000 * 0.05, `${a.length} arrivals for 200/s over 60 s`);
    for (let i = 1; i < a.length; i++) assert.ok(a[i] >= a[i - 1]);
  });
});

test('closed loop until stable: the last windows are the result; a server that keeps slowing runs them all', async () => {
  const steady = await startServer('stall-server.mjs', { STALL_AT: '1000000' });
  const slowing = await startServer('stall-server.mjs', { SLOWER_MS_PER_S: '20' });
  try {
    // Generous tolerance: a steady server on a busy machine still settles; the windows are the subject here.
    const stability = { windowMs: 400, windows: 3, tolerance: 0.5, maxWindows: 40 };
    const r = await loadGet(steady.url, { model: 'closed', concurrency: 2, stability }, { connections: 2 });
    assert.equal(r.stability.stable, true);
    assert.ok(r.stability.windowsRun >= 3);
    assert.equal(r.stability.measured.length, 3);
    assert.equal(r.durationMs, 1200, 'three windows of 400 ms');
    const fromWindows = r.stability.measured.reduce((n, w) => n + (w.throughputPerS * 400) / 1000, 0);
    assert.ok(Math.abs(fromWindows - r.ok) < 1e-6, 'the counts are those of the measured windows');
    assert.equal(r.service.count, r.ok);
    assert.equal(r.sent, r.ok + r.failed);

    // 20 ms slower every second: p50s of about 14, 18 and 22 ms in the last three 200 ms windows, never ±5%.
    const slow = { windowMs: 200, windows: 3, tolerance: 0.05, maxWindows: 6 };
    const u = await loadGet(
      slowing.url,
      { model: 'closed', concurrency: 1, stability: slow },
      { connections: 1 },
    );
    assert.equal(u.stability.stable, false);
    assert.equal(u.stability.windowsRun, 6, 'ran its maximum');
    assert.equal(u.stability.measured.length, 3, 'and kept its last three');
    const p50s = u.stability.measured.map((w) => w.p50Ms);
    assert.ok(p50s[2] > p50s[0], `the last window is the slowest: ${p50s.join(', ')}`);
  } finally {
    steady.stop();
    slowing.stop();
  }
});

test('coordinated omission: a 1 s stall shows in response time, not in service time', async () => {
  // The server blocks for 1 s on its 300th request. Arrivals keep coming at 200/s; with 4 connections only a
  // handful of requests are on the wire during the stall, the rest wait in the client: their service time
  // (written → done) is short, but their response time (scheduled → done) includes the wait.
  const server = await startServer('stall-server.mjs', { STALL_AT: '300', STALL_MS: '1000' });
  try {
    const r = await loadGet(
      server.url,
      { model: 'open', rate: 200, arrival: 'constant', durationMs: 5000, seed: 1, maxInFlight: 1000 },
      { connections: 4, timeoutMs: 10_000 },
    );
    assert.equal(r.ok, 1000);
    const responseP99 = r.response.percentileMs(99);
    const serviceP99 = r.service.percentileMs(99);
    assert.ok(responseP99 >= 500, `response-time p99 ${responseP99} ms should show the 1 s stall`);
    // Behaviour, not timing: service time is measured for every request, ordered, and never above response time
    // (it starts when the request is written, response time when it was scheduled).
    const serviceP50 = r.service.percentileMs(50);
    assert.ok(Number.isFinite(serviceP50) && Number.isFinite(serviceP99), 'service-time percentiles exist');
    assert.ok(serviceP50 <= serviceP99, `service-time p50 ${serviceP50} ms ≤ p99 ${serviceP99} ms`);
    assert.ok(
      serviceP99 <= responseP99,
      `service-time p99 ${serviceP99} ms ≤ response-time p99 ${responseP99} ms`,
    );
    assert.ok(
      r.service.percentileMs(100) >= 900,
      'the request that met the stall has it in its service time',
    );
  } finally {
    server.stop();
  }
});

describe('pitlane bench SUITE.yaml', () => {
  test('a broken suite lists every problem with its path and starts nothing (exit 2)', async () => {
    const r = await pitlane([
      'bench',
      join(FIXTURES, 'broken.yaml'),
      '--out',
      mkdtempSync(join(tmpdir(), 'pl-lab-')),
    ]);
    assert.equal(r.code, 2, r.stderr);
    for (const expected of [
      /PL_ERR_SUITE_INVALID: .*broken\.yaml: \d+ problems in the suite/,
      /\$\.workloads\.w\.path +expected string to match/i,
      /\$\.scenarios\.s1\.concurrency/,
      /\$\.contestants\[1\]\.url/,
    ]) {
      assert.match(r.stderr, expected);
    }
  });

  test('a suite file of an unknown kind is an invalid suite that names the kinds (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const file = join(dir, 'odd.yaml');
    writeFileSync(file, 'kind: teleport\nname: odd\n');
    const r = await pitlane(['bench', file, '--out', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /\$\.kind.*unknown suite kind 'teleport'; kinds: http, ingest, pipelines/);
  });

  test('suite rules beyond the schema: duplicate names, missing files, scenario shapes, thresholds', async () => {
    const { validateSuite } = await import('../dist/lab/kinds/http/suite.js');
    const problems = [];
    const suite = await validateSuite(
      {
        contestants: [
          { name: 'a', command: ['node', 'x', '{port}'] },
          { name: 'a', url: 'http://127.0.0.1:1' },
          { name: 'b' },
        ],
        workloads: { w: { path: '/x', bodies: { file: 'missing.jsonl' } } },
        scenarios: {
          s1: { rate: 100 },
          s2: { concurrency: 2, num_requests: 10, duration: 5 },
          s3: { concurrency: 1, duration: 1, workload: 'nope' },
        },
        thresholds: ['p(99) < 200 parsecs', 'error_rate < 0.01'],
        stability: { windows: 4, max_windows: 3 },
      },
      join(FIXTURES, 'virtual.yaml'),
      problems,
    );
    assert.equal(suite, null);
    const text = problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    for (const expected of [
      "$.contestants[1].name: duplicate contestant name 'a'",
      '$.contestants[2]: give either command (a process to start) or url (a running service)',
      '$.contestants[0].port: {port} is used but no port is set (use port: auto)',
      '$.workloads.w.bodies.file: cannot read',
      '$.scenarios.s1.duration: required for an open-loop scenario (rate)',
      '$.scenarios.s2: a closed-loop scenario takes num_requests or duration (one of them)',
      "$.scenarios.s3.workload: no workload 'nope'",
      "$.thresholds[0]: threshold 'p(99) < 200 parsecs': unknown time unit 'parsecs'",
      '$.stability.max_windows: must be at least windows (4)',
    ]) {
      assert.ok(text.includes(expected), `missing: ${expected}\n${text}`);
    }
  });

  test('a whole run: cold starts, correctness, interleaved repeats, results, comparison and reports', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const r = await pitlane(['bench', join(FIXTURES, 'mini.yaml'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const dir = join(out, 'mini');
    assertRunFiles(dir, ['results/echo/left.json', 'results/echo/right.json']);
    const left = JSON.parse(readFileSync(join(dir, 'results/echo/left.json'), 'utf8'));
    assert.equal(left.runs.length, 3 * 2, 'three scenarios × two repeats');
    assert.equal(left.cold_start.toHealthyMs.length, 2);
    assert.ok(
      left.runs.every((run) => run.resources.samples > 0 && run.resources.peak_rss_kb > 0),
      'resources sampled',
    );
    assert.ok(left.runs.every((run) => typeof run.load.histograms.service === 'string'));
    const comparison = JSON.parse(readFileSync(join(dir, 'comparison.json'), 'utf8'));
    assert.equal(comparison.baseline, 'left');
    for (const s of ['concurrency_1', 'concurrency_4', 'open_100']) {
      const e = comparison.comparison[s];
      assert.equal(typeof e.left_ms, 'number');
      assert.equal(typeof e.right_ms, 'number');
      assert.equal(e.right_correct, true);
    }
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    assert.deepEqual(
      report.scenarios.map((s) => s.name),
      ['concurrency_1', 'concurrency_4', 'open_100'],
    );
    const open = report.scenarios.find((s) => s.name === 'open_100');
    assert.ok(
      open.rows.every((row) => row.response_percentiles !== null),
      'open loop reports response time',
    );
    assert.match(r.stdout, /concurrency_1/);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.ok(html.includes('left') && html.includes('right') && html.includes('open_100'));
    // The seed's results/<model>/<runtime>.json: no settings.model here, so the model is the workload.
    const seed = JSON.parse(readFileSync(join(dir, 'seed/results/echo/right.json'), 'utf8'));
    assert.equal(seed.model, 'echo');
    assert.equal(seed.runtime, 'right');
    const [c1, c4, o100] = seed.scenarios;
    assert.deepEqual([c1.name, c1.concurrency, c1.num_requests], ['concurrency_1', 1, 200]);
    assert.deepEqual(
      [c4.name, c4.concurrency, c4.num_requests, c4.duration_s],
      ['concurrency_4', 4, null, 1],
    );
    assert.deepEqual(
      [o100.name, o100.concurrency, o100.num_requests, o100.rate, o100.duration_s],
      ['open_100', null, null, 100, 2],
    );
    assert.equal(o100.repeats, 2);
    // Ratios against the baseline, unless a row is not comparable (a fast echo can saturate the client here).
    const seedLeft = JSON.parse(readFileSync(join(dir, 'seed/results/echo/left.json'), 'utf8'));
    const comparable = (x) => !x.client_saturated && x.failure === null && x.correct !== false;
    seed.scenarios.forEach((x, i) => {
      assert.equal(seedLeft.scenarios[i].intervals, null, 'the baseline has no ratios');
      if (comparable(x) && comparable(seedLeft.scenarios[i])) assert.equal(x.intervals.baseline, 'left');
      else assert.equal(x.intervals, null);
    });
    assert.ok(o100.latency_ms.p99 >= o100.latency_ms.p50 && o100.throughput > 0);
  });

  test('--quick scales the suite down; ceilings are shown beside the rows, a failing one is a warning', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const r = await pitlane(['bench', join(FIXTURES, 'ceiling.yaml'), '--out', out, '--quick']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(out, 'ceiling', 'report.json'), 'utf8'));
    const byName = Object.fromEntries(report.scenarios.map((s) => [s.name, s]));
    // A tenth of the requests (at least 10 per client), one repeat, one cold start, open loop at least 2 s.
    assert.deepEqual(
      report.scenarios.map((s) => [s.name, s.repeats, s.rows[0].count]),
      [
        ['concurrency_1', 1, 20],
        ['concurrency_4', 1, 40],
        ['open_50', 1, byName.open_50.rows[0].count],
      ],
    );
    assert.ok(byName.open_50.rows[0].count >= 100 && byName.open_50.rows[0].count < 250, 'about 3 s at 50/s');
    assert.equal(report.cold_starts[0].to_healthy_ms.length, 1);
    assert.ok(report.warnings.some((w) => /^Quick run/.test(w)));
    // The ceiling ran with its quick arguments; each row's share of it is there.
    const c1 = byName.concurrency_1.ceiling;
    assert.equal(c1.name, 'raw-loop');
    assert.equal(c1.p50_ms, 0.04);
    assert.equal(c1.throughput_per_s, null);
    const left = byName.concurrency_1.rows.find((row) => row.contestant === 'left');
    const leftP50 = left.percentiles.find((p) => p.p === 50).ms;
    assert.ok(Math.abs(c1.shares.find((sh) => sh.contestant === 'left').p50 - leftP50 / 0.04) < 1e-9);
    assert.equal(byName.concurrency_4.ceiling.throughput_per_s, 50_000);
    assert.equal(byName.open_50.ceiling, null, 'the failed ceiling gives no figures');
    assert.ok(
      report.warnings.some((w) =>
        /The ceiling broken-loop gave no figures: exited with code 1: ceiling: cannot load the engine/.test(
          w,
        ),
      ),
    );
    const md = readFileSync(join(out, 'ceiling', 'report.md'), 'utf8');
    assert.match(md, /Ceiling: raw-loop \(the echo in a raw loop; a limit, not a contestant\): 50,000\/s\./);
  });

  test('stability windows replace num_requests, are described and kept in the results; --seed-sizes runs num_requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const file = writeSuiteFile(dir, {
      name: 'stable',
      contestants: [{ ...echoRawContestant('left'), baseline: true }, echoRawContestant('right')],
      workloads: { echo: { path: '/echo', bodies: { items: [{ a: 1 }] } } },
      scenarios: { c2: { concurrency: 2, num_requests: 50 } },
      stability: { window: '1s', tolerance: 0.5 },
      warmup: { requests: 5 },
      correctness: { mode: 'exact', sample: 2 },
    });
    // --quick: windows of 1 s (a fifth of 1 s, at least 1 s), no more than the 3 measured (the description is the
    // suite's, as written).
    const quick = await pitlane(['bench', file, '--out', join(dir, 'q'), '--quick', '--no-ceilings']);
    assert.equal(quick.code, 0, quick.stderr);
    const report = JSON.parse(readFileSync(join(dir, 'q', 'stable', 'report.json'), 'utf8'));
    assert.match(
      report.scenarios[0].description,
      /concurrency 2, until stable \(3 windows of 1 s within ±50%.*at most 10\); the suite's 50 requests with --seed-sizes/,
    );
    assert.ok(report.method.some((m) => /perf_analyzer/.test(m)));
    const results = JSON.parse(
      readFileSync(join(dir, 'q', 'stable', 'results', 'echo', 'left.json'), 'utf8'),
    );
    const load = results.runs[0].load;
    assert.equal(load.duration_ms, 3000);
    assert.equal(load.stability.windows_run, 3);
    assert.equal(load.stability.measured.length, 3);
    assert.ok(load.ok > 50, `an echo server answers more than the seed's 50 requests in 3 s (${load.ok})`);

    const seed = await pitlane(['bench', file, '--out', join(dir, 's'), '--seed-sizes', '--no-ceilings']);
    assert.equal(seed.code, 0, seed.stderr);
    const seedResults = JSON.parse(
      readFileSync(join(dir, 's', 'stable', 'results', 'echo', 'left.json'), 'utf8'),
    );
    assert.equal(seedResults.runs[0].load.ok, 50);
    assert.equal(seedResults.runs[0].load.stability, undefined);
    const refused = await pitlane(['bench', 'default', '--seed-sizes']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--seed-sizes applies to an http suite file/);
  });

  test('ceilings are validated: known scenarios, one ceiling per scenario', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      readFileSync(join(FIXTURES, 'ceiling.yaml'), 'utf8')
        .replace('open_50: { throughput', 'concurrency_1: { throughput')
        .replace("concurrency_4: { throughput: '$.best.per_s' }", "nope: { throughput: '$.best' }"),
    );
    const r = await pitlane(['bench', file, '--out', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\$\.ceilings\[0\]\.scenarios\.nope {2}no scenario 'nope'/);
    assert.match(r.stderr, /scenario 'concurrency_1' has two ceilings \(raw-loop, broken-loop\)/);
  });

  test('a contestant that dies mid-run is reported with its exit and log; the other goes on (exit 3)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const r = await pitlane(['bench', join(FIXTURES, 'crash.yaml'), '--out', out]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout + r.stderr, /fragile/);
    const fragile = JSON.parse(readFileSync(join(out, 'crash', 'results', 'echo', 'fragile.json'), 'utf8'));
    assert.match(fragile.runs[0].failure, /exited with code 3/);
    assert.match(fragile.runs[0].failure, /crash-server: giving up on request 120/);
    const steady = JSON.parse(readFileSync(join(out, 'crash', 'results', 'echo', 'steady.json'), 'utf8'));
    assert.equal(steady.runs[0].failure, null);
    assert.equal(steady.runs[0].load.ok, 300);
  });

  test('a contestant that answers differently is marked incorrect and never wins (exit 3)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const r = await pitlane(['bench', join(FIXTURES, 'incorrect.yaml'), '--out', out]);
    assert.equal(r.code, 3, r.stderr);
    const report = JSON.parse(readFileSync(join(out, 'incorrect', 'report.json'), 'utf8'));
    const row = report.scenarios[0].rows.find((x) => x.contestant === 'sloppy');
    assert.equal(row.correct, false);
    assert.deepEqual(report.scenarios[0].ratios, [], 'no ratio for an incorrect contestant');
    assert.ok(report.warnings.some((w) => /sloppy disagrees with truthful/.test(w)));
  });

  test('a contestant given as a URL is measured but not sampled, and the report says so', async () => {
    const server = await startServer('stall-server.mjs', { STALL_AT: '1000000' });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'pl-lab-'));
      const suite = writeSuiteFile(dir, {
        name: 'url',
        contestants: [
          { ...echoRawContestant('started'), baseline: true },
          { name: 'elsewhere', url: server.url, health: { url: `${server.url}/` } },
        ],
        workloads: { plain: { path: '/', method: 'GET' } },
        scenarios: { closed: { concurrency: 2, num_requests: 100 } },
        warmup: { requests: 5 },
        correctness: { mode: 'none' },
      });
      const r = await pitlane(['bench', suite, '--out', dir]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(readFileSync(join(dir, 'url', 'report.json'), 'utf8'));
      const row = report.scenarios[0].rows.find((x) => x.contestant === 'elsewhere');
      assert.equal(row.count, 100);
      assert.equal(row.peak_rss_mb, null, 'not sampled: null, never 0');
      assert.ok(
        report.not_measured.some((m) => m.includes('elsewhere')),
        report.not_measured.join('\n'),
      );
      assert.equal(report.contestants.find((c) => c.name === 'elsewhere').resources_sampled, false);
    } finally {
      server.stop();
    }
  });

  /**
   * A suite of `fast` (the raw echo) and `slow` (one request at a time, 40 ms each: at most 25/s however many
   * clients), closed loop then open loop at 60/s on the same workload, with `open_loop` as given.
   */
  function capacitySuite(dir, name, openLoop) {
    const slow = join(dir, 'slow-server.mjs');
    writeFileSync(
      slow,
      `import http from 'node:http';
const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
let free = 0;
http.createServer((req, res) => {
  if (req.url === '/health') return res.end('{"status":"ok"}');
  req.resume();
  req.on('end', () => {
    const now = Date.now();
    free = Math.max(free, now) + 40;
    setTimeout(() => res.end('{"a":1}'), free - now);
  });
}).listen(port, '127.0.0.1');
`,
    );
    return writeSuiteFile(dir, {
      name,
      contestants: [
        { ...echoRawContestant('fast'), baseline: true },
        { name: 'slow', command: [process.execPath, slow, '--port', '{port}'], port: 'auto' },
      ],
      workloads: { echo: { path: '/echo', bodies: { items: [{ a: 1 }] } } },
      scenarios: {
        c2: { concurrency: 2, duration: '1s' },
        open_60: { rate: 60, arrival: 'constant', duration: '1s' },
      },
      warmup: { requests: 4 },
      correctness: { mode: 'none' },
      ...(openLoop !== undefined ? { open_loop: openLoop } : {}),
    });
  }

  test('open_loop.skip_above_capacity: a rate above a closed-loop capacity is skipped with the reason, not failed; the run says where its time went', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const file = capacitySuite(dir, 'capacity', { skip_above_capacity: true });
    const r = await pitlane(['bench', file, '--out', dir, '--no-ceilings', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    const skip = /^offered 60\/s, closed-loop capacity ([\d.]+)\/s on c2$/;
    const reason = json.comparison.open_60.slow_skipped;
    assert.match(reason, skip);
    assert.ok(Number(skip.exec(reason)[1]) < 60, reason);
    assert.equal(json.comparison.open_60.fast_skipped, undefined, 'the echo ran');
    assert.equal(json.comparison.c2.slow_skipped, undefined, 'closed loops always run');

    const slow = JSON.parse(readFileSync(join(dir, 'capacity', 'results', 'echo', 'slow.json'), 'utf8'));
    const slowOpen = slow.runs.find((run) => run.scenario === 'open_60');
    assert.deepEqual([slowOpen.skipped, slowOpen.load, slowOpen.failure], [reason, null, null]);
    assert.ok(slow.runs.find((run) => run.scenario === 'c2').wall_ms >= 1000);
    const fast = JSON.parse(readFileSync(join(dir, 'capacity', 'results', 'echo', 'fast.json'), 'utf8'));
    const fastOpen = fast.runs.find((run) => run.scenario === 'open_60');
    assert.equal(fastOpen.skipped, null);
    assert.ok(fastOpen.load.ok > 0);

    const report = JSON.parse(readFileSync(join(dir, 'capacity', 'report.json'), 'utf8'));
    const rows = report.scenarios.find((s) => s.name === 'open_60').rows;
    assert.equal(rows.find((row) => row.contestant === 'slow').skipped, reason);
    assert.equal(rows.find((row) => row.contestant === 'fast').skipped, undefined);
    assert.ok(report.method.some((m) => /open_loop\.skip_above_capacity/.test(m)));
    const md = readFileSync(join(dir, 'capacity', 'report.md'), 'utf8');
    assert.ok(md.includes(`| open_60 | slow | `) && md.includes(`*skipped: ${reason}*`), md);

    // Where the time went: the whole run and its phases, in the report, the --json output and the page.
    const timing = report.timing;
    assert.deepEqual(json.timing, timing);
    assert.deepEqual(
      timing.phases.map((p) => [p.kind, p.name]),
      [
        ['start_up', 'start-up'],
        ['scenario', 'c2'],
        ['scenario', 'open_60'],
        ['stopping', 'stopping'],
      ],
    );
    const c2 = timing.phases.find((p) => p.name === 'c2');
    assert.deepEqual(Object.keys(c2.by_contestant).sort(), ['fast', 'slow']);
    assert.ok(c2.seconds >= 2, 'two contestants, a second each');
    const shares = timing.phases.reduce((n, p) => n + p.share, 0);
    assert.ok(shares > 0.5 && shares <= 1.0001, `shares add up to most of the run (${shares})`);
    assert.ok(timing.total_s >= c2.seconds);
    assert.match(md, /## Run time\n\nThe run took [\d.]+ s: scenarios \d/);
    assert.match(
      md,
      /\| scenario c2 \| [\d.]+ s \| [\d.]+% \| (fast|slow) [\d.]+ s, (fast|slow) [\d.]+ s \|/,
    );
    const html = readFileSync(join(dir, 'capacity', 'report.html'), 'utf8');
    assert.ok(html.includes('<section id="run-time">') && html.includes('skipped — not counted'));
  });

  test('open_loop.skip_above_capacity: false runs every open-loop scenario as written; a wrong value is a suite problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const r = await pitlane([
      'bench',
      capacitySuite(dir, 'off', { skip_above_capacity: false }),
      '--out',
      dir,
      '--no-ceilings',
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['fast', 'slow']) {
      const results = JSON.parse(readFileSync(join(dir, 'off', 'results', 'echo', `${name}.json`), 'utf8'));
      const open = results.runs.find((run) => run.scenario === 'open_60');
      assert.equal(open.skipped, null, name);
      assert.ok(open.load.ok > 0, name);
    }

    const bad = capacitySuite(dir, 'bad', { skip_above_capacity: 'yes', skip: true });
    const refused = await pitlane(['bench', bad, '--out', dir]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /\$\.open_loop\.skip_above_capacity +expected boolean/i);
    assert.match(refused.stderr, /\$\.open_loop\.skip +unknown field/);
  });

  test('Ctrl-C mid-run: contestants are stopped, partial results are written, exit 130, no process left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    const tag = `pl-interrupt-${process.pid}-${Date.now()}`;
    const suite = writeSuiteFile(dir, {
      name: 'interrupt',
      contestants: [echoRawContestant('a', tag), echoRawContestant('b', tag)],
      workloads: { echo: { path: '/echo', body: { x: 1 } } },
      scenarios: { long: { concurrency: 2, duration: '60s' } },
      warmup: { requests: 5 },
    });
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'pitlane.js'), 'bench', suite, '--out', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    await new Promise((resolve) => {
      const check = setInterval(() => {
        if (stderr.includes('long · a')) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr);
    assert.ok(existsSync(join(dir, 'interrupt', 'report.html')), 'partial report written');
    const report = JSON.parse(readFileSync(join(dir, 'interrupt', 'report.json'), 'utf8'));
    assert.ok(report.warnings.some((w) => /interrupted/.test(w)));
    const left = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(tag) && isRunning(Number(p));
        } catch {
          return false;
        }
      });
    assert.deepEqual(left, [], 'no contestant process left running');
  });

  test('compare: two results files give ratios; a file that is not results is a clear error', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pl-lab-'));
    await pitlane([
      'bench',
      join(FIXTURES, 'mini.yaml'),
      '--out',
      out,
      '--only',
      'concurrency_1',
      '--cold-starts',
      '0',
    ]);
    const dir = join(out, 'mini', 'results', 'echo');
    const r = await pitlane(['compare', join(dir, 'left.json'), join(dir, 'right.json'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    const e = c.comparison.concurrency_1;
    assert.equal(typeof e.left_ms, 'number');
    assert.match(e.setting, /closed loop, concurrency 1, 200 requests/);
    // A speed-up is given unless a row was excluded (a busy machine can saturate the client; that is reported).
    const excluded = Object.entries(e).some(([k, v]) => k.endsWith('_client_saturated') && v === true);
    assert.ok(excluded || typeof e.speedup === 'number', JSON.stringify(e));
    const bad = await pitlane(['compare', join(ROOT, 'package.json'), join(dir, 'right.json')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a pitlane results file/);
  });
});

test('bench flags are checked: --cold-starts must be a whole number', async () => {
  const r = await pitlane(['bench', join(FIXTURES, 'mini.yaml'), '--cold-starts', 'abc']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--cold-starts must be a whole number ≥ 0/);
});
