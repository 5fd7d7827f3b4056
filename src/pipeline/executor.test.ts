import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorRecord, runPipeline } from './executor.js';
import { chain, manifestOf, registryWith } from '../nodes/test-support.js';
import type { Manifest } from './manifest.js';
import type { PipelineNode } from './node.js';

const range = (stop: number): Record<string, unknown> => ({ range: { stop } });

type Step = [string, string, Record<string, unknown>?];
/** A step of a Custom node whose instance comes from the factory registered as `name`. */
const custom = (id: string, name = id): Step => [id, 'Custom', { name }];
/** A linear manifest of `steps`, whose Custom nodes come from `factories`, with pipeline `settings` if given. */
function customChain(
  steps: Step[],
  factories: Record<string, () => PipelineNode>,
  settings?: Record<string, unknown>,
): Manifest {
  return manifestOf(chain(steps, settings === undefined ? {} : { settings }), registryWith(factories));
}

/** A linear manifest: a DataSource `s` with `params`, then `steps`, then a DataSink `k`. */
function sourced(params: Record<string, unknown>, ...steps: Step[]): Manifest {
  return manifestOf(chain([['s', 'DataSource', params], ...steps, ['k', 'DataSink']]));
}

describe('executor', () => {
  test('runs a synchronous chain in order', async () => {
    const m = sourced(range(5), ['c', 'Calculator', { operation: 'multiply', operand: 3 }]);
    const r = await runPipeline(m);
    assert.equal(r.state, 'completed');
    assert.deepEqual(r.outputs, [0, 3, 6, 9, 12]);
    assert.deepEqual(
      r.stats.map((s) => [s.id, s.received, s.emitted]),
      [
        ['s', 0, 5],
        ['c', 5, 5],
        ['k', 5, 5],
      ],
    );
  });

  test('a synchronous chain allocates no promise per item', async () => {
    const m = sourced(
      range(20_000),
      ['a', 'Calculator', { operation: 'add', operand: 1 }],
      ['p', 'PassThrough'],
    );
    await runPipeline(m); // warm up module state
    let promises = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'PROMISE') promises++;
      },
    }).enable();
    const r = await runPipeline(m);
    hook.disable();
    assert.equal(r.outputs.length, 20_000);
    // A handful per run plus one per 1024-item yield to the event loop: far below one per item.
    assert.ok(promises < 200, `${promises} promises for 20000 items`);
  });

  test('async nodes keep order and apply backpressure through a small queue', async () => {
    let inFlight = 0;
    const slow = (): PipelineNode => ({
      process: async (x) => {
        inFlight++;
        await sleep(1);
        inFlight--;
        return (x as number) * 2;
      },
    });
    const m = customChain(
      [['s', 'DataSource', range(50)], custom('slow'), ['k', 'DataSink']],
      { slow },
      {
        queue_capacity: 4,
      },
    );
    const seen: number[] = [];
    const r = await runPipeline(m, {
      onOutput: (v) => {
        seen.push(v as number);
        return null;
      },
    });
    assert.equal(r.state, 'completed');
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, i) => i * 2),
    );
    assert.ok(inFlight === 0);
    assert.equal(r.stats[1]?.dropped, 0);
  });

  test('block policy bounds the queue: the source waits for a stalled node', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let produced = 0;
    const m = customChain(
      [['s', 'DataSource', range(1000)], custom('count'), custom('gate'), ['k', 'DataSink']],
      {
        gate: (): PipelineNode => ({ process: async (x) => (await gate, x) }),
        count: (): PipelineNode => ({ process: (x) => (produced++, x) }),
      },
      { queue_capacity: 8 },
    );
    const running = runPipeline(m);
    await sleep(20);
    // One item in process, the queue filled to capacity, then the source stopped.
    assert.ok(produced <= 1 + 8, `${produced} items passed before the stalled node`);
    release();
    const r = await running;
    assert.equal(r.outputs.length, 1000);
  });

  test('drop_newest and drop_oldest drop and count', async () => {
    for (const [policy, expectKept] of [
      ['drop_newest', (v: number[]) => v[0] === 0],
      ['drop_oldest', (v: number[]) => v.at(-1) === 99],
    ] as const) {
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const m = customChain(
        [['s', 'DataSource', range(100)], custom('gate'), ['k', 'DataSink']],
        { gate: (): PipelineNode => ({ process: async (x) => (await gate, x) }) },
        { queue_capacity: 5, queue_policy: policy },
      );
      const running = runPipeline(m);
      await sleep(10);
      release();
      const r = await running;
      const out = r.outputs as number[];
      assert.equal(out.length, 6, `${policy}: one in process + 5 queued`);
      assert.equal(r.stats[1]?.dropped, 94, policy);
      assert.ok(expectKept(out), `${policy}: ${JSON.stringify(out)}`);
    }
  });

  test('streaming nodes: generators and async generators output several items', async () => {
    const m = customChain(
      [['s', 'DataSource', range(3)], custom('a', 'twice'), custom('b', 'asyncTwice'), ['k', 'DataSink']],
      {
        twice: (): PipelineNode => ({
          *process(x) {
            yield x;
            yield x;
          },
        }),
        asyncTwice: (): PipelineNode => ({
          async *process(x) {
            await sleep(0);
            yield [x];
            yield null; // null is a value, not a drop
          },
        }),
      },
    );
    const r = await runPipeline(m);
    assert.deepEqual(r.outputs, [[0], null, [0], null, [1], null, [1], null, [2], null, [2], null]);
  });

  test('a generator blocked mid-way resumes after the successor drains', async () => {
    const m = customChain(
      [['s', 'DataSource', range(3)], custom('b', 'burst'), custom('slow'), ['k', 'DataSink']],
      {
        burst: (): PipelineNode => ({
          *process(x) {
            for (let i = 0; i < 20; i++) yield (x as number) * 100 + i;
          },
        }),
        slow: (): PipelineNode => ({ process: async (x) => (await sleep(0), x) }),
      },
      { queue_capacity: 2 },
    );
    const r = await runPipeline(m);
    assert.deepEqual(
      r.outputs,
      [0, 1, 2].flatMap((x) => Array.from({ length: 20 }, (_, i) => x * 100 + i)),
    );
  });

  test('lifecycle: initialize before items, flush at end in topological order, cleanup always', async () => {
    const log: string[] = [];
    const node = (name: string): PipelineNode => ({
      initialize: () => void log.push(`init ${name}`),
      process: (x) => x,
      flush: () => (log.push(`flush ${name}`), `${name}-flushed`),
      cleanup: () => void log.push(`cleanup ${name}`),
    });
    const m = customChain([['s', 'DataSource', range(1)], custom('a'), custom('b'), ['k', 'DataSink']], {
      a: () => node('a'),
      b: () => node('b'),
    });
    const r = await runPipeline(m);
    assert.deepEqual(r.outputs, [0, 'a-flushed', 'b-flushed']);
    assert.deepEqual(log, ['init a', 'init b', 'flush a', 'flush b', 'cleanup b', 'cleanup a']);
  });

  test('fail policy: stops at the first error, no flush, cleanup runs, the error names node and item', async () => {
    const log: string[] = [];
    const m = customChain(
      [
        ['s', 'DataSource', { items: [4, 2, 0, 8] }],
        ['d', 'Calculator', { operation: 'modulo', operand: 3 }],
        custom('w', 'watch'),
        ['x', 'TextTransform', { operation: 'length' }],
        ['k', 'DataSink'],
      ],
      {
        watch: (): PipelineNode => ({
          process: (x) => x,
          flush: () => void log.push('flush'),
          cleanup: () => void log.push('cleanup'),
        }),
      },
    );
    const r = await runPipeline(m);
    assert.equal(r.state, 'failed');
    assert.deepEqual(r.outputs, []);
    assert.match(
      String(r.error?.message),
      /node 'x' \(TextTransform\) failed on item 0: expected a string, got number/,
    );
    assert.deepEqual(log, ['cleanup']);
  });

  test('skip policy: error records travel the first connection unprocessed, the run goes on', async () => {
    const m = sourced(
      { items: [1, 'a', 3] },
      ['c', 'Calculator', { operation: 'add', operand: 1 }],
      ['b', 'Buffer', { buffer_size: 5 }],
    );
    const r = await runPipeline(m, { onError: 'skip' });
    assert.equal(r.state, 'completed');
    assert.deepEqual(r.outputs, [
      {
        $error: {
          node: 'c',
          node_type: 'Calculator',
          item_index: 1,
          message: 'expected a number, got string',
          item: 'a',
        },
      },
      [2, 4],
    ]);
    assert.equal(r.stats[1]?.errors, 1);
  });

  test('an error thrown in flush is an item error with a null index', async () => {
    const m = customChain([['s', 'DataSource', range(1)], custom('b', 'bad'), ['k', 'DataSink']], {
      bad: (): PipelineNode => ({
        process: (x) => x,
        flush: () => {
          throw new Error('boom');
        },
      }),
    });
    const r = await runPipeline(m, { onError: 'skip' });
    assert.deepEqual(r.outputs, [0, new ErrorRecord('b', 'Custom', null, 'boom', undefined).toJSON()]);
    const f = await runPipeline(m);
    assert.equal(f.state, 'failed');
    assert.match(String(f.error?.message), /failed at end of stream: boom/);
  });

  test('initialisation errors fail the run and still clean up what was initialised', async () => {
    const log: string[] = [];
    const m = customChain([['s', 'DataSource', range(3)], custom('ok'), custom('bad'), ['k', 'DataSink']], {
      ok: (): PipelineNode => ({ process: (x) => x, cleanup: () => void log.push('cleanup ok') }),
      bad: (): PipelineNode => ({
        initialize: () => {
          throw new Error('no model');
        },
        process: (x) => x,
      }),
    });
    const r = await runPipeline(m);
    assert.equal(r.state, 'failed');
    assert.match(String(r.error?.message), /node 'bad' \(Custom\) failed to initialise: no model/);
    assert.deepEqual(r.outputs, []);
    assert.deepEqual(log, ['cleanup ok']);
  });

  test('cancellation stops the sources, discards queued items, flushes and reports cancelled', async () => {
    const controller = new AbortController();
    const m = customChain(
      [
        ['s', 'DataSource', range(100_000)],
        custom('slow'),
        ['b', 'Buffer', { buffer_size: 1000 }],
        ['k', 'DataSink'],
      ],
      { slow: (): PipelineNode => ({ process: async (x) => (await sleep(1), x) }) },
    );
    setTimeout(() => controller.abort(), 30);
    const r = await runPipeline(m, { signal: controller.signal });
    assert.equal(r.state, 'cancelled');
    const batches = r.outputs as number[][];
    assert.equal(batches.length, 1, 'the partial buffer was flushed');
    const flat = batches.flat();
    assert.ok(flat.length > 0 && flat.length < 100_000);
    assert.deepEqual(
      flat,
      Array.from({ length: flat.length }, (_, i) => i),
      'a prefix, in order',
    );
    assert.ok((r.stats[1]?.dropped ?? 0) > 0, 'queued items were discarded and counted');
  });

  test('fan-out copies items to every successor; fan-in merges', async () => {
    const m = manifestOf({
      version: 'v1',
      metadata: { name: 'diamond' },
      nodes: [
        { id: 's', node_type: 'DataSource', params: range(3) },
        { id: 'a', node_type: 'Calculator', params: { operation: 'add', operand: 10 } },
        { id: 'b', node_type: 'Calculator', params: { operation: 'subtract', operand: 3 } },
        { id: 'k', node_type: 'DataSink' },
      ],
      connections: [
        { from: 's', to: 'a' },
        { from: 's', to: 'b' },
        { from: 'a', to: 'k' },
        { from: 'b', to: 'k' },
      ],
    });
    const r = await runPipeline(m);
    assert.deepEqual(
      (r.outputs as number[]).sort((x, y) => x - y),
      [-3, -2, -1, 10, 11, 12],
    );
  });

  test('batching nodes get the items waiting in their queue; order, per-item errors and error records are kept', async () => {
    const batches: number[] = [];
    const m = customChain(
      [
        ['s', 'DataSource', { items: [...Array.from({ length: 30 }, (_, i) => i), 'x', 30, 31] }],
        ['c', 'Calculator', { operation: 'add', operand: 0 }],
        custom('b', 'batch'),
        ['k', 'DataSink'],
      ],
      {
        batch: (): PipelineNode => ({
          process: () => {
            throw new Error('process must not be called on a batching node');
          },
          processBatch: async (items) => {
            batches.push(items.length);
            await sleep(2);
            return items.map((x) =>
              x === 13
                ? { ok: false, error: Object.assign(new Error('unlucky'), { traceback: 'Traceback: 13\n' }) }
                : { ok: true, output: [x, x] },
            );
          },
        }),
      },
    );
    const r = await runPipeline(m, { onError: 'skip' });
    assert.equal(r.state, 'completed');
    assert.ok(batches.length < 33, `items were batched: ${JSON.stringify(batches)}`);
    assert.ok(Math.max(...batches) > 1);
    const out = r.outputs;
    // Items in order; item 13 is an error record carrying its traceback; 'x' failed upstream (Calculator)
    // and its record keeps its place between 29 and 30.
    const expected: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      expected.push(
        i === 13
          ? {
              $error: {
                node: 'b',
                node_type: 'Custom',
                item_index: 13,
                message: 'unlucky',
                item: 13,
                traceback: 'Traceback: 13\n',
              },
            }
          : [i, i],
      );
    }
    expected.push(
      {
        $error: {
          node: 'c',
          node_type: 'Calculator',
          item_index: 30,
          message: 'expected a number, got string',
          item: 'x',
        },
      },
      [30, 30],
      [31, 31],
    );
    assert.deepEqual(out, expected);
    assert.equal(r.stats[2]?.received, 32);
    assert.equal(r.stats[2].errors, 1);
  });

  test(
    'a pool (concurrency 2) starts a batch while an earlier one runs; outputs and error records stay in order',
    { timeout: 10_000 },
    async () => {
      // Item 0's batch finishes only once a later batch has started: a node runner that waits for each batch before
      // the next would never finish it (the test would time out).
      let laterStarted: () => void = () => undefined;
      const started = new Promise<void>((resolve) => {
        laterStarted = resolve;
      });
      const batches: number[][] = [];
      let inFlight = 0;
      let most = 0;
      const m = customChain(
        [
          ['s', 'DataSource', { items: [0, 1, 2, 'x', 3, 4, 5, 6, 7] }],
          ['c', 'Calculator', { operation: 'add', operand: 0 }],
          custom('p', 'pool'),
          ['k', 'DataSink'],
        ],
        {
          pool: (): PipelineNode => ({
            concurrency: 2,
            process: () => {
              throw new Error('process must not be called on a batching node');
            },
            processBatch: async (items) => {
              batches.push(items as number[]);
              most = Math.max(most, ++inFlight);
              if (items.includes(0)) await started;
              else laterStarted();
              await sleep(1);
              inFlight--;
              return items.map((x) =>
                x === 5 ? { ok: false, error: new Error('five') } : { ok: true, output: x },
              );
            },
          }),
        },
      );
      const r = await runPipeline(m, { onError: 'skip' });
      assert.equal(r.state, 'completed');
      assert.equal(most, 2, `two batches ran at once: ${JSON.stringify(batches)}`);
      assert.ok(batches.length > 1 && batches.length <= 9);
      assert.deepEqual(batches.flat(), [0, 1, 2, 3, 4, 5, 6, 7], 'each item in one batch, in order');
      const errors = (r.outputs as { $error?: { node: string; item_index: number | null } }[])
        .filter((o) => typeof o === 'object')
        .map((o) => [o.$error?.node, o.$error?.item_index]);
      assert.deepEqual(errors, [
        ['c', 3],
        ['p', 5],
      ]);
      assert.deepEqual(
        r.outputs.map((o) => (typeof o === 'object' ? 'E' : o)),
        [0, 1, 2, 'E', 3, 4, 'E', 6, 7],
      );
    },
  );

  test('without a DataSource, entry nodes read the input stream', async () => {
    const m = manifestOf(
      chain([
        ['c', 'Calculator', { operation: 'add', operand: 1 }],
        ['k', 'DataSink'],
      ]),
    );
    async function* input(): AsyncGenerator {
      yield await Promise.resolve(1);
      yield 2;
    }
    const r = await runPipeline(m, { input: input() });
    assert.deepEqual(r.outputs, [2, 3]);
  });

  test('a chain of 5,000 nodes runs without overflowing the stack; items and error records keep their order', async () => {
    const steps: [string, string, Record<string, unknown>?][] = [];
    for (let i = 0; i < 5000; i++) {
      steps.push(
        i % 2 === 0 ? [`p${i}`, 'PassThrough'] : [`c${i}`, 'Calculator', { operation: 'add', operand: 1 }],
      );
    }
    const m = manifestOf(chain([...steps, ['k', 'DataSink']]));
    async function* input(): AsyncGenerator {
      yield await Promise.resolve(1);
      yield 'not a number';
      yield 2;
    }
    const r = await runPipeline(m, { input: input(), onError: 'skip' });
    assert.equal(r.state, 'completed');
    assert.equal(r.outputs.length, 3);
    assert.equal(r.outputs[0], 2501);
    assert.equal((r.outputs[1] as { $error: { node: string } }).$error.node, 'c1');
    assert.equal(r.outputs[2], 2502);
  });

  test("an output the sink cannot write is the emitting node's item error; the run goes on under skip", async () => {
    const m = sourced({ items: [1, 2, 3] });
    const written: unknown[] = [];
    const r = await runPipeline(m, {
      onError: 'skip',
      onOutput: (v) => {
        if (v === 2) throw new Error('the output cannot be written as JSON: test');
        written.push(v);
        return null;
      },
    });
    assert.equal(r.state, 'completed');
    assert.equal(written.length, 3);
    assert.equal(written[0], 1);
    assert.match((written[1] as { $error: { message: string } }).$error.message, /cannot be written as JSON/);
    assert.equal(written[2], 3);
  });
});
