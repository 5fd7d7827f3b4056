// Triton's HTTP extensions (model repository, model configuration, statistics) and the Server-Timing header of
// `pitlane serve models`: the real server on a real port over the local engine, its models real ONNX graphs run
// on worker threads.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { KServeClient } from '../../../dist/inference/kserve/client.js';
import {
  createLocalInference,
  openLocalInference,
  type LocalInference,
} from '../../../dist/inference/tensor/local-inference.js';
import type {
  RepositoryModel,
  TritonModelConfig,
  TritonModelStatistics,
} from '../../../dist/inference/tensor/model-control.js';
import { validateModelRepository, type ModelSpec } from '../../../dist/inference/tensor/model-repository.js';
import { until, writeDoublerModel } from '../../../dist/inference/test-support.js';
import { buildModelServerApp } from '../../../dist/services/models/app.js';

type Json = Record<string, unknown>;

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the shape the test expects
  json<T = Json>(): T;
}

/** The JSON infer request of one FP32 [rows, 4] input X. */
function inferBody(rows: number[][]): string {
  return JSON.stringify({
    inputs: [{ name: 'X', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }],
  });
}

describe("Triton's HTTP extensions on the local engine", () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitlane-triton-ext-'));
  let engine: LocalInference;
  let app: FastifyInstance;
  let url = '';

  const call = async (path: string, init: { method?: string; body?: string } = {}): Promise<Answer> => {
    const res = await fetch(url + path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      ...(init.body !== undefined && { body: init.body, headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- as in Answer
    const json = <T>(): T => JSON.parse(text) as T;
    return { status: res.status, headers: res.headers, text, json };
  };
  const post = (path: string, body?: string): Promise<Answer> =>
    call(path, { method: 'POST', ...(body !== undefined && { body }) });
  const infer = (model: string, rows: number[][]): Promise<Answer> =>
    post(`/v2/models/${model}/infer`, inferBody(rows));
  const index = async (body?: string): Promise<RepositoryModel[]> => {
    const res = await post('/v2/repository/index', body);
    assert.equal(res.status, 200, res.text);
    return res.json<RepositoryModel[]>();
  };
  const stateOf = async (name: string): Promise<RepositoryModel | undefined> =>
    (await index()).find((m) => m.name === name);
  const statsOf = async (model: string): Promise<TritonModelStatistics> => {
    const res = await call(`/v2/models/${model}/stats`);
    assert.equal(res.status, 200, res.text);
    const [s] = res.json<{ model_stats: TritonModelStatistics[] }>().model_stats;
    assert.ok(s !== undefined);
    return s;
  };

  before(async () => {
    await writeDoublerModel(join(dir, 'doubler.onnx'));
    await writeDoublerModel(join(dir, 'fixed.onnx'), 1);
    writeFileSync(join(dir, 'broken.onnx'), 'not an ONNX model');
    const problems: { path: string; message: string }[] = [];
    const doubler = { paths: { onnx: 'doubler.onnx' } };
    const repository: ModelSpec[] =
      validateModelRepository(
        {
          models: {
            doubler: { name: 'batching', ...doubler },
            fixed: { name: 'not batching', paths: { onnx: 'fixed.onnx' } },
            // Its batches wait up to a minute for 4 requests: a request stays in flight until something runs it.
            slow: {
              name: 'waits for full batches',
              ...doubler,
              dynamic_batching: { preferred_batch_size: [4], max_queue_delay_microseconds: 60_000_000 },
            },
            spare: { name: 'not loaded at start', ...doubler, instances: 2 },
            broken: { name: 'a file that is not a model', paths: { onnx: 'broken.onnx' } },
          },
        },
        dir,
        problems,
      ) ?? [];
    assert.deepEqual(problems, []);
    const atStart = repository.filter((s) => ['doubler', 'fixed', 'slow'].includes(s.id));
    engine = await createLocalInference(atStart, { repository });
    app = buildModelServerApp({
      engine,
      version: 'test',
      models: () => repository.map((s) => ({ name: s.id, versions: ['1'] })),
      statistics: () => engine.statistics().map((s) => ({ ...s, model: s.name })),
      control: engine,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });

  after(async () => {
    await app.close();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('GET /v2 lists exactly the extensions served', async () => {
    const res = await call('/v2');
    assert.deepEqual(res.json().extensions, [
      'binary_tensor_data',
      'model_repository',
      'model_configuration',
      'statistics',
    ]);
  });

  test('the repository index lists every model of the file, loaded or not; ready: true only the ready ones', async () => {
    assert.deepEqual(await index(), [
      { name: 'doubler', version: '1', state: 'READY', reason: '' },
      { name: 'fixed', version: '1', state: 'READY', reason: '' },
      { name: 'slow', version: '1', state: 'READY', reason: '' },
      { name: 'spare', state: 'UNAVAILABLE', reason: 'unloaded' },
      { name: 'broken', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
    assert.deepEqual(
      (await index('{"ready": true}')).map((m) => m.name),
      ['doubler', 'fixed', 'slow'],
    );
    assert.equal((await index('{"ready": false}')).length, 5);
    assert.equal((await index('')).length, 5);
  });

  test('bad index bodies are 400s naming the problem', async () => {
    const cases: [string, RegExp][] = [
      ['{"ready": "yes"}', /^ready: must be a boolean .*got "yes"/],
      ['{"ready": true, "all": 1}', /^all: not supported/],
      ['{"ready": ', /not valid JSON/],
      ['[true]', /must be a JSON object, got \[true\]/],
      // Validated by the documented schema, without coercion: the refusal names the field by its JSON path.
      ['{"ready": "true"}', /^ready: must be a boolean \(true or false\), got "true"$/],
      ['{"ready": 1}', /^ready: must be a boolean \(true or false\), got 1$/],
      ['{"ready": true, "all": 1}', /^all: not supported; the fields taken here are: ready$/],
    ];
    for (const [body, message] of cases) {
      const res = await post('/v2/repository/index', body);
      assert.equal(res.status, 400, body);
      assert.match(res.json<{ error: string }>().error, message);
    }
    const big = await post('/v2/repository/index', JSON.stringify({ ready: true, pad: 'x'.repeat(70_000) }));
    assert.equal(big.status, 413);
    assert.equal(typeof big.json().error, 'string');
  });

  test("config: Triton's JSON for a batching model (dims without the batch dimension) and a non-batching one", async () => {
    const doubler = await call('/v2/models/doubler/config');
    assert.equal(doubler.status, 200);
    assert.deepEqual(doubler.json<TritonModelConfig>(), {
      name: 'doubler',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 4,
      input: [{ name: 'X', data_type: 'TYPE_FP32', dims: [4] }],
      output: [
        { name: 'Y', data_type: 'TYPE_FP32', dims: [4] },
        { name: 'S', data_type: 'TYPE_FP32', dims: [] },
      ],
      dynamic_batching: { preferred_batch_size: [], max_queue_delay_microseconds: 0 },
      instance_group: [{ name: 'doubler_0', kind: 'KIND_CPU', count: 1 }],
    });
    const slow = (await call('/v2/models/slow/versions/1/config')).json<TritonModelConfig>();
    assert.deepEqual(slow.dynamic_batching, {
      preferred_batch_size: [4],
      max_queue_delay_microseconds: 60_000_000,
    });
    const fixed = (await call('/v2/models/fixed/config')).json<TritonModelConfig>();
    assert.equal(fixed.max_batch_size, 0);
    assert.deepEqual(fixed.input, [{ name: 'X', data_type: 'TYPE_FP32', dims: [1, 4] }]);
    assert.deepEqual(fixed.output[1], { name: 'S', data_type: 'TYPE_FP32', dims: [1] });
    assert.equal('dynamic_batching' in fixed, false);
  });

  test('config of an unknown model or version is 404; of a model not loaded, 503', async () => {
    const unknown = await call('/v2/models/nope/config');
    assert.equal(unknown.status, 404);
    assert.match(unknown.json<{ error: string }>().error, /unknown model 'nope'/);
    const version = await call('/v2/models/doubler/versions/2/config');
    assert.equal(version.status, 404);
    assert.match(version.json<{ error: string }>().error, /unknown version '2' of model 'doubler'/);
    const unloaded = await call('/v2/models/spare/config');
    assert.equal(unloaded.status, 503);
    assert.match(
      unloaded.json<{ error: string }>().error,
      /model 'spare' is not ready \(UNAVAILABLE: unloaded\)/,
    );
  });

  test('statistics after N requests: exact counts, durations > 0, batch stats per size, failures in fail', async () => {
    const before = await statsOf('fixed');
    assert.equal(before.inference_count, 0);
    for (let i = 0; i < 5; i++) assert.equal((await infer('fixed', [[1, 2, 3, i]])).status, 200);
    const bad = await infer('fixed', [
      [1, 2, 3, 4],
      [1, 2, 3, 4],
    ]);
    assert.equal(bad.status, 400);
    const s = await statsOf('fixed');
    assert.equal(s.name, 'fixed');
    assert.equal(s.version, '1');
    assert.equal(s.inference_count, 5);
    assert.equal(s.execution_count, 5);
    assert.ok(s.last_inference > 0 && s.last_inference <= Date.now());
    const st = s.inference_stats;
    for (const part of ['success', 'queue', 'compute_input', 'compute_infer', 'compute_output'] as const) {
      assert.equal(st[part].count, 5, part);
    }
    for (const part of ['success', 'compute_infer'] as const) assert.ok(st[part].ns > 0, part);
    assert.equal(st.fail.count, 1);
    assert.deepEqual(st.cache_hit, { count: 0, ns: 0 });
    assert.deepEqual(
      s.batch_stats.map((b) => [b.batch_size, b.compute_infer.count, b.compute_input.count]),
      [[1, 5, 5]],
    );
    assert.ok((s.batch_stats[0]?.compute_infer.ns ?? 0) > 0);
    // A batching model: a request of 2 rows runs as a batch of 2.
    assert.equal(
      (
        await infer('doubler', [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
        ])
      ).status,
      200,
    );
    const d = await statsOf('doubler');
    assert.equal(d.inference_count, 2);
    assert.equal(d.inference_stats.success.count, 1);
    assert.deepEqual(
      d.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[2, 1]],
    );
    // The same numbers at every URL of the extension, and in /metrics under Triton's names.
    const all = (await call('/v2/models/stats')).json<{ model_stats: TritonModelStatistics[] }>().model_stats;
    assert.deepEqual(
      all.map((m) => m.name),
      ['doubler', 'fixed', 'slow'],
    );
    const versioned = await call('/v2/models/fixed/versions/1/stats');
    assert.equal(
      versioned.json<{ model_stats: TritonModelStatistics[] }>().model_stats[0]?.inference_count,
      5,
    );
    const metrics = (await call('/metrics')).text;
    for (const name of [
      'nv_inference_queue_duration_us',
      'nv_inference_compute_input_duration_us',
      'nv_inference_compute_infer_duration_us',
      'nv_inference_compute_output_duration_us',
    ]) {
      assert.match(metrics, new RegExp(`^${name}\\{model="fixed",version="1"\\} \\d`, 'm'), name);
    }
    assert.match(metrics, /^nv_inference_exec_count\{model="fixed",version="1"\} 5$/m);
  });

  test('statistics of an unknown model or version are 404; of a model never loaded, zero', async () => {
    assert.equal((await call('/v2/models/nope/stats')).status, 404);
    const version = await call('/v2/models/fixed/versions/7/stats');
    assert.equal(version.status, 404);
    assert.match(version.json<{ error: string }>().error, /unknown version '7'/);
    const never = await statsOf('broken');
    assert.equal(never.inference_count, 0);
    assert.equal(never.last_inference, 0);
  });

  test('Server-Timing on each infer answer: decode, queue, input, infer, output, encode in ms', async () => {
    const res = await infer('doubler', [[1, 2, 3, 4]]);
    assert.equal(res.status, 200);
    const header = res.headers.get('server-timing') ?? '';
    const entries = header.split(',').map((e) => {
      const m = /^\s*([a-z]+);dur=(\d+(?:\.\d+)?)\s*$/.exec(e);
      assert.ok(m !== null, `a W3C Server-Timing entry with a duration: ${e}`);
      return [m[1], Number(m[2])] as const;
    });
    assert.deepEqual(
      entries.map(([name]) => name),
      ['decode', 'queue', 'input', 'infer', 'output', 'encode'],
    );
    for (const [name, ms] of entries) assert.ok(Number.isFinite(ms) && ms >= 0, name);
    assert.ok((entries[3]?.[1] ?? 0) > 0, 'the model run took some time');

    // pitlane's KServe client gives each result the durations the server sent.
    const client = new KServeClient({ url });
    try {
      const result = await client.infer('doubler', {
        inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) }],
      });
      assert.deepEqual(Object.keys(result.serverTiming ?? {}), [
        'decode',
        'queue',
        'input',
        'infer',
        'output',
        'encode',
      ]);
      assert.ok((result.serverTiming?.infer ?? 0) > 0);
    } finally {
      await client.close();
    }
  });

  test('load and unload: the index follows, an unloaded model answers 503, a reload serves again', async () => {
    assert.equal((await infer('spare', [[1, 2, 3, 4]])).status, 503);
    const loaded = await post('/v2/repository/models/spare/load');
    assert.equal(loaded.status, 200, loaded.text);
    assert.deepEqual(await stateOf('spare'), { name: 'spare', version: '1', state: 'READY', reason: '' });
    const ok = await infer('spare', [[1, 2, 3, 4]]);
    assert.equal(ok.status, 200);
    assert.deepEqual((ok.json().outputs as Json[])[0]?.data, [3, 5, 7, 9]);
    assert.equal(
      (await post('/v2/repository/models/spare/load', '{}')).status,
      200,
      'loading a loaded model',
    );
    assert.equal((await post('/v2/repository/models/spare/unload', '{"parameters": {}}')).status, 200);
    assert.deepEqual(await stateOf('spare'), {
      name: 'spare',
      version: '1',
      state: 'UNAVAILABLE',
      reason: 'unloaded',
    });
    const gone = await infer('spare', [[1, 2, 3, 4]]);
    assert.equal(gone.status, 503);
    assert.equal(
      gone.json<{ error: string }>().error,
      "model 'spare' is not ready (UNAVAILABLE: unloaded); load it with POST /v2/repository/models/spare/load",
    );
    assert.equal((await call('/v2/models/spare/ready')).status, 503);
    assert.equal(
      (await post('/v2/repository/models/spare/unload')).status,
      200,
      'unloading an unloaded model',
    );
    // Concurrent loads and unloads of one model run one after the other, in the order asked.
    const answers = await Promise.all([
      post('/v2/repository/models/spare/load'),
      post('/v2/repository/models/spare/unload'),
      post('/v2/repository/models/spare/load'),
    ]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200],
    );
    assert.equal((await stateOf('spare'))?.state, 'READY');
    assert.equal((await infer('spare', [[1, 2, 3, 4]])).status, 200);
    // Statistics are kept since start, across the unload.
    assert.equal((await statsOf('spare')).inference_count, 2);
  });

  test('unload while a request is in flight: it completes, the next one gets 503', async () => {
    const inFlight = infer('slow', [[1, 1, 1, 1]]);
    await until(
      () => engine.statistics().find((s) => s.name === 'slow')?.queued === 1,
      'the request is queued',
    );
    const unloaded = await post('/v2/repository/models/slow/unload');
    assert.equal(unloaded.status, 200, unloaded.text);
    const answer = await inFlight;
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual((answer.json().outputs as Json[])[0]?.data, [3, 3, 3, 3]);
    assert.equal((await infer('slow', [[1, 1, 1, 1]])).status, 503);
    assert.equal((await stateOf('slow'))?.state, 'UNAVAILABLE');
  });

  test('load of an unknown model is 404; a load that fails is 400 naming the model and the error, and the index keeps the reason', async () => {
    const unknown = await post('/v2/repository/models/nope/load');
    assert.equal(unknown.status, 404);
    assert.match(unknown.json<{ error: string }>().error, /unknown model 'nope'/);
    assert.equal((await post('/v2/repository/models/nope/unload')).status, 404);
    const failed = await post('/v2/repository/models/broken/load');
    assert.equal(failed.status, 400);
    const error = failed.json<{ error: string }>().error;
    assert.match(error, /^failed to load 'broken': /);
    const state = await stateOf('broken');
    assert.ok(state !== undefined);
    assert.equal(state.state, 'UNAVAILABLE');
    assert.ok(state.reason !== '' && error.endsWith(state.reason), state.reason);
    assert.equal((await call('/v2/health/live')).status, 200, 'the server stays up');
  });

  test('load and unload bodies: fields pitlane does not honour are 400s naming them', async () => {
    const cases: [string, string, RegExp][] = [
      [
        'load',
        '{"parameters": {"config": "{}"}}',
        /^parameters\.config: not supported; pitlane loads models from its repository file/,
      ],
      [
        'load',
        '{"parameters": {"file:1/model.onnx": "AAAA"}}',
        /^parameters\.file:1\/model\.onnx: not supported/,
      ],
      ['load', '{"parameters": 3}', /^parameters: must be an object, got 3/],
      ['load', '{"model": "x"}', /^model: not supported/],
      [
        'unload',
        '{"parameters": {"unload_dependents": "yes"}}',
        /^parameters\.unload_dependents: must be a boolean/,
      ],
      ['unload', '{"parameters": {"force": true}}', /^parameters\.force: not supported/],
      ['unload', 'nope', /not valid JSON/],
      [
        'unload',
        '{"parameters": {"unload_dependents": 1}}',
        /^parameters\.unload_dependents: must be a boolean \(true or false\), got 1$/,
      ],
      ['unload', '{"parameters": []}', /^parameters: must be an object, got \[\]$/],
    ];
    for (const [action, body, message] of cases) {
      const res = await post(`/v2/repository/models/doubler/${action}`, body);
      assert.equal(res.status, 400, body);
      assert.match(res.json<{ error: string }>().error, message, body);
    }
    assert.equal(
      (await post('/v2/repository/models/fixed/unload', '{"parameters": {"unload_dependents": true}}'))
        .status,
      200,
    );
    assert.equal((await stateOf('fixed'))?.state, 'UNAVAILABLE');
    assert.equal((await stateOf('doubler'))?.state, 'READY', 'the refused requests changed nothing');
  });
});

describe('the repository while the server starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitlane-triton-start-'));
  let repository: ModelSpec[] = [];
  before(async () => {
    await writeDoublerModel(join(dir, 'doubler.onnx'));
    writeFileSync(join(dir, 'broken.onnx'), 'not an ONNX model');
    const problems: { path: string; message: string }[] = [];
    repository =
      validateModelRepository(
        {
          models: {
            a: { name: 'a', paths: { onnx: 'doubler.onnx' } },
            broken: { name: 'broken', paths: { onnx: 'broken.onnx' } },
            b: { name: 'b', paths: { onnx: 'doubler.onnx' } },
            c: { name: 'c', paths: { onnx: 'doubler.onnx' } },
          },
        },
        dir,
        problems,
      ) ?? [];
    assert.deepEqual(problems, []);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('the models being loaded are LOADING, the server not ready and their requests 503, until loaded', async () => {
    const engine = openLocalInference(repository);
    const app = buildModelServerApp({
      engine,
      version: 'test',
      models: () => repository.map((s) => ({ name: s.id, versions: ['1'] })),
      control: engine,
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
      const starting = engine.start(repository.filter((s) => s.id === 'a' || s.id === 'b'));
      /** The state of each model, in the index's order. */
      const states = async (): Promise<string> => {
        const res = await fetch(`${base}/v2/repository/index`, { method: 'POST' });
        const index = (await res.json()) as RepositoryModel[];
        return index.map((m) => `${m.name} ${m.state}`).join(', ');
      };
      assert.equal(await states(), 'a LOADING, broken UNAVAILABLE, b LOADING, c UNAVAILABLE');
      assert.equal((await fetch(`${base}/v2/health/ready`)).status, 503);
      const early = await fetch(`${base}/v2/models/b/infer`, {
        method: 'POST',
        body: inferBody([[1, 2, 3, 4]]),
      });
      assert.equal(early.status, 503);
      await starting;
      assert.equal(await states(), 'a READY, broken UNAVAILABLE, b READY, c UNAVAILABLE');
      assert.equal((await fetch(`${base}/v2/health/ready`)).status, 200);
    } finally {
      await app.close();
      await engine.close();
    }
  });

  test('a model that fails to load at start fails the start; the models after it are left unloaded', async () => {
    const engine = openLocalInference(repository);
    try {
      await assert.rejects(engine.start(repository.filter((s) => s.id !== 'c')), /broken\.onnx|broken/);
      assert.deepEqual(
        (await engine.repositoryIndex(false)).map((m) => [m.name, m.state, m.reason === '' ? '' : 'why']),
        [
          ['a', 'READY', ''],
          ['broken', 'UNAVAILABLE', 'why'],
          ['b', 'UNAVAILABLE', 'why'],
          ['c', 'UNAVAILABLE', 'why'],
        ],
      );
      assert.equal(await engine.ready(), false);
    } finally {
      await engine.close();
    }
  });
});
