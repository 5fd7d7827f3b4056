import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { sampleMemory } from '../../../dist/lab/proc/memory-sampler.js';
import { clockTicksPerSecond, processTree } from '../../../dist/lab/proc/proc-files.js';
import { sampleResources } from '../../../dist/lab/proc/resource-sampler.js';

const FORKING = fileURLToPath(new URL('../../../test/fixtures/servers/forking.mjs', import.meta.url));
const MiB = 1024; // in KiB

/**
 * A node script that waits for a line on stdin, then runs `work` (JavaScript), prints `done <result>` and stays
 * alive until killed: sampling can start before the work, and ends while the process still runs.
 */
const AFTER_GO = (work: string): string =>
  `console.log('ready'); process.stdin.once('data', () => { const result = (() => { ${work} })(); ` +
  `console.log('done ' + JSON.stringify(result)); setInterval(() => {}, 1 << 30); });`;

/** Burns CPU until this process has used `seconds` of CPU time; returns what it measured itself. */
const BURN = (seconds: number): string =>
  `const t0 = process.cpuUsage(); let x = 0; for (;;) { const u = process.cpuUsage(t0); ` +
  `if (u.user + u.system >= ${seconds * 1e6}) return (u.user + u.system) / 1e6; for (let i = 0; i < 1e5; i++) x += i; }`;

const children: ChildProcessWithoutNullStreams[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

function node(args: readonly string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, args, { stdio: 'pipe' });
  children.push(child);
  return child;
}

/** Resolves with the first stdout line starting with `prefix`, without it. */
function line(child: ChildProcessWithoutNullStreams, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const found = buffered.split('\n').find((l) => l.startsWith(prefix));
      if (found !== undefined && buffered.includes('\n')) {
        child.stdout.off('data', onData);
        resolve(found.slice(prefix.length).trim());
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', () => {
      reject(new Error(`exited before printing '${prefix}'`));
    });
  });
}

async function vmRssKb(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

test('CLK_TCK comes from getconf', async () => {
  const ticks = await clockTicksPerSecond();
  assert.ok(Number.isInteger(ticks) && ticks > 0);
});

test('CPU of a child that burns 1 s of CPU is measured within 25%, and CPU before sampling is excluded', async (t) => {
  const child = node(['-e', `(() => { ${BURN(0.3)} })(); ${AFTER_GO(BURN(1))}`]);
  await line(child, 'ready'); // the first 0.3 s burn happened before sampling: it must not count
  const sampler = sampleResources(child.pid!, 50);
  await sleep(60);
  child.stdin.write('go\n');
  const selfReported = Number(await line(child, 'done'));
  const summary = await sampler.stop();
  child.kill('SIGKILL');
  t.diagnostic(
    `measured ${summary.cpuSeconds} CPU-s, the child says ${selfReported}, ${summary.samples} samples`,
  );
  assert.ok(Math.abs(summary.cpuSeconds - 1) <= 0.25, `measured ${summary.cpuSeconds} s, expected ~1 s`);
  assert.ok(Math.abs(summary.cpuSeconds - selfReported) <= 0.25 * selfReported);
  assert.ok(summary.samples >= 10, `${summary.samples} samples`);
  assert.equal(summary.samples, summary.series.length);
  const cpu = summary.series.map((s) => s.cpuSeconds);
  assert.deepEqual(
    cpu,
    [...cpu].sort((a, b) => a - b),
    'cumulative CPU never decreases',
  );
  assert.ok(summary.series.every((s) => s.processes === 1));
});

test('a child that allocates 100 MB: peak RSS rises by at least 80 MB', async () => {
  const child = node(['-e', AFTER_GO(`globalThis.hog = Buffer.alloc(100 * 1024 * 1024, 1); return 0;`)]);
  await line(child, 'ready');
  const sampler = sampleResources(child.pid!, 20);
  await sleep(60);
  child.stdin.write('go\n');
  await line(child, 'done');
  await sleep(60);
  const summary = await sampler.stop();
  child.kill('SIGKILL');
  const first = summary.series[0]!.rssKb;
  assert.ok(summary.peakRssKb >= first + 80 * MiB, `peak ${summary.peakRssKb} KiB, first ${first} KiB`);
  assert.ok(summary.peakRssKb >= 80 * MiB);
  assert.ok(summary.meanRssKb > first && summary.meanRssKb < summary.peakRssKb);
});

test("a tree with a grandchild: the grandchild's memory and every process are counted", async (t) => {
  const root = node([FORKING, '--port', '0', '--depth', '2', '--alloc-mb', '100']);
  const pids = JSON.parse(await line(root, 'ready')) as number[];
  assert.equal(pids.length, 3);
  assert.deepEqual((await processTree(root.pid!)).sort(), [...pids].sort());
  const sampler = sampleResources(root.pid!, 20);
  await sleep(150);
  const summary = await sampler.stop();
  // Read while the tree still runs: without the grandchild (pids[2], holding the 100 MB) it is this much.
  const withoutGrandchild = (await vmRssKb(pids[0]!)) + (await vmRssKb(pids[1]!));
  root.kill('SIGKILL');
  for (const pid of pids.slice(1)) process.kill(pid, 'SIGKILL');
  const last = summary.series.at(-1)!;
  assert.equal(last.processes, 3);
  t.diagnostic(`tree ${last.rssKb} KiB, root + child ${withoutGrandchild} KiB`);
  assert.ok(
    last.rssKb >= withoutGrandchild + 80 * MiB,
    `tree ${last.rssKb} KiB, without grandchild ${withoutGrandchild}`,
  );
});

test('a child born during sampling counts from its birth; one that exits keeps what it used', async (t) => {
  // The root spawns a child that burns 0.4 s of CPU and exits; the root itself stays idle.
  const spawnChild =
    `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(`(() => { ${BURN(0.4)} })()`)}], ` +
    `{ stdio: 'inherit' }).on('exit', () => console.log('child exited')); return 0;`;
  const root = node(['-e', AFTER_GO(spawnChild)]);
  await line(root, 'ready');
  const sampler = sampleResources(root.pid!, 20);
  await sleep(40);
  root.stdin.write('go\n');
  await line(root, 'child exited');
  const summary = await sampler.stop();
  root.kill('SIGKILL');
  t.diagnostic(`measured ${summary.cpuSeconds} CPU-s for a 0.4 s burn`);
  assert.ok(summary.series.some((s) => s.processes === 2));
  assert.equal(summary.series.at(-1)!.processes, 1);
  // At least the burn, seen up to the child's last sample (<= 20 ms before its exit); the root adds a little.
  assert.ok(summary.cpuSeconds >= 0.3 && summary.cpuSeconds <= 0.4 * 1.25 + 0.15, `${summary.cpuSeconds} s`);
});

test('sampling a process that exits ends cleanly; an unknown pid gives an empty summary', async () => {
  const child = node(['-e', 'setTimeout(() => {}, 100)']);
  const sampler = sampleResources(child.pid!, 20);
  await new Promise((resolve) => child.once('exit', resolve));
  await sleep(60);
  const summary = await sampler.stop();
  assert.ok(summary.samples >= 1);
  assert.ok(summary.series.every((s) => s.processes === 1));

  const none = await sampleResources(2 ** 22 + 12345, 20).stop();
  assert.deepEqual(none, { peakRssKb: 0, meanRssKb: 0, cpuSeconds: 0, samples: 0, series: [] });
});

test('sampleMemory still reports the peak of a tree', async () => {
  const child = node(['-e', AFTER_GO(`globalThis.hog = Buffer.alloc(50 * 1024 * 1024, 1); return 0;`)]);
  await line(child, 'ready');
  const sampler = sampleMemory(child.pid!, 20);
  child.stdin.write('go\n');
  await line(child, 'done');
  await sleep(60);
  const memory = await sampler.stop();
  child.kill('SIGKILL');
  assert.ok(memory.peakRssKb >= 50 * MiB && memory.samples > 0);
});

test('sampleMemory finds processes that start after it (the tree is listed again) and counts their peak', async () => {
  const grandchild = 'globalThis.hog = Buffer.alloc(60 * 1024 * 1024, 1); setTimeout(() => {}, 3000);';
  const child = node([
    '-e',
    `console.log('ready'); process.stdin.once('data', () => { ` +
      `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore' }); ` +
      `setTimeout(() => console.log('done 1'), 800); }); setInterval(() => {}, 1 << 30);`,
  ]);
  await line(child, 'ready');
  const alone = await sampleMemory(child.pid!, 20).stop();
  const sampler = sampleMemory(child.pid!, 20);
  child.stdin.write('go\n');
  await line(child, 'done');
  const memory = await sampler.stop();
  child.kill('SIGKILL');
  assert.ok(
    memory.peakRssKb >= alone.peakRssKb + 60 * MiB,
    `${memory.peakRssKb} KiB vs ${alone.peakRssKb} alone`,
  );
});
