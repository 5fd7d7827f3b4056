import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPipeline } from '../../pipeline/executor.js';
import { chain, manifestOf } from '../test-support.js';
import { validateManifest } from '../../pipeline/manifest.js';
import { BUILTIN_NODE_TYPES } from '../registry.js';

async function run(items: unknown[], params?: Record<string, unknown>): Promise<unknown[]> {
  const m = manifestOf(
    chain([
      ['s', 'DataSource', { items }],
      params ? ['c', 'CalculatorNode', params] : ['c', 'CalculatorNode'],
    ]),
  );
  const out: unknown[] = [];
  await runPipeline(m, {
    onOutput: (v) => {
      out.push(v);
    },
    onError: 'skip',
  });
  return out;
}

const errorOf = (r: unknown): unknown => (r as { $error?: { message?: string } }).$error?.message;

describe('Calculator', () => {
  test('with params: x <op> operand', async () => {
    assert.deepEqual(await run([1, 2], { operation: 'multiply', operand: 3 }), [3, 6]);
  });

  test('without params: RemoteMedia requests {operation, operands} → {result, operation, operands}', async () => {
    const out = await run([
      { operation: 'add', operands: [10, 20] },
      { operation: 'subtract', operands: [1, 3] },
      { operation: 'multiply', operands: [5, 7] },
      { operation: 'divide', operands: [100, 4] },
    ]);
    assert.deepEqual(out, [
      { result: 30, operation: 'add', operands: [10, 20] },
      { result: -2, operation: 'subtract', operands: [1, 3] },
      { result: 35, operation: 'multiply', operands: [5, 7] },
      { result: 25, operation: 'divide', operands: [100, 4] },
    ]);
  });

  test('bad requests are item errors naming what is wrong', async () => {
    const out = await run([
      { operation: 'divide', operands: [1, 0] },
      { operation: 'power', operands: [2, 3] },
      { operation: 'add', operands: [1] },
      { operation: 'add', operands: [1, '2'] },
      { operands: [1, 2] },
      { operation: 'add' },
      7,
    ]);
    assert.deepEqual(out.map(errorOf), [
      'division by zero',
      'unknown operation "power": expected add, subtract, multiply or divide',
      'expected 2 operands, got 1',
      'second operand must be a number, got string',
      "missing 'operation' (add, subtract, multiply, divide)",
      "missing 'operands' array: expected [number, number]",
      'expected an object {"operation", "operands": [a, b]} (Calculator has no params), got number',
    ]);
  });

  test('operation and operand go together', () => {
    const problems = (params: object): string[] => {
      const r = validateManifest(
        { version: 'v1', nodes: [{ id: 'c', node_type: 'Calculator', params }] },
        BUILTIN_NODE_TYPES,
        { source: 't', baseDir: '/tmp' },
      );
      return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
    };
    assert.deepEqual(problems({ operation: 'add' }), ['$.nodes[0].params.operand: required']);
    assert.deepEqual(problems({ operand: 1 }), ['$.nodes[0].params.operation: required']);
    assert.deepEqual(problems({}), []);
  });
});
