import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ModelStatisticsAccumulator } from './model-statistics.js';

const timing = (queueMs: number, inputMs: number, inferMs: number, outputMs: number) => ({
  queueMs,
  inputMs,
  inferMs,
  outputMs,
});

describe('ModelStatisticsAccumulator', () => {
  test('a fresh model: every count at zero, no batch sizes, never inferred', () => {
    const s = new ModelStatisticsAccumulator('m', '1').snapshot();
    assert.equal(s.name, 'm');
    assert.equal(s.version, '1');
    assert.equal(s.last_inference, 0);
    assert.equal(s.inference_count, 0);
    assert.equal(s.execution_count, 0);
    assert.deepEqual(s.batch_stats, []);
    for (const d of Object.values(s.inference_stats)) assert.deepEqual(d, { count: 0, ns: 0 });
  });

  test('requests count one each with their own queue time; runs count once per batch, by batch size', () => {
    const acc = new ModelStatisticsAccumulator('m', '1');
    // One run of 3 elements serving two requests (2 + 1), then one run of 1.
    const run = timing(0, 0.5, 2, 0.25);
    acc.runSucceeded(3, run);
    acc.requestSucceeded(2, 3, { ...run, queueMs: 0.25 });
    acc.requestSucceeded(1, 3.5, { ...run, queueMs: 0.75 });
    acc.runSucceeded(1, timing(0, 0.125, 1, 0.125));
    acc.requestSucceeded(1, 1.5, timing(0.25, 0.125, 1, 0.125));
    acc.requestFailed(0.001);
    const s = acc.snapshot();
    assert.equal(s.inference_count, 4);
    assert.equal(s.execution_count, 2);
    assert.ok(s.last_inference > 0 && s.last_inference <= Date.now());
    const st = s.inference_stats;
    assert.deepEqual(st.success, { count: 3, ns: 8_000_000 });
    assert.deepEqual(st.fail, { count: 1, ns: 1000 });
    assert.deepEqual(st.queue, { count: 3, ns: 1_250_000 });
    assert.deepEqual(st.compute_input, { count: 3, ns: 1_125_000 });
    assert.deepEqual(st.compute_infer, { count: 3, ns: 5_000_000 });
    assert.deepEqual(st.compute_output, { count: 3, ns: 625_000 });
    assert.deepEqual(st.cache_hit, { count: 0, ns: 0 });
    assert.deepEqual(s.batch_stats, [
      {
        batch_size: 1,
        compute_input: { count: 1, ns: 125_000 },
        compute_infer: { count: 1, ns: 1_000_000 },
        compute_output: { count: 1, ns: 125_000 },
      },
      {
        batch_size: 3,
        compute_input: { count: 1, ns: 500_000 },
        compute_infer: { count: 1, ns: 2_000_000 },
        compute_output: { count: 1, ns: 250_000 },
      },
    ]);
  });

  test('the /metrics counters are the same numbers in µs', () => {
    const acc = new ModelStatisticsAccumulator('m', '1');
    acc.runSucceeded(2, timing(0, 1, 2, 3));
    acc.requestSucceeded(1, 10, timing(4, 1, 2, 3));
    acc.requestSucceeded(1, 10, timing(4, 1, 2, 3));
    acc.requestFailed(5);
    assert.deepEqual(acc.counters(), {
      success: 2,
      failure: 1,
      inferenceCount: 2,
      executionCount: 1,
      queueUs: 8000,
      computeInputUs: 2000,
      computeUs: 4000,
      computeOutputUs: 6000,
    });
  });
});
