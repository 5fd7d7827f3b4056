import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { guardGroup, releaseGroup } from '../../../dist/process/lifeline.js';
import { isRunning } from '../../../dist/process/proc-stat.js';

const LIFELINE = new URL('../../../dist/process/lifeline.js', import.meta.url).href;

/** Waits until none of `pids` runs; returns those still running at the deadline (which only detects failure). */
async function survivorsAfter(pids: readonly number[], deadlineMs: number): Promise<number[]> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const alive = pids.filter(isRunning);
    if (alive.length === 0 || Date.now() > end) return alive;
    await sleep(50);
  }
}

/**
 * Starts a node process (the "pitlane") that spawns `groups` process groups (a leader and one child each, all
 * idle), guards them, releases the ones in `release`, and optionally kills its watchdog once; it then prints
 * {groups: [[leader, child], ...], watchdog} and idles.
 */
async function startParent(
  groups: number,
  opts: { release?: number[]; killWatchdog?: boolean } = {},
): Promise<{ pid: number; groups: number[][]; watchdog: number }> {
  const script = `
    import { spawn } from 'node:child_process';
    import { setTimeout as sleep } from 'node:timers/promises';
    const { guardGroup, releaseGroup, watchdogPid } = await import(${JSON.stringify(LIFELINE)});
    const idle = "const { spawn } = require('node:child_process'); const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: ['ignore', 'inherit', 'ignore'] }); console.log(c.pid); setInterval(() => {}, 1e6);";
    const groups = [];
    for (let i = 0; i < ${groups}; i++) {
      const leader = spawn(process.execPath, ['-e', idle], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
      const child = await new Promise((resolve) => leader.stdout.once('data', (b) => resolve(Number(String(b).trim()))));
      guardGroup(leader.pid);
      groups.push([leader.pid, child]);
    }
    for (const i of ${JSON.stringify(opts.release ?? [])}) releaseGroup(groups[i][0]);
    if (${opts.killWatchdog === true}) {
      const first = watchdogPid();
      process.kill(first, 'SIGKILL');
      while (watchdogPid() === first || watchdogPid() === null) await sleep(10);
      await sleep(100);
    }
    console.log(JSON.stringify({ groups, watchdog: watchdogPid() }));
    setInterval(() => {}, 1e6);
  `;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    parent.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    parent.once('exit', (code) => {
      reject(new Error(`the parent exited early (${String(code)})`));
    });
  });
  const info = JSON.parse(line) as { groups: number[][]; watchdog: number };
  return { pid: parent.pid as number, ...info };
}

function killQuietly(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

test('kill -9 of the parent: every guarded group, children included, ends; the watchdog exits', async () => {
  const parent = await startParent(2);
  const pids = parent.groups.flat();
  try {
    assert.equal(pids.filter(isRunning).length, 4, 'the groups run while the parent lives');
    process.kill(parent.pid, 'SIGKILL');
    assert.deepEqual(await survivorsAfter([...pids, parent.watchdog], 10_000), []);
  } finally {
    killQuietly([parent.pid, ...pids]);
  }
});

test('a released group is not signalled when the parent dies', async () => {
  const parent = await startParent(2, { release: [0] });
  const [released = [], guarded = []] = parent.groups;
  try {
    process.kill(parent.pid, 'SIGKILL');
    assert.deepEqual(await survivorsAfter([...guarded, parent.watchdog], 10_000), []);
    assert.deepEqual(released.filter(isRunning), released, 'the released group still runs');
  } finally {
    killQuietly([parent.pid, ...parent.groups.flat()]);
  }
});

test('a killed watchdog is replaced, and the new one knows every guarded group', async () => {
  const parent = await startParent(1, { killWatchdog: true });
  const pids = parent.groups.flat();
  try {
    assert.ok(isRunning(parent.watchdog), 'a new watchdog runs');
    process.kill(parent.pid, 'SIGKILL');
    assert.deepEqual(await survivorsAfter([...pids, parent.watchdog], 10_000), []);
  } finally {
    killQuietly([parent.pid, ...pids]);
  }
});

test('only real process group ids are accepted', () => {
  for (const bad of [0, 1, -5, 1.5, Number.NaN]) assert.throws(() => guardGroup(bad), RangeError);
  releaseGroup(12345); // never guarded: nothing to do
});
