import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeInferResponse } from '../../inference/kserve/codec.js';
import { AFFINE, until } from '../../inference/test-support.js';
import { serve, type Served } from './test-support.js';

// -----------------------------------------------------------------------------------------------------------
// Helpers

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  json(): Record<string, unknown>;
}

async function call(
  url: string,
  init: {
    method?: string;
    body?: Uint8Array | string;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  } = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    ...(init.body !== undefined && { body: init.body }),
    ...(init.headers !== undefined && { headers: init.headers }),
    ...(init.signal !== undefined && { signal: init.signal }),
  });
  const body = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: res.headers,
    body,
    json: () => JSON.parse(body.toString()) as Record<string, unknown>,
  };
}

const X = [1, -2, 3, 0.5, -1, 0, 2, 4];
const B = [0.25, 0, 0, 1];
const Y = [2.25, -4, 6, 2, -1.75, 0, 4, 9];
/** FP16 bits of Y. */
const Y_HALF = [0x4080, 0xc400, 0x4600, 0x4000, 0xbf00, 0x0000, 0x4400, 0x4880];

/** The JSON request of X (2 rows), B and IDS. */
function jsonRequest(extra: object = {}): string {
  return JSON.stringify({
    inputs: [
      { name: 'X', datatype: 'FP32', shape: [2, 4], data: [X.slice(0, 4), X.slice(4)] },
      { name: 'B', datatype: 'FP32', shape: [4], data: B },
      { name: 'IDS', datatype: 'INT64', shape: [3], data: [0, 41, 9007199254740990] },
    ],
    ...extra,
  });
}

/** The same request with X and IDS as binary data, B as JSON. */
function binaryRequest(extra: object = {}): { body: Buffer; headerLength: number } {
  const json = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'X', datatype: 'FP32', shape: [2, 4], parameters: { binary_data_size: 32 } },
        { name: 'B', datatype: 'FP32', shape: [4], data: B },
        { name: 'IDS', datatype: 'INT64', shape: [3], parameters: { binary_data_size: 24 } },
      ],
      ...extra,
    }),
  );
  const x = new Float32Array(X);
  const ids = new BigInt64Array([0n, 41n, 9007199254740990n]);
  return {
    body: Buffer.concat([json, new Uint8Array(x.buffer), new Uint8Array(ids.buffer)]),
    headerLength: json.byteLength,
  };
}

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A raw HTTP exchange, for bodies fetch would not send (chunked with no length, odd headers). */
function rawPost(
  url: string,
  path: string,
  headers: Record<string, string>,
  chunks: Uint8Array[],
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() });
      });
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

// -----------------------------------------------------------------------------------------------------------

describe('model server (KServe v2 over HTTP, ONNX Runtime behind it)', () => {
  let dir: string;
  let server: Served;
  const infer = (path = '/v2/models/affine/infer') => `${server.url}${path}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pitlane-kserve-app-'));
    server = await serve(dir);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('GET /v2: server metadata with the binary tensor data extension', async () => {
    const res = await call(`${server.url}/v2`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { name: 'pitlane', version: 'test', extensions: ['binary_tensor_data'] });
  });

  test('health and readiness: 200 with an empty body; 503 while the engine is not ready', async () => {
    for (const path of [
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models/affine/ready',
      '/v2/models/affine/versions/1/ready',
    ]) {
      const res = await call(`${server.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.body.byteLength, 0, path);
    }
    server.engine.loaded = false;
    try {
      assert.equal((await call(`${server.url}/v2/health/live`)).status, 200);
      const ready = await call(`${server.url}/v2/health/ready`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.byteLength, 0);
      const model = await call(`${server.url}/v2/models/affine/ready`);
      assert.equal(model.status, 503);
      assert.match(
        model.json().error as string,
        /model 'affine' is not ready yet; retry when GET \/v2\/models\/affine\/ready answers 200/,
      );
      const inferred = await call(infer(), {
        body: jsonRequest(),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(inferred.status, 503);
      assert.match(inferred.json().error as string, /not ready yet/);
    } finally {
      server.engine.loaded = true;
    }
    const unknown = await call(`${server.url}/v2/models/nope/ready`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json(), { error: "unknown model 'nope'" });
  });

  test('model metadata, with and without a version; 404 for an unknown model or version', async () => {
    for (const path of ['/v2/models/affine', '/v2/models/affine/versions/1']) {
      const res = await call(`${server.url}${path}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), AFFINE);
    }
    const model = await call(`${server.url}/v2/models/resnet`);
    assert.equal(model.status, 404);
    assert.deepEqual(model.json(), { error: "unknown model 'resnet'" });
    const version = await call(`${server.url}/v2/models/affine/versions/7`);
    assert.equal(version.status, 404);
    assert.deepEqual(version.json(), { error: "unknown version '7' of model 'affine'" });
    const route = await call(`${server.url}/v1/models/affine`);
    assert.equal(route.status, 404);
    assert.match(
      route.json().error as string,
      /no route GET \/v1\/models\/affine; the KServe v2 API is under \/v2/,
    );
  });

  test('infer with JSON: nested data in, flat data out; id echoed; FP16 asked for as binary', async () => {
    const res = await call(infer('/v2/models/affine/versions/1/infer'), {
      body: jsonRequest({
        id: 'req-42',
        outputs: [{ name: 'Y' }, { name: 'POSITIVE' }, { name: 'IDS_NEXT' }],
      }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('inference-header-content-length'), null);
    assert.deepEqual(res.json(), {
      model_name: 'affine',
      model_version: '1',
      id: 'req-42',
      outputs: [
        { name: 'Y', datatype: 'FP32', shape: [2, 4], data: Y },
        { name: 'POSITIVE', datatype: 'BOOL', shape: [2, 4], data: X.map((x) => x > 0) },
        { name: 'IDS_NEXT', datatype: 'INT64', shape: [3], data: [1, 42, 9007199254740991] },
      ],
    });
  });

  test('FP16 cannot go as JSON: 400 naming the output unless it is asked for as binary', async () => {
    const res = await call(infer(), { body: jsonRequest(), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.match(
      res.json().error as string,
      /^output 'Y_HALF' is FP16, which JSON cannot carry: ask for it as binary data/,
    );
  });

  test('binary outputs chosen per output: Y_HALF as bytes, Y as JSON, in one body', async () => {
    const res = await call(infer(), {
      body: jsonRequest({ outputs: [{ name: 'Y' }, { name: 'Y_HALF', parameters: { binary_data: true } }] }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    assert.equal(res.body.byteLength, headerLength + 16);
    const header = JSON.parse(res.body.subarray(0, headerLength).toString()) as { outputs: unknown[] };
    assert.deepEqual(header.outputs, [
      { name: 'Y', datatype: 'FP32', shape: [2, 4], data: Y },
      { name: 'Y_HALF', datatype: 'FP16', shape: [2, 4], parameters: { binary_data_size: 16 } },
    ]);
    const decoded = decodeInferResponse(res.body, headerLength, { modelName: '', modelVersion: '' });
    assert.deepEqual([...decoded.outputs[1]!.data], Y_HALF);
  });

  test('binary inputs (mixed with a JSON one) and binary_data_output, whatever the Content-Type', async () => {
    const { body, headerLength } = binaryRequest({ parameters: { binary_data_output: true } });
    for (const contentType of ['application/octet-stream', 'application/json', undefined]) {
      const headers: Record<string, string> = { 'inference-header-content-length': String(headerLength) };
      if (contentType !== undefined) headers['content-type'] = contentType;
      const res = await call(infer(), { body, headers });
      assert.equal(res.status, 200, `${contentType}: ${res.body.toString()}`);
      const hl = Number(res.headers.get('inference-header-content-length'));
      const result = decodeInferResponse(res.body, hl, { modelName: '', modelVersion: '' });
      assert.deepEqual(
        result.outputs.map((t) => [t.name, t.datatype, t.shape, [...t.data]]),
        [
          ['Y', 'FP32', [2, 4], Y],
          ['POSITIVE', 'BOOL', [2, 4], X.map((x) => (x > 0 ? 1 : 0))],
          ['Y_HALF', 'FP16', [2, 4], Y_HALF],
          ['IDS_NEXT', 'INT64', [3], [1n, 42n, 9007199254740991n]],
        ],
      );
    }
  });

  test('JSON with any Content-Type (curl -d sends a form type); gzip and deflate bodies', async () => {
    const body = jsonRequest({ outputs: [{ name: 'IDS_NEXT' }] });
    const expected = [{ name: 'IDS_NEXT', datatype: 'INT64', shape: [3], data: [1, 42, 9007199254740991] }];
    const form = await call(infer(), {
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 200);
    assert.deepEqual(form.json().outputs, expected);
    const gz = await rawPost(
      server.url,
      '/v2/models/affine/infer',
      { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      [gzipSync(body)],
    );
    assert.equal(gz.status, 200, gz.body);
    assert.deepEqual((JSON.parse(gz.body) as { outputs: unknown }).outputs, expected);
    const br = await rawPost(server.url, '/v2/models/affine/infer', { 'content-encoding': 'br' }, [
      Buffer.from(body),
    ]);
    assert.equal(br.status, 415);
    assert.equal(br.headers['accept-encoding'], 'gzip, deflate');
    assert.match(br.body, /Content-Encoding 'br' is not supported; use gzip, deflate or identity/);
  });

  test('400: malformed bodies and tensors that do not fit the model, each message naming the tensor', async () => {
    const post = (
      body: Uint8Array | string,
      headers: Record<string, string> = { 'content-type': 'application/json' },
    ) => call(infer(), { body, headers });
    const cases: [Promise<Answer>, RegExp][] = [
      [post('{"inputs": ['), /^the request is not valid JSON/],
      [
        post(JSON.stringify({ inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 4], data: [1, 2] }] })),
        /^inputs\[0\] 'X': shape \[1,4\] holds 4 elements, data has 2$/,
      ],
      [
        post(JSON.stringify({ inputs: [{ name: 'X', datatype: 'FLOAT32', shape: [1], data: [1] }] })),
        /^unknown datatype 'FLOAT32' of input 'X' \(use FP32;/,
      ],
      [
        post(
          JSON.stringify({
            inputs: [
              { name: 'X', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] },
              { name: 'B', datatype: 'FP32', shape: [4], data: B },
              { name: 'IDS', datatype: 'INT64', shape: [1], data: [1] },
            ],
          }),
        ),
        /^input 'X' has shape \[1,3\]; the model takes \[-1,4\]$/,
      ],
      [
        post(binaryRequest().body, { 'inference-header-content-length': '99999' }),
        /^header length 99999 is larger than the body \(\d+ bytes\)$/,
      ],
      [post(''), /^the request has no body/],
    ];
    for (const [answer, message] of cases) {
      const res = await answer;
      assert.equal(res.status, 400, res.body.toString());
      assert.match(res.json().error as string, message);
    }
  });

  test('404 for an unknown model or version of infer', async () => {
    const model = await call(infer('/v2/models/yolo/infer'), {
      body: jsonRequest(),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(model.status, 404);
    assert.deepEqual(model.json(), { error: "unknown model 'yolo'" });
    const version = await call(infer('/v2/models/affine/versions/2/infer'), {
      body: jsonRequest(),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(version.status, 404);
    assert.deepEqual(version.json(), { error: "unknown version '2' of model 'affine'" });
  });

  test('the client went away: the request is dropped before inference (499)', async () => {
    const release = server.engine.hold();
    const abandonedBefore = server.engine.batcher.stats.abandoned;
    const startedBefore = server.engine.started;
    const first = call(infer(), { body: jsonRequest({ outputs: [{ name: 'Y' }] }) });
    await until(() => server.engine.started === startedBefore + 1, 'the first request is at the model');
    const controller = new AbortController();
    const second = call(infer(), {
      body: jsonRequest({ outputs: [{ name: 'Y' }] }),
      signal: controller.signal,
    });
    await until(() => server.engine.batcher.stats.queued === 1, 'the second request is queued');
    controller.abort();
    await assert.rejects(second, { name: 'AbortError' });
    await until(() => server.engine.batcher.stats.abandoned === abandonedBefore + 1, 'the server drops it');
    assert.equal(server.engine.batcher.stats.queued, 0);
    release();
    assert.equal((await first).status, 200);
    assert.equal(server.engine.started, startedBefore + 1, 'the abandoned request never reached the model');
  });
});

describe('model server limits, overload and metrics', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pitlane-kserve-limits-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('413 over the body limit: by Content-Length, chunked, and once decompressed', async () => {
    const server = await serve(dir, { bodyLimitBytes: 1024 });
    try {
      const message = /^the request body is over the limit of 1 KiB \(--max-body-mb\)$/;
      const big = await call(`${server.url}/v2/models/affine/infer`, {
        body: Buffer.alloc(2000, 0x20),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(big.status, 413);
      assert.match(big.json().error as string, message);
      // A body far over the limit: its rest is read and dropped before the answer, so the client (still
      // sending) gets the 413 rather than a broken pipe.
      const huge = await call(`${server.url}/v2/models/affine/infer`, {
        body: Buffer.alloc(8_000_000, 0x20),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(huge.status, 413);
      assert.match(huge.json().error as string, message);
      const chunked = await rawPost(
        server.url,
        '/v2/models/affine/infer',
        { 'transfer-encoding': 'chunked' },
        [Buffer.alloc(700, 0x20), Buffer.alloc(700, 0x20)],
      );
      assert.equal(chunked.status, 413);
      assert.match((JSON.parse(chunked.body) as { error: string }).error, message);
      const bomb = await rawPost(server.url, '/v2/models/affine/infer', { 'content-encoding': 'gzip' }, [
        gzipSync(Buffer.alloc(100_000, 0x20)),
      ]);
      assert.equal(bomb.status, 413);
      // Under the limit, the same server answers.
      const ok = await call(`${server.url}/v2/models/affine/infer`, {
        body: jsonRequest({ outputs: [{ name: 'Y' }] }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(ok.status, 200);
    } finally {
      await server.close();
    }
  });

  test('429 + Retry-After when the request bytes in flight are at their limit, before the body is read', async () => {
    const one = Buffer.byteLength(jsonRequest({ outputs: [{ name: 'Y' }] }));
    // Room for one request in flight, not two.
    const server = await serve(dir, { bodyLimitBytes: one + 10, inFlightLimitBytes: one + 10 });
    try {
      const release = server.engine.hold();
      const body = jsonRequest({ outputs: [{ name: 'Y' }] });
      const running = call(`${server.url}/v2/models/affine/infer`, { body });
      await until(() => server.engine.started === 1, 'the first request is at the model');
      const refused = await call(`${server.url}/v2/models/affine/infer`, { body });
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.match(
        refused.json().error as string,
        new RegExp(
          `^overloaded: ${one} bytes in flight; the limit is ${one + 10} bytes \\(--max-inflight-mb\\)`,
        ),
      );
      // Without a declared length (chunked), its bytes are taken as they come: refused too.
      const chunked = await rawPost(
        server.url,
        '/v2/models/affine/infer',
        { 'transfer-encoding': 'chunked' },
        [Buffer.from(body)],
      );
      assert.equal(chunked.status, 429);
      release();
      assert.equal((await running).status, 200);
      // Given back once answered: the next ones are served, declared or chunked.
      assert.equal((await call(`${server.url}/v2/models/affine/infer`, { body })).status, 200);
      const again = await rawPost(server.url, '/v2/models/affine/infer', { 'transfer-encoding': 'chunked' }, [
        Buffer.from(body),
      ]);
      assert.equal(again.status, 200);
    } finally {
      await server.close();
    }
  });

  test('429 with Retry-After when the engine queue is full; the queued requests still succeed', async () => {
    const server = await serve(dir, { queueCapacity: 1 });
    try {
      const release = server.engine.hold();
      const body = jsonRequest({ outputs: [{ name: 'Y' }] });
      const running = call(`${server.url}/v2/models/affine/infer`, { body });
      await until(() => server.engine.started === 1, 'the first request is at the model');
      const queued = call(`${server.url}/v2/models/affine/infer`, { body });
      await until(() => server.engine.batcher.stats.queued === 1, 'the second request is queued');
      const refused = await call(`${server.url}/v2/models/affine/infer`, { body });
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.match(
        refused.json().error as string,
        /^overloaded: the queue is full \(1 sequences waiting\); retry in \d+ s$/,
      );
      release();
      assert.equal((await running).status, 200);
      assert.equal((await queued).status, 200);
      const text = (await call(`${server.url}/metrics`)).body.toString();
      assert.equal(
        metricValue(text, 'nv_inference_request_failure{model="affine",version="1",reason="REJECTED"}'),
        1,
      );
    } finally {
      await server.close();
    }
  });

  test("/metrics: Triton's counters by model and version; unknown models add no series", async () => {
    const server = await serve(dir);
    try {
      const idle = (await call(`${server.url}/metrics`)).body.toString();
      assert.equal(metricValue(idle, 'nv_inference_request_success{model="affine",version="1"}'), 0);
      assert.equal(metricValue(idle, 'nv_inference_count{model="affine",version="1"}'), 0);
      const post = (path: string, body: string) =>
        call(`${server.url}${path}`, { body, headers: { 'content-type': 'application/json' } });
      const twoRows = jsonRequest({ outputs: [{ name: 'Y' }] });
      const threeRows = JSON.stringify({
        inputs: [
          { name: 'X', datatype: 'FP32', shape: [3, 4], data: Array(12).fill(1) },
          { name: 'B', datatype: 'FP32', shape: [4], data: B },
          { name: 'IDS', datatype: 'INT64', shape: [1], data: [1] },
        ],
        outputs: [{ name: 'Y' }],
      });
      assert.equal((await post('/v2/models/affine/infer', twoRows)).status, 200);
      assert.equal((await post('/v2/models/affine/versions/1/infer', threeRows)).status, 200);
      assert.equal((await post('/v2/models/affine/infer', '{"inputs": 3}')).status, 400);
      assert.equal((await post('/v2/models/other/infer', twoRows)).status, 404);
      const res = await call(`${server.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = res.body.toString();
      const labels = '{model="affine",version="1"}';
      assert.equal(metricValue(text, `nv_inference_request_success${labels}`), 2);
      assert.equal(
        metricValue(text, 'nv_inference_request_failure{model="affine",version="1",reason="OTHER"}'),
        1,
      );
      assert.equal(metricValue(text, `nv_inference_count${labels}`), 5, 'batch sizes 2 + 3');
      assert.equal(metricValue(text, `nv_inference_exec_count${labels}`), 2);
      assert.equal(metricValue(text, `nv_inference_pending_request_count${labels}`), 0);
      assert.ok((metricValue(text, `nv_inference_request_duration_us${labels}`) ?? 0) > 0);
      assert.match(text, /# TYPE nv_inference_request_duration_us counter/);
      assert.doesNotMatch(text, /model="other"/);
      assert.match(text, /^pitlane_process_cpu_seconds_total /m);
    } finally {
      await server.close();
    }
  });

  test('/metrics with the engine statistics hook: executions and queue time come from the engine', async () => {
    const server = await serve(dir, { statistics: true });
    try {
      const body = jsonRequest({ outputs: [{ name: 'Y' }] });
      for (let i = 0; i < 3; i++) {
        assert.equal((await call(`${server.url}/v2/models/affine/infer`, { body })).status, 200);
      }
      const text = (await call(`${server.url}/metrics`)).body.toString();
      const labels = '{model="affine",version="1"}';
      assert.equal(metricValue(text, `nv_inference_exec_count${labels}`), 3);
      assert.equal(metricValue(text, `nv_inference_count${labels}`), 6);
      assert.equal(metricValue(text, `nv_inference_queue_duration_us${labels}`), 1234);
      assert.equal(metricValue(text, `nv_inference_request_success${labels}`), 3);
    } finally {
      await server.close();
    }
  });
});
