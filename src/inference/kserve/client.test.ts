import { InferenceInputError, ModelNotFoundError, QueueFullError } from '../../core/errors.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serve, type Served } from '../../services/models/test-support.js';
import { type InferenceResult, type Tensor } from '../tensor/tensor.js';
import { AFFINE, suiteTempDir, until } from '../test-support.js';
import { KServeClient } from './client.js';

// -----------------------------------------------------------------------------------------------------------
// Helpers

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const X = new Float32Array([1, -2, 3, 0.5, -1, 0, 2, 4]);
const B = new Float32Array([0.25, 0, 0, 1]);
const Y = [2.25, -4, 6, 2, -1.75, 0, 4, 9];
/** FP16 bits of Y. */
const Y_HALF = [0x4080, 0xc400, 0x4600, 0x4000, 0xbf00, 0x0000, 0x4400, 0x4880];

function inputs(rows = 2): Tensor[] {
  const x = new Float32Array(rows * 4);
  for (let i = 0; i < x.length; i++) x[i] = X[i % 8]!;
  return [
    { name: 'X', datatype: 'FP32', shape: [rows, 4], data: x },
    { name: 'B', datatype: 'FP32', shape: [4], data: B },
    { name: 'IDS', datatype: 'INT64', shape: [3], data: new BigInt64Array([0n, 41n, 2n ** 62n]) },
  ];
}

function summary(result: InferenceResult): unknown[] {
  return result.outputs.map((t) => [t.name, t.datatype, t.shape, [...t.data]]);
}

// -----------------------------------------------------------------------------------------------------------

describe('KServeClient against the model server on a real port', () => {
  let dir: string;
  let server: Served;
  let client: KServeClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pitlane-kserve-client-'));
    server = await serve(dir);
    client = new KServeClient({ url: `${server.url}/`, connections: 4 });
  });
  after(async () => {
    await client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('server metadata, liveness and readiness', async () => {
    assert.equal(client.url, server.url);
    assert.deepEqual(await client.serverMetadata(), {
      name: 'pitlane',
      version: 'test',
      extensions: ['binary_tensor_data'],
    });
    assert.equal(await client.live(), true);
    assert.equal(await client.ready(), true);
    assert.equal(await client.modelReady('affine'), true);
    assert.equal(await client.modelReady('affine', '1'), true);
    assert.equal(await client.modelReady('affine', '2'), false);
    assert.equal(await client.modelReady('nope'), false);
    server.engine.loaded = false;
    try {
      assert.equal(await client.ready(), false);
      assert.equal(await client.modelReady('affine'), false);
    } finally {
      server.engine.loaded = true;
    }
  });

  test('model metadata; ModelNotFoundError for an unknown model or version', async () => {
    assert.deepEqual(await client.modelMetadata('affine'), AFFINE);
    assert.deepEqual(await client.modelMetadata('affine', '1'), AFFINE);
    await assert.rejects(client.modelMetadata('resnet'), (err: unknown) => {
      assert.ok(err instanceof ModelNotFoundError);
      assert.equal(err.model, 'resnet');
      assert.equal(err.version, undefined);
      return true;
    });
    await assert.rejects(client.modelMetadata('affine', '9'), {
      name: 'ModelNotFoundError',
      message: "unknown version '9' of model 'affine'",
    });
  });

  test('infer with binary tensors (the default): every output, FP16 and INT64 beyond 2^53 included', async () => {
    const result = await client.infer('affine', { id: 'a-1', inputs: inputs() });
    assert.equal(result.modelName, 'affine');
    assert.equal(result.modelVersion, '1');
    assert.equal(result.id, 'a-1');
    assert.deepEqual(summary(result), [
      ['Y', 'FP32', [2, 4], Y],
      ['POSITIVE', 'BOOL', [2, 4], [...X].map((x) => (x > 0 ? 1 : 0))],
      ['Y_HALF', 'FP16', [2, 4], Y_HALF],
      ['IDS_NEXT', 'INT64', [3], [1n, 42n, 2n ** 62n + 1n]],
    ]);
    // The server's Server-Timing (this engine gives no split of its own: decoding and encoding only).
    assert.deepEqual(Object.keys(result.serverTiming ?? {}), ['decode', 'encode']);
  });

  test('infer with JSON: outputs chosen by name, in the order asked', async () => {
    const json = new KServeClient({ url: server.url, binary: false });
    try {
      const result = await json.infer('affine', { inputs: inputs(), outputs: ['IDS_NEXT', 'Y'] }, '1');
      assert.deepEqual(summary(result), [
        ['IDS_NEXT', 'INT64', [3], [1n, 42n, 2n ** 62n + 1n]],
        ['Y', 'FP32', [2, 4], Y],
      ]);
      // JSON cannot carry FP16: the server says so, naming the output.
      await assert.rejects(json.infer('affine', { inputs: inputs() }), (err: unknown) => {
        assert.ok(err instanceof InferenceInputError);
        assert.match(err.message, /^output 'Y_HALF' is FP16, which JSON cannot carry/);
        return true;
      });
    } finally {
      await json.close();
    }
  });

  test('binary outputs asked for by name come back by name', async () => {
    const result = await client.infer('affine', { inputs: inputs(1), outputs: ['Y_HALF'] });
    assert.deepEqual(summary(result), [['Y_HALF', 'FP16', [1, 4], Y_HALF.slice(0, 4)]]);
  });

  test('concurrent requests over the pool all get their own answers', async () => {
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        client.infer('affine', { id: `c${i}`, inputs: inputs(1 + (i % 3)), outputs: ['Y'] }),
      ),
    );
    results.forEach((r, i) => {
      assert.equal(r.id, `c${i}`);
      assert.deepEqual(r.outputs[0]!.shape, [1 + (i % 3), 4]);
    });
  });

  test('400 → InferenceInputError with the server message; 404 → ModelNotFoundError', async () => {
    const wrong: Tensor[] = [
      { name: 'X', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) },
      ...inputs().slice(1),
    ];
    await assert.rejects(client.infer('affine', { inputs: wrong }), {
      name: 'InferenceInputError',
      message: "input 'X' has shape [1,3]; the model takes [-1,4]",
    });
    const short: Tensor = { name: 'X', datatype: 'FP32', shape: [2, 4], data: new Float32Array(3) };
    await assert.rejects(client.infer('affine', { inputs: [short] }), {
      name: 'InferenceInputError',
      message: "inputs[0] 'X': shape [2,4] holds 8 elements, data has 3",
    });
    await assert.rejects(client.infer('yolo', { inputs: inputs() }), {
      name: 'ModelNotFoundError',
      message: "unknown model 'yolo'",
    });
    await assert.rejects(client.infer('affine', { inputs: inputs() }, '3'), {
      name: 'ModelNotFoundError',
      message: "unknown version '3' of model 'affine'",
    });
  });

  test('abort: the signal passes through, the call rejects with its reason, the server drops the request', async () => {
    const release = server.engine.hold();
    const started = server.engine.started;
    const abandoned = server.engine.batcher.stats.abandoned;
    const first = client.infer('affine', { inputs: inputs(), outputs: ['Y'] });
    await until(() => server.engine.started === started + 1, 'the first request is at the model');
    const controller = new AbortController();
    const second = client.infer('affine', { inputs: inputs(), outputs: ['Y'], signal: controller.signal });
    await until(() => server.engine.batcher.stats.queued === 1, 'the second request is queued');
    const reason = new Error('the user cancelled');
    controller.abort(reason);
    await assert.rejects(second, (err: unknown) => err === reason);
    await until(() => server.engine.batcher.stats.abandoned === abandoned + 1, 'the server drops it');
    release();
    assert.deepEqual((await first).outputs[0]!.shape, [2, 4]);
    assert.equal(server.engine.started, started + 1);
  });

  test('timeoutMs: an Error naming the URL and the wait', async () => {
    const slow = new KServeClient({ url: server.url, timeoutMs: 50 });
    const release = server.engine.hold();
    try {
      await assert.rejects(slow.infer('affine', { inputs: inputs(), outputs: ['Y'] }), {
        message: `${server.url}: no answer to POST /v2/models/affine/infer within 50 ms`,
      });
    } finally {
      release();
      await slow.close();
    }
  });
});

describe('KServeClient: overload, unreachable servers and Triton’s error answers', () => {
  const tempDir = suiteTempDir('pitlane-kserve-client-');

  test('429 → QueueFullError with the Retry-After delay', async () => {
    const server = await serve(tempDir(), { queueCapacity: 1 });
    const client = new KServeClient({ url: server.url });
    try {
      const release = server.engine.hold();
      const running = client.infer('affine', { inputs: inputs(), outputs: ['Y'] });
      await until(() => server.engine.started === 1, 'the first request is at the model');
      const queued = client.infer('affine', { inputs: inputs(), outputs: ['Y'] });
      await until(() => server.engine.batcher.stats.queued === 1, 'the second request is queued');
      await assert.rejects(client.infer('affine', { inputs: inputs(), outputs: ['Y'] }), (err: unknown) => {
        assert.ok(err instanceof QueueFullError);
        assert.ok(err.retryAfterMs >= 1000);
        assert.equal(err.queued, 1);
        return true;
      });
      release();
      await running;
      await queued;
    } finally {
      await client.close();
      await server.close();
    }
  });

  test('413 → an Error naming the URL, the status and the server message', async () => {
    const server = await serve(tempDir(), { bodyLimitBytes: 1024 });
    const client = new KServeClient({ url: server.url });
    try {
      await assert.rejects(client.infer('affine', { inputs: inputs(64), outputs: ['Y'] }), {
        message:
          `${server.url}: POST /v2/models/affine/infer answered 413: ` +
          'the request body is over the limit of 1 KiB (--max-body-mb)',
      });
      const small = await client.infer('affine', { inputs: inputs(1), outputs: ['Y'] });
      assert.deepEqual(small.outputs[0]!.shape, [1, 4]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test('a closed port: every call rejects with an Error naming the URL', async () => {
    const port = await closedPort();
    const client = new KServeClient({ url: `http://127.0.0.1:${port}` });
    try {
      const refused = new RegExp(
        `^Error: cannot reach the KServe server at http://127\\.0\\.0\\.1:${port} .*ECONNREFUSED`,
      );
      await assert.rejects(client.infer('affine', { inputs: inputs() }), refused);
      await assert.rejects(client.ready(), refused);
      await assert.rejects(client.modelMetadata('affine'), refused);
    } finally {
      await client.close();
    }
    assert.throws(() => new KServeClient({ url: 'localhost:8000' }), /must be http:\/\/ or https:\/\//);
  });

  test('Triton’s error answers: 400 unknown model, 503 queue full, 500, non-JSON bodies, BYTES tensors', async () => {
    // Answers as Triton's HTTP server words them (src/http_server.cc, model_repository_manager.cc).
    const triton: Server = createServer((req, res) => {
      const send = (status: number, body: string, type = 'application/json'): void => {
        res.writeHead(status, { 'content-type': type }).end(body);
      };
      req.resume();
      if (req.url === '/v2/models/gone')
        send(400, '{"error":"Request for unknown model: \'gone\' is not found"}');
      else if (req.url === '/v2/models/gone/versions/4/infer') {
        send(400, '{"error":"Request for unknown model: \'gone\' version 4 is not found"}');
      } else if (req.url === '/v2/models/busy/infer') send(503, '{"error":"Exceeds maximum queue size"}');
      else if (req.url === '/v2/models/broken/infer')
        send(500, '{"error":"onnx runtime error 6: Non-zero status code"}');
      else if (req.url === '/v2/models/proxied/infer') send(502, '<html>Bad Gateway</html>', 'text/html');
      else if (req.url === '/v2/models/text') {
        send(
          200,
          JSON.stringify({
            name: 'text',
            versions: ['1'],
            platform: 'python',
            inputs: [{ name: 'T', datatype: 'BYTES', shape: [-1] }],
            outputs: [],
          }),
        );
      } else send(404, '');
    });
    await new Promise<void>((resolve) => triton.listen(0, '127.0.0.1', resolve));
    const address = triton.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const client = new KServeClient({ url });
    try {
      await assert.rejects(client.modelMetadata('gone'), {
        name: 'ModelNotFoundError',
        message: "unknown model 'gone'",
      });
      await assert.rejects(client.infer('gone', { inputs: inputs() }, '4'), { name: 'ModelNotFoundError' });
      await assert.rejects(client.infer('busy', { inputs: inputs() }), (err: unknown) => {
        assert.ok(err instanceof QueueFullError);
        assert.equal(err.retryAfterMs, 1000);
        return true;
      });
      await assert.rejects(client.infer('broken', { inputs: inputs() }), {
        message: `${url}: POST /v2/models/broken/infer answered 500: onnx runtime error 6: Non-zero status code`,
      });
      await assert.rejects(client.infer('proxied', { inputs: inputs() }), {
        message: `${url}: POST /v2/models/proxied/infer answered 502: <html>Bad Gateway</html>`,
      });
      await assert.rejects(client.modelMetadata('text'), {
        message: `${url}: input 'T' of model 'text' has datatype BYTES, which pitlane does not support`,
      });
    } finally {
      await client.close();
      await new Promise<void>((resolve) => triton.close(() => resolve()));
    }
  });
});
