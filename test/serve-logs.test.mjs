// The logs of `pitlane serve ...` as a user sees them: --log-level and --log-format through the CLI, on a real
// process (`serve models` with the small BlazeFace model), lines on stderr, the --json ready event on stdout
// unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pitlane, startService } from './helpers.mjs';

const MODEL = ['--model', 'blazeface-256'];

/** The JSON lines of a stderr text (every line must be one). */
function jsonLines(stderr) {
  return stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        assert.fail(`not a JSON line: ${l}`);
      }
    });
}

test('serve --help explains --log-level and --log-format on each service', async () => {
  for (const service of ['embed', 'models', 'ingest']) {
    const help = await pitlane(['serve', service, '--help']);
    assert.equal(help.code, 0, help.stderr);
    const oneLine = help.stdout.replace(/\s+/g, ' ');
    assert.match(
      oneLine,
      /--log-level <level> .*one line per request.*debug\).*choices: "fatal", "error", "warn", "info", "debug", "trace", "silent", default: "info"/,
    );
    assert.match(oneLine, /--log-format <format> .*pretty.*choices: "json", "pretty"/);
  }
});

test('--log-level debug with --json: JSON lines on stderr, probes at debug, start-up lines too; ready event unchanged', async () => {
  const server = startService('models', [...MODEL, '--log-level', 'debug']);
  const ready = await server.ready;
  assert.equal(ready.status, 'ready');
  assert.deepEqual(ready.models, ['blazeface-256']);
  const live = await fetch(`${ready.url}/v2/health/live`, { headers: { 'x-request-id': 'cli-probe' } });
  assert.equal(live.status, 200);
  assert.equal(live.headers.get('x-request-id'), 'cli-probe');
  const meta = await fetch(`${ready.url}/v2/models/blazeface-256`, {
    headers: { 'x-request-id': 'cli-meta' },
  });
  assert.equal(meta.status, 200);
  await meta.arrayBuffer();
  const { code, stderr } = await server.stop();
  assert.equal(code, 0, stderr);
  const lines = jsonLines(stderr);
  const probe = lines.find((l) => l.reqId === 'cli-probe');
  assert.equal(probe?.level, 'debug');
  assert.equal(probe.route, '/v2/health/live');
  const request = lines.find((l) => l.reqId === 'cli-meta');
  assert.equal(request?.level, 'info');
  assert.equal(request.route, '/v2/models/:model');
  assert.equal(request.status, 200);
  assert.ok(lines.some((l) => l.level === 'info' && /^ready in \d+ ms/.test(l.msg)));
  assert.ok(lines.some((l) => l.msg === 'SIGTERM: closing'));
  assert.ok(lines.every((l) => l.name === 'models'));
  // fastify's own "Server listening" line is not added beside the service's.
  assert.equal(lines.filter((l) => /listening/i.test(l.msg)).length, 1);
});

test('--log-level warn drops request lines; --log-format pretty writes readable ones', async () => {
  const quiet = startService('models', [...MODEL, '--log-level', 'warn']);
  const q = await quiet.ready;
  await (await fetch(`${q.url}/v2`)).arrayBuffer();
  const quietRun = await quiet.stop();
  assert.equal(quietRun.code, 0, quietRun.stderr);
  assert.equal(quietRun.stderr, '');

  const pretty = startService('models', [...MODEL, '--log-format', 'pretty']);
  const p = await pretty.ready;
  const docs = await fetch(`${p.url}/docs`, { headers: { 'x-request-id': 'pretty-1' } });
  assert.equal(docs.status, 200);
  await docs.arrayBuffer();
  const prettyRun = await pretty.stop();
  assert.equal(prettyRun.code, 0, prettyRun.stderr);
  const line = prettyRun.stderr.split('\n').find((l) => l.includes('pretty-1'));
  assert.ok(line !== undefined, prettyRun.stderr);
  assert.match(line, /INFO.*\(models\): GET \/docs 200 [\d.]+ ms \[pretty-1\]/);
  assert.throws(() => JSON.parse(line));
});

test('--log-level and --log-format refuse values they do not know (usage error, exit 2)', async () => {
  const level = await pitlane(['serve', 'models', '--port', '0', '--log-level', 'loud']);
  assert.equal(level.code, 2, level.stderr);
  assert.match(
    level.stderr,
    /--log-level <level>' argument 'loud' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent/,
  );
  const format = await pitlane(['serve', 'embed', '--port', '0', '--log-format', 'xml']);
  assert.equal(format.code, 2, format.stderr);
  assert.match(
    format.stderr,
    /--log-format <format>' argument 'xml' is invalid\. Allowed choices are json, pretty/,
  );
});
