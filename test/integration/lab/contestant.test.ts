import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { ContestantError } from '../../../dist/core/errors.js';
import { readProcStat } from '../../../dist/process/proc-stat.js';
import {
  ContestantProcess,
  escapeWarning,
  killAllContestants,
  stopAllContestants,
  type ContestantSpec,
} from '../../../dist/lab/run/contestant.js';

const SERVERS = fileURLToPath(new URL('../../../test/fixtures/servers/', import.meta.url));
const NODE = process.execPath;

function server(script: string, ...args: string[]): readonly string[] {
  return [NODE, `${SERVERS}${script}`, ...args];
}

/** A contestant running fixture server `script` on an auto port (`--port {port}`, then `args`), plus `extra`. */
function onAutoPort(
  name: string,
  script: string,
  args: readonly string[] = [],
  extra: Partial<ContestantSpec> = {},
): ContestantSpec {
  return { name, command: server(script, '--port', '{port}', ...args), port: 'auto', ...extra };
}

async function getJson(url: string): Promise<unknown> {
  const res = await request(url, { reset: true });
  return res.body.json();
}

/** Whether a process no longer runs: gone, or a zombie waiting for init (which reaps lazily on some machines). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const stat = readProcStat(pid);
  return stat === null || stat.state === 'Z';
}

async function listen(s: Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

async function rejection(promise: Promise<unknown>): Promise<ContestantError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ContestantError, `expected a ContestantError, got ${String(e)}`);
    assert.equal(e.code, 'PL_ERR_BENCH');
    return e;
  }
  assert.fail('expected start() to reject');
}

after(async () => {
  await stopAllContestants();
});

test('a healthy server on an auto port: {port} in argv and env, health, logs, stop', async () => {
  const logs: string[] = [];
  const spec = onAutoPort('healthy', 'healthy.mjs', [], {
    env: { FIXTURE_PORT: '{port}' },
    stopGraceMs: 2000,
  });
  const c = await ContestantProcess.start(spec, { onLog: (line, stream) => logs.push(`${stream}: ${line}`) });
  assert.equal(c.name, 'healthy');
  assert.ok(typeof c.port === 'number' && c.port > 0);
  assert.equal(c.baseUrl, `http://127.0.0.1:${c.port}`);
  assert.ok(c.pid !== null && c.pid > 0);
  assert.ok(c.spawnToHealthyMs > 0);
  assert.ok(c.spawnedAtNs > 0n && c.spawnedAtNs < process.hrtime.bigint());
  assert.ok(c.alive);
  assert.equal(c.exit, null);
  assert.deepEqual(await getJson(`${c.baseUrl}/env`), { port: String(c.port) });
  assert.ok(logs.includes(`stdout: listening on ${c.port}`), logs.join('\n'));
  assert.deepEqual(c.logTail(1), [`listening on ${c.port}`]);

  const stopped = await c.stop();
  assert.deepEqual(stopped, { code: 0, signal: null, killed: false, escaped: [] });
  assert.equal(c.alive, false);
  assert.deepEqual(c.exit, { code: 0, signal: null });
  assert.deepEqual(await c.stop(), stopped, 'stop() is idempotent');
  assert.ok(isGone(c.pid));
  assert.ok(c.logTail().includes('SIGTERM: shutting down'));
});

test('a command that does not exist: the error names the command and the contestant', async () => {
  const err = await rejection(
    ContestantProcess.start({
      name: 'ghost',
      command: ['pitlane-no-such-command-7f3a', '--port', '{port}'],
      port: 'auto',
    }),
  );
  assert.equal(err.contestant, 'ghost');
  assert.match(err.message, /contestant 'ghost'/);
  assert.match(err.message, /command 'pitlane-no-such-command-7f3a' not found \(ENOENT\)/);

  const cwd = await rejection(
    ContestantProcess.start({
      name: 'lost',
      command: server('healthy.mjs'),
      cwd: '/no/such/dir',
      port: 'auto',
    }),
  );
  assert.match(cwd.message, /working directory '\/no\/such\/dir' does not exist/);
});

test('a server that exits at once: exit code and its last stderr line in the error', async () => {
  const err = await rejection(
    ContestantProcess.start({
      name: 'crashy',
      command: server('crash.mjs'),
      port: 'auto',
      health: { timeoutMs: 5000 },
    }),
  );
  assert.equal(err.exitCode, 3);
  assert.equal(err.signal, null);
  assert.match(err.message, /exited before becoming healthy \(exit code 3\)/);
  assert.match(err.message, /fatal: cannot open config\.yaml/);
  assert.deepEqual([...err.logTail].sort(), ['fatal: cannot open config.yaml', 'starting up']);
});

test('a server that never becomes healthy: timeout error with the last attempt, and no orphan', async () => {
  const err = await rejection(
    ContestantProcess.start({
      name: 'sluggish',
      command: server('never-healthy.mjs', '--port', '{port}'),
      port: 'auto',
      // Long enough for the server to print its pid even on a loaded machine.
      health: { timeoutMs: 2000, intervalMs: 20 },
    }),
  );
  assert.match(err.message, /did not become healthy within 2 s: last attempt: status 503 \(expected 200\)/);
  assert.equal(err.exitCode, null);
  const line = err.logTail.find((l) => l.startsWith('pid '));
  assert.ok(line !== undefined, err.message);
  const pid = Number(line.split(' ')[1]);
  assert.ok(isGone(pid), `pid ${pid} still runs`);

  const refused = await rejection(
    ContestantProcess.start({
      name: 'deaf',
      command: [NODE, '-e', 'console.log(process.pid); setInterval(() => {}, 1000)'],
      port: 'auto',
      health: { timeoutMs: 300 },
    }),
  );
  assert.match(
    refused.message,
    /within 0\.3 s: last attempt: connection refused \(GET http:\/\/127\.0\.0\.1:\d+\/health\)/,
  );
  assert.ok(isGone(Number(refused.logTail[0])));
});

test('a fixed port already taken: a clear error before anything is spawned', async () => {
  const blocker = createTcpServer();
  const port = await listen(blocker);
  try {
    const err = await rejection(
      ContestantProcess.start({ name: 'late', command: server('healthy.mjs', '--port', '{port}'), port }),
    );
    assert.match(err.message, new RegExp(`port ${port} is already in use`));
    assert.deepEqual(err.logTail, []);
  } finally {
    blocker.close();
  }
});

test('a server that ignores SIGTERM is SIGKILLed after the grace period', async () => {
  const c = await ContestantProcess.start(
    onAutoPort('stubborn', 'ignore-term.mjs', [], { stopGraceMs: 300 }),
  );
  const stopped = await c.stop();
  assert.deepEqual(stopped, { code: null, signal: 'SIGKILL', killed: true, escaped: [] });
  assert.ok(c.logTail().includes('ignoring SIGTERM'));
  assert.ok(isGone(c.pid!));
});

test('stop() ends the whole process tree: workers and their children', async () => {
  const c = await ContestantProcess.start(
    onAutoPort('forking', 'forking.mjs', ['--depth', '2'], { stopGraceMs: 2000 }),
  );
  const pids = (await getJson(`${c.baseUrl}/pids`)) as number[];
  assert.equal(pids.length, 3);
  assert.equal(pids[0], c.pid);
  const stopped = await c.stop();
  assert.equal(stopped.killed, false);
  for (const pid of pids) assert.ok(isGone(pid), `pid ${pid} still runs`);

  // The server exits on SIGTERM but its workers ignore it: they would be orphans without the group SIGKILL.
  const d = await ContestantProcess.start(
    onAutoPort('forking-stubborn', 'forking.mjs', ['--depth', '2', '--workers-ignore-term'], {
      stopGraceMs: 300,
    }),
  );
  const dPids = (await getJson(`${d.baseUrl}/pids`)) as number[];
  const dStopped = await d.stop();
  assert.deepEqual(dStopped, { code: 0, signal: null, killed: true, escaped: [] });
  for (const pid of dPids) assert.ok(isGone(pid), `pid ${pid} still runs`);
});

test('`exited` resolves and `alive` turns false when the process dies mid-run', async () => {
  const c = await ContestantProcess.start(onAutoPort('fragile', 'healthy.mjs'));
  assert.ok(c.alive);
  process.kill(c.pid!, 'SIGKILL');
  assert.deepEqual(await c.exited, { code: null, signal: 'SIGKILL' });
  assert.equal(c.alive, false);
  assert.deepEqual(c.exit, { code: null, signal: 'SIGKILL' });
  assert.deepEqual(await c.stop(), { code: null, signal: 'SIGKILL', killed: false, escaped: [] });
});

test('a url contestant: health checked, no process, stop is a no-op', async () => {
  const http = createHttpServer((req, res) => {
    res.statusCode = req.url === '/ready' ? 204 : 404;
    res.end();
  });
  const port = await listen(http);
  try {
    const c = await ContestantProcess.start({
      name: 'external',
      url: `http://127.0.0.1:${port}/`,
      health: { url: 'http://127.0.0.1:{port}/ready', status: 204 },
    });
    assert.equal(c.baseUrl, `http://127.0.0.1:${port}`);
    assert.equal(c.port, port);
    assert.equal(c.pid, null);
    assert.equal(c.spawnToHealthyMs, 0);
    assert.ok(c.alive);
    assert.equal(c.exit, null);
    assert.deepEqual(c.logTail(), []);
    assert.equal(await Promise.race([c.exited.then(() => 'exited'), sleep(50, 'pending')]), 'pending');
    assert.deepEqual(await c.stop(), { code: null, signal: null, killed: false, escaped: [] });
    assert.ok(c.alive);

    const err = await rejection(
      ContestantProcess.start({
        name: 'external',
        url: `http://127.0.0.1:${port}`,
        health: { timeoutMs: 200 },
      }),
    );
    assert.match(err.message, /status 404 \(expected 200\)/);
  } finally {
    http.close();
  }
});

test('a spec with neither or both of command and url is refused', async () => {
  await rejection(ContestantProcess.start({ name: 'empty', port: 'auto' }));
  await rejection(ContestantProcess.start({ name: 'both', command: ['true'], url: 'http://127.0.0.1:1' }));
  await rejection(
    ContestantProcess.start({ name: 'portless', command: server('healthy.mjs', '--port', '{port}') }),
  );
});

test('stopAllContestants and killAllContestants reach every contestant still running', async () => {
  const spec = (name: string): ContestantSpec => onAutoPort(name, 'healthy.mjs');
  const [a, b] = await Promise.all([ContestantProcess.start(spec('a')), ContestantProcess.start(spec('b'))]);
  await stopAllContestants();
  assert.equal(a.alive, false);
  assert.equal(b.alive, false);

  const c = await ContestantProcess.start(spec('c'));
  killAllContestants();
  assert.deepEqual(await c.exited, { code: null, signal: 'SIGKILL' });
});

test('a contestant that detaches a grandchild (setsid): stop() kills it and reports it', async () => {
  const c = await ContestantProcess.start(
    onAutoPort('detaching', 'detaching.mjs', [], { stopGraceMs: 2000 }),
  );
  const [leader, detached] = (await getJson(`${c.baseUrl}/pids`)) as [number, number];
  assert.equal(leader, c.pid);
  try {
    const stat = readProcStat(detached);
    assert.ok(stat !== null, 'the detached grandchild runs');
    assert.notEqual(stat.pgid, c.pid, 'the grandchild left the group');
    const stopped = await c.stop();
    assert.deepEqual(
      stopped.escaped.map((p) => p.pid),
      [detached],
    );
    assert.match(stopped.escaped[0]?.command ?? '', /setInterval/);
    assert.ok(isGone(detached), 'the detached grandchild was killed');
    const warning = escapeWarning('detaching', stopped);
    assert.match(
      warning ?? '',
      new RegExp(`detaching left 1 process\\(es\\) running outside its process group.*${detached}`),
    );
  } finally {
    try {
      process.kill(detached, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  }
});
