// Nothing left behind: `kill -9` of `pitlane run` (a CPython worker whose node started a subprocess) and of
// `pitlane bench` (two contestants, mid-run) leaves no descendant running; a contestant that detaches a grandchild
// is reported and the grandchild killed. Real processes, real signals: descendants are found by a marker in their
// argv and by the pids seen in pitlane's tree before the kill; the deadlines only detect failure.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readProcStat } from '../dist/process/proc-stat.js';
import { PITLANE, PYTHON, ROOT, pitlane } from './helpers.mjs';

const FIXTURES = join(ROOT, 'test', 'fixtures');
/** Long enough for the watchdog's 2 s grace on a loaded machine; only reached when something survives. */
const DEADLINE_MS = 15_000;

/** state, ppid, pgid and start time of a process from /proc, or null when it is gone. */
function stat(pid) {
  const s = readProcStat(pid);
  return s === null ? null : { state: s.state, ppid: s.ppid, pgid: s.pgid, start: s.startTicks };
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

const pidsNow = () =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number);

/** Pid and start time of every descendant of `root` (from the ppid links in /proc). */
function descendants(root) {
  const all = pidsNow().map((pid) => ({ pid, ...stat(pid) }));
  const out = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const p of all) {
      if (p.ppid === parent && p.state !== undefined) {
        out.push({ pid: p.pid, start: p.start });
        queue.push(p.pid);
      }
    }
  }
  return out;
}

/** The processes among `remembered` (same pid and start time) or with `marker` in argv that still run. */
function survivors(remembered, marker) {
  const running = (s) => s !== null && s.state !== 'Z' && s.state !== 'X';
  const byPid = remembered.filter((p) => {
    const s = stat(p.pid);
    return running(s) && s.start === p.start;
  });
  const byMarker = pidsNow().filter((pid) => cmdline(pid).includes(marker) && running(stat(pid)));
  return [...new Set([...byPid.map((p) => p.pid), ...byMarker])].map((pid) => `${pid} ${cmdline(pid)}`);
}

async function waitFor(what, check, ms = 60_000) {
  const end = Date.now() + ms;
  for (;;) {
    if (check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Kills -9 `child` and waits until nothing it started runs; returns what still runs at the deadline. */
async function killAndCount(child, remembered, marker) {
  process.kill(child.pid, 'SIGKILL');
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const left = survivors(remembered, marker);
    if (left.length === 0 || Date.now() > end) return left;
    await sleep(100);
  }
}

function cleanUp(remembered, marker) {
  for (const line of survivors(remembered, marker)) {
    try {
      process.kill(Number(line.split(' ')[0]), 'SIGKILL');
    } catch {
      // Gone.
    }
  }
}

/** Starts `pitlane run` on a manifest whose CPython node starts a long-lived subprocess with `marker` in argv. */
function runSpawner(marker) {
  const dir = mkdtempSync(join(tmpdir(), 'pl-lifeline-'));
  const manifest = join(dir, 'spawner.yaml');
  writeFileSync(manifest, readFileSync(join(FIXTURES, 'spawner.yaml'), 'utf8').replaceAll('MARKER', marker));
  const child = spawn(process.execPath, [PITLANE, 'run', manifest, '--python-runtime', 'cpython'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const out = { child, stderr: '' };
  child.stderr.on('data', (b) => (out.stderr += b));
  return out;
}

test('kill -9 of pitlane run: the CPython worker and the subprocess its node started end', async () => {
  const marker = `pl-lifeline-run-${process.pid}-${Date.now()}`;
  const run = runSpawner(marker);
  let remembered = [];
  try {
    await waitFor(`the node's subprocess (stderr: ${run.stderr})`, () =>
      pidsNow().some((pid) => cmdline(pid).includes(marker)),
    );
    remembered = descendants(run.child.pid);
    assert.ok(remembered.length >= 2, 'the worker and the subprocess are descendants');
    assert.deepEqual(await killAndCount(run.child, remembered, marker), []);
  } finally {
    cleanUp(remembered, marker);
  }
});

test('kill -9 of pitlane run with its watchdog stopped: the worker still ends its group (belt and braces)', async () => {
  const marker = `pl-lifeline-belt-${process.pid}-${Date.now()}`;
  const run = runSpawner(marker);
  let remembered = [];
  let watchdog = null;
  try {
    await waitFor(`the node's subprocess (stderr: ${run.stderr})`, () =>
      pidsNow().some((pid) => cmdline(pid).includes(marker)),
    );
    remembered = descendants(run.child.pid);
    watchdog = remembered.find((p) => cmdline(p.pid).includes('pitlane-lifeline'))?.pid ?? null;
    assert.notEqual(watchdog, null, 'pitlane started its watchdog');
    process.kill(watchdog, 'SIGSTOP');
    const others = remembered.filter((p) => p.pid !== watchdog);
    assert.deepEqual(await killAndCount(run.child, others, marker), []);
  } finally {
    if (watchdog !== null) process.kill(watchdog, 'SIGCONT');
    cleanUp(remembered, marker);
  }
});

test('kill -9 of pitlane bench mid-run: both contestants end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pl-lifeline-'));
  const marker = `pl-lifeline-bench-${process.pid}-${Date.now()}`;
  mkdirSync(join(dir, marker));
  const suite = join(dir, 'two.json');
  writeFileSync(
    suite,
    JSON.stringify({
      name: 'two',
      contestants: [
        {
          name: 'node',
          command: [process.execPath, join(FIXTURES, 'lab', 'echo-raw.mjs'), '--port', '{port}', marker],
          port: 'auto',
        },
        {
          name: 'python',
          command: [
            PYTHON,
            '-m',
            'http.server',
            '{port}',
            '--bind',
            '127.0.0.1',
            '--directory',
            join(dir, marker),
          ],
          port: 'auto',
          health: { url: 'http://127.0.0.1:{port}/' },
        },
      ],
      workloads: { root: { path: '/', method: 'GET' } },
      scenarios: { long: { concurrency: 2, duration: '60s' } },
      warmup: { requests: 5 },
      repeats: 1,
      cold_start: { runs: 0 },
      correctness: { mode: 'none' },
    }),
  );
  const child = spawn(process.execPath, [PITLANE, 'bench', suite, '--out', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  let remembered = [];
  try {
    await waitFor(`the run to start (stderr: ${stderr})`, () => stderr.includes('long · '));
    const contestants = () => pidsNow().filter((pid) => cmdline(pid).includes(marker));
    await waitFor('both contestants', () => contestants().length >= 2);
    remembered = descendants(child.pid);
    assert.deepEqual(await killAndCount(child, remembered, marker), []);
  } finally {
    cleanUp(remembered, marker);
  }
});

test('pitlane bench: a contestant that detaches a grandchild is reported, and the grandchild killed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pl-lifeline-'));
  const marker = `pl-lifeline-detach-${process.pid}-${Date.now()}`;
  const suite = join(dir, 'detach.json');
  writeFileSync(
    suite,
    JSON.stringify({
      name: 'detach',
      contestants: [
        {
          name: 'detacher',
          command: [process.execPath, join(FIXTURES, 'servers', 'detaching.mjs'), '--port', '{port}', marker],
          port: 'auto',
        },
      ],
      workloads: { health: { path: '/health', method: 'GET' } },
      scenarios: { short: { concurrency: 1, num_requests: 20 } },
      warmup: { requests: 2 },
      repeats: 1,
      cold_start: { runs: 0 },
      correctness: { mode: 'none' },
    }),
  );
  try {
    const r = await pitlane(['bench', suite, '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: detacher left 1 process\(es\) running outside its process group/);
    const report = JSON.parse(readFileSync(join(dir, 'detach', 'report.json'), 'utf8'));
    assert.ok(
      report.warnings.some(
        (w) => w.startsWith('detacher left 1 process(es)') && w.includes('pl-lifeline-detach'),
      ),
      report.warnings.join('\n'),
    );
    const results = JSON.parse(
      readFileSync(join(dir, 'detach', 'results', 'health', 'detacher.json'), 'utf8'),
    );
    assert.equal(results.stop_warnings.length, 1);
    assert.deepEqual(survivors([], marker), [], 'the detached grandchild was killed');
  } finally {
    cleanUp([], marker);
  }
});
