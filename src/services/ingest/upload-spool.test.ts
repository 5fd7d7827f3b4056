// The ingest service's multipart reading on a real listener, with a stand-in pipeline (no models): what reaches
// the pipeline, the limits, the temp folder after every request, and property-based fuzzing of broken bodies
// (FUZZ_RUNS cases; `npm run fuzz` sets 10^4): every answer is 200, 400 or 413, never a 500 or a hang, and
// nothing is left in the temp folder.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { SearchIndex } from '../../index/index-port.js';
import { listen } from '../http/lifecycle.js';
import type { IngestPipeline } from './pipeline/ingest-pipeline.js';
import type { IngestItem } from './pipeline/ingest-types.js';
import { buildIngestApp, type IngestState } from './app.js';

// A temp folder of this test's own: os.tmpdir() reads TMPDIR at every call.
const TEMP = mkdtempSync(join(tmpdir(), 'pitlane-spool-test-'));
process.env.TMPDIR = TEMP;

const BOUNDARY = 'spool-test-boundary';
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

/** What the stand-in pipeline was given, per request. */
type Seen = { name: string; bytes?: Buffer; reason?: string; message?: string }[];
const seen: Seen[] = [];

const pipeline = {
  ingest: (items: readonly IngestItem[]) => {
    seen.push(
      items.map((i) =>
        'spooled' in i
          ? { name: i.name, bytes: readFileSync(i.spooled) }
          : 'refused' in i
            ? { name: i.name, reason: i.refused.reason, message: i.refused.message }
            : { name: i.name },
      ),
    );
    const errors = items.flatMap((item, index) =>
      'refused' in item
        ? [{ index, name: item.name, reason: item.refused.reason, message: item.refused.message }]
        : [],
    );
    return Promise.resolve({
      response: {
        status: 'success',
        total: items.length,
        processed: items.length - errors.length,
        duplicates: 0,
        errors_count: errors.length,
        indexed: { global: items.length - errors.length, vehicles: 0, people: 0, faces: 0, ocr: 0 },
        near_duplicates: 0,
        total_time_ms: 0,
        errors,
      },
      outcomes: [],
    });
  },
} as unknown as IngestPipeline;

function part(field: string, filename: string | null, bytes: Buffer): Buffer {
  const disposition =
    filename === null ? `form-data; name="${field}"` : `form-data; name="${field}"; filename="${filename}"`;
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n\r\n`),
    bytes,
    Buffer.from('\r\n'),
  ]);
}
const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);

interface Answer {
  readonly status: number;
  readonly json: { status: string; error?: string; errors?: { reason: string; message: string }[] };
}

/**
 * POSTs `body` (with Content-Length, or chunked in 1 KiB pieces) and resolves with the answer; rejects when the
 * connection closes without one, or when no answer came in 20 s (a hang, whatever the machine's load).
 */
function send(
  port: number,
  body: Buffer,
  options: { chunked?: boolean; contentType?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      'content-type': options.contentType ?? `multipart/form-data; boundary=${BOUNDARY}`,
    };
    if (options.chunked !== true) headers['content-length'] = String(body.length);
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer in 20 s: the service hangs on this body'));
    }, 20_000);
    const req = request(
      { host: '127.0.0.1', port, path: '/ingest/batch', method: 'POST', headers, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Answer['json'] });
        });
      },
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (options.chunked === true) {
      for (let i = 0; i < body.length; i += 1024) req.write(body.subarray(i, i + 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

describe('multipart uploads of the ingest service: spooled, limited, cleaned up', () => {
  let app: FastifyInstance;
  let port = 0;

  before(async () => {
    const state: IngestState = { pipeline, index: {} as SearchIndex, ready: true };
    app = buildIngestApp(state, {
      version: 'test',
      maxBatchImages: 4,
      maxFileBytes: 1000,
      maxRequestBytes: 20_000,
      bodyLimitBytes: 4096,
    });
    port = await listen(app, '127.0.0.1', 0);
  });
  after(async () => {
    await app.close();
  });

  test('files reach the pipeline spooled, byte for byte; one over the per-file limit fails alone; nothing is left', async () => {
    const a = Buffer.alloc(900, 1);
    const b = Buffer.alloc(1500, 2);
    const c = Buffer.from('tiny');
    const body = Buffer.concat([
      part('x', 'a.jpg', a),
      part('enable_ocr', null, Buffer.from('false')),
      part('y', 'b.jpg', b),
      part('z', '', c),
      CLOSE,
    ]);
    for (const chunked of [false, true]) {
      const { status, json } = await send(port, body, { chunked });
      assert.equal(status, 200, JSON.stringify(json));
      const last = seen.at(-1);
      assert.deepEqual(
        last?.map((s) => [s.name, s.bytes?.length ?? null, s.reason ?? null]),
        [
          ['a.jpg', 900, null],
          ['b.jpg', null, 'too-large'],
          ['z[2]', 4, null],
        ],
      );
      assert.deepEqual(last[0]?.bytes, a);
      assert.deepEqual(last[2]?.bytes, c);
      assert.match(
        last[1]?.message ?? '',
        /^b\.jpg: the file of form field 'y' is over the limit of 1000 bytes \(--max-file-mb\)/,
      );
      assert.deepEqual(readdirSync(TEMP), []);
    }
  });

  test('over the body limit (declared or counted) or the image count: 413 naming the limit and the flag', async () => {
    const files = Array.from({ length: 5 }, (_, i) => part(`f${i}`, `${i}.jpg`, Buffer.alloc(10, i)));
    const many = await send(port, Buffer.concat([...files, CLOSE]));
    assert.equal(many.status, 413);
    assert.match(many.json.error ?? '', /the batch is 5 files; the limit is 4 files \(--max-batch\)/);
    const big = Buffer.concat([
      ...Array.from({ length: 30 }, (_, i) => part(`f${i % 3}`, 'x.jpg', Buffer.alloc(800))),
      CLOSE,
    ]);
    const declared = await send(port, big);
    assert.equal(declared.status, 413);
    assert.match(
      declared.json.error ?? '',
      /request body is .*; the limit is 19\.5 KiB \(--max-request-mb\)/,
    );
    const counted = await send(port, big, { chunked: true });
    assert.equal(counted.status, 413);
    assert.match(
      counted.json.error ?? '',
      /request body is over the limit of 19\.5 KiB \(--max-request-mb\)/,
    );
    assert.deepEqual(readdirSync(TEMP), []);
  });

  test('fuzz: a mangled multipart body is answered 200, 400 or 413, never 500 or not at all; nothing is left', async () => {
    const valid = Buffer.concat([
      part('a', 'a.jpg', Buffer.alloc(300, 7)),
      part('box_embeddings', null, Buffer.from('false')),
      part('b', 'b.jpg', Buffer.alloc(1200, 8)),
      CLOSE,
    ]);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(valid.length) }),
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.array(fc.nat(valid.length - 1), { minLength: 1, maxLength: 8 }),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(valid.length),
        bytes: fc.uint8Array({ maxLength: 64 }),
      }),
      fc.record({ kind: fc.constant('boundary' as const), text: fc.string({ maxLength: 80 }) }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, fc.boolean(), async (m, chunked) => {
        let body = valid;
        let contentType: string | undefined;
        switch (m.kind) {
          case 'cut':
            body = valid.subarray(0, m.at);
            break;
          case 'flip':
            body = Buffer.from(valid);
            for (const i of m.at) body[i] = m.value;
            break;
          case 'insert':
            body = Buffer.concat([valid.subarray(0, m.at), m.bytes, valid.subarray(m.at)]);
            break;
          case 'boundary':
            contentType = `multipart/form-data; boundary=${m.text.replace(/[\r\n]/g, '')}`;
            break;
        }
        const { status, json } = await send(port, body, { chunked, ...(contentType ? { contentType } : {}) });
        assert.ok([200, 400, 413].includes(status), `${status} ${JSON.stringify(json)}`);
        if (status !== 200) assert.equal(json.status, 'error');
        assert.deepEqual(readdirSync(TEMP), []);
      }),
      { numRuns: RUNS },
    );
  });
});
