import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  FeatureUnavailableError,
  InferenceInputError,
  InvalidBatchError,
  ModelNotFoundError,
  QueueFullError,
} from '../../core/errors.js';
import { ImageError } from '../../inference/vision/image-prep.js';
import { setServiceErrorHandler } from './error-handler.js';
import { ClientGone, HttpProblem } from './problem.js';
import { HTTP_STATUS_BY_CODE, httpStatusOf } from './status.js';

test('the status table: client errors by code, anything else is not in it (a 500)', () => {
  assert.equal(httpStatusOf(new ImageError('x.jpg', 'corrupt', 'is corrupt')), 400);
  assert.equal(httpStatusOf(new FeatureUnavailableError('ocr')), 400);
  assert.equal(httpStatusOf(new InferenceInputError("input 'X' is FP64")), 400);
  assert.equal(httpStatusOf(new ModelNotFoundError('m', '2')), 404);
  // A full queue is answered by each service in its own words, with Retry-After: not by the table.
  assert.equal(httpStatusOf(new QueueFullError(1000, 8)), null);
  assert.equal(httpStatusOf(new InvalidBatchError(['images[0]: no id'])), null);
  assert.equal(httpStatusOf(new Error('boom')), null);
  assert.ok(Object.isFrozen(HTTP_STATUS_BY_CODE));
});

describe('the shared error handler', () => {
  let app: FastifyInstance;
  let url: string;
  before(async () => {
    app = Fastify({ logger: false, bodyLimit: 64 });
    setServiceErrorHandler(app, {
      send: (reply, problem) => reply.send({ error: problem.message }),
      bodyTooLarge: () => new HttpProblem(413, 'too large'),
      invalidMediaType: 'send JSON',
      drain: 'body-too-large',
      problemOf: (error) =>
        error instanceof RangeError ? new HttpProblem(422, `range: ${error.message}`) : null,
      internalPrefix: (request) => (request.url === '/infer' ? 'inference failed' : 'internal error'),
    });
    const throwing = (error: Error) => () => Promise.reject(error);
    app.post('/problem', throwing(new HttpProblem(429, 'busy', null, { 'retry-after': '2' })));
    app.post('/image', throwing(new ImageError('x.jpg', 'corrupt', 'is corrupt')));
    app.post('/own', throwing(new RangeError('k')));
    app.post('/gone', throwing(new ClientGone()));
    app.post('/bug', throwing(new Error('boom')));
    app.post('/infer', throwing(new Error('boom')));
    app.post('/echo', (request) => request.body);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  after(() => app.close());

  const post = async (path: string, body = '{}', type = 'application/json') => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': type } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  test('each rule, in the format the service sends', async () => {
    const busy = await post('/problem');
    assert.deepEqual(
      [busy.status, busy.headers.get('retry-after'), busy.text],
      [429, '2', '{"error":"busy"}'],
    );
    const image = await post('/image');
    assert.deepEqual([image.status, image.text], [400, '{"error":"x.jpg: is corrupt"}']);
    assert.deepEqual([(await post('/own')).status, (await post('/own')).text], [422, '{"error":"range: k"}']);
    assert.deepEqual([(await post('/gone')).status, (await post('/gone')).text], [499, '']);
    assert.equal((await post('/bug')).text, '{"error":"internal error: boom"}');
    assert.equal((await post('/infer')).text, '{"error":"inference failed: boom"}');
    const big = await post('/echo', JSON.stringify({ pad: 'x'.repeat(200) }));
    assert.deepEqual([big.status, big.text], [413, '{"error":"too large"}']);
    const media = await post('/echo', 'x', 'application/x-nothing');
    assert.deepEqual([media.status, media.text], [415, '{"error":"send JSON"}']);
    const bad = await post('/echo', '{', 'application/json');
    assert.equal(bad.status, 400);
  });
});
