// The OpenAPI documents of the three services (services/http/openapi.ts), each from a real server on a real
// port: /openapi.json validates as OpenAPI 3.1, documents every route the app serves (from fastify's routes as
// declared, so a new route without a doc fails here), answers match what the document says, and /docs serves
// Swagger UI from the package.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createLocalInference } from '../../../dist/inference/tensor/local-inference.js';
import { validateModelRepository } from '../../../dist/inference/tensor/model-repository.js';
import { writeDoublerModel } from '../../../dist/inference/test-support.js';
import { buildEmbedApp } from '../../../dist/services/embed/app.js';
import { EmbedMetrics } from '../../../dist/services/embed/metrics.js';
import { embedApiDoc } from '../../../dist/services/embed/openapi.js';
import { listen } from '../../../dist/services/http/lifecycle.js';
import { servedRoutes, type ApiDoc } from '../../../dist/services/http/openapi.js';
import { DEFAULT_INGEST_APP_OPTIONS, buildIngestApp } from '../../../dist/services/ingest/app.js';
import { ingestApiDoc } from '../../../dist/services/ingest/openapi.js';
import { buildModelServerApp } from '../../../dist/services/models/app.js';
import { modelServerApiDoc } from '../../../dist/services/models/openapi.js';

type Operation = { summary?: string; responses?: Record<string, unknown> };
type OpenApiDocument = {
  openapi: string;
  info: { title: string };
  paths: Record<string, Record<string, Operation>>;
};

/** The routes an app serves that its document lacks (or documents without a summary), as `METHOD /path`. */
function undocumented(app: FastifyInstance, doc: OpenApiDocument): string[] {
  return servedRoutes(app)
    .filter((r) => !r.hidden)
    .map((r) => ({ key: `${r.method} ${r.url}`, path: r.url.replace(/:(\w+)/g, '{$1}'), method: r.method }))
    .filter(({ path, method }) => {
      const op = doc.paths[path]?.[method.toLowerCase()];
      return op?.summary === undefined || op.responses === undefined;
    })
    .map((r) => r.key);
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

/** The documented schema of a route's answer with this status. */
function responseSchema(doc: ApiDoc, route: string, status: number): TSchema {
  const schema = doc.routes[route]?.response[status];
  assert.ok(schema !== undefined && !('content' in schema), `${route} documents a JSON ${status}`);
  return schema;
}

interface Case {
  readonly name: string;
  readonly doc: ApiDoc;
  /** Requests whose answers must match the documented schema: route key, path, status. */
  readonly samples: readonly [route: string, path: string, status: number][];
  /** Routes of the table this app does not serve (Triton's extensions need a local engine). */
  readonly unserved?: readonly string[];
  readonly build: (dir: string) => Promise<{ app: FastifyInstance; close: () => Promise<void> }>;
}

const CASES: Case[] = [
  {
    name: 'embed',
    doc: embedApiDoc('test'),
    samples: [
      ['GET /v1/models', '/v1/models', 200],
      ['GET /v1/models/:model', '/v1/models/nope', 404],
      ['GET /health', '/health', 503],
      ['GET /info', '/info', 200],
    ],
    build: () => {
      const app = buildEmbedApp(
        { services: new Map(), ready: false },
        { defaultModel: 'none', version: 'test', metrics: new EmbedMetrics() },
      );
      return Promise.resolve({ app, close: () => app.close() });
    },
  },
  {
    name: 'models',
    doc: modelServerApiDoc('test'),
    samples: [
      ['GET /v2', '/v2', 200],
      ['GET /v2/models/:model', '/v2/models/doubler', 200],
      ['GET /v2/models/:model', '/v2/models/nope', 404],
      ['GET /v2/models/:model/versions/:version', '/v2/models/doubler/versions/1', 200],
      ['GET /v2/models/:model/config', '/v2/models/doubler/config', 200],
      ['GET /v2/models/stats', '/v2/models/stats', 200],
      ['GET /v2/models/:model/versions/:version/stats', '/v2/models/doubler/versions/1/stats', 200],
      ['GET /v2/models/:model/stats', '/v2/models/nope/stats', 404],
    ],
    // A local engine: Triton's extensions are served too.
    build: async (dir) => {
      await writeDoublerModel(join(dir, 'doubler.onnx'));
      const problems: { path: string; message: string }[] = [];
      const repository =
        validateModelRepository(
          { models: { doubler: { name: 'doubler', paths: { onnx: 'doubler.onnx' } } } },
          dir,
          problems,
        ) ?? [];
      assert.deepEqual(problems, []);
      const engine = await createLocalInference(repository, { repository });
      const app = buildModelServerApp({
        engine,
        version: 'test',
        models: () => repository.map((s) => ({ name: s.id, versions: ['1'] })),
        statistics: () => engine.statistics().map((s) => ({ ...s, model: s.name })),
        control: engine,
      });
      return {
        app,
        close: async () => {
          await app.close();
          await engine.close();
        },
      };
    },
  },
  {
    name: 'ingest',
    doc: ingestApiDoc('test'),
    samples: [
      ['GET /health', '/health', 503],
      ['GET /images/:id', '/images/abc', 503],
    ],
    build: () => {
      const app = buildIngestApp(
        { pipeline: null, index: null, ready: false },
        { version: 'test', ...DEFAULT_INGEST_APP_OPTIONS },
      );
      return Promise.resolve({ app, close: () => app.close() });
    },
  },
];

for (const c of CASES) {
  describe(`OpenAPI of the ${c.name} service`, () => {
    let dir: string;
    let app: FastifyInstance;
    let close: () => Promise<void>;
    let url: string;
    let doc: OpenApiDocument;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `pitlane-openapi-${c.name}-`));
      ({ app, close } = await c.build(dir));
      url = `http://127.0.0.1:${await listen(app, '127.0.0.1', 0)}`;
      const res = await getJson(`${url}/openapi.json`);
      assert.equal(res.status, 200);
      doc = res.body as OpenApiDocument;
    });
    after(async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('/openapi.json validates as OpenAPI 3.1', async () => {
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(doc.info.title, c.doc.title);
      const result = await new Validator().validate(doc);
      assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1));
    });

    test('every route the app serves is documented, and nothing else', () => {
      const served = servedRoutes(app).filter((r) => !r.hidden);
      assert.ok(served.length >= 5, JSON.stringify(served));
      assert.deepEqual(undocumented(app, doc), []);
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      );
      const servedKeys = served.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
      assert.deepEqual(documented.sort(), servedKeys.sort());
      // The table has no entry for a route that does not exist.
      assert.deepEqual(
        Object.keys(c.doc.routes).filter((k) => !served.some((r) => `${r.method} ${r.url}` === k)),
        c.unserved ?? [],
      );
    });

    test('answers match their documented schemas', async () => {
      for (const [route, path, status] of c.samples) {
        const res = await getJson(url + path);
        assert.equal(res.status, status, `${path}: ${JSON.stringify(res.body)}`);
        const schema = responseSchema(c.doc, route, status);
        const errors = [...Value.Errors(schema, res.body)].map((e) => `${e.path}: ${e.message}`);
        assert.deepEqual(errors, [], `${path} ${status}: ${JSON.stringify(res.body)}`);
      }
    });

    test('/docs serves Swagger UI and its assets from the package', async () => {
      const page = await fetch(`${url}/docs`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await page.text(), /swagger/i);
      const bundle = await fetch(`${url}/docs/static/swagger-ui-bundle.js`);
      assert.equal(bundle.status, 200);
      assert.ok((await bundle.arrayBuffer()).byteLength > 100_000);
    });
  });
}

test("ingest's GET /images/{id} is validated by its documented schema: a bad switch is a 400 naming it", async () => {
  const app = buildIngestApp(
    { pipeline: null, index: null, ready: false },
    { version: 'test', ...DEFAULT_INGEST_APP_OPTIONS },
  );
  const url = `http://127.0.0.1:${await listen(app, '127.0.0.1', 0)}`;
  try {
    const bad = await getJson(`${url}/images/abc?embedding=maybe`);
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, {
      status: 'error',
      error: 'embedding must be one of true, false, 1, 0, got "maybe"',
    });
    const schema = responseSchema(ingestApiDoc('test'), 'GET /images/:id', 400);
    assert.deepEqual([...Value.Errors(schema, bad.body)], []);
    // Allowed values pass to the handler (which answers 503: no models loaded here).
    for (const value of ['true', 'false', '1', '0']) {
      assert.equal((await getJson(`${url}/images/abc?embedding=${value}`)).status, 503, value);
    }
    assert.equal((await getJson(`${url}/images/abc`)).status, 503);
  } finally {
    await app.close();
  }
});

test("ingest's JSON bodies are validated by their documented schemas: a 400 naming the field by its JSON path", async () => {
  const app = buildIngestApp(
    { pipeline: null, index: null, ready: false },
    { version: 'test', ...DEFAULT_INGEST_APP_OPTIONS },
  );
  const url = `http://127.0.0.1:${await listen(app, '127.0.0.1', 0)}`;
  const post = async (path: string, body: unknown): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  try {
    const cases: [string, unknown, string][] = [
      ['/ingest/batch', { paths: ['a.jpg', ''] }, 'paths[1] is an empty string'],
      [
        '/ingest/batch',
        { paths: 'a.jpg' },
        'paths must be a list of server-side file paths (non-empty strings), got "a.jpg"',
      ],
      [
        '/ingest/batch',
        { paths: ['a.jpg'], enable_faces: 'yes' },
        'enable_faces must be true or false, got "yes"',
      ],
      ['/ingest/batch', { enable_ocr: true }, 'paths is required'],
      ['/ingest/batch', [], 'the body must be a JSON object, got []'],
      ['/search', { id: 'x', k: 5000 }, 'k must be an integer in 1..1000, got 5000'],
      ['/search', { id: 'x', index: 'cars' }, 'index must be one of global, vehicles, people, got "cars"'],
      ['/search', { vector: [] }, 'vector is an empty array'],
      ['/search', { vector: [1, '2'] }, 'vector[1] must be a number, got "2"'],
      ['/search', { id: 7 }, 'id must be a string, got 7'],
    ];
    for (const [path, body, message] of cases) {
      const bad = await post(path, body);
      assert.equal(bad.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.deepEqual(bad.body, { status: 'error', error: message });
    }
    // What the schemas allow passes to the handler (503: no models loaded here): switches as text, k as text.
    assert.equal((await post('/ingest/batch', { paths: ['a.jpg'], enable_faces: 'true' })).status, 503);
    assert.equal((await post('/search', { id: 'x', k: '5', labels: 'dog,cat' })).status, 503);
  } finally {
    await app.close();
  }
});

test('a route missing from the table fails the check', async () => {
  const app = buildIngestApp(
    { pipeline: null, index: null, ready: false },
    { version: 'test', ...DEFAULT_INGEST_APP_OPTIONS },
  );
  app.get('/not-in-the-table', () => 'x');
  await app.ready();
  const doc = (await app.inject('/openapi.json')).json<OpenApiDocument>();
  assert.deepEqual(undocumented(app, doc), ['GET /not-in-the-table']);
  await app.close();
});
