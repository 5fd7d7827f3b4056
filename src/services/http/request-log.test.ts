import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { test } from 'node:test';
import type { Logger } from 'pino';
import { createServiceLogger, isSaneRequestId, loggingOptions, requestIdOf } from './request-log.js';
import { captureLog } from './test-support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('an incoming x-request-id is kept when sane, else replaced by a UUID', () => {
  const of = (value: string | string[] | undefined): string => {
    const message = new IncomingMessage(new Socket());
    message.headers = value === undefined ? {} : { 'x-request-id': value };
    return requestIdOf(message);
  };
  assert.equal(of('abc-123_.:/'), 'abc-123_.:/');
  assert.equal(of('x'.repeat(128)), 'x'.repeat(128));
  for (const bad of [undefined, '', 'two words', 'x'.repeat(129), 'naïve', 'line\nbreak', ['a', 'b']]) {
    assert.match(of(bad), UUID, JSON.stringify(bad));
  }
  assert.equal(isSaneRequestId('ok'), true);
  assert.equal(isSaneRequestId('not ok'), false);
});

test("fastify's root logger logs warn and above; request loggers the service's level", () => {
  for (const [level, root] of [
    ['trace', 'warn'],
    ['info', 'warn'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['fatal', 'fatal'],
    ['silent', 'silent'],
  ] as const) {
    const logger = createServiceLogger('t', { level, format: 'json', destination: captureLog().destination });
    const options = loggingOptions(logger);
    assert.equal((options.loggerInstance as Logger).level, root, level);
    const child = options.childLoggerFactory?.call(
      undefined as never,
      options.loggerInstance as Logger,
      { reqId: 'r' },
      {},
      {} as never,
    ) as Logger;
    assert.equal(child.level, level);
  }
  assert.equal(loggingOptions(undefined).logger, false);
});

test('JSON lines carry the level name, the service and an ISO time', () => {
  const json = captureLog();
  createServiceLogger('embed', { format: 'json', destination: json.destination }).info({ a: 1 }, 'hello');
  const line = JSON.parse(json.texts[0] ?? '') as Record<string, unknown>;
  assert.equal(line.level, 'info');
  assert.equal(line.name, 'embed');
  assert.equal(line.msg, 'hello');
  assert.equal(line.a, 1);
  assert.ok(!Number.isNaN(Date.parse(String(line.time))));
});

test('pretty lines put the request in the message and the request id after it', async () => {
  const pretty = captureLog();
  const logger = createServiceLogger('models', { format: 'pretty', destination: pretty.destination });
  logger
    .child({ reqId: 'r-1' })
    .info({ method: 'GET', route: '/v2', status: 200, ms: 0.5 }, 'GET /v2 200 0.5 ms');
  logger.warn({ error: 'not ready' }, 'loading');
  for (let i = 0; i < 100 && pretty.texts.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  const [request, warning] = pretty.texts;
  assert.match(request ?? '', /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(models\): GET \/v2 200 0\.5 ms \[r-1\]$/);
  assert.match(warning ?? '', /WARN \(models\): loading \{"error":"not ready"\}$/);
});
