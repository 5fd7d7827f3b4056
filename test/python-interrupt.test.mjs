// A Python node that never returns, under `pitlane run`: Pyodide runs on a worker thread, so Ctrl-C reaches
// pitlane and interrupts the item; a CPython worker running an item is killed on Ctrl-C. Real processes and real signals; the deadlines only detect a hang, nothing asserts how long a step took.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stubbornLoop } from '../dist-test/integration/python/python-support.js';
import { PITLANE, pitlane, tempDir } from './helpers.mjs';
import { jsonLines } from './helpers/jsonl.mjs';

const dir = tempDir('pl-pyodide-int-');

/** A manifest with one Pyodide node running `body` as the body of process(x) (after it logs `looping`). */
function manifest(name, body, timeout = '10m', runtime = 'pyodide') {
  const code = ['class Spin:', '    def process(self, x):', '        print("looping", x)', body].join('\n');
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      version: 'v1',
      metadata: { name },
      nodes: [{ id: 'spin', node_type: 'python', runtime_hint: runtime, params: { code, timeout } }],
    }),
  );
  return file;
}

const SPIN = '        while True:\n            pass';
const STUBBORN = stubbornLoop(8).join('\n');

/**
 * Runs `pitlane run file args` with `input`, sends SIGINT once the node logged `looping`, and again after
 * `secondAfterMs` if given; resolves with the exit code and output. Fails the test if the process outlives
 * `deadlineMs` (then it is killed).
 */
function runAndInterrupt(file, args, input, { secondAfterMs = null, deadlineMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PITLANE, 'run', file, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pitlane run did not exit within ${deadlineMs} ms; stderr:\n${stderr}`));
    }, deadlineMs);
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => {
      stderr += b;
      if (!signalled && stderr.includes('INFO looping')) {
        signalled = true;
        child.kill('SIGINT');
        if (secondAfterMs !== null) setTimeout(() => child.kill('SIGINT'), secondAfterMs);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

test('Ctrl-C interrupts a Pyodide item that loops forever: the drain ends, exit 130', async () => {
  const r = await runAndInterrupt(manifest('spin', SPIN), ['--on-error', 'skip'], '1\n2\n3\n');
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted, finishing what is in flight/);
  // The item in flight became an error record; the items behind it were dropped.
  const records = jsonLines(r.stdout);
  assert.equal(records.length, 1, r.stdout);
  assert.equal(records[0].$error.node, 'spin');
  assert.equal(records[0].$error.message, 'cancelled: the run was interrupted');
});

test('under --on-error fail too, one Ctrl-C on a looping item ends the run as interrupted (130), not failed', async () => {
  const r = await runAndInterrupt(manifest('spin-fail', SPIN), [], '1\n2\n');
  assert.equal(r.code, 130, r.stderr);
  assert.doesNotMatch(r.stderr, /PL_ERR_NODE_FAILED/);
  assert.equal(r.stdout, '');
});

test('CPython: one Ctrl-C on a looping item ends the drain at once (the worker is killed), exit 130', async () => {
  for (const policy of ['skip', 'fail']) {
    const r = await runAndInterrupt(
      manifest(`spin-cpython-${policy}`, SPIN, '10m', 'cpython'),
      ['--on-error', policy],
      '1\n2\n',
    );
    assert.equal(r.code, 130, r.stderr);
    assert.doesNotMatch(r.stderr, /PL_ERR_NODE_FAILED|a new worker takes over/);
    if (policy === 'skip') {
      const records = jsonLines(r.stdout);
      assert.equal(records.length, 1, r.stdout);
      assert.equal(records[0].$error.message, 'cancelled: the run was interrupted');
    } else {
      assert.equal(r.stdout, '');
    }
  }
});

test('a second Ctrl-C exits at once with 130, even while the item ignores the first', async () => {
  const r = await runAndInterrupt(manifest('stubborn', STUBBORN), [], '1\n', { secondAfterMs: 300 });
  assert.equal(r.code, 130, r.stderr);
  // It exited on the second Ctrl-C, before the runtime gave up on the item and replaced the VM.
  assert.doesNotMatch(r.stderr, /state is lost/);
  assert.equal(r.stdout, '');
});

test('the timeout param applies to Pyodide: the item fails, the run goes on under skip', async () => {
  const file = manifest(
    'timeout',
    `        if x == 2:\n${SPIN.replace(/^/gm, '    ')}\n        return x`,
    '0.5s',
  );
  const r = await pitlane(['run', file, '--on-error', 'skip'], {
    input: '1\n2\n3\n',
    signal: AbortSignal.timeout(60_000),
  });
  assert.equal(r.code, 0, r.stderr);
  const lines = jsonLines(r.stdout);
  assert.deepEqual(lines[0], 1);
  assert.equal(lines[1].$error.message, 'timed out after 0.5 s');
  assert.equal(lines[1].$error.item_index, 1);
  assert.equal(lines[1].$error.traceback, undefined);
  assert.deepEqual(lines[2], 3);
});
