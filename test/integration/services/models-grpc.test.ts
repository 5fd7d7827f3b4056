// The model server's KServe v2 gRPC endpoint on a real port, called the way a user would: a client generated at
// run time from proto/ by @grpc/proto-loader and grpc-js (no pitlane code on the client side), plus pitlane's own
// gRPC client. Behind it, real ONNX models: the affine test graph (FP32 and INT64 in; FP32, BOOL, FP16 and INT64
// out) and minilm-l6-arch from models.yaml through the local engine (INT64 in). HTTP and gRPC serve the same
// engine with one in-flight budget, as `pitlane serve models` runs them.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Client,
  credentials,
  loadPackageDefinition,
  status as Status,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { KServeClient } from '../../../dist/inference/kserve/client.js';
import { KServeGrpcClient } from '../../../dist/inference/kserve/grpc-client.js';
import { encodeBytesElements } from '../../../dist/inference/kserve/grpc-codec.js';
import { createLocalInference, type LocalInference } from '../../../dist/inference/tensor/local-inference.js';
import { loadModelRepository } from '../../../dist/inference/tensor/model-repository.js';
import type { Tensor } from '../../../dist/inference/tensor/tensor.js';
import { AffineEngine, suiteTempDir, until } from '../../../dist/inference/test-support.js';
import { InFlightBudget } from '../../../dist/services/http/request-limits.js';
import { buildModelServerApp, modelServerRequestLimits } from '../../../dist/services/models/app.js';
import { grpcHandlers } from '../../../dist/services/models/grpc/handlers.js';
import { startModelGrpcServer, type ModelGrpcServer } from '../../../dist/services/models/grpc/server.js';
import type { InferenceEngine } from '../../../dist/inference/tensor/tensor.js';
import type { ModelControl } from '../../../dist/inference/tensor/model-control.js';
import type { RequestLimit } from '../../../dist/services/http/request-limits.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PROTO = join(ROOT, 'proto');

type Json = Record<string, unknown>;
type Callback = (err: ServiceError | null, res: Json) => void;
type UnaryMethod = (request: Json, callback: Callback) => unknown;
interface GeneratedClient extends Client {
  ModelStreamInfer(): ClientDuplexStream<Json, Json>;
}

/** The protocol as a user loads it. */
const definition = loadSync('grpc_service.proto', {
  includeDirs: [PROTO],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const generated = loadPackageDefinition(definition) as unknown as {
  inference: {
    GRPCInferenceService: (new (address: string, creds: unknown) => GeneratedClient) & { service: Json };
  };
};
const Service = generated.inference.GRPCInferenceService;

/** A unary call of the generated client; rejects with the ServiceError. */
function call(client: GeneratedClient, rpc: string, request: Json = {}): Promise<Json> {
  const method = (client as unknown as Record<string, UnaryMethod>)[rpc];
  assert.ok(method !== undefined, `the generated client has ${rpc}`);
  return new Promise((resolve, reject) => {
    method.call(client, request, (err, res) => {
      if (err === null) resolve(res);
      else reject(err);
    });
  });
}

/** The ServiceError a call rejects with. */
async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('the call succeeded');
}

const f32 = (xs: readonly number[]): Buffer => Buffer.from(new Float32Array(xs).buffer);
const i64 = (xs: readonly bigint[]): Buffer => Buffer.from(new BigInt64Array(xs).buffer);

/** A good affine request with raw contents: X [rows,4], B [4], IDS [2]. */
function affineRequest(id: string, rows = 1): Json {
  return {
    model_name: 'affine',
    id,
    inputs: [
      { name: 'X', datatype: 'FP32', shape: [rows, 4] },
      { name: 'B', datatype: 'FP32', shape: [4] },
      { name: 'IDS', datatype: 'INT64', shape: [2] },
    ],
    raw_input_contents: [
      f32(Array.from({ length: rows * 4 }, (_, i) => i - 1)),
      f32([0.5, 0.5, 0.5, 0.5]),
      i64([41n, -7n]),
    ],
  };
}

/** The same as tensors, for pitlane's client. */
function affineTensors(): Tensor[] {
  return [
    { name: 'X', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) },
    { name: 'B', datatype: 'FP32', shape: [4], data: new Float32Array(4) },
    { name: 'IDS', datatype: 'INT64', shape: [1], data: new BigInt64Array(1) },
  ];
}

interface Both {
  readonly http: string;
  readonly grpc: ModelGrpcServer;
  readonly client: GeneratedClient;
  readonly budget: InFlightBudget;
  close(): Promise<void>;
}

/** HTTP and gRPC over one engine and one in-flight budget, as `pitlane serve models` runs them. */
async function serveBoth(
  engine: InferenceEngine,
  options: { bodyLimitBytes?: number; inFlightLimitBytes?: number; control?: ModelControl } = {},
): Promise<Both> {
  const bodyLimitBytes = options.bodyLimitBytes ?? 64 * 1024 * 1024;
  const [, limit] = modelServerRequestLimits(
    bodyLimitBytes,
    Math.max(bodyLimitBytes, options.inFlightLimitBytes ?? 256 * 1024 * 1024),
  ) as [RequestLimit, RequestLimit];
  const budget = new InFlightBudget(limit);
  const app = buildModelServerApp({
    engine,
    version: 'test',
    models: () => [],
    bodyLimitBytes,
    inFlight: budget,
    ...(options.control !== undefined && { control: options.control }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address !== null ? address.port : 0;
  const grpc = await startModelGrpcServer(
    {
      engine,
      version: 'test',
      bodyLimitBytes,
      inFlight: budget,
      ...(options.control !== undefined && { control: options.control }),
    },
    '127.0.0.1',
    0,
  );
  const client = new Service(`127.0.0.1:${grpc.port}`, credentials.createInsecure());
  return {
    http: `http://127.0.0.1:${httpPort}`,
    grpc,
    client,
    budget,
    close: async () => {
      client.close();
      await grpc.close(1000);
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
    },
  };
}

describe('models gRPC: the affine model through a generated client', () => {
  const dir = suiteTempDir('pitlane-grpc-');
  let engine: AffineEngine;
  let both: Both;

  before(async () => {
    engine = await AffineEngine.load(dir(), 1);
    both = await serveBoth(engine, { bodyLimitBytes: 64 * 1024, inFlightLimitBytes: 64 * 1024 });
  });
  after(async () => {
    await both.close();
    await engine.close();
  });

  test('every RPC of the .proto has a handler', () => {
    const rpcs = Object.keys(Service.service).sort();
    assert.equal(rpcs.length, 12);
    const handlers = grpcHandlers({
      engine,
      budget: both.budget,
      metrics: null,
      serverName: 'x',
      version: 'x',
      control: null,
    });
    assert.deepEqual(Object.keys(handlers).sort(), rpcs);
  });

  test('live, ready, model ready (an unknown model is not ready, as Triton answers), metadata', async () => {
    const { client } = both;
    assert.deepEqual(await call(client, 'ServerLive'), { live: true });
    assert.deepEqual(await call(client, 'ServerReady'), { ready: true });
    assert.deepEqual(await call(client, 'ModelReady', { name: 'affine' }), { ready: true });
    assert.deepEqual(await call(client, 'ModelReady', { name: 'affine', version: '1' }), { ready: true });
    assert.deepEqual(await call(client, 'ModelReady', { name: 'nope' }), { ready: false });
    assert.deepEqual(await call(client, 'ServerMetadata'), {
      name: 'pitlane',
      version: 'test',
      extensions: [],
    });
    const meta = await call(client, 'ModelMetadata', { name: 'affine' });
    assert.equal(meta.platform, 'onnxruntime_onnx');
    assert.deepEqual(meta.versions, ['1']);
    assert.deepEqual(meta.inputs, [
      { name: 'X', datatype: 'FP32', shape: [-1, 4] },
      { name: 'B', datatype: 'FP32', shape: [4] },
      { name: 'IDS', datatype: 'INT64', shape: [-1] },
    ]);
    const unknown = await failure(call(client, 'ModelMetadata', { name: 'nope' }));
    assert.equal(unknown.code, Status.NOT_FOUND);
    assert.match(unknown.details, /unknown model 'nope'/);
  });

  test('infer with raw contents: outputs come back raw, in order, with the id', async () => {
    const res = await call(both.client, 'ModelInfer', affineRequest('r1', 2));
    assert.equal(res.model_name, 'affine');
    assert.equal(res.model_version, '1');
    assert.equal(res.id, 'r1');
    const outputs = res.outputs as Json[];
    assert.deepEqual(
      outputs.map((o) => [o.name, o.datatype, o.shape, o.contents]),
      [
        ['Y', 'FP32', [2, 4], null],
        ['POSITIVE', 'BOOL', [2, 4], null],
        ['Y_HALF', 'FP16', [2, 4], null],
        ['IDS_NEXT', 'INT64', [2], null],
      ],
    );
    const raw = res.raw_output_contents as Buffer[];
    assert.equal(raw.length, 4);
    const y = new Float32Array(new Uint8Array(raw[0]!).buffer);
    assert.deepEqual([...y], [-1.5, 0.5, 2.5, 4.5, 6.5, 8.5, 10.5, 12.5]);
    assert.deepEqual([...raw[1]!], [0, 0, 1, 1, 1, 1, 1, 1]);
    assert.equal(raw[2]!.byteLength, 16);
    assert.deepEqual([...new BigInt64Array(new Uint8Array(raw[3]!).buffer)], [42n, -6n]);
  });

  test('infer with typed contents (FP32, INT64), outputs asked typed with binary_data_output: false', async () => {
    const res = await call(both.client, 'ModelInfer', {
      model_name: 'affine',
      parameters: { binary_data_output: { bool_param: false } },
      inputs: [
        { name: 'X', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, -2, 3, -4] } },
        { name: 'B', datatype: 'FP32', shape: [4], contents: { fp32_contents: [0, 0, 0, 1] } },
        { name: 'IDS', datatype: 'INT64', shape: [3], contents: { int64_contents: [1, 2, 2 ** 40] } },
      ],
      outputs: [{ name: 'Y' }, { name: 'POSITIVE' }, { name: 'IDS_NEXT' }],
    });
    assert.deepEqual(res.raw_output_contents, []);
    const outputs = res.outputs as { name: string; contents: Json }[];
    assert.deepEqual(
      outputs.map((o) => o.name),
      ['Y', 'POSITIVE', 'IDS_NEXT'],
    );
    assert.deepEqual(outputs[0]!.contents.fp32_contents, [2, -4, 6, -7]);
    assert.deepEqual(outputs[1]!.contents.bool_contents, [true, false, true, false]);
    assert.deepEqual(outputs[2]!.contents.int64_contents, [2, 3, 2 ** 40 + 1]);
    // One output asked typed makes them all typed; FP16 has no typed field, so that is refused by name.
    const half = await failure(
      call(both.client, 'ModelInfer', {
        ...affineRequest('h'),
        outputs: [{ name: 'Y_HALF', parameters: { binary_data: { bool_param: false } } }],
      }),
    );
    assert.equal(half.code, Status.INVALID_ARGUMENT);
    assert.match(half.details, /output 'Y_HALF' is FP16, which has no typed contents field/);
  });

  test('bad requests: INVALID_ARGUMENT naming the tensor, NOT_FOUND for an unknown model or version', async () => {
    const { client } = both;
    const bad = async (request: Json, code: Status, message: RegExp): Promise<void> => {
      const err = await failure(call(client, 'ModelInfer', request));
      assert.equal(err.code, code, `${err.details} for ${JSON.stringify(request).slice(0, 200)}`);
      assert.match(err.details, message);
    };
    const good = affineRequest('b');
    const inputs = good.inputs as Json[];
    const raw = good.raw_input_contents as Buffer[];
    await bad({ ...good, model_name: 'nope' }, Status.NOT_FOUND, /unknown model 'nope'/);
    await bad({ ...good, model_version: '7' }, Status.NOT_FOUND, /unknown version '7' of model 'affine'/);
    await bad({ ...good, model_name: '' }, Status.INVALID_ARGUMENT, /model_name is missing/);
    // A shape the model does not take (the engine's check) and raw bytes that do not fill the shape (the codec's).
    await bad(
      {
        ...good,
        inputs: [{ ...inputs[0], shape: [1, 3] }, inputs[1], inputs[2]],
        raw_input_contents: [f32([1, 2, 3]), raw[1], raw[2]],
      },
      Status.INVALID_ARGUMENT,
      /input 'X' has shape \[1,3\]; the model takes \[-1,4\]/,
    );
    await bad(
      { ...good, raw_input_contents: [f32([1, 2, 3]), raw[1], raw[2]] },
      Status.INVALID_ARGUMENT,
      /inputs\[0\] 'X': raw_input_contents has 12 bytes but shape \[1,4\] of FP32 is 16 bytes/,
    );
    await bad(
      { ...good, raw_input_contents: [raw[0], raw[1]] },
      Status.INVALID_ARGUMENT,
      /raw_input_contents has 2 entries for 3 inputs/,
    );
    await bad(
      { ...good, inputs: [{ ...inputs[0], datatype: 'FLOAT32' }, inputs[1], inputs[2]] },
      Status.INVALID_ARGUMENT,
      /unknown datatype 'FLOAT32' of input 'X' \(use FP32/,
    );
    await bad(
      { ...good, inputs: [{ ...inputs[0], shape: [1, -4] }, inputs[1], inputs[2]] },
      Status.INVALID_ARGUMENT,
      /inputs\[0\] 'X': shape\[1\] is -4, negative/,
    );
    await bad(
      {
        model_name: 'affine',
        inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3] } }],
      },
      Status.INVALID_ARGUMENT,
      /inputs\[0\] 'X': shape \[1,4\] holds 4 elements, contents.fp32_contents has 3/,
    );
    await bad(
      {
        model_name: 'affine',
        inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 4], contents: { int_contents: [1, 2, 3, 4] } }],
      },
      Status.INVALID_ARGUMENT,
      /contents.int_contents is not the field of FP32; its elements go in contents.fp32_contents/,
    );
    // BYTES: the framing is read (4-byte little-endian lengths), then refused: no model here takes BYTES.
    const text = encodeBytesElements([Buffer.from('hello'), Buffer.from('')]);
    await bad(
      {
        model_name: 'affine',
        inputs: [{ name: 'T', datatype: 'BYTES', shape: [2] }],
        raw_input_contents: [Buffer.from(text)],
      },
      Status.INVALID_ARGUMENT,
      /datatype BYTES of input 'T' is not supported by pitlane/,
    );
    await bad(
      {
        model_name: 'affine',
        inputs: [{ name: 'T', datatype: 'BYTES', shape: [3] }],
        raw_input_contents: [Buffer.from(text)],
      },
      Status.INVALID_ARGUMENT,
      /inputs\[0\] 'T': the shape holds 3 BYTES elements, raw contents have 2/,
    );
    await bad(
      {
        model_name: 'affine',
        inputs: [{ name: 'T', datatype: 'BYTES', shape: [1] }],
        raw_input_contents: [Buffer.from([9, 0, 0, 0, 65])],
      },
      Status.INVALID_ARGUMENT,
      /BYTES element 0 declares 9 bytes, 1 are left/,
    );
    // The server is still answering.
    assert.equal((await call(client, 'ModelInfer', affineRequest('after'))).id, 'after');
  });

  test('malformed protobuf (bytes sent through a custom serializer): INVALID_ARGUMENT saying where', async () => {
    const raw = new Client(`127.0.0.1:${both.grpc.port}`, credentials.createInsecure());
    try {
      const send = (bytes: Buffer): Promise<ServiceError> =>
        new Promise((resolve, reject) => {
          raw.makeUnaryRequest(
            '/inference.GRPCInferenceService/ModelInfer',
            (b: Buffer) => b,
            (b: Buffer) => b,
            bytes,
            (err) => {
              if (err === null) reject(new Error('accepted malformed bytes'));
              else resolve(err);
            },
          );
        });
      // model_name (field 1) declares 16 bytes, 1 follows; protobufjs alone would decode it as "\x01".
      const cut = await send(Buffer.from([0x0a, 0x10, 0x01]));
      assert.equal(cut.code, Status.INVALID_ARGUMENT);
      assert.match(
        cut.details,
        /malformed ModelInferRequest: .*model_name \(field 1\) declares 16 bytes, 1 are left/,
      );
      // A nested message cut short is found where it is.
      const nested = await send(Buffer.from([0x2a, 0x04, 0x2a, 0x05, 0x35, 0x00]));
      assert.equal(nested.code, Status.INVALID_ARGUMENT);
      assert.match(nested.details, /inputs\[0\]: contents \(field 5\) declares 5 bytes, 2 are left/);
      const garbage = await send(Buffer.from([0xff, 0xff, 0xff]));
      assert.equal(garbage.code, Status.INVALID_ARGUMENT);
      // Other RPCs too.
      const other = await new Promise<ServiceError | null>((resolve) => {
        raw.makeUnaryRequest(
          '/inference.GRPCInferenceService/ModelMetadata',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0x7f]),
          (err) => resolve(err),
        );
      });
      assert.equal(other?.code, Status.INVALID_ARGUMENT);
    } finally {
      raw.close();
    }
    assert.equal((await call(both.client, 'ModelInfer', affineRequest('still'))).id, 'still');
  });

  test('a message whose length prefix declares 2 GB: RESOURCE_EXHAUSTED from the prefix, and the server goes on', async () => {
    const session = connect(`http://127.0.0.1:${both.grpc.port}`);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/inference.GRPCInferenceService/ModelInfer',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const status = new Promise<{ code: string; message: string }>((resolve) => {
        const take = (headers: Record<string, string | string[] | undefined>): void => {
          const code = headers['grpc-status'];
          if (typeof code === 'string') {
            resolve({ code, message: decodeURIComponent(String(headers['grpc-message'] ?? '')) });
          }
        };
        stream.on('response', take);
        stream.on('trailers', take);
      });
      stream.on('error', () => undefined);
      stream.resume();
      // Uncompressed, 2^31 bytes; the first few bytes of it follow, the rest never will.
      const header = Buffer.alloc(5);
      header.writeUInt32BE(2 ** 31, 1);
      stream.write(Buffer.concat([header, Buffer.alloc(1024)]));
      const { code, message } = await status;
      assert.equal(code, String(Status.RESOURCE_EXHAUSTED));
      assert.match(message, /larger than max \(2147483648 vs 65536\)/);
      stream.close();
    } finally {
      session.close();
    }
    assert.equal((await call(both.client, 'ModelInfer', affineRequest('next'))).id, 'next');
    assert.equal(both.budget.inFlight, 0);
  });

  test('a full queue: RESOURCE_EXHAUSTED (pitlane client: QueueFullError); one budget for HTTP and gRPC', async () => {
    const release = engine.hold();
    const pending: Promise<Json>[] = [];
    const started = engine.started;
    try {
      pending.push(call(both.client, 'ModelInfer', affineRequest('q1')));
      await until(() => engine.started === started + 1, 'the first request reaches the model');
      pending.push(call(both.client, 'ModelInfer', affineRequest('q2')));
      await until(() => engine.batcher.stats.queued === 1, 'the second request is queued');
      const full = await failure(call(both.client, 'ModelInfer', affineRequest('q3')));
      assert.equal(full.code, Status.RESOURCE_EXHAUSTED);
      assert.match(full.details, /the queue is full/);
      assert.match(String(full.metadata.get('retry-after')[0]), /^\d+$/);
      const ours = new KServeGrpcClient({ url: `grpc://127.0.0.1:${both.grpc.port}` });
      try {
        await assert.rejects(ours.infer('affine', { inputs: affineTensors() }), (err: Error) => {
          assert.equal(err.name, 'QueueFullError');
          assert.equal((err as Error & { retryAfterMs: number }).retryAfterMs >= 1000, true);
          return true;
        });
      } finally {
        await ours.close();
      }
      // The two held requests hold their bytes of the budget both protocols share: a large HTTP body and a
      // large gRPC message that would not fit beside them are refused, 429 and RESOURCE_EXHAUSTED.
      const held = both.budget.inFlight;
      assert.ok(held > 0);
      const rows = Math.floor((both.budget.limit.value - held) / 16) - 4;
      const big = affineRequest('big', rows);
      const overGrpc = await failure(call(both.client, 'ModelInfer', big));
      assert.equal(overGrpc.code, Status.RESOURCE_EXHAUSTED, overGrpc.details);
      assert.match(overGrpc.details, /in flight; the limit is 64 KiB \(--max-inflight-mb\)/);
      const body = Buffer.alloc(both.budget.limit.value - held + 1, 0x20);
      const overHttp = await fetch(`${both.http}/v2/models/affine/infer`, { method: 'POST', body });
      assert.equal(overHttp.status, 429);
      await overHttp.arrayBuffer();
    } finally {
      release();
    }
    const answers = await Promise.all(pending);
    assert.deepEqual(
      answers.map((a) => a.id),
      ['q1', 'q2'],
    );
    await until(() => both.budget.inFlight === 0, 'the budget is given back');
  });

  test('a client that cancels: the engine drops the queued request (its AbortSignal), the budget is given back', async () => {
    const release = engine.hold();
    const before = engine.inferences;
    let first: Promise<Json> | undefined;
    try {
      const started = engine.started;
      first = call(both.client, 'ModelInfer', affineRequest('c1'));
      await until(() => engine.started === started + 1, 'c1 reaches the model');
      const firstBytes = both.budget.inFlight;
      const ours = new KServeGrpcClient({ url: `grpc://127.0.0.1:${both.grpc.port}` });
      const controller = new AbortController();
      const second = ours.infer('affine', {
        signal: controller.signal,
        inputs: affineTensors(),
      });
      await until(() => engine.batcher.stats.queued === 1, 'the second request is queued');
      controller.abort(new Error('the caller gave up'));
      await assert.rejects(second, /the caller gave up/);
      await until(() => both.budget.inFlight === firstBytes, 'the cancelled request leaves the server');
      assert.equal(engine.batcher.stats.queued, 0);
      await ours.close();
    } finally {
      release();
    }
    assert.equal((await first).id, 'c1');
    assert.equal(engine.inferences, before + 1, 'the cancelled request never ran');
  });

  test('stream infer: answers in order; a failure is an error_message and the stream goes on', async () => {
    const stream = both.client.ModelStreamInfer();
    const answers: Json[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: Json) => answers.push(m));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write(affineRequest('s1', 3));
    stream.write(affineRequest('s2', 1));
    stream.write({ ...affineRequest('s3'), model_name: 'nope' });
    stream.write({ ...affineRequest('s4'), raw_input_contents: [] });
    stream.write(affineRequest('s5', 2));
    stream.end();
    await done;
    assert.equal(answers.length, 5);
    const ids = answers.map((a) => (a.infer_response as Json | null)?.id ?? null);
    assert.deepEqual(ids, ['s1', 's2', null, null, 's5']);
    assert.equal(answers[0]!.error_message, '');
    assert.match(String(answers[2]!.error_message), /unknown model 'nope'/);
    assert.match(
      String(answers[3]!.error_message),
      /inputs\[0\] 'X': no elements: give contents.fp32_contents/,
    );
    assert.deepEqual(((answers[4]!.infer_response as Json).outputs as Json[])[0]!.shape, [2, 4]);
  });

  test("pitlane's gRPC client: the engine's errors, its address checked, an unreachable server named", async () => {
    const ours = new KServeGrpcClient({ url: `grpc://127.0.0.1:${both.grpc.port}` });
    try {
      assert.equal(await ours.live(), true);
      assert.equal(await ours.modelReady('nope'), false);
      await assert.rejects(ours.modelMetadata('nope'), {
        name: 'ModelNotFoundError',
        message: "unknown model 'nope'",
      });
      await assert.rejects(ours.infer('nope', { inputs: affineTensors() }), { name: 'ModelNotFoundError' });
      await assert.rejects(
        ours.infer('affine', { inputs: affineTensors().slice(1) }),
        (err: Error) => err.name === 'InferenceInputError' && /input 'X' is missing/.test(err.message),
      );
      const result = await ours.infer('affine', {
        id: 'mine',
        inputs: affineTensors(),
        outputs: ['IDS_NEXT'],
      });
      assert.equal(result.id, 'mine');
      assert.deepEqual(
        result.outputs.map((t) => [t.name, t.datatype, [...t.data]]),
        [['IDS_NEXT', 'INT64', [1n]]],
      );
    } finally {
      await ours.close();
    }
    assert.throws(() => new KServeGrpcClient({ url: 'http://127.0.0.1:8001' }), /must be grpc:\/\/host:port/);
    assert.throws(() => new KServeGrpcClient({ url: 'grpc://127.0.0.1' }), /has no port/);
    // A port nothing listens on (the gRPC server's own, once it is closed).
    const gone = await startModelGrpcServer({ engine, version: 'test' }, '127.0.0.1', 0);
    await gone.close();
    const unreachable = new KServeGrpcClient({ url: `grpc://127.0.0.1:${gone.port}`, timeoutMs: 5000 });
    try {
      await assert.rejects(
        unreachable.live(),
        /cannot reach the KServe gRPC server at grpc:\/\/127\.0\.0\.1:\d+ \(ServerLive\)/,
      );
    } finally {
      await unreachable.close();
    }
  });

  test('shutdown: calls in flight get the drain time, then a stream still open is cancelled', async () => {
    const server = await startModelGrpcServer({ engine, version: 'test' }, '127.0.0.1', 0);
    const client = new Service(`127.0.0.1:${server.port}`, credentials.createInsecure());
    try {
      const stream = client.ModelStreamInfer();
      const answers: Json[] = [];
      const ended = new Promise<ServiceError | null>((resolve) => {
        stream.on('data', (m: Json) => answers.push(m));
        stream.on('error', (err: ServiceError) => resolve(err));
        stream.on('end', () => resolve(null));
      });
      stream.write(affineRequest('before-close'));
      await until(() => answers.length === 1, 'the stream answers');
      // The client never half-closes: the drain ends at its bound and the stream is cancelled.
      await server.close(200);
      const err = await ended;
      assert.ok(err !== null && [Status.CANCELLED, Status.UNAVAILABLE].includes(err.code), String(err?.code));
      // A new call finds nothing listening.
      const refused = await failure(call(client, 'ServerLive'));
      assert.equal(refused.code, Status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  test("Triton's extensions without a ModelControl: UNIMPLEMENTED", async () => {
    for (const [rpc, request] of [
      ['ModelConfig', { name: 'affine' }],
      ['ModelStatistics', {}],
      ['RepositoryIndex', {}],
      ['RepositoryModelLoad', { model_name: 'affine' }],
      ['RepositoryModelUnload', { model_name: 'affine' }],
    ] as const) {
      const err = await failure(call(both.client, rpc, request));
      assert.equal(err.code, Status.UNIMPLEMENTED, rpc);
      assert.match(err.details, /not offered by this server/);
    }
  });
});

describe('models gRPC: minilm-l6-arch through the local engine, against HTTP', () => {
  let local: LocalInference;
  let both: Both;
  let grpcClient: KServeGrpcClient;
  let httpClient: KServeClient;

  before(async () => {
    const spec = (await loadModelRepository(join(ROOT, 'models.yaml'))).find(
      (s) => s.id === 'minilm-l6-arch',
    );
    assert.ok(spec, 'minilm-l6-arch is in models.yaml');
    // The whole repository is known (Triton's index lists it); only minilm-l6-arch is loaded.
    const repository = await loadModelRepository(join(ROOT, 'models.yaml'));
    local = await createLocalInference([spec], { repository: repository.filter((s) => s !== spec) });
    both = await serveBoth(local, { control: local });
    grpcClient = new KServeGrpcClient({ url: `grpc://127.0.0.1:${both.grpc.port}` });
    httpClient = new KServeClient({ url: both.http });
  });
  after(async () => {
    await grpcClient.close();
    await httpClient.close();
    await both.close();
    await local.close();
  });

  test('the same outputs over gRPC (raw and typed INT64) as over HTTP for the same inputs', async () => {
    const meta = await grpcClient.modelMetadata('minilm-l6-arch');
    assert.deepEqual(meta, await httpClient.modelMetadata('minilm-l6-arch'));
    const ids = [101n, 7592n, 2088n, 2003n, 1037n, 3231n, 102n];
    const inputs: Tensor[] = meta.inputs.map((m) => ({
      name: m.name,
      datatype: 'INT64',
      shape: [1, ids.length],
      data: new BigInt64Array(
        m.name === 'input_ids' ? ids : m.name === 'attention_mask' ? ids.map(() => 1n) : ids.map(() => 0n),
      ),
    }));
    const overHttp = await httpClient.infer('minilm-l6-arch', { inputs });
    const overGrpc = await grpcClient.infer('minilm-l6-arch', { inputs });
    // The time split comes back in the server-timing trailer, with the names of HTTP's Server-Timing header.
    assert.deepEqual(Object.keys(overGrpc.serverTiming ?? {}), [
      'decode',
      'queue',
      'input',
      'infer',
      'output',
      'encode',
    ]);
    assert.ok((overGrpc.serverTiming?.infer ?? 0) > 0);
    assert.deepEqual(
      overGrpc.outputs.map((t) => [t.name, t.datatype, t.shape]),
      overHttp.outputs.map((t) => [t.name, t.datatype, t.shape]),
    );
    for (const [k, t] of overGrpc.outputs.entries())
      assert.deepEqual([...t.data], [...overHttp.outputs[k]!.data]);
    // Typed INT64 contents in, typed FP32 out, through the generated client.
    const typed = await call(both.client, 'ModelInfer', {
      model_name: 'minilm-l6-arch',
      parameters: { binary_data_output: { bool_param: false } },
      inputs: inputs.map((t) => ({
        name: t.name,
        datatype: 'INT64',
        shape: t.shape,
        contents: { int64_contents: Array.from(t.data as BigInt64Array, Number) },
      })),
    });
    const first = (typed.outputs as { name: string; contents: Json }[])[0]!;
    assert.equal(first.name, overHttp.outputs[0]!.name);
    assert.deepEqual(first.contents.fp32_contents, [...overHttp.outputs[0]!.data]);
  });

  test("Triton's extensions through ModelControl: config, statistics, repository index, unload and load", async () => {
    const { client } = both;
    const metadata = await call(client, 'ServerMetadata');
    assert.deepEqual(metadata.extensions, ['model_repository', 'model_configuration', 'statistics']);
    const { config } = (await call(client, 'ModelConfig', { name: 'minilm-l6-arch' })) as { config: Json };
    assert.equal(config.name, 'minilm-l6-arch');
    assert.equal(config.platform, 'onnxruntime_onnx');
    assert.equal(config.backend, 'onnxruntime');
    const inputs = config.input as Json[];
    assert.deepEqual(
      inputs.map((t) => [t.name, t.data_type]),
      [
        ['input_ids', 'TYPE_INT64'],
        ['attention_mask', 'TYPE_INT64'],
        ['token_type_ids', 'TYPE_INT64'],
      ],
    );
    assert.equal((config.instance_group as Json[])[0]!.kind, 'KIND_CPU');
    const unknownConfig = await failure(call(client, 'ModelConfig', { name: 'nope' }));
    assert.equal(unknownConfig.code, Status.NOT_FOUND);

    const stats = (await call(client, 'ModelStatistics', { name: 'minilm-l6-arch' })).model_stats as Json[];
    assert.equal(stats.length, 1);
    assert.equal(stats[0]!.name, 'minilm-l6-arch');
    assert.equal(stats[0]!.version, '1');
    const success = (stats[0]!.inference_stats as Record<string, Json>).success!;
    assert.ok((success.count as number) >= 3, `success count ${String(success.count)}`);
    assert.ok((success.ns as number) > 0);

    const index = (await call(client, 'RepositoryIndex', {})).models as Json[];
    assert.deepEqual(
      index.find((m) => m.name === 'minilm-l6-arch'),
      { name: 'minilm-l6-arch', version: '1', state: 'READY', reason: '' },
    );
    const other = index.find((m) => m.name === 'coco-ssd');
    assert.equal(other?.state, 'UNAVAILABLE');
    const ready = (await call(client, 'RepositoryIndex', { ready: true })).models as Json[];
    assert.deepEqual(
      ready.map((m) => m.name),
      ['minilm-l6-arch'],
    );

    const withConfig = await failure(
      call(client, 'RepositoryModelLoad', {
        model_name: 'minilm-l6-arch',
        parameters: { config: { string_param: '{}' } },
      }),
    );
    assert.equal(withConfig.code, Status.INVALID_ARGUMENT);
    assert.match(withConfig.details, /parameters 'config': loading with a config or files/);
    const unknownLoad = await failure(call(client, 'RepositoryModelLoad', { model_name: 'nope' }));
    assert.equal(unknownLoad.code, Status.NOT_FOUND);

    // Unloaded: not ready, and its requests UNAVAILABLE; loaded again: answering.
    await call(client, 'RepositoryModelUnload', {
      model_name: 'minilm-l6-arch',
      parameters: { unload_dependents: { bool_param: false } },
    });
    assert.deepEqual(await call(client, 'ModelReady', { name: 'minilm-l6-arch' }), { ready: false });
    const request = {
      model_name: 'minilm-l6-arch',
      inputs: ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({
        name,
        datatype: 'INT64',
        shape: [1, 2],
        contents: {
          int64_contents: name === 'input_ids' ? [101, 102] : name === 'attention_mask' ? [1, 1] : [0, 0],
        },
      })),
    };
    const unavailable = await failure(call(client, 'ModelInfer', request));
    assert.equal(unavailable.code, Status.UNAVAILABLE, unavailable.details);
    assert.equal(
      unavailable.details,
      "model 'minilm-l6-arch' is not ready (UNAVAILABLE: unloaded); load it with RepositoryModelLoad",
    );
    await call(client, 'RepositoryModelLoad', { model_name: 'minilm-l6-arch' });
    assert.deepEqual(await call(client, 'ModelReady', { name: 'minilm-l6-arch' }), { ready: true });
    const answer = await call(client, 'ModelInfer', request);
    assert.deepEqual((answer.outputs as Json[])[0]!.shape, [1, 2, 384]);
  });
});
