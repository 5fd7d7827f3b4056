import { InferenceInputError, ModelNotFoundError, QueueFullError } from '../../core/errors.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { INLINE_MAX_RUN_MS, createLocalInference, type LocalInference } from './local-inference.js';
import { validateModelRepository, type ModelSpec } from './model-repository.js';
import { type Tensor } from './tensor.js';
import { globalAveragePool, normalizeRows } from './output-processing.js';
import { writeDoublerModel } from '../test-support.js';

/** A models.yaml entry, validated like a real one. */
function specs(dir: string, models: Record<string, unknown>): ModelSpec[] {
  const problems: { path: string; message: string }[] = [];
  const out = validateModelRepository({ models }, dir, problems);
  assert.deepEqual(problems, []);
  return out ?? [];
}

const x = (rows: number[][]): Tensor => ({
  name: 'X',
  datatype: 'FP32',
  shape: [rows.length, 4],
  data: Float32Array.from(rows.flat()),
});

describe('LocalInference on a real ONNX model on worker threads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitlane-local-inference-'));
  let engine: LocalInference;
  before(async () => {
    await writeDoublerModel(join(dir, 'doubler.onnx'));
    await writeDoublerModel(join(dir, 'fixed.onnx'), 1);
    engine = await createLocalInference(
      specs(dir, {
        doubler: {
          name: 'test doubler',
          paths: { onnx: 'doubler.onnx' },
          dynamic_batching: { queue_capacity: 3 },
          instance_kind: 'thread',
        },
        fixed: { name: 'fixed batch', paths: { onnx: 'fixed.onnx' }, instance_kind: 'thread' },
      }),
    );
  });
  after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('metadata from the model; Triton default batching when the first dimensions are variable', async () => {
    const meta = await engine.modelMetadata('doubler');
    assert.deepEqual(meta.inputs, [{ name: 'X', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(meta.outputs, [
      { name: 'Y', datatype: 'FP32', shape: [-1, 4] },
      { name: 'S', datatype: 'FP32', shape: [-1] },
    ]);
    assert.equal(meta.platform, 'onnxruntime_onnx');
    assert.deepEqual(meta.versions, ['1']);
    const served = Object.fromEntries(engine.models.map((m) => [m.spec.id, m.maxBatchSize]));
    assert.deepEqual(served, { doubler: 4, fixed: 0 });
    assert.equal(await engine.modelReady('doubler'), true);
    assert.equal(await engine.modelReady('doubler', '2'), false);
    await assert.rejects(engine.modelMetadata('nope'), ModelNotFoundError);
    await assert.rejects(engine.modelMetadata('doubler', '2'), /unknown version '2'/);
  });

  test('runs a request; only the outputs asked for, in the order asked', async () => {
    const r = await engine.infer('doubler', { id: 'a', inputs: [x([[1, 2, 3, 4]])], outputs: ['S', 'Y'] });
    assert.equal(r.id, 'a');
    assert.deepEqual(
      r.outputs.map((t) => [t.name, t.shape, Array.from(t.data as Float32Array)]),
      [
        ['S', [1], [10]],
        ['Y', [1, 4], [3, 5, 7, 9]],
      ],
    );
  });

  test('requests queued while the model is busy run as one batch, and each gets its own rows back', async () => {
    const before = engine.statistics().find((s) => s.name === 'doubler');
    const rows = [
      [[1, 1, 1, 1]],
      [[2, 0, 0, 0]],
      [
        [0, 3, 0, 0],
        [0, 0, 0, 4],
      ],
    ];
    // All three are submitted in one tick: the first runs at once, the other two wait and go together.
    const results = await Promise.all(
      rows.map((r) => engine.infer('doubler', { inputs: [x(r)], outputs: ['S'] })),
    );
    assert.deepEqual(
      results.map((r) => Array.from(r.outputs[0]?.data as Float32Array)),
      [[4], [2], [3, 4]],
    );
    assert.deepEqual(results[2]?.outputs[0]?.shape, [2]);
    const after = engine.statistics().find((s) => s.name === 'doubler');
    assert.equal((after?.executionCount ?? 0) - (before?.executionCount ?? 0), 2);
    assert.equal((after?.inferenceCount ?? 0) - (before?.inferenceCount ?? 0), 4);
  });

  test('requests that do not fit the model are refused with the tensor named', async () => {
    const cases: [Tensor[], RegExp][] = [
      [
        [{ ...x([[1, 2, 3, 4]]), datatype: 'FP64', data: new Float64Array(4) }],
        /input 'X' of model 'doubler' is FP32, got FP64/,
      ],
      [
        [{ ...x([[1, 2, 3, 4]]), shape: [1, 3], data: new Float32Array(3) }],
        /shape \[1, 3\]; the model takes \[-1, 4\]/,
      ],
      [
        [{ ...x([[1, 2, 3, 4]]), shape: [1, 4], data: new Float32Array(3) }],
        /holds 4 elements, its data has 3/,
      ],
      [[x([[1, 2, 3, 4]]), { ...x([[1, 2, 3, 4]]), name: 'Z' }], /has no input 'Z'/],
      [[], /needs input 'X'/],
      [
        [
          x([
            [1, 1, 1, 1],
            [1, 1, 1, 1],
            [1, 1, 1, 1],
            [1, 1, 1, 1],
            [1, 1, 1, 1],
          ]),
        ],
        /batch size 5 .* outside 1\.\.4/,
      ],
    ];
    for (const [inputs, message] of cases) {
      await assert.rejects(engine.infer('doubler', { inputs }), (err: Error) => {
        assert.ok(err instanceof InferenceInputError, err.message);
        assert.match(err.message, message);
        return true;
      });
    }
    await assert.rejects(
      engine.infer('doubler', { inputs: [x([[1, 2, 3, 4]])], outputs: ['Q'] }),
      /has no output 'Q'/,
    );
    await assert.rejects(engine.infer('nope', { inputs: [] }), ModelNotFoundError);
  });

  test('a full queue refuses at once with a retry estimate; an aborted request never runs', async () => {
    const before = engine.statistics().find((s) => s.name === 'doubler');
    const one = (): Promise<unknown> => engine.infer('doubler', { inputs: [x([[1, 2, 3, 4]])] });
    const controller = new AbortController();
    // Running: 1; queued: 2 of capacity 3 (the aborted one among them); the fourth queued element does not fit.
    const running = one();
    const queued = one();
    const aborted = engine.infer('doubler', { inputs: [x([[1, 2, 3, 4]])], signal: controller.signal });
    const refused = engine.infer('doubler', {
      inputs: [
        x([
          [1, 1, 1, 1],
          [2, 2, 2, 2],
        ]),
      ],
    });
    controller.abort();
    await assert.rejects(refused, (err: Error) => err instanceof QueueFullError && err.retryAfterMs >= 1000);
    await assert.rejects(aborted, /aborted/);
    await Promise.all([running, queued]);
    const after = engine.statistics().find((s) => s.name === 'doubler');
    assert.equal(
      (after?.inferenceCount ?? 0) - (before?.inferenceCount ?? 0),
      2,
      'the aborted request did not run',
    );
    await assert.rejects(
      engine.infer('doubler', { inputs: [x([[1, 2, 3, 4]])], signal: AbortSignal.abort() }),
      /aborted/,
    );
  });

  test('a model with a fixed batch dimension runs requests one by one, shapes exactly as declared', async () => {
    const r = await engine.infer('fixed', { inputs: [x([[1, 2, 3, 4]])] });
    assert.deepEqual(Array.from(r.outputs[0]?.data as Float32Array), [3, 5, 7, 9]);
    await assert.rejects(
      engine.infer('fixed', {
        inputs: [
          x([
            [1, 2, 3, 4],
            [1, 2, 3, 4],
          ]),
        ],
      }),
      /shape \[2, 4\]; the model takes \[1, 4\]/,
    );
  });
});

test('instance_kind: thread, inline and auto give the same answers; auto goes inline exactly when a warm run is short', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitlane-local-inference-'));
  await writeDoublerModel(join(dir, 'doubler.onnx'));
  const model = (kind: string) => ({ name: kind, paths: { onnx: 'doubler.onnx' }, instance_kind: kind });
  const engine = await createLocalInference(
    specs(dir, { thread: model('thread'), inline: model('inline'), auto: model('auto') }),
  );
  try {
    const placement = (id: string) => engine.models.find((m) => m.spec.id === id)?.placement;
    assert.deepEqual([placement('thread')?.kind, placement('thread')?.why], ['thread', 'asked']);
    assert.deepEqual([placement('inline')?.kind, placement('inline')?.why], ['inline', 'asked']);
    // The choice follows the warm run the engine measured, whatever this machine's speed.
    const auto = placement('auto');
    assert.ok(auto !== undefined && auto.warmRunMs !== null && auto.warmUpMs !== null);
    assert.deepEqual(
      [auto.kind, auto.why],
      auto.warmRunMs <= INLINE_MAX_RUN_MS ? ['inline', 'short'] : ['thread', 'long'],
    );
    for (const id of ['thread', 'inline', 'auto']) {
      const r = await engine.infer(id, { inputs: [x([[1, 2, 3, 4]])], outputs: ['S', 'Y'] });
      assert.deepEqual(Array.from(r.outputs[0]?.data as Float32Array), [10], id);
      assert.deepEqual(Array.from(r.outputs[1]?.data as Float32Array), [3, 5, 7, 9], id);
    }
    const stats = engine.statistics().find((s) => s.name === 'inline');
    assert.equal(stats?.inferenceCount, 1, 'an inline model keeps its statistics');
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('instance_kind inline with more than one instance is refused, naming the field', () => {
  const problems: { path: string; message: string }[] = [];
  validateModelRepository(
    { models: { d: { name: 'd', paths: { onnx: 'none.onnx' }, instances: 2, instance_kind: 'inline' } } },
    tmpdir(),
    problems,
  );
  assert.ok(
    problems.some(
      (p) => p.path === '$.models.d.instance_kind' && /one instance \(instances is 2\)/.test(p.message),
    ),
    JSON.stringify(problems),
  );
});

test('max_batch_size on a model with a fixed first dimension is refused at load, naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitlane-local-inference-'));
  try {
    await writeDoublerModel(join(dir, 'fixed.onnx'), 1);
    const s = specs(dir, {
      f: { name: 'f', paths: { onnx: 'fixed.onnx' }, dynamic_batching: { max_batch_size: 8 } },
    });
    await assert.rejects(
      createLocalInference(s, { threads: false }),
      /model f: .*max_batch_size is 8, but 'X' has a fixed first dimension/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('global average pooling of NHWC and NCHW maps, and row normalisation', () => {
  // 1 image, 2x2 pixels, 3 channels; channel c at pixel p = p + 10c.
  const nhwc = Float32Array.from([0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23]);
  assert.deepEqual(Array.from(globalAveragePool(nhwc, [1, 2, 2, 3], true).data), [1.5, 11.5, 21.5]);
  const nchw = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
  const pooled = globalAveragePool(nchw, [1, 3, 2, 2], false);
  assert.deepEqual(pooled.shape, [1, 3]);
  assert.deepEqual(Array.from(pooled.data), [1.5, 11.5, 21.5]);
  assert.throws(() => globalAveragePool(nchw, [3, 4], false), /4-d feature map/);
  const rows = Float32Array.from([3, 4, 0, 0]);
  normalizeRows(rows, 2);
  assert.deepEqual(Array.from(rows), Array.from(Float32Array.from([0.6, 0.8, 0, 0])));
});
