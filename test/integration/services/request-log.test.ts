// The request log of the services (services/http/request-log.ts), read from the pino stream of a real model
// server on a real port with a real ONNX model (the affine graph): one JSON line per request with its fields, the
// request id echoed, probes at debug, 4xx with their message, 5xx at error with the stack.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AffineEngine, until } from '../../../dist/inference/test-support.js';
import { listen } from '../../../dist/services/http/lifecycle.js';
import { createServiceLogger, type LogLevel } from '../../../dist/services/http/request-log.js';
import { captureLog, type CapturedLog } from '../../../dist/services/http/test-support.js';
import { buildModelServerApp } from '../../../dist/services/models/app.js';

type Line = Record<string, unknown>;

const INFER_BODY = JSON.stringify({
  inputs: [
    { name: 'X', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
    { name: 'B', shape: [4], datatype: 'FP32', data: [0, 0, 0, 0] },
    { name: 'IDS', shape: [1], datatype: 'INT64', data: [7] },
  ],
  outputs: [{ name: 'Y' }],
});

interface Logged {
  readonly url: string;
  readonly log: CapturedLog;
  readonly app: FastifyInstance;
  readonly engine: AffineEngine;
}

/** The model server with a logger at `level` whose JSON lines are collected. */
async function serveLogged(dir: string, level: LogLevel): Promise<Logged> {
  const log = captureLog();
  const engine = await AffineEngine.load(dir);
  const app = buildModelServerApp({
    engine,
    version: 'test',
    models: () => [{ name: 'affine', versions: ['1'] }],
    logger: createServiceLogger('models', { level, format: 'json', destination: log.destination }),
  });
  const port = await listen(app, '127.0.0.1', 0);
  return { url: `http://127.0.0.1:${port}`, log, app, engine };
}

/** The one line of the request with this id (waits for it: it is written once the answer has gone). */
async function lineOf(log: CapturedLog, reqId: string): Promise<Line> {
  await until(() => log.json().some((l) => l.reqId === reqId), `the log line of ${reqId}`);
  const mine = log.json().filter((l) => l.reqId === reqId);
  assert.equal(mine.length, 1, `one line per request: ${JSON.stringify(mine)}`);
  return mine[0] as Line;
}

describe('request log', () => {
  let dir: string;
  let info: Logged;
  let debug: Logged;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pitlane-request-log-'));
    info = await serveLogged(join(dir), 'info');
    debug = await serveLogged(mkdtempSync(join(dir, 'debug-')), 'debug');
  });
  after(async () => {
    for (const s of [info, debug]) {
      await s.app.close();
      await s.engine.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('one line per request: request id echoed, method, route pattern, status, duration, bytes', async () => {
    const res = await fetch(`${info.url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-42' },
      body: INFER_BODY,
    });
    assert.equal(res.status, 200, res.status === 200 ? '' : await res.text());
    assert.equal(res.headers.get('x-request-id'), 'trace-42');
    const bytesOut = Number(res.headers.get('content-length'));
    await res.arrayBuffer();
    const line = await lineOf(info.log, 'trace-42');
    assert.equal(line.level, 'info');
    assert.equal(line.name, 'models');
    assert.equal(line.method, 'POST');
    assert.equal(line.route, '/v2/models/:model/infer');
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
    assert.ok((line.ms as number) >= 0);
    assert.equal(line.bytes_in, Buffer.byteLength(INFER_BODY));
    assert.equal(line.bytes_out, bytesOut);
    assert.equal(typeof line.time, 'string');
    assert.equal(line.msg, `POST /v2/models/:model/infer 200 ${String(line.ms)} ms`);
    assert.equal(line.error, undefined);
  });

  test('a request without a usable x-request-id gets a new id, echoed', async () => {
    for (const given of [undefined, 'has space', 'x'.repeat(129)]) {
      const res = await fetch(`${info.url}/v2`, {
        headers: given === undefined ? {} : { 'x-request-id': given },
      });
      assert.equal(res.status, 200);
      const id = res.headers.get('x-request-id') ?? '';
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      const line = await lineOf(info.log, id);
      assert.equal(line.route, '/v2');
    }
  });

  test('health probes and /metrics log at debug: absent at info, present at debug', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready', '/v2/models/affine/ready', '/metrics']) {
      for (const server of [info, debug]) {
        const id = `probe-${path}-${server === info ? 'info' : 'debug'}`;
        const res = await fetch(server.url + path, { headers: { 'x-request-id': id } });
        assert.equal(res.status, 200, path);
        await res.arrayBuffer();
      }
      const line = await lineOf(debug.log, `probe-${path}-debug`);
      assert.equal(line.level, 'debug', path);
    }
    // Lines are written in order: a request after the probes is logged after any probe line would be.
    const res = await fetch(`${info.url}/v2`, { headers: { 'x-request-id': 'after-probes' } });
    await res.arrayBuffer();
    await lineOf(info.log, 'after-probes');
    assert.deepEqual(
      info.log.json().filter((l) => String(l.reqId).startsWith('probe-')),
      [],
      'no probe line at info',
    );
  });

  test('a 4xx is logged at info with its message and no stack; an unknown route with its path', async () => {
    const res = await fetch(`${info.url}/v2/models/nope`, { headers: { 'x-request-id': 'four-oh-four' } });
    assert.equal(res.status, 404);
    const { error } = (await res.json()) as { error: string };
    const line = await lineOf(info.log, 'four-oh-four');
    assert.equal(line.level, 'info');
    assert.equal(line.status, 404);
    assert.equal(line.route, '/v2/models/:model');
    assert.equal(line.error, error);
    assert.equal(line.err, undefined);

    const bad = await fetch(`${info.url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'bad-shape' },
      body: JSON.stringify({ inputs: [{ name: 'X', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }),
    });
    assert.equal(bad.status, 400);
    const badLine = await lineOf(info.log, 'bad-shape');
    assert.equal(badLine.error, ((await bad.json()) as { error: string }).error);

    const unknown = await fetch(`${info.url}/nowhere/at/all?secret=1`, {
      headers: { 'x-request-id': 'no-route' },
    });
    assert.equal(unknown.status, 404);
    const noRoute = await lineOf(info.log, 'no-route');
    assert.equal(noRoute.route, null);
    assert.equal(noRoute.url, '/nowhere/at/all');
    assert.equal(noRoute.level, 'info');
  });

  test('a 5xx is logged at error with the error and its stack', async () => {
    // A real internal failure: the engine is closed under the server.
    await debug.engine.close();
    const res = await fetch(`${debug.url}/v2/models/affine/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'five-hundred' },
      body: INFER_BODY,
    });
    assert.ok(res.status >= 500 && res.status !== 503, String(res.status));
    const { error } = (await res.json()) as { error: string };
    const line = await lineOf(debug.log, 'five-hundred');
    assert.equal(line.level, 'error');
    assert.equal(line.error, error);
    const err = line.err as { message: string; stack: string };
    assert.equal(typeof err.message, 'string');
    assert.match(err.stack, /\n\s+at /);
  });
});
