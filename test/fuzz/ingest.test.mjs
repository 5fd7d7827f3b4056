// Fuzzing the ingest service's request validation and multipart parsing (POST /ingest/batch, /search) through
// app.inject on a real app: the repository's models (coco-ssd, mobilenetv2-coco-embed) in-process, a real
// SQLite index in a temp folder, as `pitlane serve ingest` builds it. Multipart bodies are written byte by byte:
// arbitrary boundaries, part headers, field names, file names, options, CRLF or LF, truncation anywhere.
// Property: 200 with per-image errors, or a 4xx with a JSON error body, never a 5xx, never a crash; and the temp
// folder (TMPDIR, private to this test) holds nothing afterwards.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { pickSpecs } from '../../dist/cli/serve-models-command.js';
import { createLocalInference } from '../../dist/inference/tensor/local-inference.js';
import { loadModelRepository } from '../../dist/inference/tensor/model-repository.js';
import { openSqliteIndex } from '../../dist/index/sqlite-index.js';
import { IngestPipeline } from '../../dist/services/ingest/pipeline/ingest-pipeline.js';
import { DEFAULT_INGEST_CONFIG } from '../../dist/services/ingest/pipeline/ingest-types.js';
import { openDetector } from '../../dist/services/ingest/vision/detector.js';
import { openImageEmbedder } from '../../dist/services/ingest/vision/image-embedder.js';
import { buildIngestApp } from '../../dist/services/ingest/app.js';
import { ROOT } from '../helpers.mjs';
import { HOSTILE_KEYS, anyJsonValue, anyString, fuzz } from './fuzz-support.mjs';

const MAX_FILE_BYTES = 64 * 1024;
const MAX_BATCH = 4;

const work = mkdtempSync(join(tmpdir(), 'pitlane-fuzz-ingest-'));
const privateTmp = join(work, 'tmp');
mkdirSync(privateTmp);
// Whatever the app spools to the temp folder lands here, where nothing else writes.
process.env.TMPDIR = privateTmp;

let app;
let engine;
let index;
const images = {};

/** Sends one request; checks 200 (with consistent per-image errors) or a 4xx with a JSON error. */
async function check(request) {
  const res = await app.inject(request);
  const what = `${request.url} → ${res.statusCode}: ${res.body.slice(0, 300)}`;
  assert.ok(res.statusCode === 200 || (res.statusCode >= 400 && res.statusCode < 500), what);
  const body = JSON.parse(res.body);
  if (res.statusCode === 200 && request.url.startsWith('/ingest')) {
    assert.ok(Array.isArray(body.errors), what);
    assert.equal(body.processed + body.errors_count, body.total, what);
    for (const e of body.errors) {
      assert.ok(Number.isInteger(e.index) && e.index >= 0 && e.index < body.total, what);
      assert.equal(typeof e.reason, 'string', what);
    }
  } else if (res.statusCode !== 200) {
    assert.equal(body.status, 'error', what);
    assert.ok(typeof body.error === 'string' && body.error.length > 0, what);
  }
  assert.deepEqual(readdirSync(privateTmp), [], 'no temp file is left behind');
  return res.statusCode;
}

// --- Multipart, byte by byte -------------------------------------------------------------------------------

const boundary = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,70}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a b', '"q"', '-'.repeat(200), '--', 'x'.repeat(71)) },
  { weight: 1, arbitrary: anyString({ maxLength: 10 }) },
);

const fieldName = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('file', 'image', 'images[]', 'enable_faces', 'enable_ocr', 'box_embeddings'),
  },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS, 'a"b', 'a\r\nb', 'k', 'vector', 'labels') },
  { weight: 1, arbitrary: anyString({ maxLength: 8 }) },
);

const fileName = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    'a.jpg',
    'b.png',
    '',
    '../../etc/passwd',
    '/dev/zero',
    'x'.repeat(300),
    'ü.jpg',
    'a";b.jpg',
  ),
  anyString({ maxLength: 12 }),
);

const content = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('jpeg', 'png', 'tiny', 'bigjpeg').map((k) => ({ image: k })) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('true', 'false', '1', '0', 'yes', '', '{"a":1}').map((s) => Buffer.from(s)),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: MAX_FILE_BYTES - 10, max: MAX_FILE_BYTES + 4096 })
      .map((n) => Buffer.alloc(n, 7)),
  },
);

const part = fc.record(
  {
    name: fc.option(fieldName, { nil: undefined, freq: 10 }),
    filename: fileName,
    type: fc.option(
      fc.constantFrom('image/jpeg', 'image/png', 'text/plain', 'application/octet-stream', ''),
      {
        nil: undefined,
      },
    ),
    extra: fc.option(
      fc.constantFrom('X-Junk: 1', 'Content-Transfer-Encoding: base64', 'no colon here', ': x'),
      {
        nil: undefined,
        freq: 5,
      },
    ),
    content,
  },
  { requiredKeys: ['content'] },
);

/** A multipart request: parts, a boundary, and how it is broken (if it is). */
const multipartRequest = fc
  .record({
    boundary,
    declared: fc.oneof(
      { weight: 6, arbitrary: fc.constant('same') },
      { weight: 1, arbitrary: fc.constantFrom('none', 'other', 'quoted') },
    ),
    parts: fc.array(part, { maxLength: MAX_BATCH + 2 }),
    newline: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
    ending: fc.constantFrom('close', 'close', 'close', 'none', 'noCrlf', 'garbage'),
    cut: fc.option(fc.nat(), { nil: undefined, freq: 4 }),
    query: fc.constantFrom(
      '',
      '?details=true',
      '?enable_faces=true',
      '?enable_ocr=maybe',
      '?box_embeddings=1&details=1',
    ),
    route: fc.constantFrom('/ingest/batch', '/ingest/batch', '/search'),
  })
  .map((r) => {
    const nl = r.newline;
    const chunks = [];
    for (const p of r.parts) {
      let disposition = 'Content-Disposition: form-data';
      if (p.name !== undefined) disposition += `; name="${p.name}"`;
      if (p.filename !== undefined) disposition += `; filename="${p.filename}"`;
      const headers = [disposition];
      if (p.type !== undefined) headers.push(`Content-Type: ${p.type}`);
      if (p.extra !== undefined) headers.push(p.extra);
      const bytes = Buffer.isBuffer(p.content) ? p.content : images[p.content.image];
      chunks.push(Buffer.from(`--${r.boundary}${nl}${headers.join(nl)}${nl}${nl}`), bytes, Buffer.from(nl));
    }
    if (r.ending === 'close') chunks.push(Buffer.from(`--${r.boundary}--${nl}`));
    else if (r.ending === 'noCrlf') chunks.push(Buffer.from(`--${r.boundary}--`));
    else if (r.ending === 'garbage') chunks.push(Buffer.from(`--${r.boundary}-x${nl}junk`));
    let payload = Buffer.concat(chunks);
    if (r.cut !== undefined) payload = payload.subarray(0, r.cut % (payload.length + 1));
    const contentType =
      r.declared === 'same'
        ? `multipart/form-data; boundary=${r.boundary}`
        : r.declared === 'quoted'
          ? `multipart/form-data; boundary="${r.boundary}"`
          : r.declared === 'other'
            ? 'multipart/form-data; boundary=something-else'
            : 'multipart/form-data';
    return { method: 'POST', url: `${r.route}${r.query}`, payload, headers: { 'content-type': contentType } };
  });

const jsonRequest = fc
  .tuple(
    fc.constantFrom('/ingest/batch', '/search'),
    fc.oneof(
      fc.record(
        {
          paths: fc.oneof(
            fc.array(
              fc.constantFrom('a.jpg', '/dev/zero', '', '../x', 'missing.png', join(work, 'root', 'a.jpg')),
              { maxLength: MAX_BATCH + 2 },
            ),
            anyJsonValue,
          ),
          enable_faces: fc.oneof(fc.boolean(), anyJsonValue),
          enable_ocr: fc.boolean(),
          box_embeddings: fc.oneof(fc.boolean(), fc.constantFrom('true', 'no')),
        },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          vector: fc.oneof(
            fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 5 }),
            anyJsonValue,
          ),
          id: fc.oneof(fc.string({ maxLength: 8 }), anyJsonValue),
          k: fc.oneof(fc.integer({ min: -1, max: 2000 }), fc.constantFrom('5', 1.5, null)),
          labels: fc.oneof(
            fc.constantFrom('person,dog', ''),
            fc.array(fc.string({ maxLength: 5 })),
            anyJsonValue,
          ),
          index: fc.constantFrom('global', 'vehicles', 'people', 'nope'),
        },
        { requiredKeys: [] },
      ),
      anyJsonValue,
    ),
  )
  .map(([url, body]) => ({
    method: 'POST',
    url,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  }));

describe('ingest request validation and multipart fuzz', () => {
  before(async () => {
    const root = join(work, 'root');
    mkdirSync(root);
    images.jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a6' } })
      .jpeg()
      .toBuffer();
    images.png = await sharp({ create: { width: 32, height: 32, channels: 4, background: '#a36c' } })
      .png()
      .toBuffer();
    images.tiny = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    images.bigjpeg = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#888' } })
      .jpeg({ quality: 100 })
      .toBuffer();
    writeFileSync(join(root, 'a.jpg'), images.jpeg);

    const file = join(ROOT, 'models.yaml');
    const specs = pickSpecs(await loadModelRepository(file), ['coco-ssd', 'mobilenetv2-coco-embed'], file);
    engine = await createLocalInference(specs);
    const detector = await openDetector(engine, 'coco-ssd');
    const embedder = await openImageEmbedder(engine, 'mobilenetv2-coco-embed');
    index = await openSqliteIndex(join(work, 'index.db'), { dimension: embedder.dimension });
    const pipeline = new IngestPipeline({ detector, embedder, faces: null, ocr: null }, index, {
      ...DEFAULT_INGEST_CONFIG,
      roots: [root],
    });
    app = buildIngestApp(
      { pipeline, index, ready: true },
      { version: 'fuzz', maxBatchImages: MAX_BATCH, maxFileBytes: MAX_FILE_BYTES, bodyLimitBytes: 64 * 1024 },
    );
  });
  after(async () => {
    await app?.close();
    await index?.close();
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('JSON bodies (paths, options, search queries): 200 or 4xx', async () => {
    await fuzz(
      fc.asyncProperty(jsonRequest, async (request) => {
        await check(request);
      }),
      60,
    );
  });

  test('multipart bodies, well formed: 200 with per-image errors, or 4xx', async () => {
    await fuzz(
      fc.asyncProperty(multipartRequest, async (request) => {
        await check(request);
      }),
      60,
    );
  });

  test('any bytes as a multipart body: 4xx (or 200), never a 5xx', async () => {
    await fuzz(
      fc.asyncProperty(
        fc.constantFrom('/ingest/batch', '/search'),
        fc.uint8Array({ maxLength: 400 }),
        boundary,
        async (url, bytes, b) => {
          await check({
            method: 'POST',
            url,
            payload: Buffer.from(bytes),
            headers: { 'content-type': `multipart/form-data; boundary=${b}` },
          });
        },
      ),
      60,
    );
  });

  // Regressions: cases the fuzzer found, kept as explicit tests.
  const multipart = (text) => ({
    method: 'POST',
    url: '/ingest/batch',
    payload: Buffer.from(text.replace(/\n/g, '\r\n')),
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
  });
  test('a body cut inside a part is a 400, not a 500', async () => {
    await check(multipart('--b\nContent-Disposition: form-data; name="file"; filename="a.jpg"\n\nabc'));
  });
});
