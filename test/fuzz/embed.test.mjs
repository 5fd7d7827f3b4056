// Fuzzing the embed service's request validation (POST /embed, /v1/embeddings, /tokenize) through app.inject
// on a real app with a small real model (the repository's minilm-l6-arch, synthetic weights on ONNX Runtime). Property: any JSON, and any bytes under any Content-Type, get 200 or a 4xx
// with a JSON error body (TEI's {error, error_type}, OpenAI's {error: {message, ...}}), never a 5xx, never a
// crash.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { EmbeddingService } from '../../dist/inference/text/embedding-service.js';
import { loadModelRepository } from '../../dist/inference/tensor/model-repository.js';
import { buildEmbedApp } from '../../dist/services/embed/app.js';
import { EmbedMetrics } from '../../dist/services/embed/metrics.js';
import { ROOT } from '../helpers.mjs';
import { anyJsonValue, anyString, fuzz, mutated } from './fuzz-support.mjs';

const ROUTES = ['/embed', '/v1/embeddings', '/tokenize'];

let service;
let app;

/** Sends one request; checks the answer is 200 or a 4xx with the API's JSON error body. */
async function check(route, payload, contentType) {
  const res = await app.inject({
    method: 'POST',
    url: route,
    payload,
    ...(contentType !== undefined ? { headers: { 'content-type': contentType } } : {}),
  });
  const what = `${route} → ${res.statusCode}: ${res.body.slice(0, 300)}`;
  assert.ok(res.statusCode === 200 || (res.statusCode >= 400 && res.statusCode < 500), what);
  const body = JSON.parse(res.body);
  if (res.statusCode !== 200) {
    const message = route.startsWith('/v1/') ? body.error?.message : body.error;
    assert.equal(typeof message, 'string', what);
    assert.ok(message.length > 0, what);
  }
  return res.statusCode;
}

const text = fc.oneof(
  { weight: 4, arbitrary: fc.lorem({ maxCount: 8 }) },
  { weight: 2, arbitrary: anyString({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '\u0000', '\ud800', '[CLS]', '[SEP] [PAD] [UNK]', '😀'.repeat(50)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 5000 }).map((n) => 'word '.repeat(n)) },
);

const inputs = fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 6 }));

const teiBody = mutated(
  fc.record(
    {
      inputs,
      normalize: fc.boolean(),
      truncate: fc.boolean(),
      truncation_direction: fc.constantFrom('Right', 'Left', 'right'),
      model: fc.constantFrom('mini', 'other', ''),
      add_special_tokens: fc.boolean(),
      prompt_name: fc.string({ maxLength: 5 }),
    },
    { requiredKeys: ['inputs'] },
  ),
);

const openAiBody = mutated(
  fc.record(
    {
      input: inputs,
      model: fc.constantFrom('mini', 'other'),
      encoding_format: fc.constantFrom('float', 'base64', 'hex'),
      dimensions: fc.oneof(fc.integer({ min: -1, max: 400 }), fc.constantFrom(1.5, 2 ** 53, '8')),
      truncate: fc.boolean(),
      user: fc.string({ maxLength: 5 }),
    },
    { requiredKeys: ['input'] },
  ),
);

const CONTENT_TYPES = [
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/JSON',
  'text/plain',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  ';;;',
  'application/json; boundary',
];

describe('embed request validation fuzz', () => {
  before(async () => {
    // The repository's own minilm-l6-arch (models/, made by the README's set-up), as `serve embed` loads it.
    const spec = (await loadModelRepository(join(ROOT, 'models.yaml'))).find(
      (m) => m.id === 'minilm-l6-arch',
    );
    assert.ok(spec, 'models.yaml has minilm-l6-arch');
    const metrics = new EmbedMetrics();
    const state = { services: new Map(), ready: false };
    app = buildEmbedApp(state, {
      defaultModel: spec.id,
      bodyLimitBytes: 1 << 20,
      version: 'fuzz',
      metrics,
    });
    metrics.watch(state.services);
    service = await EmbeddingService.load(spec, { tokenizerThreads: 1, inlineBelowChars: 0 });
    state.services.set(spec.id, service);
    state.ready = true;
  });
  after(async () => {
    await app?.close();
    await service?.close();
  });

  test('TEI bodies (/embed, /tokenize), mostly valid then edited: 200 or 4xx', async () => {
    await fuzz(
      fc.asyncProperty(fc.constantFrom('/embed', '/tokenize'), teiBody, async (route, body) => {
        await check(route, JSON.stringify(body), 'application/json');
      }),
      60,
    );
  });

  test('OpenAI bodies (/v1/embeddings), mostly valid then edited: 200 or 4xx', async () => {
    await fuzz(
      fc.asyncProperty(openAiBody, async (body) => {
        await check('/v1/embeddings', JSON.stringify(body), 'application/json');
      }),
      60,
    );
  });

  test('any JSON value on every route: 200 or 4xx', async () => {
    await fuzz(
      fc.asyncProperty(fc.constantFrom(...ROUTES), anyJsonValue, async (route, body) => {
        await check(route, JSON.stringify(body), 'application/json');
      }),
      100,
    );
  });

  test('any bytes under any Content-Type: 4xx (or 200 for what happens to be valid)', async () => {
    await fuzz(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.string({ maxLength: 100 }),
          fc.constantFrom(
            '',
            '{',
            '{"inputs":',
            '{"inputs":"a"}x',
            '\ufeff{"inputs":"a"}',
            'null',
            '[]',
            '"a"',
          ),
        ),
        fc.constantFrom(...CONTENT_TYPES),
        async (route, payload, contentType) => {
          await check(route, payload, contentType);
        },
      ),
      100,
    );
  });
});
